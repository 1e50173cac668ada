"""Hand a file on only once it has finished arriving.

A file is settled after `settle` seconds without an event and with size and
mtime unchanged between two stats. A close-after-write event shortens the
wait (the writer says it is done), but the two stats must still agree, so a
file that keeps growing is never handed on.
"""

from __future__ import annotations

import heapq
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("edge.settle")

CLOSED_WAIT = 0.1  # seconds after a close-after-write before the confirming stat


class SettleTracker:
    def __init__(self, settle: float, on_settled: Callable[[Path], None], clock: Callable[[], float] = time.monotonic):
        self.settle = settle
        self.on_settled = on_settled
        self.clock = clock
        self._seen: dict[Path, tuple[float, tuple[int, int] | None]] = {}  # path -> (deadline, last stat)
        self._heap: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self._stopped = False
        self._thread = threading.Thread(target=self._loop, name="edge-settle", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def pending(self) -> int:
        with self._cond:
            return len(self._seen)

    def touch(self, path: Path, closed: bool = False) -> None:
        """An event for `path`: (re)start its quiet period."""
        wait = min(self.settle, CLOSED_WAIT) if closed else self.settle
        deadline = self.clock() + wait
        with self._cond:
            self._seen[path] = (deadline, _stat(path))
            heapq.heappush(self._heap, (deadline, str(path)))
            self._cond.notify()

    def forget(self, path: Path) -> None:
        with self._cond:
            self._seen.pop(path, None)

    def _loop(self) -> None:
        while True:
            ready = self._next_ready()
            if ready is None:
                return
            try:
                self.on_settled(ready)
            except Exception:  # a defect downstream must not stop the watcher
                log.exception("event=handoff_failed path=%s", ready)

    def _next_ready(self) -> Path | None:
        with self._cond:
            while not self._stopped:
                now = self.clock()
                while self._heap and self._heap[0][0] <= now:
                    _, name = heapq.heappop(self._heap)
                    if self._due(Path(name), now):
                        return Path(name)
                timeout = self._heap[0][0] - now if self._heap else None
                self._cond.wait(timeout)
            return None

    def _due(self, path: Path, now: float) -> bool:
        """Called with the lock held for a popped deadline; True when settled."""
        entry = self._seen.get(path)
        if entry is None or entry[0] > now:
            return False  # forgotten, or a newer event moved the deadline
        current = _stat(path)
        if current is None:
            del self._seen[path]  # vanished (moved away or deleted)
            return False
        if current == entry[1]:
            del self._seen[path]
            return True
        # Still changing, or first stat after a close: look again after a quiet period.
        deadline = now + self.settle if entry[1] is not None else now + CLOSED_WAIT
        self._seen[path] = (deadline, current)
        heapq.heappush(self._heap, (deadline, str(path)))
        return False


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_size, info.st_mtime_ns)
