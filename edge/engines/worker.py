"""A model's engine in worker processes of its own (`isolate = true` on the model).

Native code (llama.cpp, CTranslate2, ONNX Runtime, FFmpeg) that crashes on one input then kills a
worker, not edge: the call raises EngineCrashed (`engine_crashed`, the signal named), that file's
attempt is counted, and the next call starts a new worker. A worker loads the model once and keeps
it; the model's `workers` slots are up to that many worker processes.

Only the calls that run the model go to a worker (`REMOTE`); everything else (options, checks,
provenance, token budgets) is answered in the daemon by an instance that never loads the model.
The request crosses once, pickled through a pipe: a path or the prepared bytes, never both, with
the GPU scheduler's lease of the job, so the worker places the model where the daemon admitted it.
"""

from __future__ import annotations

import importlib
import logging
import multiprocessing
import signal
import threading
from typing import Any

from ..errors import ConfigError, EdgeError, EngineCrashed
from ..gpu import current_lease, leased
from .base import Engine, engine_class

log = logging.getLogger("edge.worker")

# engine class (or a base of it) -> the methods that run its model
REMOTE: dict[str, tuple[str, ...]] = {
    "MetadataEngine": ("describe",),
    "LlamaCppEngine": ("complete",),
    "WhisperEngine": ("transcribe", "identify_language"),
    "OcrEngine": ("read", "checks"),  # its check loads RapidOCR: in the worker, which keeps it
}
STOP_WAIT = 5.0  # seconds a worker gets to exit once its pipe is closed
_POOLS_LOCK = threading.Lock()
_ISOLATED: dict[type[Engine], type[Engine]] = {}


def remote_methods(cls: type[Engine]) -> tuple[str, ...]:
    """The methods of `cls` that run in a worker; ConfigError for an engine that cannot be isolated."""
    for klass in cls.__mro__:
        if klass.__name__ in REMOTE:
            return REMOTE[klass.__name__]
    kinds = ", ".join(sorted(REMOTE))
    raise ConfigError(f"engine {cls.kind!r} cannot run isolated (isolate = true)",
                      hint=f"isolate applies to engines built on {kinds}")


def isolated(cls: type[Engine]) -> type[Engine]:
    """A subclass of `cls` (isinstance still holds) whose model calls run in worker processes."""
    with _POOLS_LOCK:
        made = _ISOLATED.get(cls)
        if made is None:
            namespace: dict[str, Any] = {name: _forwarded(name) for name in remote_methods(cls)}
            namespace.update(close=_close, _target=f"{cls.__module__}:{cls.__qualname__}")
            made = _ISOLATED[cls] = type(f"Isolated{cls.__name__}", (cls,), namespace)
        return made


def _forwarded(method: str) -> Any:
    def call(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _pool(self).call(method, args, kwargs, current_lease())
    call.__name__ = method
    return call


def _pool(engine: Any) -> Pool:
    with _POOLS_LOCK:
        pool = engine.__dict__.get("_pool")
        if pool is None:
            pool = engine.__dict__["_pool"] = Pool(engine._target, engine.name, engine.spec, engine.options)
        return pool


def _close(self: Any) -> None:
    pool = self.__dict__.pop("_pool", None)
    if pool is not None:
        pool.close()
    super(type(self), self).close()




class Pool:
    """Up to `spec.workers` worker processes of one model; a worker that died is not reused."""

    def __init__(self, target: str, name: str, spec: Any, options: Any):
        self.target, self.name, self.spec, self.options = target, name, spec, options
        self._slots = threading.BoundedSemaphore(max(1, getattr(spec, "workers", 1)))
        self._idle: list[Worker] = []
        self._lock = threading.Lock()

    def call(self, method: str, args: tuple, kwargs: dict, lease: Any = None) -> Any:
        with self._slots:
            worker = self._take()
            try:
                result = worker.call(method, args, kwargs, lease)
            except EngineCrashed:
                worker.close()
                raise
            except BaseException:  # it answered with an error: kept, its model loaded
                self._keep(worker)
                raise
            self._keep(worker)
            return result

    def _keep(self, worker: Worker) -> None:
        with self._lock:
            self._idle.append(worker)

    def _take(self) -> Worker:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return Worker(self.target, self.name, self.spec, self.options)

    def close(self) -> None:
        with self._lock:
            workers, self._idle = self._idle, []
        for worker in workers:
            worker.close()


class Worker:
    """One child process holding one engine instance, answering calls over a pipe."""

    def __init__(self, target: str, name: str, spec: Any, options: Any):
        context = multiprocessing.get_context("spawn")  # never fork a threaded daemon
        self.name = name
        self.conn, child = context.Pipe()
        self.proc = context.Process(target=serve, args=(child, target, name, spec, options),
                                    name=f"edge-worker-{name}", daemon=True)
        self.proc.start()
        child.close()
        log.info("event=worker_started model=%s pid=%s", name, self.proc.pid)

    def call(self, method: str, args: tuple, kwargs: dict, lease: Any = None) -> Any:
        try:
            self.conn.send((method, args, kwargs, lease))
            kind, value = self.conn.recv()
        except (EOFError, OSError):
            raise self._died() from None
        if kind == "ok":
            return value
        if kind == "error":
            raise _rebuilt(*value)
        raise RuntimeError(f"in the worker process of model {self.name}: {value}")

    def _died(self) -> EngineCrashed:
        self.proc.join(STOP_WAIT)
        how = death(self.proc.exitcode)
        log.error("event=worker_died model=%s pid=%s how=%r", self.name, self.proc.pid, how)
        return EngineCrashed(f"the worker process of model {self.name} {how} while handling this file",
                             hint="edge went on and starts a new worker for the next file; the journal has"
                                  " the worker's own last lines")

    def close(self) -> None:
        self.conn.close()  # the worker reads EOF and exits
        self.proc.join(STOP_WAIT)
        if self.proc.is_alive():
            self.proc.kill()
            self.proc.join(STOP_WAIT)


def death(exitcode: int | None) -> str:
    """How a worker ended, in words: the signal named, SIGKILL as the OOM killer's or kill -9."""
    if exitcode is None:
        return "stopped answering"
    if exitcode >= 0:
        return f"exited with status {exitcode}"
    name = signal.Signals(-exitcode).name
    if -exitcode == signal.SIGKILL:
        return f"was killed by {name} (the kernel's OOM killer, or kill -9)"
    return f"died by {name}" + (" (a crash in native code)" if -exitcode in (signal.SIGSEGV, signal.SIGBUS,
                                                                              signal.SIGILL, signal.SIGABRT) else "")


def _rebuilt(module: str, qualname: str, message: str, code: str, hint: str | None) -> EdgeError:
    """The worker's EdgeError, of its own class, in the daemon."""
    cls = getattr(importlib.import_module(module), qualname, EdgeError)
    error = cls.__new__(cls)
    EdgeError.__init__(error, message, code=code, hint=hint)
    return error


def serve(conn: Any, target: str, name: str, spec: Any, options: Any) -> None:
    """The worker's loop: build the engine once, answer calls until the daemon closes the pipe."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)  # the daemon decides when its workers stop
    engine = engine_class(target)(name, spec, options)
    try:
        while True:
            try:
                method, args, kwargs, lease = conn.recv()
            except EOFError:
                return
            with leased(lease):
                answer = _answer(engine, method, args, kwargs)
            try:
                conn.send(answer)
            except Exception as exc:  # an answer that does not pickle
                conn.send(("defect", f"{method}() answered what cannot be sent back: {exc}"))
    finally:
        engine.close()


def _answer(engine: Engine, method: str, args: tuple, kwargs: dict) -> tuple[str, Any]:
    try:
        return "ok", getattr(engine, method)(*args, **kwargs)
    except EdgeError as exc:
        return "error", (type(exc).__module__, type(exc).__qualname__, exc.message, exc.code, exc.hint)
    except Exception as exc:  # a defect: the daemon records it on the file as an internal error
        return "defect", f"{type(exc).__name__}: {exc}"
