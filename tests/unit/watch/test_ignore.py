"""What edge never picks up: clutter, partial downloads, user globs and its own outputs (edge/watch/ignore.py)."""

from __future__ import annotations

import json

import pytest

from edge import sidecar
from edge.watch.ignore import ignored_reason, is_edge_output


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
