"""Canonical JSON for the typed metadata model.

Each model class is described once by a spec: (attribute, kind) pairs in
declaration order.  A kind is a pair of functions (encode, decode) for the
attribute's declared type, so that encoding walks a short list instead of
reflecting over the dataclass on every call.  Typed attributes hold bare
values (an enum by its value, a datetime as ISO text); free-form attributes
(``properties``, ``min_value``, ...) go through the tagged value encoding.
The specs are checked against the dataclasses at import time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import fields as dataclass_fields
from enum import Enum
from typing import Any

from petsard_status.metadata._codec_messages import (
    _Fail,
    _json_type,
    _key_problem,
    _short,
    _type_name,
)
from petsard_status.metadata._jsonvalues import (
    _DATA_TYPES,
    _LOGICAL_TYPES,
    _datetime_text,
    _dec,
    _enc,
    _enc_dict,
    _enum_member,
    _parse_iso,
    _want,
)
from petsard_status.metadata.types import (
    DataType,
    FieldMetadata,
    FieldStats,
    LogicalType,
    SchemaMetadata,
    SchemaStats,
    normalize_value,
)


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
