"""Acceptance 4 of the video issue through `edge process`: a video's frames to a one-image vision
model (the Ollama double, from a child process), its soundtrack to Whisper tiny.en, one sidecar.

The video task in-process (RapidOCR, tiny GGUF models, batches, summaries) is in tests/unit/tasks/test_video.py.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.helpers import audio as ah
from tests.helpers import read_sidecar, run_edge
from tests.helpers import video as vh
from tests.helpers.ollama_double import OllamaDouble

pytestmark = pytest.mark.skipif(ah.have_tools() is not None, reason=str(ah.have_tools()))


@pytest.fixture(scope="module")
def speech(tmp_path_factory) -> np.ndarray:
    return ah.speech_samples(ah.SENTENCES[0], tmp_path_factory.mktemp("speech"))


def assert_transcript(doc: dict) -> None:
    transcript = doc["result"]["transcript"]
    assert ah.wer(ah.SENTENCES[0], transcript["text"]) <= 0.2, transcript["text"]
    assert transcript["segments"][0]["start"] >= 0.5  # the speech starts after 1 s of silence: same clock


def test_edge_process_sends_one_frame_per_request_to_a_one_image_model(tmp_path, speech):
    clip = vh.Clip(9, size=(640, 360), cuts=[3.0, 6.0], speech=np.concatenate([ah.silence(1.0), speech]))
    path = vh.write(tmp_path / "dashcam.mp4", clip)
    with OllamaDouble() as double:
        double.queue_values(*({"caption": f"shot {n}", "objects": ["road"], "visible_text": None} for n in (1, 2, 3)))
        config = tmp_path / "models.toml"
        config.write_text(f"""
[models.vision]
engine = "ollama"
model = "llama3.2-vision:11b"
host = "{double.host}"
canvas = 560

[models.asr]
engine = "faster-whisper"
model = "embedded:tiny.en"

[[routes]]
media = ["video"]
task = "describe"
model = "vision"
options = {{frames = {{mode = "scene", max = 8}}, transcribe = true, batch = 4}}
""")
        run = run_edge("process", str(path), "--config", str(config), "--state-dir", str(tmp_path / "state"))
        chats = double.chats()
    assert run.returncode == 0, run.stderr
    doc = read_sidecar(path)
    images = [message["images"] for chat in chats for message in chat["messages"] if message.get("images")]
    assert len(chats) == 3 and [len(batch) for batch in images] == [1, 1, 1]  # mllama: one image per request,
    # whatever batch the route asks for
    sizes = [Image.open(io.BytesIO(base64.b64decode(batch[0]))).size for batch in images]
    assert sizes == [(560, 315)] * 3  # within the canvas
    timeline = doc["result"]["timeline"]
    assert [entry["frame"]["caption"] for entry in timeline] == ["shot 1", "shot 2", "shot 3"]
    times = [entry["t"] for entry in timeline]
    assert times == sorted(times) and times[0] == 0.0 and 3.0 <= times[1] <= 3.5 and 6.0 <= times[2] <= 6.5
    assert_transcript(doc)
    assert doc["model"]["engine"] == "ollama" and doc["task"]["schema"] == "photo"
