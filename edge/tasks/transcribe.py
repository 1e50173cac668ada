"""The transcribe task: audio, or a video's soundtrack, to a timed transcript.

The file is probed, then decoded and transcribed one window at a time (see
media/audio.py), so memory stays that of one window however long the
recording. The language found in the first window is kept for the rest.
While it runs, the signal's levels and Whisper's scores are kept for review
(transcript_review.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ..config import describe
from ..engines.whisper import TranscribeRequest, Transcript, WhisperEngine
from ..errors import ConfigError
from ..media import audio, levels
from .base import TaskContext, TaskOutput
from .transcript_review import Evidence, review


class TranscribeOptions(BaseModel):
    """`options = {...}` of a transcribe route."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = None  # None: detect
    task: Literal["transcribe", "translate"] = "transcribe"
    vad_filter: bool = True
    word_timestamps: bool = False
    beam_size: int = Field(5, ge=1, le=20)
    initial_prompt: str | None = None
    hotwords: str | None = None
    batch_size: int | None = Field(None, ge=1, le=64)
    max_duration: float = Field(4 * 3600.0, gt=0)  # seconds accepted per file
    window: float = Field(300.0, ge=60)  # seconds decoded and transcribed at a time: bounds memory
    companions: list[Literal["srt", "vtt"]] = []
    review_logprob: float = -1.0  # segments below this average log-probability need review
    review_temperature: float = Field(0.2, gt=0, le=1)  # ... and segments Whisper had to sample this hot
    review_no_speech: float = Field(0.6, ge=0, le=1)  # ... and above this no-speech probability (in little sound)
    review_language: float = Field(0.75, ge=0, le=1)  # a detected language below this probability needs review
    review_coverage: float = Field(0.5, ge=0, le=1)  # VAD keeping less than this share of the sound needs review
    review_words_per_minute: float = Field(40.0, ge=0)  # ... and so do fewer words per minute of sound
    review_compression: float = Field(2.4, gt=0)  # segments above this compression ratio repeat themselves

    @model_validator(mode="after")
    def _batched_needs_vad(self) -> TranscribeOptions:
        if self.batch_size and not self.vad_filter:
            raise ValueError("batch_size needs vad_filter = true (the batched pipeline cuts audio at pauses)")
        return self


def options(route: Any) -> TranscribeOptions:
    """The route's validated options; ConfigError names the key."""
    try:
        return TranscribeOptions.model_validate(route.options)
    except ValidationError as exc:
        raise ConfigError(describe(exc, prefix=f"routes.{route.name}.options")) from None


def run(ctx: TaskContext) -> TaskOutput:
    opts = options(ctx.route)
    engine = _engine(ctx)
    started = time.perf_counter()
    info = audio.probe(ctx.job.path, opts.max_duration)
    stream = audio.AudioStream(ctx.job.path, info, opts.max_duration)
    heard = _transcribe_windows(engine, stream, _request(opts), opts.window)
    prepare_ms = (time.perf_counter() - started) * 1000 - heard.load_ms - heard.inference_ms  # probe and decode
    result = _result(heard, stream.decoded_s, opts, info, stream)
    return TaskOutput(
        result=result,
        model=engine.provenance(_provenance_request(heard.request, opts)),
        review=review(_evidence(heard, result, engine, opts, stream), opts),
        timings_ms={"prepare": prepare_ms, "load": heard.load_ms, "inference": heard.inference_ms},
        companions=_companions(result["segments"], opts),
    )


def _engine(ctx: TaskContext) -> WhisperEngine:
    name = ctx.route.model
    engine = ctx.engines.get(name) if name else None
    if not isinstance(engine, WhisperEngine):
        kind = engine.kind if engine else "no model"
        raise ConfigError(f"routes.{ctx.route.name}: task transcribe needs a faster-whisper model, not {kind}")
    return engine


@dataclass
class _Heard:
    request: TranscribeRequest
    segments: list[dict[str, Any]] = field(default_factory=list)
    language: str | None = None
    probability: float | None = None
    load_ms: float = 0.0
    inference_ms: float = 0.0
    levels: levels.Levels = field(default_factory=levels.Levels)
    speech_s: float | None = None
    candidates: list[tuple[str, float]] = field(default_factory=list)
    multilingual: bool = True
    identified: list[tuple[str, float]] = field(default_factory=list)


def _transcribe_windows(engine: WhisperEngine, stream: audio.AudioStream, request: TranscribeRequest,
                        window: float) -> _Heard:
    """Every window through the engine; the first window's language holds for the rest."""
    heard = _Heard(request)
    for offset, samples in stream.windows(window):
        part = engine.transcribe(samples, heard.request)
        heard.load_ms += part.timings_ms["load"]
        heard.inference_ms += part.timings_ms["inference"]
        heard.segments += [_shift(seg, offset) for seg in part.segments]
        heard.levels.extend(offset, levels.measure(samples))
        if part.speech_s is not None:
            heard.speech_s = (heard.speech_s or 0.0) + part.speech_s
        if heard.language is None:
            _first_window(heard, engine, part, samples)
    return heard


def _first_window(heard: _Heard, engine: WhisperEngine, part: Transcript, samples: Any) -> None:
    """The language found here holds for the rest; an English-only model has its language checked here."""
    heard.language, heard.probability = part.language, part.language_probability
    heard.candidates, heard.multilingual = part.candidates, part.multilingual
    heard.request = replace(heard.request, language=heard.request.language or part.language)
    if not part.multilingual and heard.levels.sounding_s() >= 1.0:
        heard.identified, timings = engine.identify_language(samples)
        heard.load_ms += timings["load"]
        heard.inference_ms += timings["inference"]


def _request(opts: TranscribeOptions) -> TranscribeRequest:
    return TranscribeRequest(language=opts.language, task=opts.task, vad_filter=opts.vad_filter,
                             word_timestamps=opts.word_timestamps, beam_size=opts.beam_size,
                             initial_prompt=opts.initial_prompt, hotwords=opts.hotwords, batch_size=opts.batch_size)


def _provenance_request(request: TranscribeRequest, opts: TranscribeOptions) -> TranscribeRequest:
    return replace(request, language=opts.language)  # what was asked, not what was detected


def _shift(segment: dict[str, Any], offset: float) -> dict[str, Any]:
    if not offset:
        return segment
    moved = {**segment, "start": round(segment["start"] + offset, 3), "end": round(segment["end"] + offset, 3)}
    if "words" in segment:
        moved["words"] = [{**w, "start": round(w["start"] + offset, 3), "end": round(w["end"] + offset, 3)}
                          for w in segment["words"]]
    return moved


def _result(heard: _Heard, duration: float, opts: TranscribeOptions, info: audio.AudioInfo,
            stream: audio.AudioStream) -> dict[str, Any]:
    # Whisper with VAD may restore a segment's times slightly before the one it emitted earlier:
    # the sidecar promises segments in time order (a stable sort keeps equal starts as heard)
    segments = sorted((_clamp(seg, duration) for seg in heard.segments if seg["text"]), key=lambda seg: seg["start"])
    probability = heard.probability
    return {
        "text": " ".join(seg["text"] for seg in segments),
        "language": heard.language,
        "language_probability": round(probability, 4) if probability is not None else None,
        "duration": round(duration, 3),
        "task": opts.task,
        "segments": segments,
        "audio": {"container": info.container, "codec": info.codec, "sample_rate": info.sample_rate,
                  "channels": info.channels, "from_video": info.has_video, "decode_errors": stream.decode_errors},
    }


def _clamp(segment: dict[str, Any], duration: float) -> dict[str, Any]:
    """Whisper's last timestamp may overshoot the audio by a few milliseconds."""
    end = min(segment["end"], round(duration, 3))
    return {**segment, "start": min(segment["start"], end), "end": end}


def _evidence(heard: _Heard, result: dict[str, Any], engine: WhisperEngine, opts: TranscribeOptions,
              stream: audio.AudioStream) -> Evidence:
    return Evidence(result["segments"], heard.levels, heard.language, heard.probability, heard.candidates,
                    language_given=opts.language is not None, multilingual=heard.multilingual,
                    identified=heard.identified, speech_s=heard.speech_s, duration=result["duration"],
                    decode_errors=stream.decode_errors, model=engine.spec.model or engine.name)


def _companions(segments: list[dict[str, Any]], opts: TranscribeOptions) -> dict[str, str]:
    writers = {"srt": to_srt, "vtt": to_vtt}
    return {f".{kind}": writers[kind](segments) for kind in opts.companions}


def to_srt(segments: list[dict[str, Any]]) -> str:
    blocks = [f"{i}\n{_stamp(s['start'], ',')} --> {_stamp(s['end'], ',')}\n{s['text']}\n"
              for i, s in enumerate(segments, 1)]
    return "\n".join(blocks)


def to_vtt(segments: list[dict[str, Any]]) -> str:
    blocks = [f"{_stamp(s['start'], '.')} --> {_stamp(s['end'], '.')}\n{s['text']}\n" for s in segments]
    return "WEBVTT\n\n" + "\n".join(blocks)


def _stamp(seconds: float, separator: str) -> str:
    millis = int(round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{millis:03d}"
