"""An engine plugin for the GPU wiring tests: it records the scheduler's lease for each file.

Loaded by the daemon under test as `engine = "tests.gpu_helpers:LeaseProbe"` (a
metadata engine, so no model is needed). A file whose name starts with `hold`
stays inside the engine until the test opens its gate; one starting with `oom`
raises OutOfMemory unless the lease says `reduced`.
"""

from __future__ import annotations

import threading
from pathlib import Path

from edge import gpu
from edge.engines.metadata import MetadataEngine
from edge.errors import OutOfMemory


class LeaseProbe(MetadataEngine):
    kind = "lease-probe"
    seen: list[tuple[str, str, str, bool]] = []  # (model, file, device, reduced)
    inside: set[str] = set()
    gate = threading.Event()
    evicted: list[str] = []
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.seen, cls.inside, cls.evicted = [], set(), []
        cls.gate = threading.Event()

    def describe(self, path: Path, media_kind: str):
        lease = gpu.current_lease()
        with self.lock:
            self.seen.append((self.name, path.name, lease.device if lease else "-", bool(lease and lease.reduced)))
        if path.name.startswith("oom") and not (lease and lease.reduced):
            raise OutOfMemory("CUDA out of memory (simulated)")
        if path.name.startswith("hold"):
            with self.lock:
                self.inside.add(self.name)
            try:
                self.gate.wait(30)
            finally:
                with self.lock:
                    self.inside.discard(self.name)
        return super().describe(path, media_kind)

    def evict(self) -> None:
        with self.lock:
            self.evicted.append(self.name)
