"""The watchdog observers (edge/watch/observer.py)."""

from __future__ import annotations


def test_an_inotify_overflow_asks_for_a_rescan(tmp_path):
    """Several daemons on one folder multiply its events; a dropped burst is rescanned at once."""
    import logging

    from edge.watch.observer import start_observer, stop_observer

    calls: list[str] = []
    observer = start_observer([tmp_path], lambda *_: None, lambda *_: None, on_overflow=lambda: calls.append("x"))
    try:
        logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; filesystem events were lost")
    finally:
        stop_observer(observer)
        observer.join(timeout=5)
    logging.getLogger("watchdog.observers.inotify_c").warning("Inotify queue overflowed; after the stop")
    assert calls == ["x"]
