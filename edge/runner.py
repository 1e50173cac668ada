"""Run one job and turn whatever happened into a verdict.

Shared by the daemon's lanes and `edge process`: the same file gets the same
sidecar, the same error sidecar and the same classification either way.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from .errors import (
    ConfigError,
    Crashed,
    EdgeError,
    EngineCrashed,
    EngineError,
    EngineUnavailable,
    InputError,
    TransientError,
)
from .job import Job
from .pipeline import Outcome, Pipeline, Routed

log = logging.getLogger("edge.runner")


@dataclass
class Verdict:
    """done | skipped | failed | retry | paused | dead (see errors.py for why) | moved (routed to another lane)."""

    kind: str
    error: EdgeError | None = None
    outcome: Outcome | None = None
    attempts: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def doc(self) -> dict[str, Any] | None:
        return self.outcome.doc if self.outcome else None


def execute(pipeline: Pipeline, job: Job, max_attempts: int, write: bool = True,
            routed: Routed | None = None) -> Verdict:
    """Process one job (on the route decided by the caller, if any); write its sidecar or error sidecar;
    never raise EdgeError."""
    try:
        outcome = pipeline.run(job, routed)
        if outcome.status == "done" and write:
            pipeline.write(job, outcome)
        return Verdict(outcome.status, outcome=outcome, attempts=job.attempts)
    except EngineUnavailable as exc:
        return Verdict("paused", error=exc, attempts=job.attempts)
    except TransientError as exc:
        attempts = job.attempts + 1
        if attempts < (pipeline.config.edge.max_crashes if isinstance(exc, EngineCrashed) else max_attempts):
            return Verdict("retry", error=exc, attempts=attempts)
        return _failed(pipeline, job, exc, attempts, write, kind="dead")
    except (InputError, EngineError, ConfigError) as exc:  # ConfigError: a model folder or route option to fix
        return _failed(pipeline, job, exc, job.attempts + 1, write)
    except Exception as exc:  # a defect: record it on the file, keep the daemon alive
        log.exception("event=internal_error path=%s", job.path)
        error = EngineError(f"internal error: {type(exc).__name__}: {exc}", code="internal_error")
        return _failed(pipeline, job, error, job.attempts + 1, write)


def quarantine(pipeline: Pipeline, job: Job, crashes: int) -> Verdict:
    """A file edge died on `crashes` times: dead, with a `crashed` error sidecar (its attempts: the
    crashes), and not run again. The ledger keeps counting crashes apart from transient attempts."""
    verdict = _failed(pipeline, job, crashed(job, crashes), crashes, write=True, kind="dead")
    verdict.attempts = job.attempts
    return verdict


def crashed(job: Job, crashes: int) -> Crashed:
    times = {1: "once", 2: "twice"}.get(crashes, f"{crashes} times")
    return Crashed(f"edge stopped while handling this file ({times})",
                   hint=f"`edge retry {job.path}` gives it another chance; before each stop the log"
                        " (journalctl -u edge) has an event=start line naming this file and the model it was given")


def _failed(pipeline: Pipeline, job: Job, error: EdgeError, attempts: int, write: bool, kind: str = "failed") -> Verdict:
    verdict = Verdict(kind, error=error, attempts=attempts)
    if not write:
        verdict.outcome = Outcome("failed", doc=pipeline.error_doc(job, error, attempts))
        return verdict
    if error.code in ("vanished", "foreign_sidecar"):
        return verdict  # nothing to write beside a file that is gone, or over a foreign file
    try:
        pipeline.write_error(job, error, attempts)
    except EdgeError as exc:  # e.g. a foreign x.jpg.error.json
        verdict.extra["write_error"] = str(exc)
    except OSError as exc:
        verdict.extra["write_error"] = f"cannot write error sidecar: {exc.strerror}"
    return verdict
