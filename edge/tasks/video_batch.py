"""Several frames in one request, for models that take several images (Qwen2-VL, Gemma 3, mtmd).

The request asks for a `frames` array with one object per image, in order;
each item is checked against the route's schema like a single answer. An
answer that does not hold exactly one valid object per frame is not
guessed at: the caller asks those frames again one at a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ..engines.base import Completion, CompletionRequest
from ..extract import prompts, validate
from ..extract.schemas import SchemaSpec

_FENCE = re.compile(r"```(?:json)?\s*(.*?)\s*```", re.DOTALL)


def _unfence(text: str) -> str:
    match = _FENCE.search(text)
    return match.group(1) if match else text.strip()


def batch_format(spec: SchemaSpec, count: int) -> dict[str, Any]:
    """{"frames": [one object of the schema per image]}: exactly `count` of them."""
    return {"type": "object", "properties": {"frames": {"type": "array", "items": spec.format,
                                                        "minItems": count, "maxItems": count}},
            "required": ["frames"]}


def batch_prompt(prompt: prompts.Prompt, times: list[float]) -> prompts.Prompt:
    stamps = ", ".join(f"{t:.1f} s" for t in times)
    text = (f"The {len(times)} images are frames of one video, in time order (at {stamps}). "
            f"Answer for each frame separately, in the same order, as {{\"frames\": [...]}} with one object "
            f"per frame.\n\n{prompt.text}")
    return prompts.Prompt(prompt.system, text)


def ask(complete: Callable[[CompletionRequest], Completion], request: CompletionRequest, spec: SchemaSpec,
        count: int) -> tuple[list[validate.Parsed] | None, Completion]:
    """One request for `count` frames: a parsed answer per frame, or None when the answer is unusable."""
    completion = complete(replace(request, schema=batch_format(spec, count)))
    if completion.done_reason == "length":
        return None, completion
    try:
        items = json.loads(_unfence(completion.text)).get("frames")
    except (ValueError, AttributeError):
        return None, completion
    if not isinstance(items, list) or len(items) != count:
        return None, completion
    parsed = [validate.parse(Completion(text=json.dumps(item)), spec) for item in items]
    return (parsed if all(p.ok for p in parsed) else None), completion
