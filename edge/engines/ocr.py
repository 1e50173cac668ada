"""The `ocr` engine: RapidOCR text lines with boxes and scores, in reading order.

RapidOCR carries its PP-OCR ONNX models inside the wheel, so this engine
needs no network, no GPU and no Ollama. Its `text_model` names the [models]
entry (by default the embedded Gemma 3 270M on llama.cpp) that the `ocr-small`
tier asks when its finders cannot separate two candidates; that model is
configured, listed, checked and scheduled like any other (edge.configure).
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import Field

from ..errors import EngineUnavailable, InputError
from .base import Check, Engine, EngineOptions

log = logging.getLogger("edge.ocr")


class OcrOptions(EngineOptions):
    text_model: str = "embedded:gemma3-270m"  # a [models] entry; a GGUF path or embedded: name implies NAME-text
    text_n_ctx: int = Field(4096, ge=512)  # these three set up an implied text model (edge.configure)
    n_threads: int | None = Field(None, ge=1)
    max_side: int = Field(2000, ge=200)  # pages are scaled so the long side is at most this
    text_score: float = Field(0.5, ge=0, le=1)  # RapidOCR drops lines scored below this
    min_score: float = Field(0.8, ge=0, le=1)  # mean line score below this: low confidence, escalate
    keep_ocr: bool = False  # save the OCR text and boxes in the sidecar
    max_tokens: int = Field(768, ge=16)
    max_string: int = Field(160, ge=8)
    max_items: int = Field(20, ge=1)


@dataclass
class OcrLine:
    text: str
    box: list[list[float]]  # four corners, clockwise from top-left, in source pixels
    score: float

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "box": [[round(x, 1), round(y, 1)] for x, y in self.box],
                "score": round(self.score, 4)}


@dataclass
class OcrPage:
    lines: list[OcrLine] = field(default_factory=list)
    width: int = 0
    height: int = 0
    elapsed_ms: float = 0.0

    @property
    def text(self) -> str:
        return "\n".join(row_texts(self.lines))

    @property
    def mean_score(self) -> float | None:
        return sum(line.score for line in self.lines) / len(self.lines) if self.lines else None


def reading_order(lines: list[OcrLine]) -> list[list[OcrLine]]:
    """Rows top to bottom (lines whose vertical centres are within half a line height), left to right."""
    rows: list[list[OcrLine]] = []
    for line in sorted(lines, key=lambda item: _centre_y(item)):
        if rows and abs(_centre_y(line) - _centre_y(rows[-1][0])) <= _height(rows[-1][0]) / 2:
            rows[-1].append(line)
        else:
            rows.append([line])
    return [sorted(row, key=lambda item: min(x for x, _ in item.box)) for row in rows]


def row_texts(lines: list[OcrLine]) -> list[str]:
    return ["  ".join(line.text for line in row) for row in reading_order(lines)]


def _centre_y(line: OcrLine) -> float:
    return sum(y for _, y in line.box) / 4


def _height(line: OcrLine) -> float:
    ys = [y for _, y in line.box]
    return max(ys) - min(ys)


class OcrEngine(Engine):
    kind = "ocr"
    isolated_by_default = True  # ONNX Runtime: a crash in it fails one file, not edge
    Options = OcrOptions

    def __init__(self, name: str, spec: Any, options: OcrOptions):
        super().__init__(name, spec, options)
        self.options: OcrOptions = options
        self._ocr: Any = None
        self._ocr_lock = threading.Lock()

    # OCR

    def _reader(self) -> Any:
        if self._ocr is None:
            try:
                from rapidocr import RapidOCR
            except ImportError as exc:
                raise EngineUnavailable(f"rapidocr cannot be imported: {exc}", code="ocr_missing",
                                        hint="pip install rapidocr onnxruntime") from None
            params = {"Global.log_level": "error", "Global.text_score": self.options.text_score,
                      "Global.max_side_len": self.options.max_side}
            self._ocr = RapidOCR(params=params)
            logging.getLogger("RapidOCR").setLevel(logging.ERROR)
        return self._ocr

    def read(self, image: bytes) -> OcrPage:
        """OCR one page (PNG/JPEG bytes): lines with boxes and scores, in reading order."""
        import numpy as np
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(io.BytesIO(image)) as picture:
                rgb = np.asarray(picture.convert("RGB"))
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError(f"cannot decode the page image for OCR: {exc}", code="corrupt") from None
        started = time.perf_counter()
        with self._ocr_lock:
            output = self._reader()(rgb[:, :, ::-1])  # RapidOCR expects OpenCV's BGR order
        elapsed = (time.perf_counter() - started) * 1000
        self.last_used = time.monotonic()
        lines = _lines(output)
        ordered = [line for row in reading_order(lines) for line in row]
        return OcrPage(ordered, width=rgb.shape[1], height=rgb.shape[0], elapsed_ms=elapsed)

    # lifecycle

    def checks(self) -> list[Check]:
        checks = []
        try:
            self._reader()
            checks.append(Check(f"model {self.name}", "ok", f"RapidOCR {_rapidocr_version()} (models in the wheel); "
                                                           f"close calls go to model {self.options.text_model}"))
        except EngineUnavailable as exc:
            checks.append(Check(f"model {self.name}", "fail", exc.message, exc.hint))
        return checks

    def provenance(self) -> dict[str, Any]:
        """The reader; the tier adds the block of the text model it asked (`text_model`)."""
        return {"name": self.name, "engine": self.kind, "engine_version": f"rapidocr {_rapidocr_version()}",
                "options": {"text_model": self.options.text_model}}

    def close(self) -> None:
        self._ocr = None


def _lines(output: Any) -> list[OcrLine]:
    if output is None or getattr(output, "boxes", None) is None or output.txts is None:
        return []
    return [OcrLine(str(text), [[float(x), float(y)] for x, y in box], float(score))
            for box, text, score in zip(output.boxes, output.txts, output.scores)]


def _rapidocr_version() -> str:
    try:
        from rapidocr._version import __version__
    except ImportError:
        return "unknown"
    return __version__
