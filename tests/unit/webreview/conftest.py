"""A review queue made the real way (the pipeline with the scripted engine flags three drawn documents),
and the review app on it through Starlette's TestClient."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from edge.configure import parse_config
from edge.eval.makeset import make_set
from edge.pipeline import Pipeline, stat_job
from edge.webreview.app import create_app
from tests.helpers import sidecar_of

UNSURE = {"invoice_number": None, "date": "2024-03-03", "vendor_name": "Acme Corp", "total_amount": 99.5,
          "currency": "EUR", "line_items": []}  # a required field left null: flagged (required_missing)
TOKEN = "test-token-0123456789"


@dataclass
class Queue:
    config: object
    inbox: Path
    folder: Path  # review_dir
    docs: list[Path]  # the originals, in the order they were flagged

    def copy(self, index: int) -> Path:
        return self.folder / self.docs[index].name

    def edit_copy(self, index: int, change) -> None:
        """Change the review copy's sidecar (what the page reads) by hand."""
        path = sidecar_of(self.copy(index))
        doc = json.loads(path.read_text())
        change(doc)
        path.write_text(json.dumps(doc))


def config_for(folder: Path):
    return parse_config({
        "edge": {"review_dir": str(folder)},
        "models": {"fake": {"engine": "scripted"}},
        "routes": [{"name": "docs", "media": ["image"], "task": "extract", "schema": "invoice", "model": "fake"}],
    })


@pytest.fixture
def queue(tmp_path) -> Queue:
    folder = tmp_path / "review"
    config = config_for(folder)
    docs = make_set(tmp_path / "inbox", 3, seed=5)
    pipeline = Pipeline(config)
    for path in docs:
        pipeline.engines.get("fake").enqueue(UNSURE)
        job = stat_job(path, path.parent)
        pipeline.write(job, pipeline.run(job))
    return Queue(config, tmp_path / "inbox", folder, docs)


@pytest.fixture
def client(queue) -> TestClient:
    app, _ = create_app(queue.config, TOKEN)
    return TestClient(app, follow_redirects=False)
