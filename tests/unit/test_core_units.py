"""Unit tests of the core's small parts, on real files and a real SQLite."""

from __future__ import annotations

import json
import threading

import pytest

from edge import routing, sidecar
from edge.configure import parse_config
from edge.errors import ConfigError, InputError
from edge.ledger import Ledger
from edge.media.detect import detect
from edge.watch.ignore import ignored_reason, is_edge_output
from tests.helpers import ROOT, validate_sidecar


@pytest.mark.parametrize("rel", [
    ".DS_Store", "._photo.jpg", "sub/.hidden/a.jpg", "a.jpg.part", "b.crdownload", "c.tmp", ".d.swp",
    "~$report.docx", ".~lock.sheet.ods#", ".scan.jpg.Xy12Ab", "Thumbs.db", "@eaDir/a.jpg", ".stfolder/x",
    ".stversions/y.jpg", "movie.mkv.PART",
])
def test_clutter_and_partials_are_ignored(rel):
    assert ignored_reason(rel) is not None


@pytest.mark.parametrize("rel", ["scan.jpg", "claims/2024/form.pdf", "a b/c.wav", "report.part.pdf"])
def test_real_files_are_taken(rel):
    assert ignored_reason(rel) is None


def test_user_globs():
    assert ignored_reason("drafts/x.jpg", ["drafts/*"])
    assert ignored_reason("a/b/c.bak", ["*.bak"])
    assert ignored_reason("a/b/c.jpg", ["*.bak"]) is None


def test_edge_outputs_are_recognised(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"x")
    (tmp_path / "a.jpg.json").write_text("{}")
    orphan = tmp_path / "gone.wav.json"
    orphan.write_text(json.dumps({"edge": sidecar.FORMAT}))
    user_json = tmp_path / "data.json"
    user_json.write_text('{"edge": "something else"}')
    assert is_edge_output(tmp_path / "a.jpg.json")
    assert is_edge_output(orphan)
    assert not is_edge_output(user_json)


@pytest.mark.parametrize("pattern,path,hit", [
    ("claims/**", "claims/a.jpg", True), ("claims/**", "claims/2024/b.pdf", True), ("claims/**", "other/a.jpg", False),
    ("*.jpg", "a.jpg", True), ("*.jpg", "sub/a.jpg", False), ("**/*.jpg", "sub/a.jpg", True), ("**/*.jpg", "a.jpg", True),
])
def test_route_globs(pattern, path, hit):
    assert bool(routing.glob_regex(pattern).match(path)) is hit


def test_route_choice_by_glob_and_media():
    config = parse_config({
        "models": {"m": {"engine": "metadata"}},
        "routes": [{"name": "claims", "match": ["claims/**"], "media": ["image"], "model": "m"},
                   {"name": "sound", "media": ["audio"], "model": "m"}],
    })
    assert routing.choose(config, "claims/a.jpg", "image").name == "claims"
    assert routing.choose(config, "claims/a.wav", "audio").name == "sound"
    assert routing.choose(config, "claims/a.pdf", "pdf").name == "default"


def test_route_naming_unknown_model_is_an_error():
    with pytest.raises(ConfigError, match="names model 'ghost'"):
        parse_config({"routes": [{"model": "ghost"}]})


def test_after_must_be_move():
    with pytest.raises(ConfigError, match="edge.after"):
        parse_config({"edge": {"after": "delete"}})


def test_shipped_config_matches_packaged_default():
    assert (ROOT / "models.toml").read_text() == (ROOT / "edge" / "default_models.toml").read_text()


def test_detect_by_content_not_name(tmp_path):
    from PIL import Image

    disguised = tmp_path / "photo.dat"
    Image.new("RGB", (4, 4)).save(disguised, format="PNG")
    assert detect(disguised).kind == "image"
    liar = tmp_path / "song.mp3"
    liar.write_text("just text")
    with pytest.raises(InputError, match="mislabelled"):
        detect(liar)


def test_atomic_writer_refuses_foreign_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.jpg.json"
    doc = sidecar.envelope("failed", sidecar.source_block(tmp_path / "a.jpg", "", 0, 0, None),
                           error={"code": "x", "message": "m", "attempts": 1})
    sidecar.write_json(target, doc)
    assert validate_sidecar(target)["edge"] == sidecar.FORMAT
    sidecar.write_json(target, doc)  # replacing our own is fine
    foreign = tmp_path / "b.jpg.json"
    foreign.write_text("not ours")
    with pytest.raises(InputError) as caught:
        sidecar.write_json(foreign, doc)
    assert caught.value.code == "foreign_sidecar" and foreign.read_text() == "not ours"
    assert not list(tmp_path.glob(f"{sidecar.TEMP_PREFIX}*"))


def test_ledger_never_hands_one_path_to_two_workers(tmp_path):
    ledger = Ledger(tmp_path)
    for index in range(200):
        ledger.enqueue(f"/in/{index}", "/in", "lane", 1, index)
    claimed: list[str] = []
    lock = threading.Lock()

    def worker():
        while (row := ledger.claim("lane")) is not None:
            with lock:
                claimed.append(row.path)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claimed) == sorted(f"/in/{i}" for i in range(200))
    assert ledger.enqueue("/in/3", "/in", "lane", 1, 3) is False  # running: marked dirty, not queued twice
    assert ledger.finish("/in/3", "done") is True  # dirty reported back
    assert ledger.counts()["running"] == 199


def test_ledger_requeues_running_after_crash(tmp_path):
    ledger = Ledger(tmp_path)
    ledger.enqueue("/in/a", "/in", "lane", 1, 1)
    assert ledger.claim("lane").path == "/in/a"
    ledger.close()
    reopened = Ledger(tmp_path)
    assert reopened.requeue_running() == 1
    assert reopened.claim("lane").path == "/in/a"
