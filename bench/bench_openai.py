"""openai engine overhead against the raw `openai` client, and throughput by `workers`.

    .venv/bin/python bench/bench_openai.py [--repeat N] [--requests N] [--base-url URL --model ID]

Against llama-cpp-python's OpenAI-compatible server on 127.0.0.1 with the
embedded Gemma 3 270M (started here, stopped at the end):

1. The same request body (messages, schema, temperature, seed, max_tokens)
   sent by the official `openai` client and by `OpenAIEngine.complete`,
   interleaved; the ratio of medians is edge's overhead (target <= 1.03),
   and edge's own per-call work (building the body, classifying the answer)
   in ms, measured around its HTTP call in the same run.
2. Throughput at workers = 1, 2, 4: N requests from N threads through one
   engine; requests/s. llama-cpp-python's server runs one request at a time
   (a global lock), so on a small CPU box the server is the limit; vLLM and
   SGLang batch what `workers` keeps in flight.

With --base-url (and --model), the same figures for a server of your own
(vLLM, SGLang, llama-server, LM Studio, Ollama /v1); key from $OPENAI_API_KEY.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.engines.base import CompletionRequest  # noqa: E402
from edge.engines.openai import OpenAIEngine, OpenAIOptions  # noqa: E402
from tests.helpers.openai_server import GEMMA, LlamaServer  # noqa: E402

SCHEMA = {"type": "object", "properties": {"claim_number": {"type": ["string", "null"]},
                                           "total_claimed": {"type": ["number", "null"]}},
          "required": ["claim_number", "total_claimed"]}
PROMPT = ("Extract claim_number and total_claimed from this text.\n<<<\nHEALTH INSURANCE CLAIM FORM\n"
          "Claim number  CLM-2024-4572\nClaimant  Maria Jensen\nTotal claimed  1247.50\n>>>")


MODEL = {"id": GEMMA}


def engine_for(base_url: str, workers: int) -> OpenAIEngine:
    spec = SimpleNamespace(model=MODEL["id"], workers=workers, timeout=300)
    remote = "127.0.0.1" not in base_url and "localhost" not in base_url
    key = {"api_key_env": "OPENAI_API_KEY"} if os.environ.get("OPENAI_API_KEY") else {}
    return OpenAIEngine("bench", spec, OpenAIOptions(base_url=base_url, allow_remote=remote,
                                                     allow_insecure_http=remote, **key))


def request() -> CompletionRequest:
    return CompletionRequest(prompt=PROMPT, schema=SCHEMA, system="You extract data.", max_tokens=48)


def overhead(base_url: str, repeat: int) -> dict[str, float]:
    import openai

    engine = engine_for(base_url, 1)
    body = engine.chat_body(request(), engine.facts())
    client = openai.OpenAI(base_url=base_url, api_key=os.environ.get("OPENAI_API_KEY", "unused"), max_retries=0)
    standard = ("temperature", "seed", "max_tokens", "response_format")
    extra = {key: body[key] for key in standard if key in body}
    extra_body = {key: value for key, value in body.items() if key not in (*standard, "model", "messages", "stream")}

    def raw() -> str:
        answer = client.chat.completions.create(model=body["model"], messages=body["messages"], **extra,
                                                extra_body=extra_body or None)
        return answer.choices[0].message.content

    inner: list[float] = []
    post = engine.post

    def timed_post(path, sent):  # edge's HTTP call inside its complete(), timed in the same run
        started = time.perf_counter()
        try:
            return post(path, sent)
        finally:
            inner.append(time.perf_counter() - started)

    engine.post = timed_post
    assert raw() == engine.complete(request()).text, "raw and edge calls must answer the same"
    raw_times, edge_times = [], []
    calls = [(raw, raw_times), (lambda: engine.complete(request()), edge_times)]
    for index in range(repeat):
        # alternate who goes first: llama.cpp reuses the previous prompt's KV cache, favouring the second
        for call, times in calls if index % 2 == 0 else calls[::-1]:
            started = time.perf_counter()
            call()
            times.append(time.perf_counter() - started)
    own = [total - call for total, call in zip(edge_times, inner[-repeat:])]
    client.close()
    engine.close()
    return {"raw_ms": statistics.median(raw_times) * 1000, "edge_ms": statistics.median(edge_times) * 1000,
            "ratio": statistics.median(edge_times) / statistics.median(raw_times),
            "own_ms": statistics.median(own) * 1000, "mode": body.get("response_format", {}).get("type")}


def throughput(base_url: str, workers: int, requests: int) -> float:
    engine = engine_for(base_url, workers)
    engine.facts()
    engine.complete(request())  # warm: the model is loaded
    threads = [threading.Thread(target=engine.complete, args=(request(),)) for _ in range(requests)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    engine.close()
    return requests / elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--requests", type=int, default=12)
    parser.add_argument("--base-url", help="measure this server instead of starting llama-cpp-python's")
    parser.add_argument("--model", help="the served model id (with --base-url)")
    args = parser.parse_args()
    MODEL["id"] = args.model or GEMMA
    with tempfile.TemporaryDirectory() as folder, contextlib.ExitStack() as stack:
        base_url = args.base_url or stack.enter_context(LlamaServer(Path(folder))).base_url
        figures = overhead(base_url, args.repeat)
        print(f"overhead ({MODEL['id']}, {figures['mode']}, {args.repeat} calls each): raw openai client "
              f"{figures['raw_ms']:.1f} ms, edge {figures['edge_ms']:.1f} ms, ratio {figures['ratio']:.3f} "
              f"(target <= 1.03); edge's own work per call {figures['own_ms']:.2f} ms")
        for workers in (1, 2, 4):
            rate = throughput(base_url, workers, args.requests)
            print(f"throughput workers={workers}: {rate:.2f} requests/s ({args.requests} requests)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
