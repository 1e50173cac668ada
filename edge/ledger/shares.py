"""Identity on a shared folder: local paths <-> share-relative ids.

Hosts may mount one share at different paths. A file's id in a shared ledger
is its path relative to the share: relative to `[edge] share_root` when the
watched folder lies under it, else `NAME/rel` for a watch given as
`NAME=DIR`, else (one mount point everywhere) its absolute path.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def split_named(entry: str | Path) -> tuple[str | None, Path]:
    """`NAME=DIR` -> (NAME, DIR); a plain folder (even one with '=' in it) -> (None, DIR)."""
    text = str(entry)
    name, sep, rest = text.partition("=")
    if not sep or not name or "/" in name or not rest or Path(text).exists():
        return None, Path(text)
    return name, Path(rest)


@dataclass(frozen=True)
class Share:
    root: Path  # the local folder, resolved
    id: str  # its id on the share ('' when it is the share root itself)

    def file_id(self, path: Path) -> str:
        rel = path.relative_to(self.root).as_posix()
        return f"{self.id.rstrip('/')}/{rel}" if self.id else rel


class ShareMap:
    def __init__(self, shares: list[Share], share_root: Path | None = None):
        self.shares = shares
        self.share_root = share_root
        self._by_id = {share.id: share for share in shares}

    @classmethod
    def build(cls, roots: list[Path], names: dict[Path, str] | None = None,
              share_root: Path | None = None) -> ShareMap:
        names = names or {}
        base = Path(share_root).resolve() if share_root else None
        return cls([Share(root, _root_id(root, names.get(root), base)) for root in roots], base)

    @property
    def root_ids(self) -> list[str]:
        return [share.id for share in self.shares]

    def ids(self, path: str, root: str | None = None) -> tuple[str, str]:
        """(file id, root id) of a local path."""
        local = Path(path)
        for share in self.shares:
            if root in (None, str(share.root)) and _under(local, share.root):
                return share.file_id(local), share.id
        if self.share_root is not None and _under(local, self.share_root):
            rel = local.relative_to(self.share_root).as_posix()
            return rel, rel.rsplit("/", 1)[0] if "/" in rel else ""
        return str(local), root or str(local.parent)

    def local(self, file_id: str, root_id: str) -> tuple[str, str]:
        """(local path, local root) of an id; an id from a folder this host does not watch stays as it is."""
        share = self._by_id.get(root_id)
        if share is None:
            return file_id, root_id
        rel = file_id[len(share.id):].lstrip("/") if share.id else file_id
        return str(share.root / rel), str(share.root)


def _root_id(root: Path, name: str | None, base: Path | None) -> str:
    if name:
        return name
    if base is not None and _under(root, base):
        rel = root.relative_to(base).as_posix()
        return "" if rel == "." else rel
    return str(root)


def _under(path: Path, folder: Path) -> bool:
    return path == folder or str(path).startswith(str(folder).rstrip(os.sep) + os.sep)
