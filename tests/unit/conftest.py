"""What every unit test gets: models run in the test's own process.

Unit tests look inside engines (spies on their methods, patched loaders), which a worker process
(edge/engines/worker.py, the default for llamacpp, faster-whisper and ocr) would hide. A test that sets
`isolate` on a model still gets what it asked for; the default itself is tested in
tests/unit/engines/test_worker.py, and the end-to-end tests run with it.
"""

from __future__ import annotations

import pytest

from edge.engines import base


@pytest.fixture(autouse=True)
def engines_in_process(monkeypatch, request):
    if request.node.get_closest_marker("isolation_default") is None:
        monkeypatch.setattr(base, "runs_isolated", lambda spec, cls: bool(getattr(spec, "isolate", None)))
