"""Human review: one folder of flagged files, and accepting a person's answer.

When a sidecar says `needs_review` and `[edge] review_dir` is set, the file is
hard-linked into the review folder (copied when the folder is on another
filesystem), mirroring its path under the watched root, with a copy of its
sidecar beside it. That copy records where the original lives under
`review.origin`. Keep review_dir outside the watched folders.

`accept()` writes the original sidecar again with the person's values,
`review.reviewed_at`, and the model's own output kept under `review.history`,
then removes the file and its copy from the review folder.
"""

from __future__ import annotations

import copy
import errno
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import sidecar
from .config import Config
from .errors import ConfigError, EdgeError, InputError
from .job import Job

log = logging.getLogger("edge.review")


@dataclass
class Pending:
    file: Path  # the copy in the review folder
    sidecar: Path  # its sidecar copy
    origin: Path  # the original file
    origin_sidecar: Path  # the sidecar edge wrote for it
    doc: dict[str, Any]

    @property
    def reasons(self) -> list[dict[str, Any]]:
        return (self.doc.get("review") or {}).get("reasons", [])

    def summary(self) -> dict[str, Any]:
        """One line of the queue, as `edge review list --json` prints it and the review page shows it."""
        return {"file": str(self.file), "origin": str(self.origin), "reasons": self.reasons,
                "route": (self.doc.get("task") or {}).get("route"), "model": (self.doc.get("model") or {}).get("name"),
                "flagged_at": self.doc.get("created_at")}


def review_dir(config: Config) -> Path:
    folder = config.edge.review_dir
    if folder is None:
        raise ConfigError("no review folder is configured", hint="set review_dir in the [edge] table of models.toml")
    return Path(folder).expanduser().resolve()


# -- routing ----------------------------------------------------------------------------


def route_flagged(config: Config, job: Job, sidecar_path: Path, doc: dict[str, Any]) -> Path | None:
    """Put a flagged file (and a copy of its sidecar) into the review folder.

    Never fails the file: its sidecar is written and says needs_review either way.
    """
    dest = review_dir(config) / job.rel
    try:
        link_or_copy(job.path, dest)
        listed = copy.deepcopy(doc)
        listed["review"]["origin"] = _final_place(config, job, Path(sidecar_path).resolve())
        sidecar.write_json(_with_suffix(dest, sidecar.SUFFIX), listed)
    except (OSError, EdgeError) as exc:
        log.warning("event=review_route_failed path=%s error=%s", job.path, exc)
        return None
    return dest


def _final_place(config: Config, job: Job, sidecar_path: Path) -> dict[str, str]:
    """Where the file and its sidecar will be once `after = "move:DIR"` has run (Pipeline._after)."""
    if not config.edge.after:
        return {"path": str(job.path), "sidecar": str(sidecar_path)}
    moved = Path(config.edge.after.split(":", 1)[1]).expanduser().resolve() / job.rel
    beside = sidecar_path == _with_suffix(job.path.resolve(), sidecar.SUFFIX)  # no output_dir: it moves too
    return {"path": str(moved), "sidecar": str(_with_suffix(moved, sidecar.SUFFIX) if beside else sidecar_path)}


def link_or_copy(source: Path, dest: Path) -> None:
    """A hard link (no second copy of the bytes); a copy where a link cannot cross filesystems."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    if dest.exists() and os.path.samefile(source, dest):
        return
    temp = dest.with_name(f"{sidecar.TEMP_PREFIX}{dest.name}.tmp")
    _unlink(temp)
    try:
        os.link(source, temp)
    except OSError as exc:
        if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK, errno.ENOTSUP):
            raise
        shutil.copy2(source, temp)
    os.replace(temp, dest)


# -- the queue --------------------------------------------------------------------------


def list_pending(config: Config) -> list[Pending]:
    """Every file waiting in the review folder, by path."""
    folder = review_dir(config)
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.rglob(f"*{sidecar.SUFFIX}")):
        item = _pending(path)
        if item is not None:
            found.append(item)
    return found


def _pending(sidecar_copy: Path) -> Pending | None:
    doc = sidecar.read(sidecar_copy)
    origin = ((doc or {}).get("review") or {}).get("origin")
    file = sidecar_copy.with_name(sidecar_copy.name[: -len(sidecar.SUFFIX)])
    if doc is None or not origin or not file.exists():
        return None
    return Pending(file, sidecar_copy, Path(origin["path"]), Path(origin["sidecar"]), doc)


def queue(config: Config) -> list[Pending]:
    """The review queue as a person works it: the most recently flagged first (`review list`, `review serve`)."""
    return sorted(list_pending(config), key=lambda item: (str(item.doc.get("created_at") or ""), str(item.file)),
                  reverse=True)


def find(config: Config, file: Path) -> Pending:
    """The pending item for a file given by its review-folder path or its original path."""
    wanted = Path(file).expanduser().resolve()
    pending = list_pending(config)
    for item in pending:
        if wanted in (item.file.resolve(), item.origin.resolve()):
            return item
    raise InputError(f"{file} is not waiting for review in {review_dir(config)}", code="not_pending",
                     hint="`edge review list` shows what waits")


# -- accepting ------------------------------------------------------------------------


def accept(config: Config, file: Path, corrected_json_path: Path | None = None,
           corrected_values: dict[str, Any] | None = None) -> Path:
    """Write the reviewed sidecar, keep the model's answer in history, clear the review copy.

    The corrections come from CORRECTED.json (`edge review accept`) or as values (`edge review serve`):
    one code path for both.
    """
    item = find(config, file)
    original = sidecar.read(item.origin_sidecar)
    if original is None:
        raise InputError(f"the sidecar {item.origin_sidecar} is gone; nothing to update", code="no_sidecar",
                         hint="process the file again, then review it")
    if original["source"].get("sha256") != item.doc["source"].get("sha256"):
        raise InputError(f"{item.origin.name} changed since it was flagged; its sidecar now describes other content",
                         code="stale_review", hint="look at the new sidecar; remove the stale copy from review_dir")
    corrected = _load_corrected(corrected_json_path) if corrected_json_path else {}
    corrected = {**corrected, **(corrected_values or {})}
    doc = reviewed(original, corrected, config)
    sidecar.write_json(item.origin_sidecar, doc)
    _remove_from_queue(item, review_dir(config))
    return item.origin_sidecar


def reviewed(doc: dict[str, Any], corrected: dict[str, Any], config: Config | None = None) -> dict[str, Any]:
    """The sidecar after a person's review (pure: returns a new document)."""
    result = dict(doc.get("result") or {})
    unknown = sorted(set(corrected) - set(result))
    if unknown and result:
        raise InputError(f"the corrected values name fields the result does not have: {', '.join(unknown)}",
                         code="bad_correction", hint=f"fields: {', '.join(result)}")
    result = _validated({**result, **corrected}, doc, config)
    old_review = doc.get("review") or {}
    entry = {"status": doc.get("status"), "result": doc.get("result"), "model": doc.get("model"),
             "created_at": doc.get("created_at")}
    new = copy.deepcopy(doc)
    new["status"] = "ok"
    new["result"] = result
    new["review"] = {
        **{k: v for k, v in old_review.items() if k not in ("origin", "history")},
        "needs_review": False,
        "reviewed_at": sidecar.iso_time(),
        "corrected": sorted(k for k in corrected if (doc.get("result") or {}).get(k) != result.get(k)),
        "history": [*old_review.get("history", []), entry],
    }
    return new


def _validated(result: dict[str, Any], doc: dict[str, Any], config: Config | None) -> dict[str, Any]:
    """Corrected values must fit the route's schema as the model's had to."""
    name = (doc.get("task") or {}).get("schema")
    if not name or config is None:
        return result
    from pydantic import ValidationError

    from .extract import schemas

    try:
        spec = schemas.resolve(name, (doc.get("task") or {}).get("kind", "extract"), config)
        return spec.model.model_validate(result).model_dump(mode="json")
    except ValidationError as exc:
        raise InputError(f"the corrected values do not fit the {name} schema: {exc.errors()[0]['msg']} "
                         f"({'.'.join(map(str, exc.errors()[0]['loc']))})", code="bad_correction") from None
    except ConfigError:
        return result


def _load_corrected(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable JSON file: {exc}", code="bad_correction") from None
    if isinstance(value, dict) and value.get("edge") == sidecar.FORMAT:
        value = value.get("result") or {}  # a whole edited sidecar: take its result
    if not isinstance(value, dict):
        raise InputError(f"{path}: expected a JSON object of field -> value", code="bad_correction")
    return value


def _remove_from_queue(item: Pending, root: Path) -> None:
    _unlink(item.file)
    _unlink(item.sidecar)
    folder = item.file.parent
    while folder != root and root in folder.parents and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


def _unlink(path: Path) -> None:
    try:
        path.unlink()
    except FileNotFoundError:
        pass


def _with_suffix(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)
