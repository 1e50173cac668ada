"""`edge watch`: the long-running daemon that wires the stages together.

watcher -> settle -> offer (ignore rules, up-to-date check, routing) ->
ledger (pending) -> lane workers -> pipeline -> sidecar. The main thread
only handles signals, the rescan timer, the systemd watchdog and STATUS.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from pathlib import Path

from . import routing, sidecar
from .config import Config
from .configure import load_config
from .engines.base import EngineSet
from .errors import ConfigError, Crashed, EdgeError, InputError
from .gpu import Scheduler
from .job import Job
from .lanes import Lane
from .ledger import LedgerUnavailable, Row
from .ledger.base import Answered
from .ledger.choose import open_ledger, state_url
from .ledger.shares import ShareMap, split_named
from .media.detect import detect
from .metrics import Metrics
from .pipeline import Pipeline, answers, stat_job
from .runner import Verdict
from .service import Notifier
from .watch.observer import start_observer, stop_observer
from .watch.scan import admissible, inside, walk
from .watch.settle import SettleTracker

log = logging.getLogger("edge.daemon")

FINISHED = ("done", "failed", "dead")
TICK = 5.0  # seconds between main-loop wakes when no watchdog is asked for
LEDGER_RETRY = 1.0  # seconds between scans while the ledger's database is away


class Daemon:
    def __init__(self, config: Config, roots: list[Path | str], state_dir: Path, config_path: Path | None = None,
                 state: str | None = None):
        """`roots` may name a watch for a shared ledger (`NAME=DIR`); `state` is --state-url."""
        self.config = config
        self.config_path = config_path
        named = [split_named(root) for root in roots]
        self.roots = [folder.resolve() for _, folder in named]
        names = {folder.resolve(): name for name, folder in named if name}
        self.state_dir = Path(state_dir)
        shares = ShareMap.build(self.roots, names, config.edge.share_root)
        self.ledger = open_ledger(self.state_dir, state_url(state, config.edge.state), shares, config.edge.lease)
        self.engines = EngineSet(config)
        self.notifier = Notifier()
        self.metrics = Metrics()
        self.gpu = Scheduler.from_config(config, metrics=self.metrics)
        self._pipeline = Pipeline(config, self.engines, admit=self._admit)  # every model call is admitted
        self.lanes: dict[str, Lane] = {}
        self.tracker = SettleTracker(config.edge.settle, self._settled)
        self.observer = None
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._wake = threading.Event()  # set by signals so the main loop reacts at once
        self._scan_now = threading.Event()
        self._scanner = threading.Thread(target=self._scan_loop, name="edge-scan", daemon=True)

    # -- life cycle -----------------------------------------------------------------

    def run(self) -> int:
        self._install_signals()
        self._start()
        try:
            self._main_loop()
        finally:
            self._shutdown()
        return 0

    def _start(self) -> None:
        self.ledger.own()
        review_dir = self.config.edge.review_dir
        for root in self.roots:
            if not root.is_dir():
                raise ConfigError(f"{root}: not a folder (or not readable)")
            if review_dir is not None and inside(Path(review_dir).resolve(), root):
                raise ConfigError(f"review_dir {review_dir} is inside the watched folder {root}",
                                  hint="flagged copies would be processed again; put review_dir outside it")
            swept = sidecar.sweep_temp_files(self._outputs_root(root))
            if swept:
                log.info("event=swept_temp_files root=%s count=%d", root, swept)
        self._count_crashes()
        self._check_models()
        self._ensure_lane("metadata")
        if self.config.edge.metrics:
            host, port = self.metrics.serve(self.config.edge.metrics)
            log.info("event=metrics_listening address=%s:%d", host, port)
        self.tracker.start()
        self.observer = start_observer(self.roots, self._touch, self._new_folder, self.config.edge.poll,
                                       on_overflow=self._overflowed)
        self._scanner.start()
        self.notifier.ready()
        log.info("event=ready roots=%s state=%s", ",".join(map(str, self.roots)), self.ledger.location)

    def _count_crashes(self) -> None:
        """Files found in flight were being handled when edge died: one crash each."""
        limit = self.config.edge.max_crashes
        for row in self.ledger.requeue_crashed():
            then = "quarantined: dead" if row.crashes >= limit else "it runs alone, after the files that wait"
            log.warning("event=crash_found path=%s crashes=%d max_crashes=%d note=%r", row.path, row.crashes,
                        limit, then)

    def _admit(self, name: str, engine, fn):
        """A model call through the GPU scheduler: a lease, the model's workers, eviction as needed."""
        return self.gpu.run(name, engine, fn)

    def _check_models(self) -> None:
        """Look at every model a route may call; problems are logged, not fatal."""
        for name in routing.models_used(self.config):
            try:
                checks = self.engines.get(name).checks()
            except EdgeError as exc:
                log.warning("event=model_check model=%s level=fail message=%r", name, str(exc))
                continue
            for check in checks:
                if check.level != "ok":
                    log.warning("event=model_check model=%s level=%s message=%r fix=%r",
                                name, check.level, check.message, check.fix)

    def _main_loop(self) -> None:
        interval = min(TICK, self.notifier.watchdog_interval or TICK)
        while not self._stop.is_set():
            self._wake.wait(interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            if self._reload.is_set():
                self._reload.clear()
                self.reload()
            if self.healthy():
                self.notifier.watchdog()
            self._report_status()

    def _shutdown(self) -> None:
        self.notifier.stopping()
        log.info("event=stopping grace=%.1fs", self.config.edge.grace)
        if self.observer is not None:
            stop_observer(self.observer)
        self.tracker.stop()
        self._scan_now.set()
        for lane in self.lanes.values():
            lane.stop()
        deadline = time.monotonic() + self.config.edge.grace
        finished = all(lane.join(deadline) for lane in list(self.lanes.values()))
        if self.observer is not None:
            self.observer.join(timeout=5)
        if not finished:
            log.warning("event=grace_expired note=%r", "unfinished files stay pending for the next start")
        self.metrics.close()
        self.engines.close()
        self.ledger.close()
        log.info("event=stopped")

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def request_reload(self) -> None:
        self._reload.set()
        self._wake.set()

    def _install_signals(self) -> None:
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        signal.signal(signal.SIGINT, lambda *_: self.stop())
        signal.signal(signal.SIGHUP, lambda *_: self.request_reload())

    def reload(self) -> None:
        """SIGHUP: re-read models.toml; an invalid file is reported and the old one kept."""
        self.notifier.reloading()
        try:
            config = load_config(self.config_path)
        except ConfigError as exc:
            log.error("event=reload_rejected reason=%r note=%r", str(exc), "keeping the running configuration")
            self.notifier.ready()
            return
        old_engines = self.engines
        self.config, self.engines = config, EngineSet(config)
        self._pipeline = Pipeline(config, self.engines, admit=self._admit)
        self.tracker.settle = config.edge.settle
        self.gpu.evict_idle()  # the old engine objects go: their VRAM must stop counting
        old_engines.close()
        log.info("event=reloaded config=%s", self.config_path)
        self.notifier.ready()
        self._scan_now.set()

    def healthy(self) -> bool:
        threads_ok = self._scanner.is_alive() and all(lane.alive() for lane in self.lanes.values())
        watcher_ok = self.observer is not None and self.observer.is_alive()
        return threads_ok and watcher_ok

    def _report_status(self) -> None:
        try:
            counts = self.ledger.counts()
        except LedgerUnavailable:
            self.notifier.status("state database unavailable: claiming paused")
            return
        busy = [path for lane in self.lanes.values() for path in list(lane.busy)]
        self.metrics.queue.set(counts["pending"])
        current = f", processing {Path(busy[0]).name}" if busy else ""
        self.notifier.status(f"{counts['pending']} queued, {len(busy)} in flight{current}")
        self.metrics.write_snapshot(self.state_dir)

    # -- finding files ----------------------------------------------------------------

    def _overflowed(self) -> None:
        """The kernel dropped file events: rescan now rather than at the next `rescan` period."""
        log.warning("event=events_lost note=%r", "inotify queue overflowed; rescanning")
        self._scan_now.set()

    def _touch(self, path: Path, closed: bool) -> None:
        self.tracker.touch(path, closed)

    def _new_folder(self, folder: Path) -> None:
        """A folder created (or moved in): its files may predate the new watch."""
        root = self._root_of(folder)
        if root is None:
            return
        for candidate in walk(folder, self.config.edge.ignore, self._output_exclude()):
            self.tracker.touch(candidate.path, False)

    def _settled(self, path: Path) -> None:
        root = self._root_of(path)
        if root is None or not admissible(path, root, self.config.edge.ignore, self._output_exclude()):
            return
        try:
            self.offer(path, root)
        except LedgerUnavailable:
            self._scan_now.set()  # the scan retries until the database is back, and finds this file

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            wait = self._scan_once()
            self._scan_now.wait(wait)
            self._scan_now.clear()

    def _scan_once(self) -> float | None:
        """One full scan; returns the seconds until the next one (None: only when asked)."""
        started = time.monotonic()
        try:
            queued = sum(self._scan_root(root) for root in self.roots)
        except LedgerUnavailable as exc:
            log.debug("event=scan_paused reason=%r", str(exc))
            return LEDGER_RETRY
        log.info("event=scan_done queued=%d seconds=%.2f", queued, time.monotonic() - started)
        return self.config.edge.rescan or None

    def _scan_root(self, root: Path) -> int:
        known = self.ledger.snapshot()
        queued, answered = 0, []
        for candidate in walk(root, self.config.edge.ignore, self._output_exclude()):
            if self._stop.is_set():
                break
            entry = known.get(str(candidate.path))
            if entry and entry[2] in FINISHED and entry[:2] == (candidate.size, candidate.mtime_ns) \
                    and self._has_output(candidate.path, root, candidate.siblings):
                continue
            job = Job(path=candidate.path, root=root, size=candidate.size, mtime_ns=candidate.mtime_ns)
            row = self._answered_row(job)
            if row is None:
                queued += self._queue(job)
            else:
                answered.append(row)
            if len(answered) >= 1000:
                self.ledger.record_answered(answered)
                answered.clear()
        self.ledger.record_answered(answered)
        return queued

    def _has_output(self, path: Path, root: Path, siblings: frozenset[str]) -> bool:
        if self.config.edge.output_dir is None:
            return (path.name + sidecar.SUFFIX) in siblings or (path.name + sidecar.ERROR_SUFFIX) in siblings
        placement = self._pipeline.placement
        return placement.ok_path(path, root).exists() or placement.error_path(path, root).exists()

    def offer(self, path: Path, root: Path) -> bool:
        """Queue a settled file unless its sidecar already answers it."""
        try:
            job = stat_job(path, root)
        except InputError as exc:
            log.info("event=skip path=%s reason=%r", path, exc.message)
            return False
        row = self._answered_row(job)
        if row is not None:
            self.ledger.record_answered([row])
            return False
        return self._queue(job)

    def _answered_row(self, job: Job) -> Answered | None:
        """A ledger row when the file's sidecar already answers it (size+mtime), else None; a `crashed`
        error sidecar (quarantined) gives a dead row with its crash count."""
        doc = self._pipeline.recorded(job)
        if doc is None or not answers(doc, job):
            return None
        error = doc.get("error") or {}
        status, crashes = "failed" if doc.get("status") == "failed" else "done", 0
        if error.get("code") == Crashed.code:
            status, crashes = "dead", int(error.get("attempts") or 0)
        sha = doc.get("source", {}).get("sha256")
        message = error.get("message") if status != "done" else None
        return (str(job.path), str(job.root), job.size, job.mtime_ns, sha, status, message, crashes)

    def _queue(self, job: Job) -> bool:
        lane = self._lane_for(job)
        worker = self._ensure_lane(lane)  # even for a file running elsewhere: if its holder dies, this lane takes it
        if not self.ledger.enqueue(str(job.path), str(job.root), lane, job.size, job.mtime_ns):
            return False
        log.debug("event=queued path=%s lane=%s", job.path, lane)
        worker.wake()
        return True

    def _lane_for(self, job) -> str:
        """The lane of the route that takes the file; bad input goes to the
        metadata lane, where the pipeline writes its error sidecar."""
        try:
            media = detect(job.path)
        except (InputError, OSError):
            return "metadata"
        return routing.engine_lane(routing.choose(self.config, job.rel, media.kind))

    def _ensure_lane(self, name: str) -> Lane:
        lane = self.lanes.get(name)
        if lane is None:
            spec = self.config.models.get(name)
            workers = spec.workers if spec else self.config.edge.workers
            lane = Lane(name, workers, self.ledger, lambda: self._pipeline, self.config.edge, self._finished)
            lane.gpu = self.gpu
            self.lanes[name] = lane
            lane.start()
        return lane

    def _finished(self, row: Row, verdict: Verdict) -> None:
        if row.suspect:  # it ran alone: the files held back in every lane may go now
            for lane in list(self.lanes.values()):
                lane.wake()
        if verdict.kind == "moved":
            self._ensure_lane(verdict.extra["lane"]).wake()
            return
        doc = verdict.doc or {}
        route = doc.get("task", {}).get("route", "-")
        engine = (doc.get("model") or {}).get("engine", row.lane)
        self.metrics.job_finished(route, engine, verdict.kind, doc.get("timings_ms"))
        total = doc.get("timings_ms", {}).get("total")
        if verdict.kind in ("done", "skipped"):
            log.info("event=%s path=%s route=%s ms=%s", verdict.kind, row.path, route, total)
        elif verdict.kind in ("failed", "dead"):
            log.error("event=%s path=%s code=%s reason=%r", verdict.kind, row.path,
                      verdict.error.code if verdict.error else "-", str(verdict.error))
        if verdict.extra.get("dirty"):
            self.tracker.touch(Path(row.path), False)

    # -- helpers ------------------------------------------------------------------------

    def _root_of(self, path: Path) -> Path | None:
        return next((root for root in self.roots if inside(path, root)), None)

    def _output_exclude(self) -> Path | None:
        return self._pipeline.placement.output_dir

    def _outputs_root(self, root: Path) -> Path:
        return self._pipeline.placement.output_dir or root
