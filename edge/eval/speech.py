"""`edge eval` on a speech folder: recordings scored against their reference transcripts.

A recording `NAME.ext` has its reference beside it in `NAME.ext.ref.txt`, and
optionally its language (an ISO 639-1 code such as `fr`) in `NAME.ext.lang`;
without one the language the model detected is used. Each recording goes
through `Pipeline.run` on a transcribe route (outputs in a scratch folder, the
set untouched) and is scored by WER, or CER for languages written without
spaces (speech_score.py). The summary gives, per language, the error rate
over all its words; the real-time factor; the share flagged for review; and
how many of the bad transcripts (error rate above 0.5) review caught.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import Config, Route
from ..engines.base import EngineSet
from ..errors import ConfigError, EdgeError, EngineUnavailable, InputError
from ..pipeline import Pipeline, stat_job
from .speech_score import edits, metric

REF_SUFFIX = ".ref.txt"
LANG_SUFFIX = ".lang"
BAD = 0.5  # a transcript with a higher error rate is bad: review should have caught it


@dataclass
class Recording:
    path: Path
    reference: str
    language: str | None = None  # from NAME.ext.lang

    @property
    def name(self) -> str:
        return self.path.name


def is_speech_set(folder: Path) -> bool:
    return Path(folder).is_dir() and next(Path(folder).rglob(f"*{REF_SUFFIX}"), None) is not None


def load(folder: Path) -> list[Recording]:
    """Every recording of `folder` (recursively) with a reference, in name order."""
    found = [_recording(ref) for ref in sorted(Path(folder).rglob(f"*{REF_SUFFIX}"))]
    if not found:
        raise InputError(f"{folder}: no <recording>{REF_SUFFIX} files here", code="no_dataset")
    return found


def _recording(ref: Path) -> Recording:
    path = ref.with_name(ref.name[: -len(REF_SUFFIX)])
    if not path.is_file():
        raise InputError(f"{ref}: the recording {path.name} is not there", code="bad_truth")
    lang = path.with_name(path.name + LANG_SUFFIX)
    language = lang.read_text(encoding="utf-8").strip().lower() or None if lang.is_file() else None
    return Recording(path, ref.read_text(encoding="utf-8").strip(), language)


@dataclass
class Scored:
    recording: Recording
    status: str  # the sidecar's status, or "failed"
    text: str = ""
    detected: str | None = None
    probability: float | None = None
    errors: int = 0  # edits against the reference, in words (or characters)
    length: int = 0  # reference words (or characters)
    duration_s: float = 0.0
    processing_ms: float = 0.0  # the whole file, model load included
    inference_ms: float = 0.0  # the model's own time
    needs_review: bool = False
    reasons: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def language(self) -> str:
        return self.recording.language or self.detected or "unknown"

    @property
    def metric(self) -> str:
        return metric(self.language)

    @property
    def error_rate(self) -> float:
        return self.errors / self.length if self.length else float(bool(self.text))

    @property
    def bad(self) -> bool:
        return self.status == "failed" or self.error_rate > BAD

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.recording.name, "language": self.language, "metric": self.metric,
                "error_rate": round(self.error_rate, 4), "bad": self.bad, "status": self.status,
                "detected_language": self.detected, "language_probability": self.probability,
                "needs_review": self.needs_review, "review_reasons": self.reasons,
                "duration_s": round(self.duration_s, 3), "processing_ms": round(self.processing_ms, 1),
                "inference_ms": round(self.inference_ms, 1),
                "reference": self.recording.reference, "transcript": self.text, "error": self.error}


@dataclass
class SpeechReport:
    dataset: str
    route: str
    recordings: list[Scored]
    kind: str = "speech"

    def summary(self) -> dict[str, Any]:
        done = self.recordings
        audio_s = sum(r.duration_s for r in done)
        processing_s = sum(r.processing_ms for r in done) / 1000
        flagged = [r for r in done if r.needs_review]
        bad = [r for r in done if r.bad]
        caught = [r for r in bad if r.needs_review]
        return {
            "recordings": len(done),
            "failed": sum(r.status == "failed" for r in done),
            "per_language": self.per_language(),
            "audio_s": round(audio_s, 3),
            "processing_s": round(processing_s, 3),
            "real_time_factor": processing_s / audio_s if audio_s else None,  # seconds of work per second of audio
            "inference_s": round(sum(r.inference_ms for r in done) / 1000, 3),  # the model alone, load left out
            "review": {"flagged": len(flagged), "rate": _share(len(flagged), len(done)), "bad": len(bad),
                       "caught": len(caught), "caught_share": _share(len(caught), len(bad)), "bad_above": BAD},
        }

    def per_language(self) -> dict[str, dict[str, Any]]:
        rows: dict[str, list[Scored]] = {}
        for scored in self.recordings:
            rows.setdefault(scored.language, []).append(scored)
        return {language: _language_row(group) for language, group in sorted(rows.items())}

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "dataset": self.dataset, "route": self.route, "summary": self.summary(),
                "recordings": [r.as_dict() for r in self.recordings]}


def _language_row(group: list[Scored]) -> dict[str, Any]:
    words = sum(r.length for r in group)
    return {"metric": group[0].metric, "recordings": len(group), "reference_units": words,
            "error_rate": sum(r.errors for r in group) / words if words else None,
            "flagged": sum(r.needs_review for r in group), "bad": sum(r.bad for r in group),
            "audio_s": round(sum(r.duration_s for r in group), 3)}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# -- running ---------------------------------------------------------------------------


def pick_route(config: Config, name: str | None) -> Route:
    """The route by name, else the first transcribe route."""
    for route in config.routes:
        if (name and route.name == name) or (not name and route.task == "transcribe"):
            return route
    known = ", ".join(route.name or "?" for route in config.routes) or "none"
    raise ConfigError(f"the configuration has no {f'route {name!r}' if name else 'transcribe route'}; routes: {known}")


def evaluate(config: Config, folder: Path, route_name: str | None = None,
             progress: Callable[[Scored], None] | None = None) -> SpeechReport:
    recordings = load(folder)
    route = pick_route(config, route_name)
    engines = EngineSet(config)
    results = []
    try:
        with tempfile.TemporaryDirectory(prefix="edge-eval-") as scratch:
            pipeline = Pipeline(_scoped(config, route), engines=engines, output_dir=Path(scratch))
            for recording in recordings:
                results.append(run_one(pipeline, recording, Path(folder)))
                if progress:
                    progress(results[-1])
    finally:
        engines.close()
    return SpeechReport(str(folder), route.name or "", results)


def _scoped(config: Config, route: Route) -> Config:
    """Only this route, taking every file; no side effects."""
    only = route.model_copy(update={"match": ["**"], "media": []})
    quiet = config.edge.model_copy(update={"after": None, "review_dir": None, "output_dir": None})
    return config.model_copy(update={"routes": [only], "edge": quiet})


def run_one(pipeline: Pipeline, recording: Recording, root: Path) -> Scored:
    try:
        outcome = pipeline.run(stat_job(recording.path.resolve(), root.resolve()))
    except (EngineUnavailable, ConfigError):
        raise  # nothing can be measured without the engine or with a broken config
    except EdgeError as exc:
        return score(recording, {"status": "failed"}, error=f"{exc.code}: {exc}")
    return score(recording, outcome.doc or {})


def score(recording: Recording, doc: dict[str, Any], error: str | None = None) -> Scored:
    result = doc.get("result") or {}
    review = doc.get("review") or {}
    timings = doc.get("timings_ms") or {}
    scored = Scored(recording, doc.get("status", "ok"), str(result.get("text") or ""), result.get("language"),
                    result.get("language_probability"), duration_s=float(result.get("duration") or 0.0),
                    processing_ms=float(timings.get("total") or 0.0), inference_ms=float(timings.get("inference") or 0.0),
                    needs_review=bool(review.get("needs_review")),
                    reasons=[reason.get("code", "") for reason in review.get("reasons", [])], error=error)
    scored.errors, scored.length = edits(recording.reference, scored.text, scored.language)
    return scored
