"""How the codec reports a failure: where it is, and what it is in words.

A failure deep inside a value raises :class:`Invalid`, and every container on the
way out adds its step (``.fields``, ``[3]``, ``.stats``), so the public functions
can name the exact place (``value.fields[3].stats.quantiles``) without passing
a path down through every call.
"""

from __future__ import annotations

from typing import Any

from petsard_status.formats._common import short_repr


class Invalid(Exception):
    """Internal: a failure deep inside a value, collecting its path on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.parts: list[str] = []

    def at(self, root: str) -> str:
        return root + "".join(reversed(self.parts))


def type_name(value: Any) -> str:
    t = type(value)
    module = t.__module__
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def class_name(cls: Any) -> str:
    return getattr(cls, "__name__", repr(cls))


def json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)



def key_problem(keys: Any, expected: set[str] | frozenset[str]) -> str:
    present = set(keys)
    missing = sorted(expected - present)
    extra = sorted(present - expected)
    parts = []
    if missing:
        parts.append(f"missing key(s) {missing}")
    if extra:
        parts.append(f"unexpected key(s) {[short_repr(k, 40) for k in extra]}")
    return "; ".join(parts) or "wrong keys"
