"""One file through the stages: check, hash, detect, route, task, sidecar.

The daemon, `edge process` and `edge eval` all call `Pipeline.run`. Errors
come out classified (see errors.py); the caller decides about retries and
writes the error sidecar with `Pipeline.write_error`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import routing, sidecar
from .config import Config, Route
from .engines.base import EngineSet
from .errors import EdgeError, EngineUnavailable, InputError, TransientError
from .hashing import sha256_file
from .job import Job, MediaInfo
from .media.detect import detect
from .tasks.base import TaskContext, TaskOutput, admits_each_model, task_runner

log = logging.getLogger("edge.pipeline")


@dataclass
class Outcome:
    status: str  # done | skipped
    doc: dict[str, Any] | None = None
    reason: str = ""
    companions: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Routed:
    """A file's route and its detected media, decided once and passed on."""

    route: Route
    media: MediaInfo


def stat_job(path: Path, root: Path) -> Job:
    """A Job for a regular file; InputError for what must not be opened."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise InputError(f"{path.name} vanished before it could be read", code="vanished") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path.name} is not a regular file", code="not_regular")
    return Job(path=path, root=root, size=info.st_size, mtime_ns=info.st_mtime_ns)


class Pipeline:
    def __init__(self, config: Config, engines: EngineSet | None = None, output_dir: Path | None = None,
                 admit: Any = None):
        self.config = config
        self.engines = engines or EngineSet(config)
        self.placement = sidecar.Placement(output_dir or config.edge.output_dir)
        self.admit = admit  # the daemon's GPU scheduler: admit(name, engine, fn(lease)); None: run at once

    # -- state of a file's outputs ------------------------------------------------

    def recorded(self, job: Job) -> dict[str, Any] | None:
        """The edge sidecar (ok or error) currently describing this file, if any."""
        for path in (self.placement.ok_path(job.path, job.root), self.placement.error_path(job.path, job.root)):
            doc = sidecar.read(path)
            if doc is not None:
                return doc
        return None

    def up_to_date(self, job: Job, sha256: str | None = None) -> bool:
        """Does a sidecar already answer this content? Size+mtime avoid hashing."""
        return answers(self.recorded(job), job, sha256)

    # -- the stages -----------------------------------------------------------------

    def route_of(self, job: Job) -> Routed | None:
        """The route that takes this file under this configuration, with the media it was detected as;
        None when the file cannot be detected (run() then writes its error sidecar)."""
        try:
            media = detect(job.path)
        except (InputError, OSError):
            return None
        return Routed(routing.choose(self.config, job.rel, media.kind), media)

    def run(self, job: Job, routed: Routed | None = None) -> Outcome:
        """One file through the stages; `routed` is the route decided by the caller (once per file)."""
        started = time.perf_counter()
        queued_ms = max(0.0, (time.monotonic() - job.enqueued_at) * 1000)
        self._admit(job)
        job.sha256 = sha256_file(job.path)
        if self.up_to_date(job, job.sha256):
            return Outcome("skipped", reason="sidecar already records this content")
        if routed is None:
            media = detect(job.path)
            routed = Routed(routing.choose(self.config, job.rel, media.kind), media)
        job.media, route = routed.media, routed.route
        output = self._run_task(job, route)
        self._check_unchanged(job)
        timings = {"queued": queued_ms, **output.timings_ms, "total": (time.perf_counter() - started) * 1000}
        doc = self._envelope(job, route, output, timings)
        return Outcome("done", doc=doc, companions=output.companions)

    def _admit(self, job: Job) -> None:
        if job.size == 0:
            raise InputError("empty file (0 bytes)", code="empty")
        limit = self.config.edge.max_file_mb * 1024 * 1024
        if job.size > limit:
            raise InputError(
                f"file is {job.size / 2**20:.0f} MiB, over max_file_mb = {self.config.edge.max_file_mb}",
                code="too_large",
            )
        if not os.access(job.path, os.R_OK):
            raise InputError(f"{job.path.name} is not readable by this user", code="unreadable")

    def _run_task(self, job: Job, route) -> TaskOutput:
        ctx = TaskContext(job=job, route=route, config=self.config, engines=self.engines)
        runner = task_runner(route.task, job.media.kind if job.media else None)
        try:
            return self._admitted(ctx, runner)
        except EdgeError:
            raise
        except PermissionError as exc:
            raise InputError(f"cannot read {job.path.name}: {exc.strerror}", code="unreadable") from None
        except FileNotFoundError:
            raise InputError(f"{job.path.name} vanished while it was processed", code="vanished") from None
        except MemoryError:
            raise TransientError("out of memory while processing", code="out_of_memory") from None

    def _admitted(self, ctx: TaskContext, runner: Any) -> TaskOutput:
        """The tier loop takes admission per tier attempt; any other task runs inside its model's."""
        admit = self._announced(ctx.job, self.admit or ctx.admit)
        if admits_each_model(runner):
            ctx.admit = admit
            return runner(ctx)
        name = ctx.route.model or (ctx.route.tiers[0] if ctx.route.tiers else None)
        if name is None or name not in self.config.models:
            return runner(ctx)
        return admit(name, self.engines.get(name), lambda lease: runner(ctx))

    @staticmethod
    def _announced(job: Job, admit: Any) -> Any:
        """`admit` that first logs `event=start path=... model=...`: the handler flushes each line, so
        if native code in the model takes the process down, the journal names the file it died on."""
        def announce(name: str, engine: Any, fn: Any) -> Any:
            log.info("event=start path=%s model=%s", job.path, name)
            return admit(name, engine, fn)
        return announce

    def _check_unchanged(self, job: Job) -> None:
        try:
            info = os.stat(job.path)
        except FileNotFoundError:
            raise InputError(f"{job.path.name} vanished while it was processed", code="vanished") from None
        if (info.st_size, info.st_mtime_ns) != (job.size, job.mtime_ns):
            raise TransientError(f"{job.path.name} changed while it was processed", code="changed")

    def _envelope(self, job: Job, route, output: TaskOutput, timings: dict[str, float]) -> dict[str, Any]:
        task = {"route": route.name, "kind": route.task, "schema": route.schema_name, "schema_sha256": None}
        task.update(output.task)
        return sidecar.envelope(
            output.status,
            self._source(job),
            task=task,
            result=output.result,
            review=output.review.as_dict(),
            model=output.model,
            timings_ms={key: round(value, 3) for key, value in timings.items()},
            **output.extra,
        )

    def _source(self, job: Job) -> dict[str, Any]:
        mime = job.media.mime if job.media else None
        return sidecar.source_block(job.path, job.sha256, job.size, job.mtime_ns, mime)

    # -- outputs ----------------------------------------------------------------------

    def write(self, job: Job, outcome: Outcome) -> Path:
        """Write the sidecar and companions; drop a stale error sidecar of ours."""
        target = self.placement.ok_path(job.path, job.root)
        sidecar.refuse_foreign(target)
        assert outcome.doc is not None  # only a done outcome is written
        for suffix, text in outcome.companions.items():
            sidecar.write_text(self.placement.companion_path(job.path, job.root, suffix), text)
        sidecar.write_json(target, outcome.doc)
        sidecar.remove_own(self.placement.error_path(job.path, job.root))
        if outcome.doc.get("review", {}).get("needs_review") and self.config.edge.review_dir:
            from . import review  # before `after` moves the file away

            review.route_flagged(self.config, job, target, outcome.doc)
        self._after(job)
        return target

    def error_doc(self, job: Job, error: EdgeError, attempts: int) -> dict[str, Any]:
        if not job.sha256 and job.path.exists():
            job.sha256 = _try_hash(job.path)
        error_block = {
            "code": error.code,
            "message": error.message,
            "hint": error.hint,
            "attempts": attempts,
            "transient": isinstance(error, (TransientError, EngineUnavailable)),
        }
        return sidecar.envelope("failed", self._source(job), error=error_block)

    def write_error(self, job: Job, error: EdgeError, attempts: int) -> Path:
        """The error sidecar; a stale success sidecar of ours for other content goes."""
        doc = self.error_doc(job, error, attempts)
        target = self.placement.error_path(job.path, job.root)
        sidecar.write_json(target, doc)
        stale = sidecar.read(self.placement.ok_path(job.path, job.root))
        if stale is not None and stale["source"].get("sha256") != job.sha256:
            sidecar.remove_own(self.placement.ok_path(job.path, job.root))
        return target

    def _after(self, job: Job) -> None:
        action = self.config.edge.after
        if not action:
            return
        dest = Path(action.split(":", 1)[1]).expanduser() / job.rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(job.path), dest)
        ok = self.placement.ok_path(job.path, job.root)
        if ok.exists() and self.placement.output_dir is None:
            shutil.move(str(ok), dest.with_name(dest.name + sidecar.SUFFIX))


def answers(doc: dict[str, Any] | None, job: Job, sha256: str | None = None) -> bool:
    """True when `doc` (a sidecar) describes this content and is not a transient failure."""
    if doc is None or (doc.get("error") or {}).get("transient"):
        return False
    source = doc.get("source", {})
    if sha256 is not None:
        return source.get("sha256") == sha256
    return source.get("size") == job.size and source.get("mtime_ns") == job.mtime_ns


def _try_hash(path: Path) -> str:
    try:
        return sha256_file(path)
    except OSError:
        return ""


def stdout_line(doc: dict[str, Any]) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def text_sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
