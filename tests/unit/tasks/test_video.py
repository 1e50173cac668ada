"""The video task through the pipeline in-process: frames to a vision model (Ollama double, tiny GGUF)
or to RapidOCR, the soundtrack to Whisper tiny.en, one sidecar per video.
Through `edge process`: tests/e2e/video/test_process.py."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from edge.configure import load_config, parse_config
from edge.engines.base import EngineSet
from tests.helpers import ROOT
from tests.helpers import audio as ah
from tests.helpers import video as vh
from tests.helpers.ollama_double import OllamaDouble

pytestmark = pytest.mark.skipif(ah.have_tools() is not None, reason=str(ah.have_tools()))

TEXTS = [(0, 4, "GATE 7 OPEN"), (4, 8, "PUMP HOUSE B"), (8, 12, "EXIT NORTH")]
ASR = {"engine": "faster-whisper", "model": "embedded:tiny.en"}


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    return ah.speech_samples(ah.SENTENCES[0], tmp_path_factory.mktemp("speech"))


@pytest.fixture(scope="module")
def walk(tmp_path_factory, speech) -> Path:
    """12 s of a site walk: three signs, one after another, and a spoken sentence."""
    clip = vh.Clip(12, size=(640, 360), texts=TEXTS, speech=np.concatenate([ah.silence(1.0), speech]))
    return vh.write(tmp_path_factory.mktemp("walk") / "walk.mp4", clip)


def fresh(path: Path, folder: Path) -> Path:
    """A copy without a sidecar beside it (each test gets its own answer)."""
    copy = folder / path.name
    copy.write_bytes(path.read_bytes())
    return copy


def words(text: str | None) -> str:
    return " ".join((text or "").upper().split())


def assert_transcript(doc: dict) -> None:
    transcript = doc["result"]["transcript"]
    assert ah.wer(ah.SENTENCES[0], transcript["text"]) <= 0.2, transcript["text"]
    assert transcript["segments"][0]["start"] >= 0.5  # the speech starts after 1 s of silence: same clock


# -- acceptance 5: the CPU path ---------------------------------------------------------------------------


def test_cpu_path_reads_on_screen_text_at_its_times_beside_the_transcript(walk, tmp_path):
    config = parse_config({"models": {"ocr": {"engine": "ocr"}, "asr": ASR}, "routes": [
        {"media": ["video"], "task": "describe", "tiers": ["ocr"],
         "options": {"frames": {"mode": "uniform", "max": 3}, "transcribe": True}}]})
    doc, target = ah.process(fresh(walk, tmp_path), config)
    assert target.name == "walk.mp4.json" and doc["status"] == "ok"
    timeline = doc["result"]["timeline"]
    assert [entry["t"] for entry in timeline] == [2.0, 6.0, 10.0]
    assert [words(entry["frame"]["visible_text"]) for entry in timeline] == [text for _, _, text in TEXTS]
    assert_transcript(doc)
    summary = doc["result"]["summary"]
    assert "[00:02] on screen: GATE 7 OPEN" in summary and "said:" in summary
    assert doc["model"]["engine"] == "ocr" and not doc["review"]["needs_review"]
    print(f"\nCPU path: {doc['timings_ms']}")


def test_shipped_models_toml_gives_a_video_text_and_speech_without_a_vision_model(walk, tmp_path):
    """The packaged config with no Ollama on this machine: the vision tier is noted unavailable, the rest stands."""
    shipped = (ROOT / "models.toml").read_text()
    assert 'host = "http://127.0.0.1:11434"' in shipped
    local = tmp_path / "models.toml"
    local.write_text(shipped.replace("127.0.0.1:11434", "127.0.0.1:9"))  # nothing listens on port 9
    config = load_config(local)
    doc, _ = ah.process(fresh(walk, tmp_path), config)
    assert doc["task"]["route"] == "video" and doc["status"] == "ok"
    texts = [words(entry["frame"]["visible_text"]) for entry in doc["result"]["timeline"]]
    assert all(any(sign in text for text in texts) for _, _, sign in TEXTS)
    assert_transcript(doc)
    readers = {reader["tier"]: reader["status"] for reader in doc["result"]["readers"]}
    assert readers == {"ocr-small": "ok", "vision": "unavailable"}


def test_a_gguf_vision_model_answers_the_schema_for_every_frame(tmp_path):
    from tests.helpers.gguf_models import write_vision_pair

    model, mmproj = write_vision_pair(tmp_path / "gguf")
    config = parse_config({"models": {"vision": {"engine": "llamacpp", "model": str(model), "mmproj": str(mmproj)}},
                           "routes": [{"media": ["video"], "task": "describe", "model": "vision", "options": {
                               "frames": {"mode": "uniform", "max": 3}, "canvas": 96, "repairs": 0}}]})
    path = vh.write(tmp_path / "clip.mp4", vh.Clip(6, size=(320, 180), cuts=[2.0, 4.0]))
    engines = EngineSet(config)
    sent: list[tuple[int, int]] = []
    engine = engines.get("vision")
    real = engine.complete

    def spy(request):
        sent.append(Image.open(io.BytesIO(request.image)).size)
        return real(request)

    engine.complete = spy
    try:
        doc, _ = ah.process(path, config, engines)
    finally:
        engines.close()
    assert sent == [(96, 54)] * 3  # one request per frame, each within the canvas
    timeline = doc["result"]["timeline"]
    assert [entry["t"] for entry in timeline] == [1.0, 3.0, 5.0]
    answered = [entry for entry in timeline if "problem" not in entry]
    print(f"\ntiny GGUF: {len(answered)} of 3 frames validated; status {doc['status']}; "
          f"{json.dumps(timeline[0]['frame'])[:120]}")
    assert doc["status"] == {3: "ok", 0: "invalid"}.get(len(answered), "partial")
    assert doc["model"]["engine"] == "llamacpp" and doc["result"]["transcript"] is None


def test_extract_on_video_merges_fields_across_frames_like_pages(tmp_path):
    path = vh.write(tmp_path / "form.mp4", vh.Clip(4, size=(320, 180), cuts=[2.0]))
    with OllamaDouble() as double:
        double.queue_values({"invoice_number": "INV-7", "total_amount": None},
                            {"invoice_number": None, "total_amount": 99.5})
        config = parse_config({"models": {"vision": {"engine": "ollama", "host": double.host}},
                               "routes": [{"media": ["video"], "task": "extract", "schema": "invoice",
                                           "model": "vision", "options": {"frames": {"mode": "scene"}}}]})
        doc, _ = ah.process(path, config)
    assert doc["task"]["kind"] == "extract" and doc["task"]["schema"] == "invoice"
    fields = doc["result"]["fields"]
    assert fields["invoice_number"] == "INV-7" and fields["total_amount"] == 99.5
    assert len(doc["result"]["timeline"]) == 2


# -- several frames per request for models that take several images ------------------------------------------


def test_a_multi_image_model_gets_batches_of_frames(tmp_path):
    from tests.helpers.ollama_double import FakeModel

    path = vh.write(tmp_path / "walk.mp4", vh.Clip(6, size=(320, 180)))
    qwen = FakeModel(name="qwen2.5vl:7b", family="qwen25vl")
    with OllamaDouble(models=[qwen]) as double:
        double.queue_values({"frames": [{"caption": f"frame {n}"} for n in range(4)]},
                            {"frames": [{"caption": f"frame {n}"} for n in range(4, 6)]})
        config = parse_config({"models": {"vision": {"engine": "ollama", "model": qwen.name, "host": double.host}},
                               "routes": [{"media": ["video"], "task": "describe", "model": "vision", "options": {
                                   "frames": {"mode": "uniform", "max": 6}, "batch": 4}}]})
        doc, _ = ah.process(path, config)
        chats = double.chats()
    assert [len(chat["messages"][-1]["images"]) for chat in chats] == [4, 2]
    assert chats[0]["format"]["properties"]["frames"]["maxItems"] == 4
    assert "at 0.5 s, 1.5 s, 2.5 s, 3.5 s" in chats[0]["messages"][-1]["content"]
    assert [entry["frame"]["caption"] for entry in doc["result"]["timeline"]] == [f"frame {n}" for n in range(6)]
    assert doc["tiers"][0]["requests"] == 2 and doc["tiers"][0]["images_per_request"] == 4


def test_a_batch_answer_that_does_not_hold_every_frame_is_asked_again_frame_by_frame(tmp_path):
    from tests.helpers.ollama_double import FakeModel

    path = vh.write(tmp_path / "walk.mp4", vh.Clip(4, size=(320, 180)))
    qwen = FakeModel(name="qwen2.5vl:7b", family="qwen25vl")
    with OllamaDouble(models=[qwen]) as double:
        double.queue_values({"frames": [{"caption": "only one"}]},  # two frames were sent
                            {"caption": "first"}, {"caption": "second"})
        config = parse_config({"models": {"vision": {"engine": "ollama", "model": qwen.name, "host": double.host}},
                               "routes": [{"media": ["video"], "task": "describe", "model": "vision", "options": {
                                   "frames": {"mode": "uniform", "max": 2}, "batch": 2}}]})
        doc, _ = ah.process(path, config)
        chats = double.chats()
    assert [len(chat["messages"][-1]["images"]) for chat in chats] == [2, 1, 1]
    assert [entry["frame"]["caption"] for entry in doc["result"]["timeline"]] == ["first", "second"]
    assert doc["status"] == "ok"


def test_the_gguf_mtmd_model_reads_several_frames_in_one_request(tmp_path):
    from tests.helpers.gguf_models import write_vision_pair

    model, mmproj = write_vision_pair(tmp_path / "gguf")
    config = parse_config({"models": {"vision": {"engine": "llamacpp", "model": str(model), "mmproj": str(mmproj)}},
                           "routes": [{"media": ["video"], "task": "describe", "model": "vision", "options": {
                               "frames": {"mode": "uniform", "max": 3}, "canvas": 96, "batch": 3, "repairs": 0}}]})
    path = vh.write(tmp_path / "clip.mp4", vh.Clip(6, size=(320, 180), cuts=[2.0, 4.0]))
    engines = EngineSet(config)
    sent: list[list[tuple[int, int]]] = []
    engine = engines.get("vision")
    real = engine.complete

    def spy(request):
        pictures = request.images or [request.image]
        sent.append([Image.open(io.BytesIO(data)).size for data in pictures])
        answer = real(request)
        assert answer.prompt_tokens > 3 * 16  # three 16-token images went into the context
        return answer

    engine.complete = spy
    try:
        doc, _ = ah.process(path, config, engines)
    finally:
        engines.close()
    assert engine.max_images() == 8 and sent[0] == [(96, 54)] * 3
    print(f"\ntiny GGUF batch: requests {[len(s) for s in sent]}, status {doc['status']}")
    assert [entry["t"] for entry in doc["result"]["timeline"]] == [1.0, 3.0, 5.0]
    assert len(sent) in (1, 4)  # the batch, and the frames one by one only if its answer was unusable


def test_a_configured_summary_model_writes_the_summary_from_the_timeline(tmp_path):
    path = vh.write(tmp_path / "drive.mp4", vh.Clip(4, size=(320, 180), cuts=[2.0]))
    with OllamaDouble(values={"summary": "A drive past a dark and a light stretch of road."}) as double:
        double.queue_values({"caption": "a dark road"}, {"caption": "a light road"})
        config = parse_config({"models": {"vision": {"engine": "ollama", "host": double.host}},
                               "routes": [{"media": ["video"], "task": "describe", "model": "vision", "options": {
                                   "frames": {"mode": "scene"}, "summary_model": "vision"}}]})
        doc, _ = ah.process(path, config)
        chats = double.chats()
    assert doc["result"]["summary"] == "A drive past a dark and a light stretch of road."
    assert doc["result"]["summary_by"] == "vision" and len(chats) == 3
    asked = chats[-1]["messages"][-1]
    assert "images" not in asked and "[00:00] a dark road" in asked["content"] and "[00:02] a light road" in asked["content"]


def test_a_route_for_pictures_and_video_shares_its_options(tmp_path, speech):
    """Keys of the extract task and of the transcribe task sit beside the video keys (checked at load)."""
    clip = vh.Clip(4, size=(320, 180), speech=np.concatenate([ah.silence(1.0), speech]))
    path = vh.write(tmp_path / "memo.mp4", clip)
    with OllamaDouble(values={"caption": "a grey wall"}) as double:
        config = parse_config({"models": {"vision": {"engine": "ollama", "host": double.host}, "asr": ASR},
                               "routes": [{"media": ["image", "pdf", "video"], "task": "describe", "model": "vision",
                                           "options": {"ocr_hint": False, "lists": True, "frames": {"max": 1},
                                                       "transcribe": True, "companions": ["srt"]}}]})
        doc, _ = ah.process(path, config)
    assert doc["status"] == "ok" and doc["result"]["timeline"][0]["frame"]["caption"] == "a grey wall"
    assert_transcript(doc)
    srt = (tmp_path / "memo.mp4.srt").read_text()
    assert " --> " in srt and words(ah.SENTENCES[0].split()[0]) in words(srt)
