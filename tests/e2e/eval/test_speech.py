"""`edge eval` on a folder of recordings (NAME.ext.ref.txt, NAME.ext.lang): espeak-ng speech through real
Whisper tiny.en; the reported figures equal those recomputed from the recordings, and the German one,
nonsense from an English-only model, is bad and caught by review."""

from __future__ import annotations

import json
import re

import pytest

from edge.eval.speech_score import edits
from tests.helpers import ROOT, run_edge, write_config
from tests.helpers import audio as h

pytestmark = pytest.mark.skipif(h.have_tools() is not None, reason=str(h.have_tools()))

GERMAN = "Guten Morgen. Das Wetter ist heute kalt und windig an der Küste."
MODELS = """
[models.asr]
engine = "faster-whisper"
model = "embedded:tiny.en"
idle_unload = 0

[[routes]]
name = "speech"
media = ["audio"]
task = "transcribe"
model = "asr"
"""


@pytest.fixture(scope="module")
def speech_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("speech")
    folder = root / "set"
    folder.mkdir()
    clips = {"memo.wav": (" ".join(h.SENTENCES[:3]), "en-us", None),
             "call.mp3": (" ".join(h.SENTENCES[3:]), "en-us", "en"),
             "morgen.m4a": (GERMAN, "de", "de")}
    for name, (text, voice, language) in clips.items():
        h.write_audio(folder / name, h.speech_samples(text, root, voice=voice))
        (folder / f"{name}.ref.txt").write_text(text + "\n", encoding="utf-8")
        if language:
            (folder / f"{name}.lang").write_text(language, encoding="utf-8")
    config = write_config(root / "models.toml", MODELS, edge={})
    return root, folder, config


@pytest.fixture(scope="module")
def evaluated(speech_set):
    root, folder, config = speech_set
    out = run_edge("eval", str(folder), "--json", "--html", str(root / "report.html"), "--config", str(config),
                   "--state-dir", str(root / "state"), cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout), (root / "report.html").read_text(encoding="utf-8"), folder


def test_the_report_scores_each_language_by_its_words(evaluated):
    report, _, folder = evaluated
    assert report["kind"] == "speech" and report["route"] == "speech"
    rows, languages = report["recordings"], report["summary"]["per_language"]
    assert {r["file"]: r["language"] for r in rows} == {"memo.wav": "en", "call.mp3": "en", "morgen.m4a": "de"}
    assert set(languages) == {"en", "de"} and languages["en"]["metric"] == languages["de"]["metric"] == "wer"
    for language, row in languages.items():
        counted = [edits(r["reference"], r["transcript"], language) for r in rows if r["language"] == language]
        assert row["error_rate"] == pytest.approx(sum(e for e, _ in counted) / sum(n for _, n in counted))
        assert row["recordings"] == len(counted)
    assert languages["en"]["error_rate"] <= 0.15 and languages["de"]["error_rate"] > 0.5
    assert all(not (folder / f"{r['file']}.json").exists() for r in rows)  # the set is left untouched


def test_bad_transcripts_are_counted_and_caught_by_review(evaluated):
    report, _, _ = evaluated
    summary, rows = report["summary"], {r["file"]: r for r in report["recordings"]}
    assert rows["morgen.m4a"]["bad"] and rows["morgen.m4a"]["needs_review"]
    assert "model_language_mismatch" in rows["morgen.m4a"]["review_reasons"]
    assert not rows["memo.wav"]["needs_review"] and not rows["call.mp3"]["needs_review"]
    assert summary["review"] == {"flagged": 1, "rate": pytest.approx(1 / 3), "bad": 1, "caught": 1,
                                 "caught_share": 1.0, "bad_above": 0.5}
    audio_s = sum(r["duration_s"] for r in rows.values())
    assert summary["audio_s"] == pytest.approx(audio_s, abs=0.01)
    assert summary["real_time_factor"] == pytest.approx(sum(r["processing_ms"] for r in rows.values()) / 1000 / audio_s,
                                                        rel=0.01)


def test_the_html_report_is_self_contained(evaluated):
    _, page, _ = evaluated
    assert page.count("<svg") == 1 and "de (WER)" in page and "morgen.m4a" in page
    assert not re.search(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}", page, re.IGNORECASE)


def test_the_terminal_table_prints_the_error_rate_per_language(speech_set):
    root, folder, config = speech_set
    out = run_edge("eval", str(folder), "--config", str(config), "--state-dir", str(root / "state2"), cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert "per language" in out.stdout and re.search(r"de\s+│\s+WER\s+│\s+1\s+│\s+\d\.\d{3}", out.stdout)
    assert "real-time factor" in out.stdout and "caught by review 1" in out.stdout
