"""Worker lanes: one per model, each with its own slots and circuit breaker.

Workers claim pending rows from the ledger (the queue lives there, so memory
stays flat under a burst and a stop loses nothing). When a lane's engine is
unavailable the breaker opens and the lane waits, so a long outage spends
no attempts; a job-specific transient error backs off on its own.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .errors import InputError, StorageUnavailable
from .ledger import LedgerAPI, LedgerUnavailable, Row
from .pipeline import Pipeline, stat_job
from .routing import engine_lane
from .runner import Verdict, execute, quarantine

log = logging.getLogger("edge.lanes")

BREAKER_MAX = 60.0  # seconds: an unavailable engine is probed at least this often
LEDGER_RETRY = 1.0  # seconds between claims while the ledger's database is away
HELD_BACK = 0.5  # seconds between claims while a due file waits for a suspect, or to run alone


_JITTER = random.Random()


def backoff(attempt: int, base: float, cap: float, rng: random.Random = _JITTER) -> float:
    """Exponential backoff with full jitter in [50%, 150%]."""
    return min(cap, base * 2 ** max(0, attempt - 1)) * rng.uniform(0.5, 1.5)


class Breaker:
    """Open after an 'engine unavailable'; half-open (one probe) when due."""

    def __init__(self, base: float, cap: float):
        self.base, self.cap = base, min(cap, BREAKER_MAX)
        self.failures = 0
        self.open_until = 0.0
        self.reason = ""

    @property
    def is_open(self) -> bool:
        return self.failures > 0 and time.time() < self.open_until

    def trip(self, reason: str) -> float:
        self.failures += 1
        self.open_until = time.time() + backoff(self.failures, self.base, self.cap)
        self.reason = reason
        return self.open_until

    def reset(self) -> None:
        if self.failures:
            log.info("event=engine_back reason=%r", self.reason)
        self.failures, self.open_until, self.reason = 0, 0.0, ""


class Lane:
    def __init__(self, name: str, workers: int, ledger: LedgerAPI, pipeline: Callable[[], Pipeline],
                 settings, on_finished: Callable[[Row, Verdict], None]):
        self.name = name
        self.ledger = ledger
        self.pipeline = pipeline
        self.settings = settings
        self.on_finished = on_finished
        self.breaker = Breaker(settings.backoff_base, settings.backoff_max)
        self.cond = threading.Condition()
        self.stopping = False
        self.busy: dict[str, float] = {}  # path -> start time, for status and STATUS=
        self.probing = False  # half-open breaker: one job probes the engine
        self.gpu: Any = None  # the daemon's GPU scheduler (edge.gpu.Scheduler)
        self.threads = [threading.Thread(target=self._work, name=f"edge-{name}-{i}", daemon=True)
                        for i in range(workers)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def wake(self) -> None:
        with self.cond:
            self.cond.notify_all()

    def stop(self) -> None:
        with self.cond:
            self.stopping = True
            self.cond.notify_all()

    def join(self, deadline: float) -> bool:
        """Wait for in-flight jobs until `deadline`; True when all finished."""
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(thread.is_alive() for thread in self.threads)

    def alive(self) -> bool:
        return all(thread.is_alive() for thread in self.threads) or self.stopping

    def _work(self) -> None:
        while True:
            row = self._next_row()
            if row is None:
                return
            self._run(row)

    def _next_row(self) -> Row | None:
        with self.cond:
            while not self.stopping:
                wait = self._blocked_for()
                if wait is None:
                    row, wait = self._try_claim()
                    if row is not None:
                        self.busy[row.path] = time.time()
                        return row
                self.cond.wait(wait)
            return None

    def _try_claim(self) -> tuple[Row | None, float | None]:
        """A claimed row, or None and how long to wait; a database outage pauses, never fails."""
        try:
            row = self.ledger.claim(self.name)
            return row, (None if row is not None else self._idle_wait())
        except LedgerUnavailable:
            return None, LEDGER_RETRY

    def _blocked_for(self) -> float | None:
        """Called with the lock held: seconds to wait before claiming, or None."""
        if self.breaker.is_open:
            return max(0.01, self.breaker.open_until - time.time())
        if self.breaker.failures and self.probing:
            return 1.0
        self.probing = bool(self.breaker.failures)
        return None

    def _idle_wait(self) -> float | None:
        due, now = self.ledger.next_due(self.name), time.time()
        if due is None:
            wait = None
        else:  # due yet not claimed: held back by a file edge crashed on (see the ledger's claim)
            wait = max(0.01, due - now) if due > now else HELD_BACK
        poll = self.ledger.poll_interval  # a shared ledger: other hosts add work this lane is not told of
        return wait if poll is None else min(wait if wait is not None else poll, poll)

    def _run(self, row: Row) -> None:
        try:
            verdict = self._execute(row)
            self._record(row, verdict)
            self.on_finished(row, verdict)
        finally:
            with self.cond:
                self.busy.pop(row.path, None)
                self.probing = False
                self.cond.notify_all()

    def _execute(self, row: Row) -> Verdict:
        try:
            job = stat_job(Path(row.path), Path(row.root))
        except InputError as exc:
            return Verdict("failed", error=exc, attempts=row.attempts)
        job.attempts = row.attempts
        pipeline = self.pipeline()
        if row.crashes >= self.settings.max_crashes:
            return quarantine(pipeline, job, row.crashes)
        routed = pipeline.route_of(job)  # the file's route, decided once, under the configuration of now
        if routed is not None and engine_lane(routed.route) != self.name:
            return Verdict("moved", attempts=row.attempts, extra={"lane": engine_lane(routed.route)})
        return execute(pipeline, job, self.settings.max_attempts, routed=routed)  # the pipeline admits each model

    def _record(self, row: Row, verdict: Verdict) -> None:
        error = str(verdict.error) if verdict.error else None
        if verdict.kind == "moved":  # a reload routed it elsewhere: that model's lane takes it
            log.info("event=rerouted path=%s from=%s to=%s", row.path, self.name, verdict.extra["lane"])
            self.ledger.move(row.path, verdict.extra["lane"])
            return
        if verdict.kind == "paused":
            until = self.breaker.trip(error or "engine unavailable")
            if isinstance(verdict.error, StorageUnavailable):
                log.warning("event=storage_unavailable lane=%s code=%s retry_in=%.1fs reason=%r fix=%r", self.name,
                            verdict.error.code, until - time.time(), verdict.error.message, verdict.error.hint)
            else:
                log.warning("event=engine_unavailable lane=%s retry_in=%.1fs reason=%r", self.name,
                            until - time.time(), error)
            self.ledger.retry_later(row.path, until, attempts=row.attempts, error=error)
            return
        self.breaker.reset()
        if verdict.kind == "retry":
            at = time.time() + backoff(verdict.attempts, self.settings.backoff_base, self.settings.backoff_max)
            log.warning("event=retry path=%s attempt=%d reason=%r", row.path, verdict.attempts, error)
            self.ledger.retry_later(row.path, at, attempts=verdict.attempts, error=error)
            return
        if verdict.error is not None and verdict.error.code == "vanished":
            self.ledger.forget(row.path)
            return
        status = {"done": "done", "skipped": "done"}.get(verdict.kind, verdict.kind)
        doc = verdict.doc or {}
        sha = doc.get("source", {}).get("sha256")
        review = bool((doc.get("review") or {}).get("needs_review"))
        dirty = self.ledger.finish(row.path, status, sha256=sha, error=error,
                                   timings=doc.get("timings_ms"), attempts=verdict.attempts, review=review)
        if dirty:
            verdict.extra["dirty"] = True
