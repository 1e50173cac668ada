"""A metadata engine that takes the whole process down on one named file, for crash-quarantine tests.

Loaded by the daemon under test as a plugin: `engine = "tests.helpers.crashing_engine:CrashingEngine"`.
It stands for native code (llama.cpp, CTranslate2, ONNX Runtime, FFmpeg) that dies on one input:
on the file named `crash_on` it calls os.abort() (SIGABRT), reads address 0 through ctypes (a real
SIGSEGV), or hangs until the process is killed (`how = "hang"`, for kill -9 mid-file); `refuse` and
`defect` raise instead (an EngineError, a ValueError), as an engine that stays up would. Every other
file gets the metadata engine's answer. With `while_flag` it only misbehaves while that file exists.

CrashingOcrEngine is the real OCR engine (RapidOCR) that dies by SIGSEGV on a page where it read MARK:
a model of the `ocr` engine, isolated by default, with no `isolate` key of its own.
"""

from __future__ import annotations

import ctypes
import os
import threading
from pathlib import Path
from typing import Literal

from edge.engines.base import EngineOptions
from edge.engines.metadata import MetadataEngine
from edge.engines.ocr import OcrEngine
from edge.errors import EngineError


class CrashingOptions(EngineOptions):
    crash_on: str = ""  # the name of the file this engine dies on
    how: Literal["abort", "segv", "hang", "refuse", "defect"] = "abort"
    while_flag: str | None = None  # path of a flag file: misbehave only while it exists


class CrashingEngine(MetadataEngine):
    kind = "crashing"
    Options = CrashingOptions

    def describe(self, path: Path, media_kind: str):
        if path.name == self.options.crash_on and self._armed():
            _die(self.options.how)
        return {**super().describe(path, media_kind), "engine": "crashing"}

    def _armed(self) -> bool:
        return self.options.while_flag is None or Path(self.options.while_flag).exists()

    def provenance(self):
        return {"name": self.name, "engine": "crashing"}


MARK = "Crashing Widgets"  # CrashingOcrEngine dies on a page that prints this


class CrashingOcrEngine(OcrEngine):
    def read(self, image: bytes):
        page = super().read(image)
        if MARK in page.text:
            _die("segv")
        return page


def _die(how: str) -> None:
    if how == "refuse":
        raise EngineError("the engine refused this file", code="refused_here", hint="a hint from the engine")
    if how == "defect":
        raise ValueError("a bug in the engine")
    if how == "abort":
        os.abort()
    if how == "segv":
        ctypes.string_at(0)  # reads address 0: SIGSEGV, as a native library's bug would
    threading.Event().wait()  # "hang": in flight until the process is killed
