"""The `metadata` engine: facts about a file that need no model.

It is the default route for anything no other route takes, and the instant
engine that the daemon's benchmark measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .. import __version__
from ..media import probe
from .base import Engine

_PROBES = {"image": probe.image_facts, "audio": probe.av_facts, "video": probe.av_facts, "pdf": probe.pdf_facts}


class MetadataEngine(Engine):
    kind = "metadata"

    def describe(self, path: Path, media_kind: str) -> dict[str, Any]:
        reader = _PROBES.get(media_kind)
        return reader(path) if reader else {}

    def provenance(self) -> dict[str, Any]:
        return {"name": "metadata", "engine": "metadata", "engine_version": __version__}
