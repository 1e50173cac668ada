"""Counters and histograms of the daemon, served to Prometheus on loopback.

The same figures feed `edge status --json` through `snapshot()`.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from .errors import ConfigError

STAGES = ("queued", "prepare", "inference", "total")
SNAPSHOT_FILE = "metrics.json"  # in the state dir: what `edge status --json` shows of a running daemon


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.files = Counter("edge_files_total", "Files handled, by outcome", ["route", "engine", "status"],
                             registry=self.registry)
        self.queue = Gauge("edge_queue_depth", "Files pending", registry=self.registry)
        self.stage = Histogram("edge_stage_seconds", "Time per pipeline stage", ["stage"], registry=self.registry,
                               buckets=(0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300))
        self.loads = Histogram("edge_model_load_seconds", "Model load time", ["model"], registry=self.registry)
        self.gpu_mb = Gauge("edge_gpu_memory_mb", "GPU memory held by resident models", registry=self.registry)
        self._server: Any = None
        self._lock = threading.Lock()

    def serve(self, address: str) -> tuple[str, int]:
        """Start the HTTP endpoint; only loopback addresses are accepted."""
        host, _, port = address.rpartition(":")
        host = host.strip("[]") or "127.0.0.1"
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ConfigError(f"[edge] metrics = {address!r}: the endpoint listens on loopback only",
                              hint='use "127.0.0.1:PORT"; put a reverse proxy in front to expose it')
        if not port.isdigit():
            raise ConfigError(f"[edge] metrics = {address!r}: expected HOST:PORT", hint='e.g. "127.0.0.1:9464"')
        self._server, _thread = start_http_server(int(port), addr=host, registry=self.registry)
        return host, self._server.server_port

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def job_finished(self, route: str, engine: str, status: str, timings_ms: dict[str, float] | None = None,
                     model: str | None = None) -> None:
        """One file finished. A non-zero "load" timing (the model was loaded for it) feeds the load
        histogram, labelled with `model` (else the engine)."""
        self.files.labels(route, engine, status).inc()
        for stage in STAGES:
            if timings_ms and stage in timings_ms:
                self.stage.labels(stage).observe(timings_ms[stage] / 1000)
        if timings_ms and timings_ms.get("load"):  # 0: the model was already loaded
            self.model_loaded(model or engine, timings_ms["load"] / 1000)

    def model_loaded(self, model: str, seconds: float) -> None:
        self.loads.labels(model).observe(seconds)

    def gpu_memory(self, resident_mb: float) -> None:
        """VRAM held by the models the GPU scheduler keeps resident."""
        self.gpu_mb.set(resident_mb)

    def snapshot(self) -> dict[str, Any]:
        value = self.registry.get_sample_value
        return {
            "files": self._by_labels(self.files, "_total", ("route", "engine", "status")),
            "queue_depth": value("edge_queue_depth"),
            "gpu_memory_mb": value("edge_gpu_memory_mb"),
            "model_loads": self._by_labels(self.loads, "_count", ("model",)),
            "model_load_seconds": self._by_labels(self.loads, "_sum", ("model",)),
            "stage_seconds": self._by_labels(self.stage, "_sum", ("stage",)),
        }

    @staticmethod
    def _by_labels(metric: Any, suffix: str, labels: tuple[str, ...]) -> dict[str, float]:
        found: dict[str, float] = {}
        for family in metric.collect():
            for sample in family.samples:
                if sample.name.endswith(suffix):
                    found["/".join(sample.labels[label] for label in labels)] = sample.value
        return found

    def write_snapshot(self, state_dir: Path) -> None:
        """Atomically replace state_dir/metrics.json (the daemon does this each main-loop turn)."""
        doc = {**self.snapshot(), "pid": os.getpid(), "updated_at": time.time()}
        target = Path(state_dir) / SNAPSHOT_FILE
        temp = target.with_name(f".{SNAPSHOT_FILE}.{os.getpid()}.tmp")
        try:
            temp.write_text(json.dumps(doc), encoding="utf-8")
            os.replace(temp, target)
        except OSError:
            pass  # figures for scripts: never worth stopping the daemon for


def read_snapshot(state_dir: Path) -> dict[str, Any] | None:
    """The last figures a daemon wrote to this state dir, or None."""
    try:
        return json.loads((Path(state_dir) / SNAPSHOT_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
