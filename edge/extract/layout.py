"""A page as printed: text lines with boxes, grouped into rows in reading order.

The lines come from OCR (RapidOCR quads) or from a PDF's text layer. Scans
are often a few degrees off; rows are found after undoing the page's skew
(the median slope of its long lines), so a right-aligned amount still lands
on the row of its label.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

Source = Literal["ocr", "text_layer", "transcript"]


@dataclass
class Line:
    text: str
    quad: list[list[float]]  # four corners, clockwise from top-left, in page pixels (or points)
    score: float = 1.0
    index: int = 0  # position in reading order on its page
    row: int = 0  # the row it belongs to
    y: float = 0.0  # deskewed centre
    x0: float = 0.0  # deskewed left and right edges
    x1: float = 0.0

    @property
    def angle(self) -> float:
        """The slope of the line's top edge, in degrees."""
        (ax, ay), (bx, by) = self.quad[0], self.quad[1]
        return math.degrees(math.atan2(by - ay, bx - ax)) if bx != ax or by != ay else 0.0

    @property
    def height(self) -> float:
        (ax, ay), _, _, (dx, dy) = self.quad
        return max(1.0, math.hypot(dx - ax, dy - ay))

    def as_dict(self, boxes: bool = True) -> dict[str, Any]:
        if not boxes:
            return {"text": self.text}
        return {"text": self.text, "box": [[round(x, 1), round(y, 1)] for x, y in self.quad],
                "score": round(self.score, 4)}


@dataclass
class Page:
    number: int  # 1-based
    lines: list[Line]
    width: float
    height: float
    source: Source = "ocr"
    skew_deg: float = 0.0
    rows: list[list[Line]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join("  ".join(line.text for line in row) for row in self.rows)

    @property
    def mean_score(self) -> float | None:
        return sum(line.score for line in self.lines) / len(self.lines) if self.lines else None

    @property
    def median_height(self) -> float:
        return statistics.median(line.height for line in self.lines) if self.lines else 1.0

    def same_row_right(self, line: Line) -> list[Line]:
        """Lines printed to the right of `line` on its row, nearest first."""
        return [other for other in self.rows[line.row] if other.x0 >= line.x1 - line.height * 0.5
                and other is not line]

    def below(self, line: Line, rows: int = 2) -> list[Line]:
        """Lines in the next `rows` rows that overlap `line` horizontally (stacked forms)."""
        found = []
        for row in self.rows[line.row + 1: line.row + 1 + rows]:
            found += [other for other in row if other.x0 < line.x1 and other.x1 > line.x0 - line.height]
        return found


def build_page(number: int, lines: Iterable[Line], width: float, height: float, source: Source = "ocr") -> Page:
    """Deskew, group into rows, and number the lines in reading order."""
    kept = [line for line in lines if line.text.strip()]
    angle = skew(kept)
    cos, sin = math.cos(-angle), math.sin(-angle)
    for line in kept:
        xs, ys = zip(*[(x * cos - y * sin, x * sin + y * cos) for x, y in line.quad])
        line.y, line.x0, line.x1 = sum(ys) / 4, min(xs), max(xs)
    rows = group_rows(kept)
    ordered = [line for row in rows for line in row]
    for index, line in enumerate(ordered):
        line.index = index
    return Page(number, ordered, width, height, source, round(math.degrees(angle), 2), rows)


def skew(lines: list[Line]) -> float:
    """The page's rotation in radians: the median slope of the top edges of wide lines."""
    slopes = []
    for line in lines:
        (ax, ay), (bx, by) = line.quad[0], line.quad[1]
        if bx - ax > 3 * line.height:
            slopes.append(math.atan2(by - ay, bx - ax))
    return statistics.median(slopes) if len(slopes) >= 3 else 0.0


def group_rows(lines: list[Line]) -> list[list[Line]]:
    """Rows top to bottom: a line joins a row whose centre is within half its height."""
    rows: list[list[Line]] = []
    for line in sorted(lines, key=lambda item: item.y):
        if rows and abs(line.y - _row_y(rows[-1])) <= min(line.height, rows[-1][0].height) * 0.5:
            rows[-1].append(line)
        else:
            rows.append([line])
    ordered = [sorted(row, key=lambda item: item.x0) for row in rows]
    for number, row in enumerate(ordered):
        for line in row:
            line.row = number
    return ordered


def _row_y(row: list[Line]) -> float:
    return sum(line.y for line in row) / len(row)


def from_box(text: str, x0: float, y0: float, x1: float, y1: float, score: float = 1.0) -> Line:
    """A line from an axis-aligned box (PDF text layer)."""
    return Line(text, [[x0, y0], [x1, y0], [x1, y1], [x0, y1]], score)


def text_page(number: int, text: str, source: Source = "transcript") -> Page:
    """A page with no geometry (a transcript): each line of text is a row."""
    lines = [from_box(chunk, 0, row * 10, len(chunk), row * 10 + 8) for row, chunk in
             enumerate(part.strip() for part in text.splitlines()) if chunk]
    return build_page(number, lines, 1000, 10 * max(1, len(lines)), source)
