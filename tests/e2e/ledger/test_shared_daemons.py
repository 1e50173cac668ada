"""Acceptance of issue 14: several `edge watch` processes share one PostgreSQL
ledger (a real throwaway cluster): exactly once, a dead host, a database
outage, migration from SQLite, clear errors at start."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import ROOT, edge_env, error_of, run_edge, sidecar_of, validate_sidecar, wait_for, write_config
from tests.helpers.daemon import DaemonProcess

SLOW = "tests.helpers.flaky_engine:FlakyEngine"  # the metadata engine, made slow: jobs stay in flight
DONE = re.compile(r"event=done path=(\S+)")


@pytest.fixture
def inbox(tmp_path: Path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def drop(inbox: Path, count: int) -> list[Path]:
    files = []
    for index in range(count):
        path = inbox / f"f{index:05d}.txt"
        path.write_text(f"file number {index}\n")
        files.append(path)
    return files


def slow_config(tmp_path: Path, delay: float, extra: str = "") -> Path:
    return write_config(tmp_path / "models.toml", f'{extra}[models.slow]\nengine = "{SLOW}"\ndelay = {delay}\n'
                        '[[routes]]\nname = "all"\ntask = "metadata"\nmodel = "slow"\n')


def start_daemons(inbox: Path, config: Path, tmp_path: Path, url: str, count: int,
                  last: tuple[str, ...] = ()) -> list[DaemonProcess]:
    """`count` daemons on one ledger; the last one gets `last` as extra arguments."""
    daemons = [DaemonProcess(inbox, config, tmp_path / f"state{index}", "--state-url", url,
                             *(last if index == count - 1 else ())) for index in range(count)]
    return [daemon.wait_ready() for daemon in daemons]


def done_lines(daemons: list[DaemonProcess]) -> Counter:
    return Counter(match.group(1) for daemon in daemons for line in list(daemon.lines)
                   if (match := DONE.search(line)))


def status(url: str, *extra: str) -> dict:
    result = run_edge("status", "--json", "--state-url", url, *extra)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def all_answered(files: list[Path]) -> bool:
    return all(sidecar_of(path).exists() for path in files)


def held_by(url: str, pid: int) -> list[str]:
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT id FROM edge_files WHERE status = 'running' AND holder LIKE %s",
                            (f"%:{pid}:%",)).fetchall()
    return [row[0] for row in rows]


def test_three_daemons_3000_files_exactly_once(inbox, tmp_path, pg_url):
    daemons = start_daemons(inbox, write_config(tmp_path / "models.toml"), tmp_path, pg_url, 3)
    files = drop(inbox, 3000)
    wait_for(lambda: all_answered(files), 300, interval=0.25, what="3000 sidecars")
    wait_for(lambda: sum(done_lines(daemons).values()) >= 3000, 60, what="3000 done lines")
    assert [daemon.terminate() for daemon in daemons] == [0, 0, 0]

    done = done_lines(daemons)
    assert sum(done.values()) == 3000 and set(done) == {str(path) for path in files}
    assert max(done.values()) == 1, [path for path, times in done.items() if times > 1][:5]
    shares = [sum(bool(DONE.search(line)) for line in daemon.lines) for daemon in daemons]
    assert all(share > 0 for share in shares), shares  # each daemon did a share of the work
    for path in files:
        doc = validate_sidecar(sidecar_of(path))
        assert doc["status"] == "ok" and doc["source"]["name"] == path.name
    assert len(list(inbox.glob("*.json"))) == 3000 and not list(inbox.glob("*.error.json"))
    assert status(pg_url)["counts"]["done"] == 3000


def test_a_killed_host_s_leases_are_taken_over(inbox, tmp_path, pg_url):
    config = slow_config(tmp_path, 0.3, "lease = 3\n")
    daemons = start_daemons(inbox, config, tmp_path, pg_url, 3, last=("--poll", "0.2"))  # one polls, as on NFS
    victim, survivors = daemons[0], daemons[1:]
    files = drop(inbox, 60)
    wait_for(lambda: held_by(pg_url, victim.proc.pid) and sum(sidecar_of(p).exists() for p in files) >= 6, 60,
             what="the victim holding leases mid-run")
    os.kill(victim.proc.pid, signal.SIGKILL)
    victim.kill()
    orphaned = held_by(pg_url, victim.proc.pid)  # frozen now: nobody renews them
    assert orphaned, "the victim held nothing when it died: nothing was tested"

    wait_for(lambda: all_answered(files), 120, interval=0.2, what="every file, the victim's included")
    listed = status(pg_url)["daemons"]
    assert {(d["pid"], d["live"]) for d in listed} >= {(s.proc.pid, True) for s in survivors}
    assert (victim.proc.pid, False) in {(d["pid"], d["live"]) for d in listed}  # its heartbeat stopped
    table = run_edge("status", "--state-url", pg_url).stdout
    assert f"pid {victim.proc.pid}: not live (lease expired), last heartbeat" in table
    assert f"pid {survivors[0].proc.pid}: live, last heartbeat" in table
    assert [daemon.terminate() for daemon in survivors] == [0, 0]

    taken = {line.split("path=")[1].split()[0] for s in survivors for line in s.lines if "event=lease_taken" in line}
    assert set(orphaned) <= taken, (orphaned, taken)
    done = done_lines(daemons)
    assert max(done.values()) == 1  # nothing done twice
    skipped = {line.split("path=")[1].split()[0] for s in survivors for line in s.lines if "event=skipped" in line}
    assert {str(p) for p in files} - set(done) <= skipped  # the only repeats are sidecar-check skips
    for path in files:
        assert validate_sidecar(sidecar_of(path))["status"] == "ok"
    assert status(pg_url)["counts"]["done"] == 60


def test_database_restart_mid_run_pauses_and_resumes(inbox, tmp_path, pg_url, pg_cluster):
    daemons = start_daemons(inbox, slow_config(tmp_path, 0.5), tmp_path, pg_url, 2)
    files = drop(inbox, 60)
    wait_for(lambda: sum(sidecar_of(p).exists() for p in files) >= 6, 60, what="processing under way")
    pg_cluster.stop()
    try:
        wait_for(lambda: all(d.count("event=ledger_unavailable") for d in daemons), 30, what="both daemons pausing")
        # work in flight finishes: its sidecar is written while its ledger update waits
        wait_for(lambda: any(d.count("event=ledger_update_deferred") for d in daemons), 30, what="a deferred update")
        assert all(d.proc.poll() is None for d in daemons), "a daemon died with the database"
    finally:
        pg_cluster.start()
    wait_for(lambda: all(d.count("event=ledger_back") for d in daemons), 60, what="both daemons resuming")
    assert any(not sidecar_of(p).exists() for p in files), "finished before the restart: nothing to test"
    pg_cluster.restart()  # and pg_ctl restart, connections cut while work goes on
    wait_for(lambda: sum(d.count("event=ledger_back") for d in daemons) >= 3, 60, what="resuming after restart")
    wait_for(lambda: all_answered(files), 120, interval=0.2, what="every file after the restart")
    wait_for(lambda: status(pg_url)["counts"]["done"] == 60, 30, what="deferred updates applied")
    assert [daemon.terminate() for daemon in daemons] == [0, 0]

    done = done_lines(daemons)
    assert sum(done.values()) == 60 and max(done.values()) == 1  # nothing lost, nothing twice
    counts = status(pg_url)["counts"]
    assert counts == {"pending": 0, "running": 0, "done": 60, "failed": 0, "dead": 0}
    assert not any(error_of(p).exists() for p in files)
    assert all(validate_sidecar(sidecar_of(p))["status"] == "ok" for p in files)


def test_migrate_moves_a_populated_sqlite_ledger(inbox, tmp_path, pg_url, pg_cluster):
    files = drop(inbox, 30)
    (inbox / "empty.txt").write_bytes(b"")  # a permanent failure, with its error
    config = write_config(tmp_path / "models.toml")
    state = tmp_path / "state"
    daemon = DaemonProcess(inbox, config, state).wait_ready()
    wait_for(lambda: all_answered(files) and error_of(inbox / "empty.txt").exists(), 60, what="first pass")
    assert daemon.terminate() == 0
    before = status_sqlite(state)
    assert before["counts"]["done"] == 30 and before["counts"]["failed"] == 1

    result = run_edge("state", "migrate", "--to", pg_url, "--state-dir", str(state))
    assert result.returncode == 0, result.stderr
    assert "copied 31 row(s)" in result.stdout and pg_cluster.password not in result.stdout
    after = status(pg_url)
    assert after["counts"] == before["counts"]
    assert [e["path"] for e in after["last_errors"]] == [str(inbox / "empty.txt")]
    again = run_edge("state", "migrate", "--to", pg_url, "--state-dir", str(state))
    assert again.returncode == 0 and "31 already there were kept" in again.stdout
    assert status(pg_url)["counts"] == before["counts"]


def status_sqlite(state: Path) -> dict:
    out = subprocess.run([sys.executable, "-m", "edge", "status", "--json", "--state-dir", str(state)],
                         capture_output=True, text=True, check=True, env=edge_env(), cwd=ROOT)
    return json.loads(out.stdout)


@pytest.mark.parametrize("case", ["bad url", "wrong password", "unreachable"])
def test_a_bad_state_url_stops_edge_at_start_with_one_clear_line(case, inbox, tmp_path, pg_cluster):
    wrong = "Wr0ng-pa55word"
    url, says = {
        "bad url": (f"postgresql://edge:{wrong}@127.0.0.1:notaport/edge", "invalid"),
        "wrong password": (pg_cluster.url("postgres", password=wrong), "password authentication failed"),
        "unreachable": (f"postgresql://edge:{wrong}@127.0.0.1:{closed_port()}/edge", "refused"),
    }[case]
    config = write_config(tmp_path / "models.toml")
    for how in (["--state-url", url], []):  # the flag, then $EDGE_STATE_URL
        env = edge_env() if how else edge_env(EDGE_STATE_URL=url)
        result = run_edge("watch", str(inbox), "--config", str(config), "--state-dir", str(tmp_path / "s"), *how,
                          env=env, timeout=60)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, result.stderr
        assert len(lines) == 1 and lines[0].startswith("edge: ") and says in lines[0], result.stderr
        assert wrong not in result.stderr + result.stdout and "edge:***@" in lines[0]
    result = run_edge("status", "--state-url", url)
    assert result.returncode == 2 and wrong not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_state_in_models_toml_selects_the_shared_ledger(inbox, tmp_path, pg_url, pg_cluster):
    files = drop(inbox, 5)
    config = write_config(tmp_path / "models.toml", f'state = "{pg_url}"\n')
    daemon = DaemonProcess(inbox, config, tmp_path / "state").wait_ready()
    wait_for(lambda: all_answered(files), 60, what="five sidecars")
    assert daemon.terminate() == 0
    assert "state=postgresql://edge:***@" in daemon.log() and pg_cluster.password not in daemon.log()
    assert status(pg_url)["counts"]["done"] == 5
    assert not (tmp_path / "state" / "ledger.sqlite3").exists()
    result = run_edge("retry", str(files[0]), "--config", str(config))  # [edge] state serves the commands too
    assert result.returncode == 0 and "1 file(s) queued again" in result.stdout
    assert status(pg_url)["counts"]["pending"] == 1


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when this returns: nothing listens there


def test_review_list_shows_files_flagged_on_any_host(inbox, tmp_path, pg_url):
    import socket

    from edge import sidecar
    from edge.configure import parse_config
    from edge.ledger.postgresql import PostgresLedger
    from edge.ledger.shares import ShareMap
    from edge.pipeline import Pipeline, stat_job

    files = drop(inbox, 3)  # flagged and waiting, not flagged, flagged then accepted
    other_host = PostgresLedger(pg_url, ShareMap.build([inbox]))
    pipeline = Pipeline(parse_config({}))
    for path, flagged, waiting in zip(files, (True, False, True), (True, False, False)):
        job = stat_job(path, inbox)
        doc = pipeline.run(job).doc
        doc["review"] = {"needs_review": waiting, "reasons": [{"code": "required_missing", "message": "total"}]}
        sidecar.write_json(sidecar_of(path), doc)
        other_host.enqueue(str(path), str(inbox), "metadata", job.size, job.mtime_ns)
        other_host.finish(other_host.claim("metadata").path, "done", review=flagged)
    other_host.close()

    config = write_config(tmp_path / "models.toml", f'watch = ["{inbox}"]\n')  # no review_dir on this host
    result = run_edge("review", "list", "--json", "--config", str(config), "--state-url", pg_url)
    assert result.returncode == 0, result.stderr
    listed = [json.loads(line) for line in result.stdout.splitlines()]
    assert listed == [{"file": None, "origin": str(files[0]), "host": socket.gethostname(),
                       "reasons": [{"code": "required_missing", "message": "total"}]}]
    text = run_edge("review", "list", "--config", str(config), "--state-url", pg_url)
    assert "1 file(s) waiting for review" in text.stdout and f"flagged on {socket.gethostname()}" in text.stdout


def test_a_named_watch_records_share_relative_ids(inbox, tmp_path, pg_url):
    import psycopg

    files = drop(inbox, 3)
    config = write_config(tmp_path / "models.toml")
    daemon = DaemonProcess(Path(f"scans={inbox}"), config, tmp_path / "state", "--state-url", pg_url).wait_ready()
    wait_for(lambda: all_answered(files), 60, what="three sidecars")
    assert daemon.terminate() == 0
    with psycopg.connect(pg_url) as conn:
        ids = sorted(row[0] for row in conn.execute("SELECT id FROM edge_files WHERE status = 'done'"))
    assert ids == [f"scans/{path.name}" for path in files]  # the same on a host that mounts it elsewhere
