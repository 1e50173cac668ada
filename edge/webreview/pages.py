"""What the review pages show, as plain values for the templates, and a form turned back into corrections."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..review import Pending


def locate(root: Path, rel: str | None, pending: list[Pending]) -> Pending | None:
    """The waiting item named by `rel` (its path in the review folder), or None.

    Refused before anything is read: an absolute path, `..`, a path whose real place (symlinks followed)
    is outside the review folder, or a file that is not in the queue.
    """
    if not rel or "\0" in rel or "\\" in rel or rel.startswith("/") or ".." in Path(rel).parts:
        return None
    root = root.resolve()
    candidate = root / rel
    real = Path(os.path.realpath(candidate))
    if real == root or root not in real.parents or real != candidate:  # a symlink anywhere on the way
        return None
    return next((item for item in pending if item.file == candidate), None)


def rel_of(root: Path, item: Pending) -> str:
    return item.file.relative_to(root.resolve()).as_posix()


# -- the queue ----------------------------------------------------------------------------


def reason_codes(item: Pending) -> list[str]:
    return [str(r.get("code")) for r in item.reasons]


def queue_rows(root: Path, pending: list[Pending], reason: str | None) -> list[dict[str, Any]]:
    rows = []
    for item in pending:
        if reason and reason not in reason_codes(item):
            continue
        rows.append({**item.summary(), "rel": rel_of(root, item), "name": item.file.name})
    return rows


def all_reasons(pending: list[Pending]) -> list[tuple[str, int]]:
    """Every reason code in the queue with how many files carry it, for the filter."""
    counts: dict[str, int] = {}
    for item in pending:
        for code in dict.fromkeys(reason_codes(item)):
            counts[code] = counts.get(code, 0) + 1
    return sorted(counts.items())


# -- one file -----------------------------------------------------------------------------


PAD = 0.004  # of the page width, around a box as drawn: the stroke beside the printed text, not over it


@dataclass
class Box:
    page: int  # 1-based
    bbox: list[float]
    size: list[float]  # page_size, in the bbox's units: the SVG viewBox, so it scales with the image

    @property
    def drawn(self) -> list[float]:
        """x, y, width, height of the rectangle drawn, a little outside the box."""
        pad = PAD * self.size[0]
        x0, y0, x1, y1 = self.bbox
        return [round(x0 - pad, 2), round(y0 - pad, 2), round(x1 - x0 + 2 * pad, 2), round(y1 - y0 + 2 * pad, 2)]


@dataclass
class Candidate:
    value: Any
    shown: str
    text: str
    box: Box | None
    current: bool = False


@dataclass
class Field:
    name: str
    value: Any
    shown: str
    multiline: bool
    box: Box | None
    text: str
    source: str | None
    reasons: list[dict[str, Any]] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)


def shown(value: Any) -> str:
    """A value as the form shows it: text as it is, null as empty, anything else as JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, indent=1)
    return json.dumps(value)


def _box(evidence: dict[str, Any]) -> Box | None:
    bbox, size = evidence.get("bbox"), evidence.get("page_size")
    if not (isinstance(bbox, list) and len(bbox) == 4 and isinstance(size, list) and len(size) == 2):
        return None
    if not all(isinstance(v, (int, float)) for v in [*bbox, *size]) or min(size) <= 0:
        return None
    return Box(int(evidence.get("page") or 1), [float(v) for v in bbox], [float(v) for v in size])


def fields(doc: dict[str, Any]) -> list[Field]:
    """Each result field with its evidence box, the reasons that name it and its candidates (the current first)."""
    result = doc.get("result") or {}
    evidence = ((doc.get("evidence") or {}).get("fields")) or {}
    reasons = (doc.get("review") or {}).get("reasons", [])
    out = []
    for name, value in result.items():
        found = evidence.get(name) or {}
        box = _box(found)
        others = [c for c in found.get("candidates") or [] if isinstance(c, dict) and "value" in c]
        candidates = []
        if others:
            candidates = [Candidate(value, shown(value), str(found.get("text") or ""), box, current=True)]
            for other in others:
                inherited = {"page_size": found.get("page_size"), **other}  # a candidate's box shares its page size
                candidates.append(Candidate(other["value"], shown(other["value"]), str(other.get("text") or ""),
                                            _box(inherited)))
        out.append(Field(name, value, shown(value), isinstance(value, (list, dict)), box,
                         str(found.get("text") or ""), found.get("source"),
                         [r for r in reasons if _names(r, name)], candidates))
    return out


def _names(reason: dict[str, Any], name: str) -> bool:
    return reason.get("field") == name or name in (reason.get("fields") or [])


def general_reasons(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The reasons that name no field of the result (tier unavailable, a page unread, ...)."""
    names = set(doc.get("result") or {})
    return [r for r in (doc.get("review") or {}).get("reasons", []) if not any(_names(r, n) for n in names)]


def neighbours(order: list[str], rel: str) -> tuple[str | None, str | None]:
    """The previous and next file of the (filtered) queue."""
    if rel not in order:
        return None, order[0] if order else None
    at = order.index(rel)
    return (order[at - 1] if at > 0 else None), (order[at + 1] if at + 1 < len(order) else None)


# -- the form -----------------------------------------------------------------------------

FIELD_PREFIX = "field:"


def corrections(result: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    """The fields a person changed, as values: only those whose text differs from what the form showed.

    Empty is null; a list or object field (and text that looks like one) is read as JSON; a number
    field's text as a number where it reads as one (the schema's check has the last word).
    """
    changed = {}
    for name, value in result.items():
        text = form.get(FIELD_PREFIX + name)
        if text is None or text.replace("\r\n", "\n") == shown(value):
            continue
        changed[name] = parse(text.replace("\r\n", "\n").strip(), value)
    return changed


def parse(text: str, original: Any) -> Any:
    if text == "":
        return None
    if isinstance(original, (list, dict)) or text[0] in "[{":
        try:
            return json.loads(text)
        except ValueError:
            return text  # the schema check says what is wrong with it
    if isinstance(original, (int, float)) and not isinstance(original, bool):
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if isinstance(original, int) and number.is_integer() else number
    return text
