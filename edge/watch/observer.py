"""watchdog observers (inotify, or polling for NFS/SMB) feeding the settle tracker."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer
from watchdog.observers.polling import PollingObserver

log = logging.getLogger("edge.watch")


class _Handler(FileSystemEventHandler):
    def __init__(self, touch: Callable[[Path, bool], None], new_folder: Callable[[Path], None]):
        self.touch = touch
        self.new_folder = new_folder

    def on_created(self, event: FileSystemEvent) -> None:
        if event.is_directory:
            self.new_folder(Path(event.src_path))
        else:
            self.touch(Path(event.src_path), False)

    def on_modified(self, event: FileSystemEvent) -> None:
        if not event.is_directory:
            self.touch(Path(event.src_path), False)

    def on_closed(self, event: FileSystemEvent) -> None:  # IN_CLOSE_WRITE
        if not event.is_directory:
            self.touch(Path(event.src_path), True)

    def on_moved(self, event: FileSystemEvent) -> None:
        # A rename from `x.part` to `x` (or into the tree) is an arrival.
        if event.is_directory:
            self.new_folder(Path(event.dest_path))
        else:
            self.touch(Path(event.dest_path), True)


def start_observer(roots: list[Path], touch: Callable[[Path, bool], None], new_folder: Callable[[Path], None],
                   poll: float | None = None):
    """Watch every root recursively; returns the running observer."""
    observer = PollingObserver(timeout=poll) if poll else Observer()
    handler = _Handler(touch, new_folder)
    for root in roots:
        observer.schedule(handler, str(root), recursive=True)
    observer.daemon = True
    observer.start()
    log.info("event=watching roots=%s mode=%s", ",".join(map(str, roots)), f"poll:{poll}s" if poll else "inotify")
    return observer
