"""A metadata engine that can be made unavailable or slow, for daemon tests.

Loaded by the daemon under test as a plugin: `engine = "tests.helpers.flaky_engine:FlakyEngine"`.
It behaves like a real engine whose server refuses connections: while the
`down_while` file exists every call raises EngineUnavailable.
"""

from __future__ import annotations

import time
from pathlib import Path

from edge.engines.base import EngineOptions
from edge.engines.metadata import MetadataEngine
from edge.errors import EngineUnavailable


class FlakyOptions(EngineOptions):
    down_while: str | None = None  # path of a flag file: present = engine down
    delay: float = 0.0  # seconds each call takes (a slow model)


class FlakyEngine(MetadataEngine):
    kind = "flaky"
    Options = FlakyOptions

    def describe(self, path: Path, media_kind: str):
        if self.options.down_while and Path(self.options.down_while).exists():
            raise EngineUnavailable("connection refused (flaky engine is down)")
        if self.options.delay:
            time.sleep(self.options.delay)
        return {**super().describe(path, media_kind), "engine": "flaky"}

    def provenance(self):
        return {"name": self.name, "engine": "flaky"}
