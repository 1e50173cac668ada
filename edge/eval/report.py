"""The eval report three ways: a terminal table (rich), JSON, and one offline HTML page.

The HTML page is self-contained: inline CSS, inline SVG charts, document
images as data: URIs. It names no external URL, so it opens the same on an
air-gapped laptop and leaks nothing when opened.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path
from typing import Any

from PIL import Image
from rich.console import Console
from rich.table import Table

from .checkers import OUTCOMES
from .run import DocResult, Report

COLOURS = {"correct": "#2e7d32", "wrong": "#c62828", "hallucinated": "#6a1b9a", "missing": "#ef6c00",
           "schema_error": "#455a64", "refusal": "#0277bd"}


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _ms(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value / 1000:.1f} s" if value >= 10_000 else f"{value:.0f} ms"


# -- terminal ---------------------------------------------------------------------------


def print_table(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    s = report.summary()
    review = s["review"]
    console.print(f"[bold]edge eval[/] {report.dataset} (route {report.route}): {s['documents']} documents, "
                  f"{s['fields']} fields")
    console.print(field_table(s))
    console.print(outcome_table(s))
    tokens = "-" if s["tokens_per_document"] is None else f"{s['tokens_per_document']:.0f}"
    console.print(f"field accuracy {_pct(s['accuracy'])}; documents all correct {s['documents_all_correct']}"
                  f"/{s['documents']} ({_pct(s['document_accuracy'])}); failed {s['failed']}")
    console.print(f"review rate {_pct(review['rate'])}; review caught {review['caught']} of "
                  f"{review['wrong_or_hallucinated']} wrong or hallucinated fields")
    console.print(f"latency p50 {_ms(s['latency_ms']['p50'])}, p95 {_ms(s['latency_ms']['p95'])}; "
                  f"tokens per document {tokens}")
    for engine, row in s["by_engine"].items():
        console.print(f"hallucination rate {_pct(row['hallucination_rate'])} ({row['hallucinated']} of "
                      f"{row['fields']} fields) from {engine} on route {report.route}")


def field_table(summary: dict[str, Any]) -> Table:
    table = Table(title="per field")
    table.add_column("field")
    table.add_column("n", justify="right")
    table.add_column("accuracy", justify="right")
    for outcome in OUTCOMES[1:]:
        table.add_column(outcome, justify="right")
    for name, row in summary["per_field"].items():
        table.add_row(name, str(row["total"]), _pct(row["accuracy"]),
                      *[str(row["outcomes"][o]) for o in OUTCOMES[1:]])
    return table


def outcome_table(summary: dict[str, Any]) -> Table:
    table = Table(title="per outcome")
    table.add_column("outcome")
    table.add_column("fields", justify="right")
    table.add_column("share", justify="right")
    for outcome, row in summary["per_outcome"].items():
        table.add_row(outcome, str(row["count"]), _pct(row["share"]))
    return table


def to_json(report: Report) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str)


# -- HTML -------------------------------------------------------------------------------


def to_html(report: Report) -> str:
    s = report.summary()
    e = html.escape
    worst = "".join(_worst_doc(doc) for doc in report.worst())
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>edge eval: {e(Path(report.dataset).name)}</title>
<style>{CSS}</style></head><body>
<h1>edge eval</h1>
<p class="sub">dataset <code>{e(report.dataset)}</code>, route <code>{e(report.route)}</code>:
{s['documents']} documents, {s['fields']} fields</p>
{_cards(s)}
<div class="charts">
<figure id="chart-fields"><figcaption>Per-field accuracy</figcaption>{field_chart(s)}</figure>
<figure id="chart-outcomes"><figcaption>Outcomes</figcaption>{outcome_chart(s)}</figure>
<figure id="chart-latency"><figcaption>Latency per document</figcaption>{latency_chart(report.documents)}</figure>
</div>
<h2>Worst documents</h2>
{worst or '<p>Every field of every document is correct.</p>'}
</body></html>
"""


CSS = """body{font-family:system-ui,sans-serif;margin:24px;color:#222;background:#fafafa}
h1{margin:0}.sub{color:#555}code{background:#eee;padding:1px 4px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{background:#fff;border:1px solid #ddd;
padding:10px 14px;min-width:140px}.card b{display:block;font-size:22px}
.charts{display:flex;flex-wrap:wrap;gap:16px}figure{background:#fff;border:1px solid #ddd;margin:0;padding:10px}
figcaption{font-weight:600;margin-bottom:6px}svg text{font-size:11px;fill:#333}
.doc{display:flex;gap:16px;background:#fff;border:1px solid #ddd;padding:10px;margin:10px 0}
.doc img{max-width:360px;border:1px solid #ccc}table{border-collapse:collapse;font-size:13px}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:left;vertical-align:top}
.o-correct{color:#2e7d32}.o-wrong{color:#c62828}.o-hallucinated{color:#6a1b9a}.o-missing{color:#ef6c00}
.o-schema_error{color:#455a64}.o-refusal{color:#0277bd}"""


def _cards(s: dict[str, Any]) -> str:
    review = s["review"]
    tokens = "-" if s["tokens_per_document"] is None else f"{s['tokens_per_document']:.0f}"
    cards = [("field accuracy", _pct(s["accuracy"])),
             ("documents all correct", f"{s['documents_all_correct']}/{s['documents']}"),
             ("review rate", _pct(review["rate"])),
             ("caught by review", f"{review['caught']}/{review['wrong_or_hallucinated']}"),
             ("latency p50", _ms(s["latency_ms"]["p50"])), ("latency p95", _ms(s["latency_ms"]["p95"])),
             ("tokens per document", tokens)]
    inner = "".join(f'<div class="card">{html.escape(label)}<b>{html.escape(value)}</b></div>' for label, value in cards)
    return f'<div class="cards">{inner}</div>'


def _svg(width: int, height: int, body: str) -> str:
    return f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img">{body}</svg>'


def field_chart(s: dict[str, Any]) -> str:
    rows = list(s["per_field"].items())
    bar, left, width = 18, 130, 260
    parts = []
    for i, (name, row) in enumerate(rows):
        y = 6 + i * (bar + 6)
        share = row["accuracy"] or 0.0
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{html.escape(name)}</text>'
                     f'<rect x="{left}" y="{y}" width="{width}" height="{bar}" fill="#e0e0e0"/>'
                     f'<rect class="bar" x="{left}" y="{y}" width="{share * width:.1f}" height="{bar}" fill="#2e7d32"/>'
                     f'<text x="{left + width + 6}" y="{y + 13}">{_pct(row["accuracy"])}</text>')
    return _svg(left + width + 60, 12 + len(rows) * (bar + 6), "".join(parts))


def outcome_chart(s: dict[str, Any]) -> str:
    counts = {o: row["count"] for o, row in s["per_outcome"].items()}
    top = max(counts.values()) or 1
    bar, gap, height = 66, 12, 180
    parts = []
    for i, (outcome, count) in enumerate(counts.items()):
        x = 10 + i * (bar + gap)
        h = count / top * (height - 40)
        parts.append(f'<rect class="bar" x="{x}" y="{height - 24 - h:.1f}" width="{bar}" height="{h:.1f}" '
                     f'fill="{COLOURS[outcome]}"/>'
                     f'<text x="{x + bar / 2}" y="{height - 28 - h:.1f}" text-anchor="middle">{count}</text>'
                     f'<text x="{x + bar / 2}" y="{height - 8}" text-anchor="middle">{outcome.replace("_", " ")}</text>')
    return _svg(20 + len(counts) * (bar + gap), height, "".join(parts))


def latency_chart(documents: list[DocResult], bins: int = 10) -> str:
    values = [doc.latency_ms for doc in documents if doc.latency_ms is not None]
    if not values:
        return _svg(300, 40, '<text x="10" y="24">no latencies recorded</text>')
    low, high = min(values), max(values)
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, int((value - low) / step))] += 1
    bar, height, top = 26, 170, max(counts)
    parts = []
    for i, count in enumerate(counts):
        h = count / top * (height - 44)
        x = 10 + i * (bar + 4)
        parts.append(f'<rect class="bar" x="{x}" y="{height - 30 - h:.1f}" width="{bar}" height="{h:.1f}" fill="#1565c0"/>'
                     + (f'<text x="{x + bar / 2}" y="{height - 34 - h:.1f}" text-anchor="middle">{count}</text>'
                        if count else ""))
    parts.append(f'<text x="10" y="{height - 12}">{_ms(low)}</text>'
                 f'<text x="{10 + bins * (bar + 4)}" y="{height - 12}" text-anchor="end">{_ms(high)}</text>')
    return _svg(20 + bins * (bar + 4), height, "".join(parts))


def _worst_doc(doc: DocResult) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><td>{e(r.field)}</td><td>{e(_show(r.truth))}</td><td>{e(_show(r.predicted))}</td>'
        f'<td class="o-{r.outcome}">{r.outcome}</td><td>{e(r.detail)}</td></tr>'
        for r in doc.fields)
    reasons = ", ".join(f"{code} x{doc.reasons.count(code)}" if doc.reasons.count(code) > 1 else code
                        for code in dict.fromkeys(doc.reasons)) or "none"
    note = f"<p>error: {e(doc.error)}</p>" if doc.error else ""
    return (f'<div class="doc"><img alt="{e(doc.sample.name)}" src="{thumbnail(doc.sample.path)}">'
            f'<div><h3>{e(doc.sample.name)}</h3><p>status {e(doc.status)}; review: '
            f'{"flagged" if doc.needs_review else "not flagged"} ({e(reasons)}); hard cases: '
            f'{e(", ".join(doc.sample.meta.get("hard_cases", [])) or "none")}</p>{note}'
            f'<table><tr><th>field</th><th>truth</th><th>predicted</th><th>outcome</th><th>check</th></tr>'
            f'{rows}</table></div></div>')


def _show(value: Any) -> str:
    return "null" if value is None else json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value


def thumbnail(path: Path, longest: int = 720) -> str:
    """The document as a small inline JPEG (a data: URI, never a link)."""
    try:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
            image.thumbnail((longest, longest))
            buffer = io.BytesIO()
            image.save(buffer, format="JPEG", quality=80)
    except (OSError, ValueError):
        return ""
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def to_markdown(report: Report) -> str:
    """The per-field table and the headline figures as Markdown (for bench/README.md)."""
    s = report.summary()
    head = "| field | n | accuracy | " + " | ".join(OUTCOMES[1:]) + " |"
    lines = [head, "|" + " --- |" * (3 + len(OUTCOMES) - 1)]
    for name, row in s["per_field"].items():
        lines.append(f"| {name} | {row['total']} | {_pct(row['accuracy'])} | "
                     + " | ".join(str(row["outcomes"][o]) for o in OUTCOMES[1:]) + " |")
    review = s["review"]
    tokens = "-" if s["tokens_per_document"] is None else f"{s['tokens_per_document']:.0f}"
    lines += ["", f"- field accuracy {_pct(s['accuracy'])} over {s['fields']} fields; documents all correct "
              f"{s['documents_all_correct']}/{s['documents']}; failed {s['failed']}",
              "- outcomes: " + ", ".join(f"{o} {row['count']}" for o, row in s["per_outcome"].items()),
              f"- review rate {_pct(review['rate'])}; review caught {review['caught']} of "
              f"{review['wrong_or_hallucinated']} wrong or hallucinated fields",
              f"- latency p50 {_ms(s['latency_ms']['p50'])}, p95 {_ms(s['latency_ms']['p95'])}; tokens per document {tokens}",
              *(f"- hallucination rate {_pct(row['hallucination_rate'])} ({row['hallucinated']} of {row['fields']} "
                f"fields) from {engine}" for engine, row in s["by_engine"].items())]
    return "\n".join(lines)
