"""`edge eval` for real on the embedded CPU tier (RapidOCR, candidate finders, Gemma 3 270M on
llama.cpp for close calls) over the 12-document make-set. The accuracy table is printed in the test log and
recorded in bench/README.md; model accuracy is NOT asserted, only that every document was
scored through the real pipeline."""

import pytest

from edge.configure import parse_config
from edge.eval import report
from edge.eval.makeset import make_set
from edge.eval.run import evaluate


@pytest.mark.timeout(1500)
def test_eval_on_the_embedded_cpu_tier(tmp_path, capsys):
    folder = make_set(tmp_path / "set", 12, seed=2024)[0].parent
    config = parse_config({
        "models": {"ocr-small": {"engine": "ocr", "text_model": "embedded:gemma3-270m"}},
        "routes": [{"name": "embedded", "media": ["image", "pdf"], "task": "extract", "tiers": ["ocr-small"]}],
    })
    result = evaluate(config, folder, "embedded")
    summary = result.summary()
    with capsys.disabled():
        print("\n\nedge eval, embedded CPU tier (ocr-small: RapidOCR + Gemma 3 270M Q4_K_M), make-set n=12 seed=2024")
        print(report.to_markdown(result))
        timings = [(doc.doc or {}).get("timings_ms", {}) for doc in result.documents]
        print(f"- over the 12 documents: OCR {sum(t.get('ocr', 0) for t in timings) / 1000:.1f} s, "
              f"text model {sum(t.get('inference', 0) for t in timings) / 1000:.1f} s")
    assert summary["documents"] == 12 and summary["failed"] == 0
    assert summary["fields"] == sum(len(doc.sample.fields) for doc in result.documents)
    for doc in result.documents:  # each went through OCR and the candidate finders, not a shortcut
        assert doc.doc["tiers"][0]["tier"] == "ocr-small"
        assert doc.doc["timings_ms"]["ocr"] > 0 and doc.doc["tiers"][0]["evidence"]["fields"]
        asked = doc.doc["tiers"][0]["evidence"]["model_asked"]
        assert bool(asked) == bool(doc.doc["model"].get("usage", {}).get("output_tokens"))  # tokens only when asked
    assert summary["latency_ms"]["p50"] > 0
    assert summary["accuracy"] is not None and summary["hallucination_rate"] is not None
