"""Logging: readable on a terminal, one key=value line per event otherwise.

Under systemd ($JOURNAL_STREAM set) lines carry no timestamp: journald adds
its own. `--log-json` gives one JSON object per line for log shippers.
"""

from __future__ import annotations

import json
import logging
import os
import sys


class KeyValueFormatter(logging.Formatter):
    def __init__(self, timestamps: bool):
        fmt = "%(asctime)s level=%(levelname)s logger=%(name)s %(message)s" if timestamps else \
            "level=%(levelname)s logger=%(name)s %(message)s"
        super().__init__(fmt, datefmt="%Y-%m-%dT%H:%M:%S%z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        doc = {"level": record.levelname, "logger": record.name, "msg": record.getMessage()}
        if "JOURNAL_STREAM" not in os.environ:
            doc["ts"] = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return json.dumps(doc, ensure_ascii=False)


def setup_logging(level: str = "INFO", as_json: bool = False) -> None:
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(level.upper())
    if as_json:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
    elif sys.stderr.isatty() and "JOURNAL_STREAM" not in os.environ:
        from rich.logging import RichHandler

        handler = RichHandler(show_path=False, rich_tracebacks=True)
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(KeyValueFormatter(timestamps="JOURNAL_STREAM" not in os.environ))
    root.addHandler(handler)
    for noisy in ("watchdog", "httpx", "httpcore", "faster_whisper", "PIL", "RapidOCR"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
