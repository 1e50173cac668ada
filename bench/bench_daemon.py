"""Daemon core benchmark with the instant `metadata` engine (issue 2).

Prints: one-shot throughput over 2,000 small files against the raw engine
loop on the same files; watched-burst throughput; drop->sidecar latency
p50/p99 while watching; start-up time to decide that 100,000 already
processed files need nothing (with and without the ledger); idle CPU and
RSS over 60 s. Run: .venv/bin/python bench/bench_daemon.py [--quick]
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge import sidecar  # noqa: E402
from edge.engines.metadata import MetadataEngine  # noqa: E402
from edge.media.detect import detect  # noqa: E402

QUICK = "--quick" in sys.argv
N_BURST = 2000
N_STARTUP = 20_000 if QUICK else 100_000
IDLE_SECONDS = 10 if QUICK else 60


def small_files(folder: Path, count: int, prefix: str = "f") -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        path = folder / f"{prefix}{index:06d}.txt"
        path.write_text(f"small file {index}\n")
        paths.append(path)
    return paths


def edge_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "edge", *args]


def config_file(folder: Path) -> Path:
    path = folder / "models.toml"
    path.write_text("[edge]\nsettle = 0.2\nworkers = 2\n")
    return path


def raw_engine_seconds(files: list[Path]) -> float:
    engine = MetadataEngine("metadata", None, MetadataEngine.Options())
    started = time.perf_counter()
    for path in files:
        engine.describe(path, detect(path).kind)
    return time.perf_counter() - started


def oneshot_throughput(work: Path) -> dict:
    files = small_files(work / "oneshot", N_BURST)
    raw = raw_engine_seconds(files)
    started = time.perf_counter()
    subprocess.run(edge_cmd("process", str(work / "oneshot"), "--config", str(config_file(work)),
                            "--state-dir", str(work / "s1")), check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    return {"files": N_BURST, "seconds": elapsed, "files_per_s": N_BURST / elapsed,
            "raw_engine_files_per_s": N_BURST / raw, "raw_engine_seconds": raw}


class Watcher:
    def __init__(self, inbox: Path, state: Path, config: Path):
        inbox.mkdir(parents=True, exist_ok=True)
        self.log = open(state.parent / f"{state.name}.log", "w")
        self.proc = subprocess.Popen(edge_cmd("watch", str(inbox), "--config", str(config), "--state-dir", str(state)),
                                     stderr=self.log, stdout=subprocess.DEVNULL, cwd=ROOT)
        self.log_path = Path(self.log.name)

    def wait_line(self, needle: str, timeout: float = 600) -> float:
        deadline = time.monotonic() + timeout
        while needle not in self.log_path.read_text():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"no {needle!r} in log:\n{self.log_path.read_text()[-2000:]}")
            time.sleep(0.01)
        return time.monotonic()

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=120)
        self.log.close()


def wait_all(paths: list[Path], timeout: float = 600) -> None:
    deadline = time.monotonic() + timeout
    pending = list(paths)
    while pending:
        pending = [p for p in pending if not p.with_name(p.name + ".json").exists()]
        if pending and time.monotonic() > deadline:
            raise RuntimeError(f"{len(pending)} files without sidecar")
        time.sleep(0.005)


def watched_burst_and_latency(work: Path) -> dict:
    config = config_file(work)
    watcher = Watcher(work / "watched", work / "s2", config)
    watcher.wait_line("event=scan_done")
    started = time.perf_counter()
    files = small_files(work / "watched", N_BURST, "burst")
    wait_all(files)
    burst = time.perf_counter() - started
    latencies = []
    for index in range(100):
        path = work / "watched" / f"lat{index:04d}.txt"
        dropped = time.perf_counter()
        path.write_text("latency probe\n")
        wait_all([path])
        latencies.append((time.perf_counter() - dropped) * 1000)
    peak_rss = rss_during_burst(watcher.proc.pid, work / "watched", 10_000)
    watcher.stop()
    latencies.sort()
    return {"rss_mb_peak_during_10000_burst": peak_rss, "burst_files": N_BURST, "burst_seconds": burst, "burst_files_per_s": N_BURST / burst, "settle_s": 0.2,
            "latency_ms_p50": statistics.median(latencies), "latency_ms_p99": latencies[int(len(latencies) * 0.99) - 1]}


def rss_during_burst(pid: int, inbox: Path, count: int) -> float:
    """Peak RSS of the daemon while a burst of `count` files is dropped and answered."""
    proc = psutil.Process(pid)
    files = small_files(inbox / "ten-thousand", count, "b")
    peak = 0.0
    pending = files
    while pending:
        peak = max(peak, proc.memory_info().rss / 2**20)
        pending = [p for p in pending if not p.with_name(p.name + ".json").exists()]
        time.sleep(0.05)
    return peak


def already_processed_tree(folder: Path, count: int) -> None:
    """Files and valid sidecars written directly: as if edge had run before."""
    folder.mkdir(parents=True)
    for index in range(count):
        sub = folder / f"d{index // 1000:03d}"
        sub.mkdir(exist_ok=True)
        path = sub / f"f{index:06d}.txt"
        path.write_text(f"old file {index}\n")
        info = path.stat()
        doc = sidecar.envelope("ok", sidecar.source_block(path, "0" * 64, info.st_size, info.st_mtime_ns, "text/plain"),
                               task={"route": "default", "kind": "metadata"}, result={}, model={"name": "m", "engine": "metadata"},
                               review={"needs_review": False, "reasons": []}, timings_ms={})
        path.with_name(path.name + ".json").write_text(json.dumps(doc))


def startup_decision(work: Path) -> dict:
    tree = work / "big"
    already_processed_tree(tree, N_STARTUP)
    config = config_file(work)
    results = {"files": N_STARTUP}
    for label in ("without_ledger", "with_ledger"):
        watcher = Watcher(tree, work / "s3", config)
        started = time.monotonic()
        watcher.wait_line("event=scan_done")
        results[f"{label}_seconds"] = time.monotonic() - started
        if "queued=0 " not in watcher.log_path.read_text():
            raise RuntimeError("start-up queued work for already-processed files")
        if label == "with_ledger":
            results["idle"] = idle_usage(watcher.proc.pid)
        watcher.stop()
    return results


def idle_usage(pid: int) -> dict:
    proc = psutil.Process(pid)
    before = proc.cpu_times()
    time.sleep(IDLE_SECONDS)
    after = proc.cpu_times()
    cpu = (after.user + after.system - before.user - before.system) / IDLE_SECONDS * 100
    return {"seconds": IDLE_SECONDS, "cpu_percent": cpu, "rss_mb": proc.memory_info().rss / 2**20}


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="edge-bench-"))
    try:
        report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
                  "oneshot": oneshot_throughput(work), "watched": watched_burst_and_latency(work),
                  "startup": startup_decision(work)}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    one = report["oneshot"]
    print(json.dumps(report, indent=2))
    print(f"\none-shot: {one['files_per_s']:.0f} files/s vs raw engine {one['raw_engine_files_per_s']:.0f} files/s "
          f"(edge/raw time ratio {one['seconds'] / one['raw_engine_seconds']:.2f}; the difference is hashing, "
          "atomic fsynced writes and the ledger)")


if __name__ == "__main__":
    main()
