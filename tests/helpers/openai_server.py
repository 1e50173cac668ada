"""A real OpenAI-compatible server for tests: llama-cpp-python's, on 127.0.0.1.

`python -m llama_cpp.server --config_file F` (behind edge's Intel AMX guard,
`avoid_amx_repack`) with the embedded Gemma 3 270M (text) and, when given, the
tiny GGUF vision pair (model + mmproj, through llama.cpp's mtmd). Started on a
free port, ready when `/v1/models` answers, stopped by the caller (or the
context manager).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Self

import httpx

from edge.engines.llamacpp import resolve_model
from tests.helpers import wait_for
from tests.helpers.openai_double import free_port

GEMMA = "gemma3-270m"
VISION = "tiny-vision"
ROOT = Path(__file__).resolve().parents[2]
# `python -m llama_cpp.server`, after edge's AMX guard (its settings have no use_extra_bufts)
SERVE = ("import runpy; from edge.engines.llamacpp import avoid_amx_repack; avoid_amx_repack(); "
         "runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)")


class LlamaServer:
    def __init__(self, folder: Path, vision_pair: tuple[Path, Path] | None = None, api_key: str | None = None):
        self.port = free_port()
        self.api_key = api_key
        models = [{"model": str(resolve_model("embedded:gemma3-270m")), "model_alias": GEMMA, "n_ctx": 4096,
                   "n_threads": 2, "verbose": False}]
        if vision_pair:
            models.append({"model": str(vision_pair[0]), "model_alias": VISION, "clip_model_path": str(vision_pair[1]),
                           "chat_format": "mtmd", "n_ctx": 4096, "n_threads": 2, "verbose": False})
        config = {"host": "127.0.0.1", "port": self.port, "models": models}
        if api_key:
            config["api_key"] = api_key
        self.config = folder / "llama-server.json"
        self.config.write_text(json.dumps(config))
        self.log_path = folder / "llama-server.log"
        self.proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> LlamaServer:
        with self.log_path.open("w") as log:
            self.proc = subprocess.Popen([sys.executable, "-c", SERVE, "--config_file", str(self.config)],
                                         stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_for(self._ready, 120, interval=0.2, what=f"llama_cpp.server on port {self.port}")
        return self

    def _ready(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"llama_cpp.server exited:\n{self.log_path.read_text()[-3000:]}")
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            return httpx.get(f"{self.base_url}/models", headers=headers, timeout=5, trust_env=False).status_code == 200
        except httpx.TransportError:
            return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
