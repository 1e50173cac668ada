"""Read a GGUF file's metadata and tensor shapes without loading it.

`gguf.GGUFReader` maps every tensor and takes seconds on a large model; the
start-up checks need a handful of keys, so this walks the header only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

_SCALARS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
_STRING, _ARRAY = 8, 9
MAX_ARRAY_KEEP = 64  # long arrays (the vocabulary) are skipped, not kept


class NotGGUF(ValueError):
    pass


@dataclass
class GGUFInfo:
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: dict[str, tuple[int, ...]] = field(default_factory=dict)  # name -> ggml ne (numpy shape reversed)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    def get(self, key: str, default: Any = None) -> Any:
        return self.metadata.get(key, default)


def read_info(path: Path, tensors: bool = True) -> GGUFInfo:
    with open(path, "rb") as handle:
        if handle.read(4) != b"GGUF":
            raise NotGGUF(f"{path} is not a GGUF file")
        version, n_tensors, n_kv = struct.unpack("<IQQ", handle.read(20))
        if version < 2:
            raise NotGGUF(f"{path}: GGUF version {version} is too old")
        info = GGUFInfo()
        for _ in range(n_kv):
            key = _string(handle)
            info.metadata[key] = _value(handle, struct.unpack("<I", handle.read(4))[0])
        if tensors:
            for _ in range(n_tensors):
                name = _string(handle)
                n_dims = struct.unpack("<I", handle.read(4))[0]
                dims = struct.unpack(f"<{n_dims}Q", handle.read(8 * n_dims))
                handle.read(12)  # type (u32) and offset (u64)
                info.tensors[name] = dims
    return info


def _string(handle: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", handle.read(8))
    return handle.read(length).decode("utf-8", "replace")


def _value(handle: BinaryIO, kind: int) -> Any:
    if kind == _STRING:
        return _string(handle)
    if kind == _ARRAY:
        item_kind, count = struct.unpack("<IQ", handle.read(12))
        if item_kind in _SCALARS and count > MAX_ARRAY_KEEP:
            handle.seek(struct.calcsize(_SCALARS[item_kind]) * count, 1)
            return None
        items = [_value(handle, item_kind) for _ in range(count)]
        return items if count <= MAX_ARRAY_KEEP else None
    fmt = _SCALARS.get(kind)
    if fmt is None:
        raise NotGGUF(f"unknown GGUF value type {kind}")
    return struct.unpack(fmt, handle.read(struct.calcsize(fmt)))[0]
