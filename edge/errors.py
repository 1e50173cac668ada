"""The error kinds that steer what happens to a file.

The pipeline never lets an exception decide by accident: each kind below maps
to one outcome (error sidecar, retry, pause), and anything else is a defect.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error edge raises on purpose."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if code:
            self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class ConfigError(EdgeError):
    """models.toml or a flag is wrong: the user must fix it."""

    code = "config"


class InputError(EdgeError):
    """The file itself is bad (corrupt, unsupported, too large, vanished...).

    Permanent: an error sidecar is written and the file is not retried until
    its content changes.
    """

    code = "bad_input"


class EngineError(EdgeError):
    """The engine refused this request for good (HTTP 400, invalid request)."""

    code = "engine_refused"


class TransientError(EdgeError):
    """Timeout, HTTP 5xx, out of memory: retry later, counting an attempt."""

    code = "transient"


class EngineCrashed(TransientError):
    """The worker process running a model (`isolate = true`) died while handling this file: a crash
    in native code, or the OOM killer. edge goes on; the file is tried again up to `max_crashes`
    times, then it is `dead`."""

    code = "engine_crashed"


class OutOfMemory(TransientError):
    """The accelerator (or host) ran out of memory for this request."""

    code = "out_of_memory"


class Crashed(EdgeError):
    """edge itself stopped (a crash in native code, the OOM killer, kill -9) while handling this file,
    `max_crashes` times: the file is quarantined (`dead`) until `edge retry`, so one file cannot
    crash-loop the service. Neither the file's fault for certain nor transient."""

    code = "crashed"


class EngineUnavailable(EdgeError):
    """The engine or its model is not there right now (refused, not pulled).

    The engine's lane pauses (circuit breaker) and the job waits without
    spending an attempt.
    """

    code = "engine_unavailable"


class StorageUnavailable(EngineUnavailable):
    """The disk refused a write: full, over quota, read-only or failing. A condition of the machine,
    not of the file: the lane pauses (probed like an unavailable engine) and the file waits
    without spending an attempt."""

    code = "storage_unavailable"
