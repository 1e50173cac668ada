"""An engine plugin for the GPU wiring tests: it records the scheduler's lease for each file.

Loaded by the daemon under test as `engine = "tests.helpers.gpu_probes:LeaseProbe"` (a
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
    threads: list[tuple[str, str, str]] = []  # (model, file, the worker thread that ran it)
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.seen, cls.inside, cls.evicted, cls.threads = [], set(), [], []
        cls.gate = threading.Event()

    def describe(self, path: Path, media_kind: str):
        lease = gpu.current_lease()
        with self.lock:
            self.seen.append((self.name, path.name, lease.device if lease else "-", bool(lease and lease.reduced)))
            self.threads.append((self.name, path.name, threading.current_thread().name))
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


class TierProbe(MetadataEngine):
    """A generative engine for the tier tests: answers `{}` (every field null, so the route escalates)
    and records, per call, its lease and what the scheduler counts on the GPU."""

    kind = "tier-probe"
    scheduler = None  # set by the test: the Scheduler whose accounting is sampled inside each call
    calls: dict[str, int] = {}
    inside: dict[str, int] = {}
    most_inside: dict[str, int] = {}
    leases: list[tuple[str, str, int]] = []  # (model, device, VRAM the scheduler counts during the call)
    gate = threading.Event()  # calls of a model named in `held` wait for it
    held: set[str] = set()
    lock = threading.Lock()

    @classmethod
    def reset(cls) -> None:
        cls.calls, cls.inside, cls.most_inside, cls.leases = {}, {}, {}, []
        cls.gate, cls.held = threading.Event(), set()

    def complete(self, request):
        from edge.engines.base import Completion

        lease = gpu.current_lease()
        with self.lock:
            self.calls[self.name] = self.calls.get(self.name, 0) + 1
            self.inside[self.name] = self.inside.get(self.name, 0) + 1
            self.most_inside[self.name] = max(self.most_inside.get(self.name, 0), self.inside[self.name])
            used = self.scheduler.used_mb() if self.scheduler else 0
            self.leases.append((self.name, lease.device if lease else "-", used))
        try:
            if self.name in self.held:
                self.gate.wait(30)
        finally:
            with self.lock:
                self.inside[self.name] -= 1
        return Completion("{}", prompt_tokens=10, output_tokens=2)

    def provenance(self):
        return {"name": self.name, "engine": self.kind}


class LeaseEcho(MetadataEngine):
    """Answers with the lease it ran under: run in a worker process, it shows what crossed the pipe."""

    kind = "lease-echo"

    def describe(self, path: Path, media_kind: str):
        lease = gpu.current_lease()
        return {"lease": None if lease is None else [lease.model, lease.device, lease.reduced]}
