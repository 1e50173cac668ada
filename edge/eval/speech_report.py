"""The speech eval report three ways, as for documents (report.py): a terminal table, JSON, one offline HTML page."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from .report import CSS, _pct
from .speech import SpeechReport


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _speed(rtf: float | None) -> str:
    return "-" if not rtf else f"{rtf:.3f} ({1 / rtf:.1f}x real time)"


def headline(s: dict[str, Any]) -> list[str]:
    review = s["review"]
    return [f"real-time factor {_speed(s['real_time_factor'])} over {s['audio_s']:.0f} s of audio; failed {s['failed']}",
            f"review rate {_pct(review['rate'])} ({review['flagged']} of {s['recordings']}); bad transcripts "
            f"(error rate > {review['bad_above']}) {review['bad']}, caught by review {review['caught']} "
            f"({_pct(review['caught_share'])})"]


def language_table(s: dict[str, Any]) -> Table:
    table = Table(title="per language")
    for column in ("language", "metric", "recordings", "error rate", "flagged", "bad", "audio s"):
        table.add_column(column, justify="left" if column in ("language", "metric") else "right")
    for language, row in s["per_language"].items():
        table.add_row(language, row["metric"].upper(), str(row["recordings"]), _rate(row["error_rate"]),
                      str(row["flagged"]), str(row["bad"]), f"{row['audio_s']:.0f}")
    return table


def print_table(report: SpeechReport, console: Console | None = None) -> None:
    console = console or Console()
    s = report.summary()
    console.print(f"[bold]edge eval[/] {report.dataset} (route {report.route}): {s['recordings']} recordings")
    console.print(language_table(s))
    for line in headline(s):
        console.print(line)


def to_json(report: SpeechReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=2, default=str)


def to_html(report: SpeechReport) -> str:
    s = report.summary()
    e = html.escape
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:; style-src 'unsafe-inline'">
<title>edge eval: {e(Path(report.dataset).name)}</title>
<style>{CSS}</style></head><body>
<h1>edge eval</h1>
<p class="sub">dataset <code>{e(report.dataset)}</code>, route <code>{e(report.route)}</code>:
{s['recordings']} recordings, {s['audio_s']:.0f} s of audio</p>
{_cards(s)}
<div class="charts">
<figure id="chart-languages"><figcaption>Error rate per language (WER, CER where marked)</figcaption>{language_chart(s)}</figure>
</div>
<h2>Recordings</h2>
{_recordings(report)}
</body></html>
"""


def _cards(s: dict[str, Any]) -> str:
    review = s["review"]
    rtf = s["real_time_factor"]
    cards = [("real-time factor", "-" if not rtf else f"{rtf:.3f}"),
             ("speed", "-" if not rtf else f"{1 / rtf:.1f}x real time"),
             ("review rate", _pct(review["rate"])),
             ("bad caught by review", f"{review['caught']}/{review['bad']}"),
             ("failed", str(s["failed"]))]
    inner = "".join(f'<div class="card">{html.escape(label)}<b>{html.escape(value)}</b></div>' for label, value in cards)
    return f'<div class="cards">{inner}</div>'


def language_chart(s: dict[str, Any]) -> str:
    rows = list(s["per_language"].items())
    bar, left, width = 18, 90, 260
    parts = []
    for i, (language, row) in enumerate(rows):
        y = 6 + i * (bar + 6)
        rate = min(1.0, row["error_rate"] or 0.0)
        label = f"{language} ({row['metric'].upper()})"
        parts.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{html.escape(label)}</text>'
                     f'<rect x="{left}" y="{y}" width="{width}" height="{bar}" fill="#e0e0e0"/>'
                     f'<rect class="bar" x="{left}" y="{y}" width="{rate * width:.1f}" height="{bar}" fill="#c62828"/>'
                     f'<text x="{left + width + 6}" y="{y + 13}">{_rate(row["error_rate"])}</text>')
    height = 12 + len(rows) * (bar + 6)
    return f'<svg width="{left + width + 60}" height="{height}" viewBox="0 0 {left + width + 60} {height}" role="img">' \
           f'{"".join(parts)}</svg>'


def _recordings(report: SpeechReport) -> str:
    e = html.escape
    rows = "".join(
        f'<tr><td>{e(r.recording.name)}</td><td>{e(r.language)}</td><td>{r.metric.upper()} {_rate(r.error_rate)}</td>'
        f'<td class="{"o-wrong" if r.bad else "o-correct"}">{"bad" if r.bad else "ok"}</td>'
        f'<td>{e(", ".join(r.reasons) or ("-" if not r.needs_review else "flagged"))}</td>'
        f'<td>{e(r.recording.reference)}</td><td>{e(r.text or r.error or "")}</td></tr>'
        for r in sorted(report.recordings, key=lambda r: -r.error_rate))
    return ('<table><tr><th>recording</th><th>language</th><th>error</th><th>verdict</th><th>review</th>'
            f'<th>reference</th><th>transcript</th></tr>{rows}</table>')
