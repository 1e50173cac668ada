"""One GPU shared by several models: device discovery, VRAM budget, admission, eviction.

A GPU job runs inside `Scheduler.admit(name, engine)`. The scheduler keeps the
models it has let onto the GPU ("resident") within `budget_mb`; a model that
does not fit waits until a running job ends, or the least recently used idle
model is evicted (`engine.evict()`, else `engine.close()`), or, with
`fallback = "cpu"`, the job is told to run on the CPU. Models that declare no
`vram_mb`, and every model on a machine without a GPU, pass straight through.

Engines learn their placement from `current_lease()` (device "cuda" or "cpu",
and `reduced` on the retry after an out-of-memory error, when they should ask
for less: fewer tiles, a smaller batch).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from .errors import EngineUnavailable, OutOfMemory, TransientError

log = logging.getLogger("edge.gpu")
T = TypeVar("T")
MB = 1024 * 1024


# -- discovery ---------------------------------------------------------------------


@dataclass
class GpuInfo:
    index: int
    name: str
    total_mb: int
    free_mb: int


@dataclass
class Discovery:
    """What this machine offers: NVML's view, and what each engine library can use."""

    gpus: list[GpuInfo] = field(default_factory=list)
    nvml: str = "not installed"  # "ok", "not installed", or why NVML failed
    ctranslate2_cuda: int | None = None  # CUDA devices CTranslate2 sees; None: not installed
    llama_gpu_offload: bool | None = None  # llama.cpp built with a GPU backend; None: not installed

    @property
    def present(self) -> bool:
        return bool(self.gpus) or bool(self.ctranslate2_cuda) or bool(self.llama_gpu_offload)


def discover() -> Discovery:
    found = Discovery()
    found.nvml, found.gpus = _nvml_gpus()
    found.ctranslate2_cuda = _ctranslate2_cuda()
    found.llama_gpu_offload = _llama_gpu_offload()
    return found


def _nvml_gpus() -> tuple[str, list[GpuInfo]]:
    try:
        import pynvml  # nvidia-ml-py
    except ImportError:
        return "not installed", []
    try:
        pynvml.nvmlInit()
    except Exception as exc:  # NVMLError_LibraryNotFound, DriverNotLoaded, ...
        return f"unavailable: {exc}", []
    try:
        return "ok", [_nvml_info(pynvml, index) for index in range(pynvml.nvmlDeviceGetCount())]
    except Exception as exc:
        return f"error: {exc}", []
    finally:
        pynvml.nvmlShutdown()


def _nvml_info(pynvml: Any, index: int) -> GpuInfo:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    name = pynvml.nvmlDeviceGetName(handle)
    memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
    name = name.decode() if isinstance(name, bytes) else name
    return GpuInfo(index, name, memory.total // MB, memory.free // MB)


def _ctranslate2_cuda() -> int | None:
    try:
        import ctranslate2
    except ImportError:
        return None
    try:
        return ctranslate2.get_cuda_device_count()
    except Exception:
        return 0


def _llama_gpu_offload() -> bool | None:
    try:
        import llama_cpp
    except ImportError:
        return None
    except Exception:  # the shared library failed to load
        return False
    return bool(llama_cpp.llama_supports_gpu_offload())


# -- devices -----------------------------------------------------------------------


class Device(Protocol):
    """What the scheduler needs to know of a GPU."""

    total_mb: int

    def free_mb(self) -> int: ...


class NvmlDevice:
    """A real NVIDIA GPU, read through NVML."""

    def __init__(self, index: int = 0):
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handle = pynvml.nvmlDeviceGetHandleByIndex(index)
        self.total_mb = pynvml.nvmlDeviceGetMemoryInfo(self._handle).total // MB

    def free_mb(self) -> int:
        return self._nvml.nvmlDeviceGetMemoryInfo(self._handle).free // MB


class DeclaredDevice:
    """A GPU known only by its declared size (no NVML); also the simulated device of tests."""

    def __init__(self, total_mb: int, used_mb: int = 0):
        self.total_mb = total_mb
        self.used_mb = used_mb

    def free_mb(self) -> int:
        return self.total_mb - self.used_mb


def default_device(budget_mb: int | None = None) -> Device | None:
    """The first NVIDIA GPU; None when the machine has none (the scheduler is then a no-op)."""
    found = discover()
    if found.gpus:
        return NvmlDevice(found.gpus[0].index)
    if found.present and budget_mb:
        return DeclaredDevice(budget_mb)
    if found.present:
        log.warning("a GPU is present but its memory is unknown: install nvidia-ml-py or set [edge.gpu] budget_mb")
    return None


# -- admission -----------------------------------------------------------------------


@dataclass
class Lease:
    """Where one job runs. Engines read it through current_lease()."""

    model: str
    device: str  # "cuda": placed on the GPU; "cpu": fall back to the CPU; "auto": not scheduled, as configured
    mb: int = 0
    reduced: bool = False  # the retry after out-of-memory: ask for less


_lease: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("edge_gpu_lease", default=None)


def current_lease() -> Lease | None:
    return _lease.get()


@contextmanager
def leased(lease: Lease | None) -> Iterator[Lease | None]:
    """Run under `lease`, the GPU scheduler's placement of one job (a worker process gets its daemon's)."""
    token = _lease.set(lease)
    try:
        yield lease
    finally:
        _lease.reset(token)


@dataclass
class _Resident:
    engine: Any
    mb: int
    busy: int = 0
    last_used: float = 0.0


class Scheduler:
    def __init__(self, device: Device | None, budget_mb: int | None = None, reserve_mb: int = 1024,
                 metrics: Any = None, clock: Callable[[], float] = time.monotonic):
        self.device = device
        if budget_mb is None and device is not None:
            budget_mb = device.total_mb - reserve_mb
        self.budget_mb = budget_mb or 0
        self.metrics = metrics
        self._clock = clock
        self._resident: dict[str, _Resident] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._waiting = 0
        self._cond = threading.Condition()

    @classmethod
    def from_config(cls, config: Any, device: Device | None = None, metrics: Any = None) -> Scheduler:
        """No model declares vram_mb: a no-op scheduler, without probing the GPU libraries."""
        gpu = config.edge.gpu
        wanted = any(spec.vram_mb for spec in config.models.values())
        if device is None and wanted:
            device = default_device(gpu.budget_mb)
        return cls(device, gpu.budget_mb, gpu.reserve_mb, metrics=metrics)

    @property
    def enabled(self) -> bool:
        return self.device is not None and self.budget_mb > 0

    def resident(self) -> dict[str, int]:
        """Model name -> MB it holds on the GPU, as the scheduler counts it."""
        with self._cond:
            return {name: r.mb for name, r in self._resident.items()}

    def used_mb(self) -> int:
        with self._cond:
            return self._used()

    def waiting(self) -> int:
        """Jobs waiting for room on the GPU."""
        with self._cond:
            return self._waiting

    # -- the API the daemon uses ---------------------------------------------------

    def run(self, name: str, engine: Any, fn: Callable[[Lease], T], **admit_args: Any) -> T:
        """fn(lease) once one of the model's `workers` slots is free and it is admitted on the GPU;
        on OutOfMemory evict the other idle models and retry once, reduced."""
        with self._slot(name, engine):
            try:
                with self.admit(name, engine, **admit_args) as lease:
                    return fn(lease)
            except OutOfMemory:
                if not self.enabled:
                    raise
            log.warning("event=gpu_oom model=%s action=%r", name, "evict the other idle models, retry once with less")
            self.evict_idle(keep=name)
            with self.admit(name, engine, reduced=True, **admit_args) as lease:
                return fn(lease)

    def _slot(self, name: str, engine: Any) -> threading.BoundedSemaphore:
        """At most `workers` calls of one model at a time, whichever lane or tier makes them."""
        with self._cond:
            slot = self._slots.get(name)
            if slot is None:
                workers = getattr(getattr(engine, "spec", None), "workers", None) or 1
                slot = self._slots[name] = threading.BoundedSemaphore(int(workers))
            return slot

    def pipeline_for(self, name: str, pipeline: Any) -> Any:
        """The daemon's entry: the pipeline a lane (one model) runs its jobs through. For a model
        that declares vram_mb on a GPU machine, its run() goes through admission, so waiting,
        refusals and out-of-memory are classified like any other error of the job."""
        spec = pipeline.config.models.get(name)
        if not self.enabled or spec is None or not spec.vram_mb:
            return pipeline
        return AdmittedPipeline(pipeline, self, name)

    @contextmanager
    def admit(self, name: str, engine: Any, vram_mb: int | None = None, fallback: str | None = None,
              timeout: float | None = None, reduced: bool = False) -> Iterator[Lease]:
        spec = getattr(engine, "spec", None)
        need = vram_mb if vram_mb is not None else getattr(spec, "vram_mb", None)
        fallback = fallback or getattr(spec, "fallback", None) or "wait"
        timeout = timeout if timeout is not None else getattr(spec, "timeout", 300.0)
        if not self.enabled or not need:
            lease = Lease(name, "auto", 0, reduced)
            yield from self._holding(lease, None)
            return
        lease = self._acquire(name, engine, need, fallback, timeout, reduced)
        yield from self._holding(lease, engine if lease.device == "cuda" else None)

    def evict_idle(self, keep: str | None = None) -> list[str]:
        """Evict every idle resident model (but `keep`); returns their names."""
        with self._cond:
            names = [n for n, r in self._resident.items() if r.busy == 0 and n != keep]
            for victim in names:
                self._evict(victim)
            return names

    def close(self) -> None:
        self.evict_idle()

    # -- inside -------------------------------------------------------------------

    def _holding(self, lease: Lease, engine: Any) -> Iterator[Lease]:
        token = _lease.set(lease)
        try:
            yield lease
        finally:
            _lease.reset(token)
            if engine is not None:
                self._release(lease.model, engine)

    def _acquire(self, name: str, engine: Any, need: int, fallback: str, timeout: float, reduced: bool) -> Lease:
        if need > self.budget_mb and fallback == "cpu":
            return Lease(name, "cpu", 0, reduced)
        if need > self.budget_mb:
            raise EngineUnavailable(f"{name} needs {need} MB of VRAM; the GPU budget is {self.budget_mb} MB",
                                    code="gpu_too_small",
                                    hint='set fallback = "cpu" for this model, or raise [edge.gpu] budget_mb')
        deadline = self._clock() + timeout
        with self._cond:
            while not self._try_place(name, engine, need):
                if fallback == "cpu":
                    return Lease(name, "cpu", 0, reduced)
                left = deadline - self._clock()
                if left <= 0:
                    raise TransientError(f"GPU busy: {name} waited {timeout:.0f}s for {need} MB", code="gpu_busy")
                self._waiting += 1
                try:
                    self._cond.wait(left)
                finally:
                    self._waiting -= 1
            resident = self._resident[name]
            return Lease(name, "cuda", resident.mb, reduced)

    def _try_place(self, name: str, engine: Any, need: int) -> bool:
        """Under the lock: make `name` resident and busy, evicting LRU idle models if that makes room."""
        current = self._resident.get(name)
        if current is not None:
            current.busy += 1
            current.engine = engine  # a reload may have replaced the engine object
            return True
        busy_mb = sum(r.mb for r in self._resident.values() if r.busy)
        if busy_mb + need > self.budget_mb:
            return False  # evicting idle models would not make room: do not evict for nothing
        while self._used() + need > self.budget_mb:
            self._evict(min(self._idle(), key=lambda n: self._resident[n].last_used))
        self._resident[name] = _Resident(engine, need, busy=1, last_used=self._clock())
        self._report()
        return True

    def _release(self, name: str, engine: Any) -> None:
        measured = _measured_mb(engine)
        with self._cond:
            resident = self._resident.get(name)
            if resident is not None:
                resident.busy -= 1
                resident.last_used = self._clock()
                if measured == 0 and resident.busy == 0:
                    del self._resident[name]  # the engine unloaded itself (Ollama's keep_alive ran out)
                elif measured:
                    resident.mb = measured
                self._report()
            self._cond.notify_all()

    def _idle(self) -> list[str]:
        return [n for n, r in self._resident.items() if r.busy == 0]

    def _used(self) -> int:
        return sum(r.mb for r in self._resident.values())

    def _evict(self, name: str) -> None:
        resident = self._resident.pop(name)
        log.info("evicting %s from the GPU (%d MB)", name, resident.mb)
        unload = getattr(resident.engine, "evict", None) or resident.engine.close
        try:
            unload()
        except Exception:
            log.exception("evicting %s failed", name)
        self._report()
        self._cond.notify_all()

    def _report(self) -> None:
        if self.metrics is not None:
            self.metrics.gpu_memory(self._used())


def _measured_mb(engine: Any) -> int | None:
    """An engine's real footprint when it can tell (Ollama: /api/ps size_vram)."""
    measure = getattr(engine, "vram_used_mb", None)
    if measure is None:
        return None
    try:
        return measure()
    except Exception:
        return None


class AdmittedPipeline:
    """A Pipeline whose run() holds a GPU admission for one model; everything else is the pipeline's."""

    def __init__(self, pipeline: Any, scheduler: Scheduler, name: str):
        self._pipeline, self._scheduler, self._name = pipeline, scheduler, name

    def run(self, job: Any, routed: Any = None) -> Any:
        try:
            engine = self._pipeline.engines.get(self._name)
        except Exception:
            return self._pipeline.run(job, routed)  # it reports the broken engine in its own words
        return self._scheduler.run(self._name, engine, lambda lease: self._pipeline.run(job, routed))

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._pipeline, attr)
