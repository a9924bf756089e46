"""Canonical JSON for the metadata model and for plain values.

Every document is a versioned envelope::

    {"format": "petsard-status/metadata", "version": 1, "kind": KIND, "value": ...}

written with sorted keys, no whitespace, UTF-8 text (``ensure_ascii=False``) and
no bare ``NaN`` / ``Infinity`` (PostgreSQL's JSON types reject them), so equal
values always give equal bytes and can be stored by content hash.

Kinds: ``schema``, ``field``, ``field_stats``, ``schema_stats`` (the model, see
:func:`to_json` / :func:`from_json`), ``schema_shell`` (a schema without its
fields, plus the ordered references to them, for structural sharing) and
``value`` (any plain value, see :func:`dumps_value` / :func:`loads_value`).

Inside a value, what JSON cannot say directly is a tagged object
``{"$t": TAG, "v": ...}``:

=============  ====================================================================
``float``      ``"nan"``, ``"inf"`` or ``"-inf"`` (finite floats are JSON numbers,
               written as ``repr(float)``, the shortest text that reads back equal)
``datetime``   ISO 8601 text, naive or with its UTC offset, microseconds kept
``date``       ISO 8601 text
``time``       ISO 8601 text, with its UTC offset when it has one
``timedelta``  ``[days, seconds, microseconds]``
``decimal``    ``str(Decimal)``, exponent and sign kept
``bytes``      standard base64
``tuple``      a JSON array of the items
``map``        ``[[key, value], ...]`` for a dict with a key that is not a string,
               sorted by the key's canonical JSON text
``dict``       a string-keyed dict that itself has a ``"$t"`` key, so it cannot
               be mistaken for a tag
``data_type``  / ``logical_type``: the model's enums, by value, where they occur
               inside free-form values (the typed fields hold the bare value)
=============  ====================================================================

Timezones: an aware datetime or time is written with its UTC offset.  A zone that
is not a fixed offset (``zoneinfo``, ``pytz``, ``dateutil``) is replaced by the
fixed offset it has at that instant, so a value reads back as the same instant
with a ``datetime.timezone`` (equal under ``==``, except for the rare wall times
that PEP 495 makes compare unequal across zones: those in a DST fold or gap).
The zone's name is not kept.

pandas and numpy scalars are written as the Python values they stand for
(nanoseconds of ``Timestamp`` / ``Timedelta`` are dropped; ``NA`` and ``NaT``
become ``null``) and read back as those Python values.  Every NaN reads back as
the one ``math.nan`` object, which is what makes NaN-holding models compare equal.

Decoding is strict and total: any input either decodes or raises
:class:`~petsard_status.errors.UnknownFormatError` (a foreign document, or a
format version or kind this package does not know) or
:class:`~petsard_status.errors.SerializationError` naming what is wrong and where
(``value.fields[3].stats.quantiles``).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import fields as dataclass_fields
from decimal import Decimal, InvalidOperation
from enum import Enum
from itertools import pairwise
from typing import Any

from petsard_status.errors import SerializationError, UnknownFormatError
from petsard_status.metadata.types import (
    DataType,
    FieldMetadata,
    FieldStats,
    LogicalType,
    SchemaMetadata,
    SchemaStats,
    normalize_value,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "FORMAT",
    "VERSION",
    "content_hash",
    "dumps_value",
    "from_json",
    "loads_value",
    "schema_from_shell",
    "schema_shell_to_json",
    "shell_field_refs",
    "to_json",
]

FORMAT = "petsard-status/metadata"
VERSION = 1
DEFAULT_MAX_BYTES = 64 * 1024 * 1024

_MODEL_KINDS: dict[str, type] = {
    "schema": SchemaMetadata,
    "field": FieldMetadata,
    "field_stats": FieldStats,
    "schema_stats": SchemaStats,
}
_KIND_OF: dict[type, str] = {cls: kind for kind, cls in _MODEL_KINDS.items()}
_KINDS = frozenset([*_MODEL_KINDS, "schema_shell", "value"])
_ENVELOPE_KEYS = frozenset({"format", "version", "kind", "value"})

# check_circular is off because the encoder only ever sees the fresh, acyclic
# structures built here; a cyclic input is caught while building them.
_encode_json = json.JSONEncoder(
    sort_keys=True,
    separators=(",", ":"),
    ensure_ascii=False,
    allow_nan=False,
    check_circular=False,
).encode

_NAN_TAG = {"$t": "float", "v": "nan"}
_POS_INF_TAG = {"$t": "float", "v": "inf"}
_NEG_INF_TAG = {"$t": "float", "v": "-inf"}
_SPECIAL_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}
_DATA_TYPES = {member.value: member for member in DataType}
_LOGICAL_TYPES = {member.value: member for member in LogicalType}
# A lone surrogate can only enter through a \uD800-\uDFFF escape.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_FRACTIONAL_OFFSET = re.compile(r"([+-])(\d\d):(\d\d):(\d\d)\.(\d{6})$")


class _Fail(Exception):
    """Internal: a failure deep inside a value, collecting its path on the way out."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.parts: list[str] = []

    def at(self, root: str) -> str:
        return root + "".join(reversed(self.parts))


# --- public API ------------------------------------------------------------------------


def to_json(
    obj: SchemaMetadata | FieldMetadata | FieldStats | SchemaStats,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """The canonical JSON document of a metadata object.

    Raises :class:`SerializationError` naming the path and type of a value JSON
    cannot carry, or if the document would exceed ``max_bytes`` (which
    :func:`from_json` would then refuse to read).
    """
    kind = _KIND_OF.get(type(obj))
    if kind is None:
        raise SerializationError(
            f"to_json encodes SchemaMetadata, FieldMetadata, FieldStats or SchemaStats, "
            f"not {_type_name(obj)}; use dumps_value for plain values"
        )
    return _finish(kind, lambda: _MODEL_ENCODERS[kind](obj), max_bytes)


def from_json(
    text: str | bytes,
    expected: type | None = None,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> object:
    """Decode a document written by :func:`to_json`.

    ``expected``, if given, is the model class the document must hold.
    """
    kind, value = _open(text, max_bytes)
    cls = _MODEL_KINDS.get(kind)
    if cls is None:
        hint = "loads_value" if kind == "value" else "schema_from_shell"
        raise SerializationError(f"document: a {kind!r} document; read it with {hint}")
    if expected is not None and not (isinstance(expected, type) and issubclass(cls, expected)):
        raise SerializationError(
            f"document: expected a {_class_name(expected)} document, got kind {kind!r} "
            f"({cls.__name__})"
        )
    return _guard(lambda: _MODEL_DECODERS[kind](value))


def dumps_value(value: Any, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Canonical JSON document (kind ``value``) of a plain value.

    Plain values are None, bool, int, float (NaN and infinities included), str,
    bytes, Decimal, date, time, datetime, timedelta, list, tuple, dict (any
    hashable keys of these types), the model's enums, and numpy / pandas scalars
    (written as the Python values they stand for).  Lists stay lists and tuples
    stay tuples.
    """
    return _finish("value", lambda: _enc(value), max_bytes)


def loads_value(text: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """Decode a document written by :func:`dumps_value`."""
    kind, value = _open(text, max_bytes)
    if kind != "value":
        hint = "schema_from_shell" if kind == "schema_shell" else "from_json"
        raise SerializationError(f"document: a {kind!r} document; read it with {hint}")
    return _guard(lambda: _dec(value))


def content_hash(text: str | bytes) -> str:
    """Hex BLAKE2b (16-byte digest) of the UTF-8 bytes of ``text``: a document's address."""
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def schema_shell_to_json(
    schema: SchemaMetadata,
    field_refs: Sequence[str],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> str:
    """A schema without its fields (kind ``schema_shell``), plus references to them.

    ``field_refs[i]`` stands for ``schema.fields[i]``; the codec treats references
    as opaque strings (the store uses the content hash of each field's document).
    """
    if type(schema) is not SchemaMetadata:
        raise SerializationError(
            f"schema_shell_to_json expects a SchemaMetadata, not {_type_name(schema)}"
        )
    refs = list(field_refs)
    if len(refs) != len(schema.fields):
        raise SerializationError(
            f"schema {schema.schema_id!r} has {len(schema.fields)} fields but "
            f"{len(refs)} field references were given"
        )
    for i, ref in enumerate(refs):
        if type(ref) is not str:
            raise SerializationError(f"field_refs[{i}]: expected str, got {_type_name(ref)}")

    def build() -> dict[str, Any]:
        value = _encode_record(schema, _SHELL_SPEC)
        value["field_refs"] = refs
        return value

    return _finish("schema_shell", build, max_bytes)


def shell_field_refs(shell_json: str | bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[str]:
    """The ordered field references of a ``schema_shell`` document."""
    value = _open_shell(shell_json, max_bytes)
    return _guard(lambda: _shell_refs(value))


def schema_from_shell(
    shell_json: str | bytes,
    fields: Sequence[FieldMetadata],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> SchemaMetadata:
    """Rebuild a schema from its shell and its fields, in the shell's reference order."""
    value = _open_shell(shell_json, max_bytes)
    field_list = list(fields)

    def build() -> SchemaMetadata:
        refs = _shell_refs(value)
        if len(refs) != len(field_list):
            raise _Fail(
                f"the shell refers to {len(refs)} fields but {len(field_list)} were given"
            )
        for i, f in enumerate(field_list):
            if type(f) is not FieldMetadata:
                raise _Fail(f"fields[{i}]: expected FieldMetadata, got {_type_name(f)}")
        kwargs = _decode_record(value, _SHELL_SPEC, extra=("field_refs",))
        return SchemaMetadata(fields=tuple(field_list), **kwargs)

    return _guard(build)


# --- envelope --------------------------------------------------------------------------


def _finish(kind: str, build: Callable[[], Any], max_bytes: int) -> str:
    try:
        value = build()
        text = _encode_json(
            {"format": FORMAT, "version": VERSION, "kind": kind, "value": value}
        )
    except _Fail as exc:
        raise SerializationError(f"{exc.at('value')}: {exc.message}") from None
    except RecursionError:
        raise SerializationError(
            "value: nested too deeply (or contains itself) to be encoded"
        ) from None
    except ValueError as exc:  # e.g. an int too long to write as text
        raise SerializationError(f"value: {exc}") from None
    size = len(text)
    if not text.isascii():
        try:
            size = len(text.encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise SerializationError(
                f"value: text with a lone surrogate ({exc.object[exc.start:exc.end]!r}) "
                "cannot be stored as UTF-8"
            ) from None
    if size > max_bytes:
        raise SerializationError(
            f"the {kind} document would be {size} bytes, over the limit of {max_bytes}"
        )
    return text


def _open(text: Any, max_bytes: int) -> tuple[str, Any]:
    """Parse and check a document's envelope; return its kind and raw value."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
        if len(data) > max_bytes:
            raise SerializationError(f"document: {len(data)} bytes, over the limit of {max_bytes}")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SerializationError(f"document: not UTF-8 text ({exc.reason})") from None
    elif isinstance(text, str):
        if len(text) > max_bytes or (
            4 * len(text) > max_bytes and len(text.encode("utf-8", "surrogatepass")) > max_bytes
        ):
            raise SerializationError(f"document: over the limit of {max_bytes} bytes")
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                raise SerializationError(
                    "document: contains a lone surrogate, which is not UTF-8 text"
                ) from None
    else:
        raise SerializationError(
            f"document: expected str or bytes, got {_type_name(text)}"
        )
    try:
        doc = json.loads(
            text, object_pairs_hook=_unique_pairs, parse_constant=_reject_constant
        )
    except _Fail as exc:
        raise SerializationError(f"document: {exc.message}") from None
    except RecursionError:
        raise SerializationError("document: nested too deeply") from None
    except ValueError as exc:
        raise SerializationError(f"document: not valid JSON ({exc})") from None
    if _SURROGATE_ESCAPE.search(text):
        try:
            _encode_json(doc).encode("utf-8")
        except (UnicodeEncodeError, ValueError, RecursionError):
            raise SerializationError(
                "document: a \\u escape makes a lone surrogate, which is not UTF-8 text"
            ) from None
    if type(doc) is not dict:
        raise UnknownFormatError(
            f"not a {FORMAT} document: expected a JSON object, got {_json_type(doc)}"
        )
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise UnknownFormatError(
            f"not a {FORMAT} document (format is {_short(fmt)})"
        )
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise UnknownFormatError(
            f"{FORMAT} version {_short(version)} is not known to this version of "
            f"petsard-status (it reads version {VERSION}); upgrade petsard-status"
        )
    kind = doc.get("kind")
    if type(kind) is not str or kind not in _KINDS:
        raise UnknownFormatError(
            f"{FORMAT} document kind {_short(kind)} is unknown; known kinds: "
            f"{', '.join(sorted(_KINDS))}"
        )
    if doc.keys() != _ENVELOPE_KEYS:
        raise SerializationError(f"document: {_key_problem(doc.keys(), _ENVELOPE_KEYS)}")
    return kind, doc["value"]


def _open_shell(text: Any, max_bytes: int) -> Any:
    kind, value = _open(text, max_bytes)
    if kind != "schema_shell":
        raise SerializationError(
            f"document: expected a 'schema_shell' document, got kind {kind!r}"
        )
    return value


def _shell_refs(value: Any) -> list[str]:
    if type(value) is not dict:
        raise _Fail(f"expected an object, got {_json_type(value)}")
    refs = value.get("field_refs")
    if type(refs) is not list:
        fail = _Fail(f"expected a list of strings, got {_json_type(refs)}")
        fail.parts.append(".field_refs")
        raise fail
    for i, ref in enumerate(refs):
        if type(ref) is not str:
            fail = _Fail(f"expected a string, got {_json_type(ref)}")
            fail.parts.append(f".field_refs[{i}]")
            raise fail
    return list(refs)


def _guard(build: Callable[[], Any]) -> Any:
    """Run a decoder, turning any failure into SerializationError with its path."""
    try:
        return build()
    except _Fail as exc:
        raise SerializationError(f"{exc.at('value')}: {exc.message}") from None
    except RecursionError:
        raise SerializationError("value: nested too deeply") from None
    except Exception as exc:
        # The model's own checks (a constructor, normalisation) may reject what the
        # shape checks let through; a caller must only ever see the package's errors.
        raise SerializationError(f"value: {type(exc).__name__}: {exc}") from exc


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of duplicate keys; two texts meaning one value
    # would defeat content addressing, so duplicates are an error.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Fail(f"duplicate key {_short(key)} in an object")
            seen.add(key)
    return result


def _reject_constant(name: str) -> Any:
    raise _Fail(f"bare {name} is not JSON; non-finite floats must be tagged")


# --- generic values: encoding -------------------------------------------------------------


def _enc(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is float:
        # Finite floats are the only ones for which x - x == 0.
        if value - value == 0.0:
            return value
        if value != value:
            return _NAN_TAG
        return _POS_INF_TAG if value > 0 else _NEG_INF_TAG
    encoder = _ENCODERS.get(t)
    if encoder is not None:
        return encoder(value)
    return _enc_other(value)


def _enc_list(value: list[Any]) -> list[Any]:
    try:
        return [_enc(item) for item in value]
    except _Fail as exc:
        exc.parts.append(f"[{_first_failing(value)}]")
        raise


def _enc_tuple(value: tuple[Any, ...]) -> dict[str, Any]:
    return {"$t": "tuple", "v": _enc_list(value)}  # type: ignore[arg-type]


def _first_failing(items: Any) -> int:
    for i, item in enumerate(items):
        try:
            _enc(item)
        except (_Fail, RecursionError):
            return i
    return -1  # pragma: no cover - only called after a failure


def _enc_dict(value: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            return _enc_map(value)
        try:
            out[key] = _enc(item)
        except _Fail as exc:
            exc.parts.append(f"[{key!r}]")
            raise
    if "$t" in out:
        return {"$t": "dict", "v": out}
    return out


def _enc_map(value: dict[Any, Any]) -> dict[str, Any]:
    entries = []
    for key, item in value.items():
        try:
            encoded_key = _enc(key)
        except _Fail as exc:
            exc.parts.append(f"<key {key!r}>")
            raise
        try:
            encoded_item = _enc(item)
        except _Fail as exc:
            exc.parts.append(f"[{key!r}]")
            raise
        entries.append((_key_token(encoded_key), encoded_key, encoded_item))
    if all(type(k) is str for _, k, _ in entries):
        # Keys that only looked non-string (numpy.str_) are plain strings now.
        out = {k: v for _, k, v in entries}
        return {"$t": "dict", "v": out} if "$t" in out else out
    entries.sort(key=lambda entry: entry[0])
    for previous, current in pairwise(entries):
        if previous[0] == current[0]:
            raise _Fail(f"two keys encode to the same value {current[0]}")
    return {"$t": "map", "v": [[k, v] for _, k, v in entries]}


def _key_token(encoded: Any) -> str:
    # The canonical JSON text of an encoded key orders map entries; repr(float) and
    # str(int) are exactly what the encoder writes for those.
    t = type(encoded)
    if t is int:
        return str(encoded)
    if t is float:
        return repr(encoded)
    return _encode_json(encoded)


def _enc_datetime(value: dt.datetime) -> dict[str, Any]:
    return {"$t": "datetime", "v": _datetime_text(value)}


def _datetime_text(value: dt.datetime) -> str:
    tz = value.tzinfo
    if tz is not None and type(tz) is not dt.timezone:
        offset = value.utcoffset()
        value = value.replace(tzinfo=None if offset is None else dt.timezone(offset))
    return value.isoformat()


def _enc_date(value: dt.date) -> dict[str, Any]:
    return {"$t": "date", "v": value.isoformat()}


def _enc_time(value: dt.time) -> dict[str, Any]:
    tz = value.tzinfo
    if tz is not None and type(tz) is not dt.timezone:
        offset = value.utcoffset()
        value = value.replace(tzinfo=None if offset is None else dt.timezone(offset))
    return {"$t": "time", "v": value.isoformat()}


def _enc_timedelta(value: dt.timedelta) -> dict[str, Any]:
    return {"$t": "timedelta", "v": [value.days, value.seconds, value.microseconds]}


def _enc_decimal(value: Decimal) -> dict[str, Any]:
    return {"$t": "decimal", "v": str(value)}


def _enc_bytes(value: bytes) -> dict[str, Any]:
    return {"$t": "bytes", "v": base64.b64encode(value).decode("ascii")}


def _enc_data_type(value: DataType) -> dict[str, Any]:
    return {"$t": "data_type", "v": value.value}


def _enc_logical_type(value: LogicalType) -> dict[str, Any]:
    return {"$t": "logical_type", "v": value.value}


_ENCODERS: dict[type, Callable[[Any], Any]] = {
    list: _enc_list,
    tuple: _enc_tuple,
    dict: _enc_dict,
    dt.datetime: _enc_datetime,
    dt.date: _enc_date,
    dt.time: _enc_time,
    dt.timedelta: _enc_timedelta,
    Decimal: _enc_decimal,
    bytes: _enc_bytes,
    DataType: _enc_data_type,
    LogicalType: _enc_logical_type,
}


def _enc_other(value: Any) -> Any:
    """Subclasses of the plain types, numpy and pandas scalars; refuse the rest."""
    if isinstance(value, Enum):
        raise _Fail(
            f"cannot encode enum {_type_name(value)}: only DataType and LogicalType are "
            "known; store its .value instead"
        )
    if isinstance(value, (set, frozenset)):
        raise _Fail(
            f"cannot encode a {_type_name(value)}: JSON has no sets; use a sorted list "
            "or tuple"
        )
    if isinstance(value, list):
        return _enc_list(value)
    if isinstance(value, tuple):
        return _enc_tuple(value)
    if isinstance(value, dict):
        return _enc_dict(dict(value))
    normalized = normalize_value(value)
    if normalized is not value and (
        normalized is None or type(normalized) in _ENCODERS or type(normalized) in _SCALARS
    ):
        return _enc(normalized)
    raise _Fail(f"cannot encode a value of type {_type_name(value)}")


_SCALARS = frozenset({str, int, bool, float})


# --- generic values: decoding -------------------------------------------------------------


def _dec(value: Any) -> Any:
    t = type(value)
    if t is str or t is int or t is bool or value is None:
        return value
    if t is dict:
        if "$t" in value:
            return _dec_tagged(value)
        return _dec_object(value)
    if t is list:
        return _dec_list(value)
    if t is float:
        if value - value == 0.0:
            return value
        # A number too large for a float (1e999) reads as inf: not canonical.
        raise _Fail("a number out of the range of a float; non-finite floats must be tagged")
    raise _Fail(f"unexpected {t.__name__}")  # pragma: no cover - json gives no other type


def _dec_list(value: list[Any]) -> list[Any]:
    out = []
    for i, item in enumerate(value):
        try:
            out.append(_dec(item))
        except _Fail as exc:
            exc.parts.append(f"[{i}]")
            raise
    return out


def _dec_object(value: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        try:
            out[key] = _dec(item)
        except _Fail as exc:
            exc.parts.append(f"[{key!r}]")
            raise
    return out


def _dec_tagged(value: dict[str, Any]) -> Any:
    tag = value["$t"]
    if len(value) != 2 or "v" not in value:
        raise _Fail(
            f"a tagged value must have exactly the keys '$t' and 'v', got {sorted(value)}"
        )
    decoder = _TAG_DECODERS.get(tag) if type(tag) is str else None
    if decoder is None:
        raise _Fail(f"unknown tag {_short(tag)}")
    try:
        return decoder(value["v"])
    except _Fail as exc:
        exc.parts.append(".v")
        raise


def _want(value: Any, t: type, what: str) -> Any:
    if type(value) is not t:
        raise _Fail(f"expected {what}, got {_json_type(value)}")
    return value


def _dec_float(v: Any) -> float:
    text = _want(v, str, 'one of "nan", "inf", "-inf"')
    result = _SPECIAL_FLOATS.get(text)
    if result is None:
        raise _Fail(f'expected one of "nan", "inf", "-inf", got {_short(text)}')
    return result


def _dec_datetime(v: Any) -> dt.datetime:
    return _parse_iso(dt.datetime, _want(v, str, "an ISO 8601 datetime string"), "datetime")


def _dec_date(v: Any) -> dt.date:
    return _parse_iso(dt.date, _want(v, str, "an ISO 8601 date string"), "date")


def _dec_time(v: Any) -> dt.time:
    return _parse_iso(dt.time, _want(v, str, "an ISO 8601 time string"), "time")


def _parse_iso(cls: Any, text: str, what: str) -> Any:
    try:
        match = _FRACTIONAL_OFFSET.search(text) if cls is not dt.date else None
        if match is None:
            return cls.fromisoformat(text)
        # Python 3.11's fromisoformat drops the microseconds of a UTC offset
        # whose seconds are zero (+00:00:00.000001); read such offsets here.
        base = cls.fromisoformat(text[: match.start()])
        if base.tzinfo is not None:
            raise ValueError("two UTC offsets")
        sign, hours, minutes, seconds, micros = match.groups()
        offset = dt.timedelta(
            hours=int(hours), minutes=int(minutes), seconds=int(seconds),
            microseconds=int(micros),
        )
        return base.replace(tzinfo=dt.timezone(-offset if sign == "-" else offset))
    except (ValueError, TypeError, OverflowError):
        raise _Fail(f"bad ISO 8601 {what} {_short(text)}") from None


def _dec_timedelta(v: Any) -> dt.timedelta:
    if type(v) is not list or len(v) != 3 or any(type(x) is not int for x in v):
        raise _Fail("expected [days, seconds, microseconds] as three integers")
    try:
        return dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
    except OverflowError:
        raise _Fail(f"timedelta out of range: {v}") from None


def _dec_decimal(v: Any) -> Decimal:
    text = _want(v, str, "a decimal number as a string")
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        raise _Fail(f"bad decimal {_short(text)}") from None


def _dec_bytes(v: Any) -> bytes:
    text = _want(v, str, "a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _Fail("bad base64") from None


def _dec_tuple(v: Any) -> tuple[Any, ...]:
    return tuple(_dec_list(_want(v, list, "a list")))


def _dec_dict(v: Any) -> dict[str, Any]:
    return _dec_object(_want(v, dict, "an object"))


def _dec_map(v: Any) -> dict[Any, Any]:
    entries = _want(v, list, "a list of [key, value] pairs")
    out: dict[Any, Any] = {}
    for i, entry in enumerate(entries):
        try:
            if type(entry) is not list or len(entry) != 2:
                raise _Fail("expected a [key, value] pair")
            key = _dec(entry[0])
            try:
                hash(key)
            except TypeError:
                raise _Fail(f"a map key must be hashable, got {_type_name(key)}") from None
            if key in out:
                raise _Fail(f"duplicate map key {key!r}")
            out[key] = _dec(entry[1])
        except _Fail as exc:
            exc.parts.append(f"[{i}]")
            raise
    return out


def _dec_data_type(v: Any) -> DataType:
    return _enum_member(_DATA_TYPES, v, "data_type")


def _dec_logical_type(v: Any) -> LogicalType:
    return _enum_member(_LOGICAL_TYPES, v, "logical_type")


def _enum_member(members: dict[str, Any], v: Any, what: str) -> Any:
    member = members.get(v) if type(v) is str else None
    if member is None:
        raise _Fail(f"unknown {what} {_short(v)}; known: {', '.join(members)}")
    return member


_TAG_DECODERS: dict[str, Callable[[Any], Any]] = {
    "float": _dec_float,
    "datetime": _dec_datetime,
    "date": _dec_date,
    "time": _dec_time,
    "timedelta": _dec_timedelta,
    "decimal": _dec_decimal,
    "bytes": _dec_bytes,
    "tuple": _dec_tuple,
    "dict": _dec_dict,
    "map": _dec_map,
    "data_type": _dec_data_type,
    "logical_type": _dec_logical_type,
}


# --- the typed model -----------------------------------------------------------------------
#
# Each model class is described once by a spec: (attribute, kind) pairs in
# declaration order.  A kind is a pair of functions (encode, decode) for the
# attribute's declared type, so that encoding walks a short list instead of
# reflecting over the dataclass on every call.


def _enc_int(value: Any) -> int:
    if type(value) is int:
        return value
    value = normalize_value(value)
    if type(value) is not int:
        raise _Fail(f"expected int, got {_type_name(value)}")
    return value


def _dec_int(value: Any) -> int:
    return _want(value, int, "an integer")


def _enc_number(value: Any) -> Any:
    t = type(value)
    if t is float:
        return value if value - value == 0.0 else _enc(value)
    if t is int:
        return value
    value = normalize_value(value)
    if type(value) not in (int, float):
        raise _Fail(f"expected a number, got {_type_name(value)}")
    return _enc(value)


def _dec_number(value: Any) -> Any:
    result = _dec(value)
    if type(result) not in (int, float):
        raise _Fail(f"expected a number, got {_json_type(value)}")
    return result


def _optional(kind: tuple[Callable[[Any], Any], Callable[[Any], Any]]) -> tuple[
    Callable[[Any], Any], Callable[[Any], Any]
]:
    encode, decode = kind

    def enc(value: Any) -> Any:
        return None if value is None else encode(value)

    def dec(value: Any) -> Any:
        return None if value is None else decode(value)

    return enc, dec


def _enc_str(value: Any) -> str:
    if type(value) is not str:
        value = normalize_value(value)
        if type(value) is not str:
            raise _Fail(f"expected str, got {_type_name(value)}")
    return value


def _dec_str(value: Any) -> str:
    return _want(value, str, "a string")


def _enc_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    value = normalize_value(value)
    if type(value) is not bool:
        raise _Fail(f"expected bool, got {_type_name(value)}")
    return value


def _dec_bool(value: Any) -> bool:
    return _want(value, bool, "true or false")


def _enc_typed_datetime(value: Any) -> str:
    if type(value) is not dt.datetime:
        value = normalize_value(value)
        if type(value) is not dt.datetime:
            raise _Fail(f"expected datetime, got {_type_name(value)}")
    return _datetime_text(value)


def _dec_typed_datetime(value: Any) -> dt.datetime:
    return _parse_iso(
        dt.datetime, _want(value, str, "an ISO 8601 datetime string"), "datetime"
    )


def _enum_kind(
    enum_cls: type[Enum], members: dict[str, Any], what: str
) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def enc(value: Any) -> str:
        if type(value) is not enum_cls:
            raise _Fail(f"expected {enum_cls.__name__}, got {_type_name(value)}")
        return value.value

    def dec(value: Any) -> Any:
        return _enum_member(members, value, what)

    return enc, dec


def _enc_any(value: Any) -> Any:
    return _enc(value)


def _enc_props(value: Any) -> Any:
    if not isinstance(value, dict):
        raise _Fail(f"expected dict, got {_type_name(value)}")
    return _enc_dict(value)


def _dec_props(value: Any) -> dict[Any, Any]:
    result = _dec(value)
    if type(result) is not dict:
        raise _Fail(f"expected an object (or a tagged map), got {_json_type(value)}")
    return result


def _enc_quantiles(value: Any) -> Any:
    if not isinstance(value, dict):
        raise _Fail(f"expected dict, got {_type_name(value)}")
    return _enc_dict(value)


def _enc_pairs(value: Any) -> list[list[Any]]:
    # (value, count) pairs are written as two-element arrays: their shape is
    # fixed by the model, so a tuple tag on each would only add bytes.
    if not isinstance(value, tuple):
        raise _Fail(f"expected a tuple of (value, count) pairs, got {_type_name(value)}")
    try:
        return [[_enc(item), _enc_int(count)] for item, count in value]
    except (_Fail, TypeError, ValueError):
        pass
    # Something is wrong; find which pair, for the message.
    for i, pair in enumerate(value):
        try:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise _Fail(f"expected a (value, count) pair, got {_short(pair)}")
            _enc(pair[0])
            _enc_int(pair[1])
        except _Fail as exc:
            exc.parts.append(f"[{i}]")
            raise
    raise _Fail("expected a tuple of (value, count) pairs")  # pragma: no cover


def _dec_pairs(value: Any) -> tuple[tuple[Any, int], ...]:
    entries = _want(value, list, "a list of [value, count] pairs")
    out = []
    for i, entry in enumerate(entries):
        try:
            if type(entry) is not list or len(entry) != 2:
                raise _Fail("expected a [value, count] pair")
            out.append((_dec(entry[0]), _dec_int(entry[1])))
        except _Fail as exc:
            exc.parts.append(f"[{i}]")
            raise
    return tuple(out)


_INT = (_enc_int, _dec_int)
_NUMBER = (_enc_number, _dec_number)
_STR = (_enc_str, _dec_str)
_BOOL = (_enc_bool, _dec_bool)
_ANY = (_enc_any, _dec)
_DATETIME = (_enc_typed_datetime, _dec_typed_datetime)
_PROPS = (_enc_props, _dec_props)
_DATA_TYPE = _enum_kind(DataType, _DATA_TYPES, "data_type")
_LOGICAL_TYPE = _enum_kind(LogicalType, _LOGICAL_TYPES, "logical_type")

_Spec = tuple[tuple[str, tuple[Callable[[Any], Any], Callable[[Any], Any]]], ...]

_FIELD_STATS_SPEC: _Spec = (
    ("row_count", _INT),
    ("na_count", _INT),
    ("na_percentage", _NUMBER),
    ("distinct_count", _INT),
    ("min_value", _ANY),
    ("max_value", _ANY),
    ("mean_value", _optional(_NUMBER)),
    ("std_value", _optional(_NUMBER)),
    ("quantiles", _optional((_enc_quantiles, _dec_props))),
    ("most_frequent", _optional((_enc_pairs, _dec_pairs))),
)
_SCHEMA_STATS_SPEC: _Spec = (
    ("row_count", _INT),
    ("field_count", _INT),
    ("na_count", _INT),
    ("na_percentage", _NUMBER),
)


def _record_kind(
    cls: type, spec: _Spec
) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def enc(value: Any) -> dict[str, Any]:
        if type(value) is not cls:
            raise _Fail(f"expected {cls.__name__}, got {_type_name(value)}")
        return _encode_record(value, spec)

    def dec(value: Any) -> Any:
        return cls(**_decode_record(value, spec))

    return enc, dec


_FIELD_STATS = _record_kind(FieldStats, _FIELD_STATS_SPEC)
_SCHEMA_STATS = _record_kind(SchemaStats, _SCHEMA_STATS_SPEC)

_FIELD_SPEC: _Spec = (
    ("name", _STR),
    ("data_type", _DATA_TYPE),
    ("nullable", _BOOL),
    ("source_dtype", _optional(_STR)),
    ("target_dtype", _optional(_STR)),
    ("logical_type", _optional(_LOGICAL_TYPE)),
    ("description", _optional(_STR)),
    ("cast_error", _STR),
    ("stats", _optional(_FIELD_STATS)),
    ("properties", _PROPS),
    ("created_at", _DATETIME),
    ("updated_at", _DATETIME),
)
_FIELD = _record_kind(FieldMetadata, _FIELD_SPEC)


def _enc_fields(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, tuple):
        raise _Fail(f"expected a tuple of FieldMetadata, got {_type_name(value)}")
    out = []
    encode = _FIELD[0]
    for i, f in enumerate(value):
        try:
            out.append(encode(f))
        except _Fail as exc:
            exc.parts.append(f"[{i}]")
            raise
    return out


def _dec_fields(value: Any) -> tuple[FieldMetadata, ...]:
    entries = _want(value, list, "a list of fields")
    decode = _FIELD[1]
    out = []
    for i, entry in enumerate(entries):
        try:
            out.append(decode(entry))
        except _Fail as exc:
            exc.parts.append(f"[{i}]")
            raise
    return tuple(out)


_SCHEMA_SPEC: _Spec = (
    ("schema_id", _STR),
    ("name", _STR),
    ("description", _optional(_STR)),
    ("fields", (_enc_fields, _dec_fields)),
    ("stats", _optional(_SCHEMA_STATS)),
    ("properties", _PROPS),
    ("created_at", _DATETIME),
    ("updated_at", _DATETIME),
)
_SHELL_SPEC: _Spec = tuple(item for item in _SCHEMA_SPEC if item[0] != "fields")
_SCHEMA = _record_kind(SchemaMetadata, _SCHEMA_SPEC)


def _encode_record(obj: Any, spec: _Spec) -> dict[str, Any]:
    out = {}
    for name, (encode, _) in spec:
        try:
            out[name] = encode(getattr(obj, name))
        except _Fail as exc:
            exc.parts.append(f".{name}")
            raise
    return out


def _decode_record(value: Any, spec: _Spec, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if type(value) is not dict:
        raise _Fail(f"expected an object, got {_json_type(value)}")
    if len(value) != len(spec) + len(extra):
        expected = {name for name, _ in spec} | set(extra)
        raise _Fail(_key_problem(value.keys(), expected))
    kwargs = {}
    for name, (_, decode) in spec:
        if name not in value:
            expected = {n for n, _ in spec} | set(extra)
            raise _Fail(_key_problem(value.keys(), expected))
        try:
            kwargs[name] = decode(value[name])
        except _Fail as exc:
            exc.parts.append(f".{name}")
            raise
    return kwargs


_MODEL_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "schema": _SCHEMA[0],
    "field": _FIELD[0],
    "field_stats": _FIELD_STATS[0],
    "schema_stats": _SCHEMA_STATS[0],
}
_MODEL_DECODERS: dict[str, Callable[[Any], Any]] = {
    "schema": _SCHEMA[1],
    "field": _FIELD[1],
    "field_stats": _FIELD_STATS[1],
    "schema_stats": _SCHEMA_STATS[1],
}


def _check_specs() -> None:
    # A model attribute added without a codec entry would silently vanish from
    # the store; refuse to import instead.
    for cls, spec in (
        (FieldStats, _FIELD_STATS_SPEC),
        (SchemaStats, _SCHEMA_STATS_SPEC),
        (FieldMetadata, _FIELD_SPEC),
        (SchemaMetadata, _SCHEMA_SPEC),
    ):
        declared = [f.name for f in dataclass_fields(cls)]
        covered = [name for name, _ in spec]
        if sorted(declared) != sorted(covered):
            raise RuntimeError(
                f"codec spec for {cls.__name__} covers {covered}, the model has {declared}"
            )


_check_specs()


# --- messages ---------------------------------------------------------------------------


def _type_name(value: Any) -> str:
    t = type(value)
    module = t.__module__
    return t.__qualname__ if module == "builtins" else f"{module}.{t.__qualname__}"


def _class_name(cls: Any) -> str:
    return getattr(cls, "__name__", repr(cls))


def _json_type(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        int: "an integer",
        float: "a number",
        bool: "a boolean",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _key_problem(keys: Any, expected: set[str] | frozenset[str]) -> str:
    present = set(keys)
    missing = sorted(expected - present)
    extra = sorted(present - expected)
    parts = []
    if missing:
        parts.append(f"missing key(s) {missing}")
    if extra:
        parts.append(f"unexpected key(s) {[_short(k, 40) for k in extra]}")
    return "; ".join(parts) or "wrong keys"
