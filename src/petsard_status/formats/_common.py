"""What every on-disk format shares: strict JSON, content hashing, envelope checks.

Each stored document is JSON inside an envelope ``{"format": NAME, "version": N,
...}``.  Reading one is strict in the same way everywhere: duplicate keys and
bare ``NaN``/``Infinity`` are refused (two texts must never mean one value),
nesting is bounded, and a document of another format or a newer version is
refused by name rather than half-read.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

__all__ = [
    "MAX_JSON_DEPTH",
    "JSONProblem",
    "check_envelope",
    "hash_bytes",
    "record_id",
    "reject_constant",
    "short_repr",
    "strict_loads",
    "unique_pairs",
    "write_file_atomically",
]

# Deeper than any document we write (metadata is a few levels, result trees are
# capped at 32); a crafted document nested a million deep is refused quickly.
MAX_JSON_DEPTH = 64


class JSONProblem(ValueError):
    """Why a JSON text is not acceptable; turned into the caller's error class."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def hash_bytes(data: bytes) -> str:
    """Hex BLAKE2b with a 16-byte digest: the address of every stored document and blob."""
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def record_id(kind: str, seq: int, when: dt.datetime) -> str:
    """A record's id: kind, its number in the run, then the local time.

    ``snapshot_000001_20261128_210000``, ``change_000003_...``, ``timing_000002_...``.
    """
    return f"{kind}_{seq:06d}_{when.strftime('%Y%m%d_%H%M%S')}"


def short_repr(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def reject_constant(name: str) -> Any:
    raise JSONProblem(f"bare {name} is not JSON; non-finite floats must be tagged")


def unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys; two texts meaning one value
    # would break content addressing, so a duplicate is an error.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise JSONProblem(f"duplicate key {short_repr(key)} in an object")
            seen.add(key)
    return result


def _too_deep(text: str | bytes, limit: int) -> bool:
    """True when brackets outside strings nest deeper than ``limit``.

    Checked before parsing: the C parser would otherwise recurse as deep as
    the text goes, and everything built from its result (validation, hashing)
    would have to defend itself again.
    """
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return False


def strict_loads(
    text: str | bytes,
    *,
    what: str,
    error: type[Exception],
    max_depth: int = MAX_JSON_DEPTH,
) -> Any:
    """Parse ``text`` strictly; any problem raises ``error("WHAT: ...")``."""
    if _too_deep(text, max_depth):
        raise error(f"{what}: nested deeper than {max_depth} levels")
    try:
        return json.loads(text, object_pairs_hook=unique_pairs, parse_constant=reject_constant)
    except JSONProblem as exc:
        raise error(f"{what}: {exc.message}") from None
    except RecursionError:
        raise error(f"{what}: nested too deeply") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise error(f"{what}: not valid JSON ({exc})") from None


def check_envelope(
    doc: Any,
    *,
    fmt: str,
    versions: Collection[int],
    what: str,
    error: type[Exception],
    keys: Collection[str] | None = None,
) -> dict[str, Any]:
    """Check that ``doc`` is a ``fmt`` document of a version this package reads."""
    if not isinstance(doc, dict):
        raise error(f"{what}: not a {fmt} document (expected a JSON object)")
    if doc.get("format") != fmt:
        raise error(f"{what}: not a {fmt} document (format is {short_repr(doc.get('format'))})")
    version = doc.get("version")
    if type(version) is not int or version not in versions:
        known = ", ".join(str(v) for v in sorted(versions))
        raise error(
            f"{what}: {fmt} version {short_repr(version)}; this petsard-status reads version "
            f"{known} only (a newer petsard-status may have written it: upgrade the package)"
        )
    if keys is not None and set(doc) != set(keys):
        missing = sorted(set(keys) - set(doc))
        extra = sorted(set(doc) - set(keys))
        raise error(f"{what}: wrong keys (missing {missing}, unexpected {extra[:5]})")
    return doc


def write_file_atomically(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` so that it appears whole or not at all.

    The bytes go to a temporary file beside the target, are fsynced, and only
    then renamed over it: a crash or a full disk leaves the earlier file (or
    none), never a truncated one under the final name.
    """
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise
    _fsync_directory(target.parent)


def _fsync_directory(folder: Path) -> None:
    # The rename is durable only once the folder's entry is on disk.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
