"""Results as content-addressed trees: frames become Arrow blobs, the rest JSON.

A module's result is a DataFrame, a dict of DataFrames, or a report dict mixing
frames and plain values.  It is stored as a small JSON *tree* whose leaves name
frame blobs by hash or hold a plain value, so an identical frame is stored
once however many results contain it.
"""

from __future__ import annotations

import json
import reprlib
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from petsard_status.errors import CorruptDataError, PetsardStatusError, SerializationError
from petsard_status.formats._common import check_envelope, hash_bytes, strict_loads
from petsard_status.formats._frames import decode_frame, encode_frame
from petsard_status.formats._metadata import dumps_value, loads_value

TREE_FORMAT = "petsard-status/result"
TREE_VERSION = 1
MAX_TREE_DEPTH = 32
# Offending values are shown in error messages, shortened (a frame-sized repr helps nobody).
_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 80
# Large frames are written zstd-compressed: a few milliseconds of CPU per
# million cells buy several times fewer bytes to write, fsync, hash and read.
# Small ones are not: compressing each Arrow buffer has a fixed cost that a
# short column does not repay.  The rule depends only on the frame's shape
# (deciding before encoding saves encoding twice), so equal frames still give
# equal bytes.
COMPRESS_CELLS = 100_000


@dataclass
class EncodedResult:
    """A result ready to store: the tree's hash and every blob it needs."""

    ref: str
    blobs: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """hash -> (kind, bytes), the tree itself included."""


def _encode_node(value: Any, blobs: dict[str, tuple[str, bytes]], path: str, depth: int) -> Any:
    if depth > MAX_TREE_DEPTH:
        raise SerializationError(f"{path}: results nested deeper than {MAX_TREE_DEPTH} levels")
    if isinstance(value, pd.DataFrame):
        try:
            data = encode_frame(
                value, compression="zstd" if value.size >= COMPRESS_CELLS else None
            )
        except SerializationError as exc:
            raise SerializationError(f"{path}: {exc}") from exc
        digest = hash_bytes(data)
        blobs[digest] = ("frame", data)
        return {"frame": digest}
    if isinstance(value, pd.Series):
        frame = value.to_frame(name=value.name if value.name is not None else 0)
        return {"series": _encode_node(frame, blobs, path, depth + 1)}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {
            "dict": [
                [key, _encode_node(item, blobs, f"{path}[{key!r}]", depth + 1)]
                for key, item in value.items()
            ]
        }
    try:
        return {"value": dumps_value(value)}
    except SerializationError as exc:
        raise SerializationError(
            f"{path} = {_SHORT.repr(value)} ({type(value).__name__}): {exc}"
        ) from exc


def encode_result(value: Any) -> EncodedResult:
    """Encode a module result; raises SerializationError naming the offending part."""
    blobs: dict[str, tuple[str, bytes]] = {}
    root = _encode_node(value, blobs, "result", 0)
    tree = json.dumps(
        {"format": TREE_FORMAT, "version": TREE_VERSION, "root": root},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    ref = hash_bytes(tree)
    blobs[ref] = ("tree", tree)
    return EncodedResult(ref=ref, blobs=blobs)


def tree_frame_refs(tree: bytes) -> list[str]:
    """Hashes of the frames a stored tree points at (for integrity checks)."""
    doc = _parse_tree(tree)
    found: list[str] = []

    def walk(node: Any, depth: int) -> None:
        if depth > MAX_TREE_DEPTH or not isinstance(node, dict):
            return
        if "frame" in node and isinstance(node["frame"], str):
            found.append(node["frame"])
        elif "series" in node:
            walk(node["series"], depth + 1)
        elif "dict" in node and isinstance(node["dict"], list):
            for item in node["dict"]:
                if isinstance(item, list) and len(item) == 2:
                    walk(item[1], depth + 1)

    walk(doc["root"], 0)
    return found


def _parse_tree(tree: bytes) -> dict[str, Any]:
    doc = strict_loads(tree, what="a stored result tree", error=CorruptDataError)
    return check_envelope(doc, fmt=TREE_FORMAT, versions={TREE_VERSION},
                          what="a stored result tree", error=CorruptDataError,
                          keys=("format", "version", "root"))


def decode_result(tree: bytes, load_blob: Any) -> Any:
    """Rebuild a result from its tree; ``load_blob(hash)`` returns a frame blob's bytes."""
    doc = _parse_tree(tree)

    def build(node: Any, depth: int) -> Any:
        if depth > MAX_TREE_DEPTH or not isinstance(node, dict) or len(node) != 1:
            raise CorruptDataError("a stored result tree has a malformed node")
        (kind, body), = node.items()
        if kind == "frame" and isinstance(body, str):
            return decode_frame(load_blob(body))
        if kind == "series":
            frame = build(body, depth + 1)
            if not isinstance(frame, pd.DataFrame) or frame.shape[1] != 1:
                raise CorruptDataError("a stored series node does not hold one column")
            return frame.iloc[:, 0]
        if kind == "dict" and isinstance(body, list):
            out: dict[str, Any] = {}
            for item in body:
                if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)):
                    raise CorruptDataError("a stored result dict has a malformed entry")
                out[item[0]] = build(item[1], depth + 1)
            return out
        if kind == "value" and isinstance(body, str):
            try:
                return loads_value(body)
            except PetsardStatusError as exc:
                raise CorruptDataError(f"a stored result value is unreadable: {exc}") from exc
        raise CorruptDataError(f"a stored result tree has an unknown node {kind!r}")

    return build(doc["root"], 0)
