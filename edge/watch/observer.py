"""watchdog observers (inotify, or polling for NFS/SMB) feeding the settle tracker."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path

from watchdog.events import (
    DirCreatedEvent,
    DirMovedEvent,
    FileClosedEvent,
    FileCreatedEvent,
    FileModifiedEvent,
    FileMovedEvent,
    FileSystemEvent,
    FileSystemEventHandler,
)
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = logging.getLogger("edge.watch")

# Only what _Handler uses: no IN_OPEN/IN_CLOSE_NOWRITE, which every read of a file by this
# daemon (or by another daemon sharing the folder) would add to the kernel's bounded queue.
EVENTS = [FileCreatedEvent, DirCreatedEvent, FileModifiedEvent, FileClosedEvent, FileMovedEvent, DirMovedEvent]
_INOTIFY_LOGGER = "watchdog.observers.inotify_c"


class _Overflow(logging.Handler):
    """watchdog only logs an inotify queue overflow: turn that line into a call (a rescan)."""

    def __init__(self, callback: Callable[[], None]):
        super().__init__(logging.WARNING)
        self.callback = callback

    def emit(self, record: logging.LogRecord) -> None:
        if "queue overflowed" in record.getMessage():
            self.callback()


class _Handler(FileSystemEventHandler):
    def __init__(self, touch: Callable[[Path, bool], None], new_folder: Callable[[Path], None]):
        self.touch = touch
        self.new_folder = new_folder

    def on_created(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            self.new_folder(_path(event.src_path))
        else:
            self.touch(_path(event.src_path), False)

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.touch(_path(event.src_path), False)

    def on_closed(self, event: FileSystemEvent) -> None:  # IN_CLOSE_WRITE
        if not event.is_directory:
            self.touch(_path(event.src_path), True)

    def on_moved(self, event: FileSystemEvent) -> None:
        # A rename from `x.part` to `x` (or into the tree) is an arrival.
        if event.is_directory:
            self.new_folder(_path(event.dest_path))
        else:
            self.touch(_path(event.dest_path), True)


def _path(raw: str | bytes) -> Path:
    return Path(os.fsdecode(raw))


def start_observer(roots: list[Path], touch: Callable[[Path, bool], None], new_folder: Callable[[Path], None],
                   poll: float | None = None, on_overflow: Callable[[], None] | None = None):
    """Watch every root recursively; returns the running observer.

    `on_overflow` is called when the kernel dropped events (a burst larger than
    its queue): the caller rescans rather than waiting for the periodic rescan."""
    observer = PollingObserver(timeout=poll) if poll else Observer()
    handler = _Handler(touch, new_folder)
    for root in roots:
        observer.schedule(handler, str(root), recursive=True, event_filter=EVENTS)
    observer.overflow_handler = None  # type: ignore[attr-defined]  # ours: removed again at stop
    if on_overflow is not None and not poll:
        observer.overflow_handler = _Overflow(on_overflow)  # type: ignore[attr-defined]
        logging.getLogger(_INOTIFY_LOGGER).addHandler(observer.overflow_handler)  # type: ignore[attr-defined]
    observer.daemon = True
    observer.start()
    log.info("event=watching roots=%s mode=%s", ",".join(map(str, roots)), f"poll:{poll}s" if poll else "inotify")
    return observer


def stop_observer(observer) -> None:
    """Stop watching, and stop listening for overflows."""
    if getattr(observer, "overflow_handler", None) is not None:
        logging.getLogger(_INOTIFY_LOGGER).removeHandler(observer.overflow_handler)
    observer.stop()
