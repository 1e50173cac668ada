"""sd_notify (edge/service.py): the Notifier's messages on a real AF_UNIX datagram socket, and the
daemon's watchdog pings in-process. `edge watch` under a $NOTIFY_SOCKET is in tests/e2e/daemon/test_sdnotify.py.
"""

from __future__ import annotations

import os
import threading

from edge.configure import parse_config
from edge.service import Notifier
from tests.helpers.service import WATCHDOG_USEC


def test_watchdog_stops_while_unhealthy(tmp_path, notify, monkeypatch):
    """In-process: stop the watcher (as if it died) and the pings stop, STATUS goes on."""
    from edge.daemon import Daemon

    monkeypatch.setenv("NOTIFY_SOCKET", str(notify.path))
    monkeypatch.setenv("WATCHDOG_USEC", str(WATCHDOG_USEC))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    config = parse_config({"edge": {"settle": 0.2, "rescan": 0, "grace": 5}})
    daemon = Daemon(config, [inbox], tmp_path / "state")
    daemon._start()
    loop = threading.Thread(target=daemon._main_loop, name="edge-main-loop")
    loop.start()
    try:
        notify.wait_for(lambda m: m == "WATCHDOG=1", 10, "WATCHDOG=1 while healthy")
        daemon.observer.stop()
        daemon.observer.join(10)
        assert not daemon.healthy()
        notify.wait_for(lambda m: m.startswith("STATUS="), 10, "STATUS= after the watcher died")
        mark = len(notify.messages)
        for _ in range(3):  # three more turns of the main loop
            notify.wait_for(lambda m: m.startswith("STATUS="), 10, "STATUS=")
        assert "WATCHDOG=1" not in notify.messages[mark:]
    finally:
        daemon.stop()
        loop.join(10)
        daemon._shutdown()
    assert notify.messages[-1] == "STOPPING=1" or "STOPPING=1" in notify.drain()


def test_notifier_protocol_details(notify):
    notifier = Notifier({"NOTIFY_SOCKET": str(notify.path), "WATCHDOG_USEC": "3000000"})
    assert notifier.watchdog_interval == 1.5
    notifier.status("2 queued\nprocessing a.jpg")
    notifier.reloading()
    notifier.extend_timeout(90)
    notifier.close()
    got = notify.drain()
    assert got[0] == "STATUS=2 queued processing a.jpg"  # a newline would end the message early
    assert got[1].startswith("RELOADING=1\nMONOTONIC_USEC=")
    assert got[2] == "EXTEND_TIMEOUT_USEC=90000000"


def test_notifier_without_socket_or_for_another_pid():
    assert not Notifier({}).enabled
    assert Notifier({}).send("READY=1") is False
    assert Notifier({"WATCHDOG_USEC": "1000000", "WATCHDOG_PID": str(os.getpid() + 1)}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "0"}).watchdog_interval is None
    assert Notifier({"WATCHDOG_USEC": "junk"}).watchdog_interval is None


def test_abstract_socket_address():
    notifier = Notifier({"NOTIFY_SOCKET": "@edge-test"})
    assert notifier.address == "\0edge-test"
