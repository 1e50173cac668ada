"""The `ocr-openai` engine: RapidOCR here, the text -> fields step on an OpenAI-compatible server.

The `ocr-small` tier with its text model moved off the machine: pages are
read locally (the `ocr` engine's RapidOCR), and the OCR text goes to a text
model served by vLLM, SGLang, llama-server, LM Studio or Ollama's /v1 (the
`openai` engine). Its kind is "ocr", so the tier loop runs it through the
same OCR tier runner as the embedded `ocr` engine.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..errors import EdgeError, InputError
from .base import Check, Completion, CompletionRequest, Engine
from .ocr import OcrEngine, OcrOptions
from .openai import OpenAIEngine, OpenAIOptions, tiny_jpeg

OCR_KEYS = ("max_side", "text_score", "min_score", "keep_ocr", "max_tokens")


class OcrOpenAIOptions(OpenAIOptions):
    max_side: int = Field(2000, ge=200)  # pages are scaled so the long side is at most this
    text_score: float = Field(0.5, ge=0, le=1)  # RapidOCR drops lines scored below this
    min_score: float = Field(0.8, ge=0, le=1)  # mean line score below this: low confidence, escalate
    keep_ocr: bool = False  # save the OCR text and boxes in the sidecar
    max_tokens: int = Field(768, ge=16)


class OcrOpenAIEngine(Engine):
    kind = "ocr"  # the OCR tier runner: read() pages, complete() the text
    Options = OcrOpenAIOptions

    def __init__(self, name: str, spec: Any, options: OcrOpenAIOptions):
        super().__init__(name, spec, options)
        self.options: OcrOpenAIOptions = options
        self.ocr = OcrEngine(f"{name}/ocr", spec, OcrOptions(**{key: getattr(options, key) for key in OCR_KEYS}))
        text_options = OpenAIOptions(**{key: getattr(options, key) for key in OpenAIOptions.model_fields})
        self.text = OpenAIEngine(f"{name}/text", spec, text_options)

    def read(self, image: bytes) -> Any:
        return self.ocr.read(image)

    def complete(self, request: CompletionRequest) -> Completion:
        if request.image is not None:
            raise InputError("the ocr-openai engine's text model takes text, not images", code="no_vision")
        return self.text.complete(request)

    def checks(self) -> list[Check]:
        label = f"model {self.name}"
        try:
            self.ocr.read(tiny_jpeg())
            found = [Check(label, "ok", "RapidOCR reads (models in the wheel)")]
        except EdgeError as exc:
            found = [Check(label, "fail", exc.message, exc.hint)]
        return found + [Check(f"{check.name} text model", check.level, check.message, check.fix)
                        for check in self.text.checks()]

    def provenance(self) -> dict[str, Any]:
        text = self.text.provenance()
        return {"name": self.name, "engine": "ocr-openai", "engine_version": text.get("engine_version"),
                "options": text.get("options", {}), "text_model": text}

    def close(self) -> None:
        self.text.close()
        self.ocr.close()
