"""Counters and histograms of the daemon, served to Prometheus on loopback.

The same figures feed `edge status --json` through `snapshot()`.
"""

from __future__ import annotations

import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

STAGES = ("queued", "prepare", "inference", "total")


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
            raise ValueError(f"metrics listen on loopback only, not {host!r}")
        self._server, _thread = start_http_server(int(port), addr=host, registry=self.registry)
        return host, self._server.server_port

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def job_finished(self, route: str, engine: str, status: str, timings_ms: dict[str, float] | None = None) -> None:
        self.files.labels(route, engine, status).inc()
        for stage in STAGES:
            if timings_ms and stage in timings_ms:
                self.stage.labels(stage).observe(timings_ms[stage] / 1000)

    def snapshot(self) -> dict[str, Any]:
        files: dict[str, float] = {}
        for metric in self.files.collect():
            for sample in metric.samples:
                if sample.name.endswith("_total"):
                    key = "/".join(sample.labels[label] for label in ("route", "engine", "status"))
                    files[key] = sample.value
        return {"files": files, "queue_depth": self.queue._value.get()}
