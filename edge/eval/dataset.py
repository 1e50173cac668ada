"""A labelled set: a folder of files, each with `<file>.truth.json` beside it.

A truth file holds at least `fields` (field -> true value, null where the
document does not carry it). Optional: `schema` (the schema this document is
read with; else the route's), `checkers` (field -> checker name, else one is
chosen from the field's name and value), and anything else (kept, shown in
reports: `hard_cases`, `missing_on_purpose`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from .checkers import CHECKERS

TRUTH_SUFFIX = ".truth.json"


@dataclass
class Sample:
    path: Path
    fields: dict[str, Any]
    schema: str | None = None
    checkers: dict[str, str] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name


def load(folder: Path) -> list[Sample]:
    """Every file of `folder` (recursively) that has a truth file, in name order."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: not a folder", code="no_dataset")
    samples = [load_sample(truth) for truth in sorted(folder.rglob(f"*{TRUTH_SUFFIX}"))]
    if not samples:
        raise InputError(f"{folder}: no <file>{TRUTH_SUFFIX} files here", code="no_dataset",
                         hint="make one with `edge eval make-set OUT --n 200 --seed 1`")
    return samples


def load_sample(truth_path: Path) -> Sample:
    document = truth_path.with_name(truth_path.name[: -len(TRUTH_SUFFIX)])
    try:
        truth = json.loads(truth_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{truth_path}: not a readable JSON file: {exc}", code="bad_truth") from None
    if not document.is_file():
        raise InputError(f"{truth_path}: the document {document.name} is not there", code="bad_truth")
    if not isinstance(truth, dict) or not isinstance(truth.get("fields"), dict):
        raise InputError(f"{truth_path}: needs an object with a `fields` object", code="bad_truth")
    checkers = truth.get("checkers") or {}
    unknown = sorted(set(checkers.values()) - set(CHECKERS))
    if unknown:
        raise InputError(f"{truth_path}: unknown checkers {unknown}; known: {', '.join(CHECKERS)}", code="bad_truth")
    meta = {key: value for key, value in truth.items() if key not in ("fields", "schema", "checkers")}
    return Sample(document, truth["fields"], truth.get("schema"), checkers, meta)
