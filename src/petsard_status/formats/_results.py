"""Results as content-addressed trees: frames become Arrow blobs, the rest JSON.

A module's result is a DataFrame, a dict of DataFrames, or a report dict mixing
frames and plain values.  It is stored as a small JSON *tree* whose leaves name
frame blobs by hash or hold a plain value, so an identical frame is stored
once however many results contain it.

Large frames need not become bytes in memory: :func:`encode_result` with a
``defer`` test leaves the frames it picks *pending* (the tree names them
``{"pending": i}`` and its ``ref`` is provisional), and :func:`finish_result`
later streams each through a writer (such as :func:`write_frame` into a file)
that returns its content hash, and builds the final tree.  Both give the same
tree for the same result: the frame's hash is that of ``encode_frame``'s bytes
either way.  A tree with a pending node is never stored (reading one fails).
"""

from __future__ import annotations

import json
import reprlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from petsard_status.errors import CorruptDataError, PetsardStatusError, SerializationError
from petsard_status.formats._common import check_envelope, hash_bytes, strict_loads
from petsard_status.formats._frames import Compression, decode_frame, encode_frame
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


FrameWriter = Callable[[pd.DataFrame, Compression], tuple[str, int]]
"""Streams a frame somewhere (``write_frame``'s bytes) and returns their hash and size."""


@dataclass(frozen=True)
class PendingFrame:
    """A frame left out of memory-bound encoding, to be streamed by a :data:`FrameWriter`."""

    frame: pd.DataFrame
    compression: Compression
    path: str
    """Where in the result it sits, for error messages."""


@dataclass
class EncodedResult:
    """A result ready to store: the tree's hash and every blob it needs."""

    ref: str
    blobs: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    """hash -> (kind, bytes), the tree itself included."""
    files: dict[str, int] = field(default_factory=dict)
    """hash -> size of the frames a :data:`FrameWriter` holds (not in ``blobs``)."""
    pending: tuple[PendingFrame, ...] = ()
    """Frames still to write; while any is left, ``ref`` is provisional."""
    root: Any = field(default=None, repr=False, compare=False)


@dataclass
class _Encoding:
    defer: Callable[[pd.DataFrame], bool] | None
    blobs: dict[str, tuple[str, bytes]] = field(default_factory=dict)
    pending: list[PendingFrame] = field(default_factory=list)


def frame_compression(frame: pd.DataFrame) -> Compression:
    """How a frame is compressed: decided by its shape alone, so equal frames give equal bytes."""
    return "zstd" if frame.size >= COMPRESS_CELLS else None


def _encode_node(value: Any, out: _Encoding, path: str, depth: int) -> Any:
    if depth > MAX_TREE_DEPTH:
        raise SerializationError(f"{path}: results nested deeper than {MAX_TREE_DEPTH} levels")
    if isinstance(value, pd.DataFrame):
        if out.defer is not None and out.defer(value):
            out.pending.append(PendingFrame(value, frame_compression(value), path))
            return {"pending": len(out.pending) - 1}
        try:
            data = encode_frame(value, compression=frame_compression(value))
        except SerializationError as exc:
            raise SerializationError(f"{path}: {exc}") from exc
        digest = hash_bytes(data)
        out.blobs[digest] = ("frame", data)
        return {"frame": digest}
    if isinstance(value, pd.Series):
        frame = value.to_frame(name=value.name if value.name is not None else 0)
        return {"series": _encode_node(frame, out, path, depth + 1)}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {
            "dict": [
                [key, _encode_node(item, out, f"{path}[{key!r}]", depth + 1)]
                for key, item in value.items()
            ]
        }
    try:
        return {"value": dumps_value(value)}
    except SerializationError as exc:
        raise SerializationError(
            f"{path} = {_SHORT.repr(value)} ({type(value).__name__}): {exc}"
        ) from exc


def encode_result(value: Any, *,
                  defer: Callable[[pd.DataFrame], bool] | None = None) -> EncodedResult:
    """Encode a module result; raises SerializationError naming the offending part.

    Frames for which ``defer(frame)`` is true are not encoded but left pending
    (see :func:`finish_result`).
    """
    out = _Encoding(defer)
    root = _encode_node(value, out, "result", 0)
    return _with_tree(root, out.blobs, {}, tuple(out.pending))


def _with_tree(root: Any, blobs: dict[str, tuple[str, bytes]], files: dict[str, int],
               pending: tuple[PendingFrame, ...]) -> EncodedResult:
    tree = json.dumps(
        {"format": TREE_FORMAT, "version": TREE_VERSION, "root": root},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    ref = hash_bytes(tree)
    return EncodedResult(ref=ref, blobs={**blobs, ref: ("tree", tree)}, files=files,
                         pending=pending, root=root)


def finish_result(encoded: EncodedResult, write: FrameWriter) -> EncodedResult:
    """``encoded`` with every pending frame streamed through ``write``; its final tree.

    Raises SerializationError naming the frame that cannot be encoded.
    """
    if not encoded.pending:
        return encoded
    digests: list[str] = []
    files = dict(encoded.files)
    for item in encoded.pending:
        try:
            digest, size = write(item.frame, item.compression)
        except SerializationError as exc:
            raise SerializationError(f"{item.path}: {exc}") from exc
        digests.append(digest)
        files[digest] = size

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if set(node) == {"pending"}:
                return {"frame": digests[node["pending"]]}
            return {key: resolve(item) for key, item in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    blobs = {h: b for h, b in encoded.blobs.items() if h != encoded.ref}
    return _with_tree(resolve(encoded.root), blobs, files, ())


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


def decode_result(tree: bytes, load_blob: Any, *,
                  load_frame: Callable[[str], pd.DataFrame] | None = None) -> Any:
    """Rebuild a result from its tree; ``load_blob(hash)`` returns a frame blob's bytes.

    ``load_frame(hash)``, if given, returns the frame itself instead (a store
    whose large frames are files reads them without holding their bytes).
    """
    doc = _parse_tree(tree)
    frames = load_frame or (lambda digest: decode_frame(load_blob(digest)))

    def build(node: Any, depth: int) -> Any:
        if depth > MAX_TREE_DEPTH or not isinstance(node, dict) or len(node) != 1:
            raise CorruptDataError("a stored result tree has a malformed node")
        (kind, body), = node.items()
        if kind == "frame" and isinstance(body, str):
            return frames(body)
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
