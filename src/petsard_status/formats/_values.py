"""Canonical JSON for plain values: the tagged value encoding.

Whatever JSON cannot say directly (non-finite floats, dates and times,
decimals, bytes, tuples, dicts with non-string keys, the model's enums) is
written as a tagged object ``{"$t": TAG, "v": ...}``; the tag table is in
:mod:`petsard_status.formats._metadata`.  Encoding produces plain JSON structures
for the envelope to serialise; decoding takes what ``json.loads`` gave and
refuses anything that is not exactly what encoding writes, so one value has
one text.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from enum import Enum
from itertools import pairwise
from typing import Any

from petsard_status.formats._messages import Invalid, json_type, short_repr, type_name
from petsard_status.metadata.types import DataType, LogicalType, normalize_value

# check_circular is off because the encoder only ever sees the fresh, acyclic
# structures built here; a cyclic input is caught while building them.
encode_json = json.JSONEncoder(
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
DATA_TYPES = {member.value: member for member in DataType}
LOGICAL_TYPES = {member.value: member for member in LogicalType}
_FRACTIONAL_OFFSET = re.compile(r"([+-])(\d\d):(\d\d):(\d\d)\.(\d{6})$")


# --- generic values: encoding -------------------------------------------------------------


def encode_tagged(value: Any) -> Any:
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
        return [encode_tagged(item) for item in value]
    except Invalid as exc:
        exc.parts.append(f"[{_first_failing(value)}]")
        raise


def _enc_tuple(value: tuple[Any, ...]) -> dict[str, Any]:
    return {"$t": "tuple", "v": _enc_list(value)}  # type: ignore[arg-type]


def _first_failing(items: Any) -> int:
    for i, item in enumerate(items):
        try:
            encode_tagged(item)
        except (Invalid, RecursionError):
            return i
    return -1  # pragma: no cover - only called after a failure


def enc_dict(value: dict[Any, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, item in value.items():
        if type(key) is not str:
            return _enc_map(value)
        try:
            out[key] = encode_tagged(item)
        except Invalid as exc:
            exc.parts.append(f"[{key!r}]")
            raise
    if "$t" in out:
        return {"$t": "dict", "v": out}
    return out


def _enc_map(value: dict[Any, Any]) -> dict[str, Any]:
    entries = []
    for key, item in value.items():
        try:
            encoded_key = encode_tagged(key)
        except Invalid as exc:
            exc.parts.append(f"<key {key!r}>")
            raise
        try:
            encoded_item = encode_tagged(item)
        except Invalid as exc:
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
            raise Invalid(f"two keys encode to the same value {current[0]}")
    return {"$t": "map", "v": [[k, v] for _, k, v in entries]}


def _key_token(encoded: Any) -> str:
    # The canonical JSON text of an encoded key orders map entries; repr(float) and
    # str(int) are exactly what the encoder writes for those.
    t = type(encoded)
    if t is int:
        return str(encoded)
    if t is float:
        return repr(encoded)
    return encode_json(encoded)


def _enc_datetime(value: dt.datetime) -> dict[str, Any]:
    return {"$t": "datetime", "v": datetime_text(value)}


def datetime_text(value: dt.datetime) -> str:
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
    dict: enc_dict,
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
        raise Invalid(
            f"cannot encode enum {type_name(value)}: only DataType and LogicalType are "
            "known; store its .value instead"
        )
    if isinstance(value, (set, frozenset)):
        raise Invalid(
            f"cannot encode a {type_name(value)}: JSON has no sets; use a sorted list "
            "or tuple"
        )
    if isinstance(value, list):
        return _enc_list(value)
    if isinstance(value, tuple):
        return _enc_tuple(value)
    if isinstance(value, dict):
        return enc_dict(dict(value))
    normalized = normalize_value(value)
    if normalized is not value and (
        normalized is None or type(normalized) in _ENCODERS or type(normalized) in _SCALARS
    ):
        return encode_tagged(normalized)
    raise Invalid(f"cannot encode a value of type {type_name(value)}")


_SCALARS = frozenset({str, int, bool, float})


# --- generic values: decoding -------------------------------------------------------------


def decode_tagged(value: Any) -> Any:
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
        raise Invalid("a number out of the range of a float; non-finite floats must be tagged")
    raise Invalid(f"unexpected {t.__name__}")  # pragma: no cover - json gives no other type


def _dec_list(value: list[Any]) -> list[Any]:
    out = []
    for i, item in enumerate(value):
        try:
            out.append(decode_tagged(item))
        except Invalid as exc:
            exc.parts.append(f"[{i}]")
            raise
    return out


def _dec_object(value: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key, item in value.items():
        try:
            out[key] = decode_tagged(item)
        except Invalid as exc:
            exc.parts.append(f"[{key!r}]")
            raise
    return out


def _dec_tagged(value: dict[str, Any]) -> Any:
    tag = value["$t"]
    if len(value) != 2 or "v" not in value:
        raise Invalid(
            f"a tagged value must have exactly the keys '$t' and 'v', got {sorted(value)}"
        )
    decoder = _TAG_DECODERS.get(tag) if type(tag) is str else None
    if decoder is None:
        raise Invalid(f"unknown tag {short_repr(tag)}")
    try:
        return decoder(value["v"])
    except Invalid as exc:
        exc.parts.append(".v")
        raise


def want_type(value: Any, t: type, what: str) -> Any:
    if type(value) is not t:
        raise Invalid(f"expected {what}, got {json_type(value)}")
    return value


def _dec_float(v: Any) -> float:
    text = want_type(v, str, 'one of "nan", "inf", "-inf"')
    result = _SPECIAL_FLOATS.get(text)
    if result is None:
        raise Invalid(f'expected one of "nan", "inf", "-inf", got {short_repr(text)}')
    return result


def _dec_datetime(v: Any) -> dt.datetime:
    return parse_iso(dt.datetime, want_type(v, str, "an ISO 8601 datetime string"), "datetime")


def _dec_date(v: Any) -> dt.date:
    return parse_iso(dt.date, want_type(v, str, "an ISO 8601 date string"), "date")


def _dec_time(v: Any) -> dt.time:
    return parse_iso(dt.time, want_type(v, str, "an ISO 8601 time string"), "time")


def parse_iso(cls: Any, text: str, what: str) -> Any:
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
        raise Invalid(f"bad ISO 8601 {what} {short_repr(text)}") from None


def _dec_timedelta(v: Any) -> dt.timedelta:
    if type(v) is not list or len(v) != 3 or any(type(x) is not int for x in v):
        raise Invalid("expected [days, seconds, microseconds] as three integers")
    try:
        return dt.timedelta(days=v[0], seconds=v[1], microseconds=v[2])
    except OverflowError:
        raise Invalid(f"timedelta out of range: {v}") from None


def _dec_decimal(v: Any) -> Decimal:
    text = want_type(v, str, "a decimal number as a string")
    try:
        return Decimal(text)
    except (InvalidOperation, ValueError):
        raise Invalid(f"bad decimal {short_repr(text)}") from None


def _dec_bytes(v: Any) -> bytes:
    text = want_type(v, str, "a base64 string")
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("bad base64") from None


def _dec_tuple(v: Any) -> tuple[Any, ...]:
    return tuple(_dec_list(want_type(v, list, "a list")))


def _dec_dict(v: Any) -> dict[str, Any]:
    return _dec_object(want_type(v, dict, "an object"))


def _dec_map(v: Any) -> dict[Any, Any]:
    entries = want_type(v, list, "a list of [key, value] pairs")
    out: dict[Any, Any] = {}
    for i, entry in enumerate(entries):
        try:
            if type(entry) is not list or len(entry) != 2:
                raise Invalid("expected a [key, value] pair")
            key = decode_tagged(entry[0])
            try:
                hash(key)
            except TypeError:
                raise Invalid(f"a map key must be hashable, got {type_name(key)}") from None
            if key in out:
                raise Invalid(f"duplicate map key {key!r}")
            out[key] = decode_tagged(entry[1])
        except Invalid as exc:
            exc.parts.append(f"[{i}]")
            raise
    return out


def _dec_data_type(v: Any) -> DataType:
    return enum_member(DATA_TYPES, v, "data_type")


def _dec_logical_type(v: Any) -> LogicalType:
    return enum_member(LOGICAL_TYPES, v, "logical_type")


def enum_member(members: dict[str, Any], v: Any, what: str) -> Any:
    member = members.get(v) if type(v) is str else None
    if member is None:
        raise Invalid(f"unknown {what} {short_repr(v)}; known: {', '.join(members)}")
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
