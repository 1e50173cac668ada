"""Where each value was read: the box on the page behind every field, for a person to check.

The sidecar's `evidence.fields.NAME` says on which page a value is printed (a list over a page
break: `more` boxes on the next pages), its box
(`bbox`, `[x0, y0, x1, y1]` in the units of `page_size`: pixels of the page as OCR saw it,
`px`, or PDF points from the top-left, `pt`), the printed text, what read it (`text_layer`,
`ocr`, or `model` for a vision or OpenAI tier) and, from the CPU tier, the other candidates of
that role with their boxes. The CPU tier knows the line each candidate was found on; a model's
answer is looked up in the document's own text (as grounding does) and gets a box only when it
is found there. Pure: the result, the tier's evidence and the OCR block in, a dict out.
"""

from __future__ import annotations

from typing import Any

from .grounding import OcrIndex, found, leaves, squash

MAX_CANDIDATES = 4
COMPOSED = frozenset({"summary"})  # the CPU tier's one-line summary of the fields it found


def evidence(data: dict[str, Any], tier_evidence: dict[str, Any] | None, ocr: dict[str, Any] | None,
             by_model: bool) -> dict[str, Any]:
    """`{"fields": {name: {...}}}` for every non-null field of `data`."""
    pages = {page["page"]: dict(page) for page in (ocr or {}).get("pages", []) if "width" in page}
    candidates = ((tier_evidence or {}).get("fields") or {}) if not by_model else {}
    fields = {}
    for name, value in data.items():
        if value is None or value == [] or name.endswith("_confidence"):
            continue
        if name in COMPOSED:
            fields[name] = {"source": "composed"}  # written from the other fields, printed nowhere
            continue
        fields[name] = _field(value, candidates.get(name, {}).get("candidates", []), pages, by_model)
    return {"fields": fields}


def _field(value: Any, candidates: list[dict[str, Any]], pages: dict[int, dict[str, Any]],
           by_model: bool) -> dict[str, Any]:
    chosen = next((c for c in candidates if _same(c.get("value"), value)), None)
    place = _candidate_place(chosen, pages) if chosen else _search(value, pages)
    read = next(iter(pages.values()))["source"] if pages else "transcript"  # no page boxes: a transcript
    entry: dict[str, Any] = {"source": "model" if by_model else (place or {}).get("source", read)}
    if place:
        entry.update({key: place[key] for key in ("page", "bbox", "units", "page_size", "text", "more")
                      if key in place})
    others = [c for c in candidates if c is not chosen][:MAX_CANDIDATES]
    if others:
        entry["candidates"] = [_candidate(c, pages) for c in others]
    return entry


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) < 1e-9
    return a == b


def _candidate(candidate: dict[str, Any], pages: dict[int, dict[str, Any]]) -> dict[str, Any]:
    place = _candidate_place(candidate, pages) or {}
    return {"value": candidate.get("value"), "text": candidate.get("text"),
            **{key: place[key] for key in ("page", "bbox") if key in place}}


def _candidate_place(candidate: dict[str, Any], pages: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    page = pages.get(candidate.get("page", 0))
    lines = page["lines"] if page else []
    index = candidate.get("line")
    if page is None or not isinstance(index, int) or not 0 <= index < len(lines):
        return None
    return _place(page, [lines[index]], str(candidate.get("text") or ""))


def _search(value: Any, pages: dict[int, dict[str, Any]]) -> dict[str, Any] | None:
    """The lines a value is printed on; for a list or an object (line items), the lines of its texts
    and amounts (a quantity of 1 is printed on too many lines to say where an item is)."""
    many = isinstance(value, (dict, list))
    wanted = _telling(value) if many else [value]
    places = []
    for page in pages.values():
        indexes = page.setdefault("_indexes", [OcrIndex(line["text"]) for line in page["lines"]])
        hits = [line for line, index in zip(page["lines"], indexes, strict=True)
                if any(found(index, leaf) or _part_of(line["text"], leaf) for leaf in wanted)]
        if hits:
            places.append(_place(page, hits, "" if len(hits) > 1 else str(value)))
            if not many:
                break
    if not places:
        return None
    first = places[0]
    if len(places) > 1:  # a table over a page break: its rows on the next pages
        first["more"] = [{key: place[key] for key in ("page", "bbox", "text")} for place in places[1:]]
    return first


def _part_of(line: str, leaf: Any) -> bool:
    """A line that is part of a text printed over several lines (a wrapped description)."""
    piece = squash(line)
    return isinstance(leaf, str) and len(piece) >= 3 and piece in squash(leaf)


def _telling(value: Any) -> list[Any]:
    return [leaf for _, leaf in leaves(value)
            if (isinstance(leaf, str) and len(leaf) > 1) or (isinstance(leaf, float) and leaf != int(leaf))]


def _place(page: dict[str, Any], lines: list[dict[str, Any]], printed: str) -> dict[str, Any]:
    """One box over the lines (or, on one line, over the printed text's share of it)."""
    boxes = [_box(line) for line in lines]
    bbox = [min(b[0] for b in boxes), min(b[1] for b in boxes), max(b[2] for b in boxes), max(b[3] for b in boxes)]
    if len(lines) == 1 and printed:
        bbox = _span(lines[0]["text"], printed, bbox)
    text = "\n".join(line["text"] for line in lines)
    return {"page": page["page"], "bbox": [round(v, 1) for v in bbox],
            "units": "pt" if page["source"] == "text_layer" else "px",
            "page_size": [page["width"], page["height"]], "text": text, "source": page["source"]}


def _box(line: dict[str, Any]) -> list[float]:
    xs = [point[0] for point in line["box"]]
    ys = [point[1] for point in line["box"]]
    return [min(xs), min(ys), max(xs), max(ys)]


def _span(text: str, printed: str, bbox: list[float]) -> list[float]:
    """The printed value's share of its line, by its characters' place in the line's text."""
    start = text.find(printed)
    if start < 0 or not text:
        return bbox
    width = bbox[2] - bbox[0]
    return [bbox[0] + width * start / len(text), bbox[1], bbox[0] + width * (start + len(printed)) / len(text),
            bbox[3]]
