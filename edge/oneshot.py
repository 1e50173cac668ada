"""`edge process`: the same pipeline over given files and folders, once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from .config import Config
from .errors import InputError, StorageUnavailable
from .lanes import backoff
from .ledger import Ledger
from .pipeline import Pipeline, stat_job
from .runner import Verdict, execute
from .watch.scan import walk

log = logging.getLogger("edge.process")


@dataclass
class Summary:
    counts: dict[str, int] = field(default_factory=dict)
    failures: list[tuple[Path, str]] = field(default_factory=list)
    storage: StorageUnavailable | None = None  # the disk refused a write: nothing failed, nothing was written

    @property
    def failed(self) -> int:
        return sum(self.counts.get(kind, 0) for kind in ("failed", "dead", "paused"))


def targets(paths: list[Path], config: Config) -> Iterator[tuple[Path, Path]]:
    """(file, root) pairs: a named file is taken as is; a folder is walked."""
    for path in paths:
        path = path.resolve()
        if path.is_dir():
            for candidate in walk(path, config.edge.ignore, config.edge.output_dir):
                yield candidate.path, path
        else:
            yield path, path.parent


def run_once(config: Config, files: list[tuple[Path, Path]], ledger: Ledger | None, write: bool,
             on_result: Callable[[Path, Verdict], None], output_dir: Path | None = None) -> Summary:
    pipeline = Pipeline(config, output_dir=output_dir)
    summary = Summary()
    try:
        with ThreadPoolExecutor(max_workers=config.edge.workers, thread_name_prefix="edge-process") as pool:
            for path, verdict in pool.map(lambda item: (item[0], _one(pipeline, config, item[0], item[1], write)), files):
                summary.counts[verdict.kind] = summary.counts.get(verdict.kind, 0) + 1
                if isinstance(verdict.error, StorageUnavailable):
                    summary.storage = summary.storage or verdict.error
                elif verdict.error is not None and verdict.kind not in ("done", "skipped"):
                    summary.failures.append((path, str(verdict.error)))
                if ledger is not None:
                    _record(ledger, path, verdict)
                on_result(path, verdict)
    finally:
        pipeline.engines.close()
    return summary


def _one(pipeline: Pipeline, config: Config, path: Path, root: Path, write: bool) -> Verdict:
    try:
        job = stat_job(path, root)
    except InputError as exc:
        return Verdict("failed", error=exc)
    while True:
        verdict = execute(pipeline, job, config.edge.max_attempts, write=write)
        if verdict.kind != "retry":
            break
        job.attempts = verdict.attempts
        time.sleep(backoff(job.attempts, config.edge.backoff_base, config.edge.backoff_max))
    if verdict.kind == "paused" and write and not isinstance(verdict.error, StorageUnavailable):
        # One-shot cannot wait for the engine: leave a transient error sidecar
        # that the daemon (or `edge retry`) picks up once the engine is back.
        if verdict.error is not None:
            pipeline.write_error(job, verdict.error, job.attempts)
    return verdict


def _record(ledger: Ledger, path: Path, verdict: Verdict) -> None:
    if isinstance(verdict.error, StorageUnavailable):
        return  # the machine's fault: the file is neither done nor failed
    doc = verdict.doc or {}
    source = doc.get("source", {})
    try:
        info = path.stat()
    except OSError:
        return
    ledger.record_done(str(path), str(path.parent), info.st_size, info.st_mtime_ns, source.get("sha256"))
    if verdict.kind not in ("done", "skipped"):
        ledger.finish(str(path), "dead" if verdict.kind == "dead" else "failed", error=str(verdict.error),
                      attempts=verdict.attempts)
