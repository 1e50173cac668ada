"""The shared ledger (issue 14): several daemons on one PostgreSQL against one on SQLite.

Prints, in one run on a throwaway cluster (Debian's postgresql, as the tests):
- files/s for a burst of the same 10,000 small files (metadata engine) with one
  daemon on SQLite, then 1, 2 and 3 daemons on one PostgreSQL ledger;
- claim latency p50/p99 with three ledgers (three connections) claiming at once;
- the ledger's own cost per file (enqueue + claim + finish), PostgreSQL against SQLite;
- the same with a slow engine (SLOW_DELAY s per file, like a model): what several hosts are for;
- how long a kill -9'd daemon's leases take to be retaken (target: lease + 5 s).
Run: .venv/bin/python bench/bench_ledger.py [--quick]   (--quick: 2,000 files)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.ledger import Ledger  # noqa: E402
from edge.ledger.postgresql import PostgresLedger  # noqa: E402
from edge.ledger.shares import ShareMap  # noqa: E402
from tests.helpers.pg_cluster import Cluster, pg_bin  # noqa: E402

QUICK = "--quick" in sys.argv
N_FILES = 2_000 if QUICK else 10_000
N_LEDGER = 2_000 if QUICK else 5_000
LEASE = 5.0
N_SLOW, SLOW_DELAY = 120, 0.1
SLOW = 'engine = "tests.helpers.flaky_engine:FlakyEngine"\n'  # the metadata engine, made slow


def edge_watch(inbox: Path, state: Path, config: Path, url: str | None) -> subprocess.Popen:
    extra = ["--state-url", url] if url else []
    return subprocess.Popen([sys.executable, "-m", "edge", "watch", str(inbox), "--config", str(config),
                             "--state-dir", str(state), *extra], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT)


def wait_line(proc: subprocess.Popen, needle: str) -> None:
    for line in proc.stderr:
        if needle in line:
            return
    raise RuntimeError(f"daemon exited before {needle!r}")


def drain(proc: subprocess.Popen) -> None:
    threading.Thread(target=lambda: [None for _ in proc.stderr], daemon=True).start()


def answered(inbox: Path) -> int:
    return sum(1 for entry in os.scandir(inbox) if entry.name.endswith(".json"))


def burst(work: Path, label: str, daemons: int, url: str | None, count: int = N_FILES, delay: float = 0) -> float:
    """Start the daemons, drop `count` files at once, time the first drop to the last sidecar."""
    inbox = work / label
    inbox.mkdir()
    config = work / f"{label}.toml"
    slow = (f"[models.slow]\n{SLOW}delay = {delay}\nworkers = 2\n"
            '[[routes]]\nname = "all"\ntask = "metadata"\nmodel = "slow"\n') if delay else ""
    config.write_text(f"[edge]\nsettle = 0.2\nworkers = 2\nlease = {LEASE}\n{slow}")
    procs = [edge_watch(inbox, work / f"{label}-state{i}", config, url) for i in range(daemons)]
    for proc in procs:
        wait_line(proc, "event=scan_done")
        drain(proc)
    started = time.perf_counter()
    for index in range(count):
        (inbox / f"f{index:06d}.txt").write_text(f"small file {index}\n")
    while answered(inbox) < count:
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    return count / seconds


def ledger_costs(url: str, work: Path) -> dict:
    """Per-file cost of enqueue + claim + finish, and claim latency with three claimers at once."""
    sqlite = Ledger(work / "cost-sqlite")
    pg = [PostgresLedger(url, ShareMap.build([Path("/bench")])) for _ in range(3)]
    per_file = {"sqlite": one_by_one(sqlite), "postgresql": one_by_one(pg[0])}
    for index in range(N_LEDGER):
        pg[0].enqueue(f"/bench/c{index}", "/bench", "metadata", 1, index)
    latencies: list[float] = []
    threads = [threading.Thread(target=claim_all, args=(ledger, latencies)) for ledger in pg]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    latencies.sort()
    for ledger in [sqlite, *pg]:
        ledger.close()
    return {"per_file_ms": per_file, "claims": len(latencies),
            "claim_p50_ms": 1000 * latencies[len(latencies) // 2],
            "claim_p99_ms": 1000 * latencies[int(len(latencies) * 0.99)]}


def one_by_one(ledger) -> float:
    started = time.perf_counter()
    for index in range(N_LEDGER):
        path = f"/bench/one{index}"
        ledger.enqueue(path, "/bench", "cost", 1, index)
        row = ledger.claim("cost")
        ledger.finish(row.path, "done", sha256="x" * 64, timings={"total": 1.0})
    return 1000 * (time.perf_counter() - started) / N_LEDGER


def claim_all(ledger: PostgresLedger, latencies: list[float]) -> None:
    while True:
        started = time.perf_counter()
        row = ledger.claim("metadata")
        latencies.append(time.perf_counter() - started)
        if row is None:
            return
        ledger.finish(row.path, "done")


def dead_host(work: Path, url: str) -> float:
    """kill -9 a daemon holding leases; seconds until the other daemon holds every one of them."""
    import psycopg

    inbox = work / "dead"
    inbox.mkdir()
    config = work / "slow.toml"
    config.write_text(f'[edge]\nsettle = 0.2\nlease = {LEASE}\n[models.slow]\n{SLOW}delay = 1.0\nworkers = 2\n'
                      '[[routes]]\nname = "all"\ntask = "metadata"\nmodel = "slow"\n')
    procs = [edge_watch(inbox, work / f"dead-state{i}", config, url) for i in range(2)]
    for proc in procs:
        wait_line(proc, "event=scan_done")
        drain(proc)
    for index in range(40):
        (inbox / f"s{index:03d}.txt").write_text(f"slow file {index}\n")
    held = "SELECT id FROM edge_files WHERE status = 'running' AND holder LIKE %s"
    with psycopg.connect(url, autocommit=True) as conn:
        victim = f"%:{procs[0].pid}:%"
        while not conn.execute(held, (victim,)).fetchall():
            time.sleep(0.05)
        procs[0].kill()
        killed = time.perf_counter()
        orphans = [row[0] for row in conn.execute(held, (victim,)).fetchall()]
        while conn.execute("SELECT COUNT(*) FROM edge_files WHERE id = ANY(%s) AND holder LIKE %s",
                           (orphans, victim)).fetchone()[0]:
            time.sleep(0.05)
        seconds = time.perf_counter() - killed
    procs[1].send_signal(signal.SIGTERM)
    procs[1].wait(timeout=60)
    return seconds


def main() -> None:
    cluster = Cluster(pg_bin()).init()
    cluster.start()
    work = Path(tempfile.mkdtemp(prefix="edge-bench-ledger-"))
    try:
        print(f"load average at start: {os.getloadavg()[0]:.1f}; files: {N_FILES}", flush=True)
        rates = {"sqlite x1": burst(work, "sqlite1", 1, None)}
        for daemons in (1, 2, 3):
            rates[f"postgresql x{daemons}"] = burst(work, f"pg{daemons}", daemons, cluster.create_db(f"b{daemons}"))
        for label, rate in rates.items():
            print(f"{label}: {rate:.0f} files/s ({rate / rates['postgresql x1']:.2f}x one daemon on postgresql)",
                  flush=True)
        slow = {n: burst(work, f"slow{n}", n, cluster.create_db(f"s{n}"), N_SLOW, SLOW_DELAY) for n in (1, 3)}
        print(f"slow engine ({SLOW_DELAY * 1000:.0f} ms/file, {N_SLOW} files): 1 daemon {slow[1]:.1f} files/s,"
              f" 3 daemons {slow[3]:.1f} files/s ({slow[3] / slow[1]:.2f}x)", flush=True)
        costs = ledger_costs(cluster.create_db("costs"), work)
        print(f"ledger cost per file (enqueue+claim+finish): sqlite {costs['per_file_ms']['sqlite']:.3f} ms,"
              f" postgresql {costs['per_file_ms']['postgresql']:.3f} ms", flush=True)
        print(f"claim latency, 3 claimers, {costs['claims']} claims: p50 {costs['claim_p50_ms']:.2f} ms,"
              f" p99 {costs['claim_p99_ms']:.2f} ms", flush=True)
        retaken = dead_host(work, cluster.create_db("dead"))
        print(f"dead host: leases retaken {retaken:.1f} s after kill -9 (lease {LEASE:.0f} s; target <= "
              f"{LEASE + 5:.0f} s: {'met' if retaken <= LEASE + 5 else 'missed'})", flush=True)
        print(f"load average at end: {os.getloadavg()[0]:.1f}")
    finally:
        cluster.remove()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
