"""The sidecar's atomic writer (edge/sidecar.py)."""

from __future__ import annotations

import pytest

from edge import sidecar
from edge.errors import InputError
from tests.helpers import validate_sidecar


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
