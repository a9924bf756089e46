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

from petsard_status.formats._messages import (
    Invalid,
    json_type,
    key_problem,
    short_repr,
    type_name,
)
from petsard_status.formats._values import (
    DATA_TYPES,
    LOGICAL_TYPES,
    datetime_text,
    decode_tagged,
    enc_dict,
    encode_tagged,
    enum_member,
    parse_iso,
    want_type,
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
        raise Invalid(f"expected int, got {type_name(value)}")
    return value


def _dec_int(value: Any) -> int:
    return want_type(value, int, "an integer")


def _enc_number(value: Any) -> Any:
    t = type(value)
    if t is float:
        return value if value - value == 0.0 else encode_tagged(value)
    if t is int:
        return value
    value = normalize_value(value)
    if type(value) not in (int, float):
        raise Invalid(f"expected a number, got {type_name(value)}")
    return encode_tagged(value)


def _dec_number(value: Any) -> Any:
    result = decode_tagged(value)
    if type(result) not in (int, float):
        raise Invalid(f"expected a number, got {json_type(value)}")
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
            raise Invalid(f"expected str, got {type_name(value)}")
    return value


def _dec_str(value: Any) -> str:
    return want_type(value, str, "a string")


def _enc_bool(value: Any) -> bool:
    if type(value) is bool:
        return value
    value = normalize_value(value)
    if type(value) is not bool:
        raise Invalid(f"expected bool, got {type_name(value)}")
    return value


def _dec_bool(value: Any) -> bool:
    return want_type(value, bool, "true or false")


def _enc_typed_datetime(value: Any) -> str:
    if type(value) is not dt.datetime:
        value = normalize_value(value)
        if type(value) is not dt.datetime:
            raise Invalid(f"expected datetime, got {type_name(value)}")
    return datetime_text(value)


def _dec_typed_datetime(value: Any) -> dt.datetime:
    return parse_iso(
        dt.datetime, want_type(value, str, "an ISO 8601 datetime string"), "datetime"
    )


def _enum_kind(
    enum_cls: type[Enum], members: dict[str, Any], what: str
) -> tuple[Callable[[Any], Any], Callable[[Any], Any]]:
    def enc(value: Any) -> str:
        if type(value) is not enum_cls:
            raise Invalid(f"expected {enum_cls.__name__}, got {type_name(value)}")
        return value.value

    def dec(value: Any) -> Any:
        return enum_member(members, value, what)

    return enc, dec


def _enc_any(value: Any) -> Any:
    return encode_tagged(value)


def _enc_props(value: Any) -> Any:
    if not isinstance(value, dict):
        raise Invalid(f"expected dict, got {type_name(value)}")
    return enc_dict(value)


def _dec_props(value: Any) -> dict[Any, Any]:
    result = decode_tagged(value)
    if type(result) is not dict:
        raise Invalid(f"expected an object (or a tagged map), got {json_type(value)}")
    return result


def _enc_quantiles(value: Any) -> Any:
    if not isinstance(value, dict):
        raise Invalid(f"expected dict, got {type_name(value)}")
    return enc_dict(value)


def _enc_pairs(value: Any) -> list[list[Any]]:
    # (value, count) pairs are written as two-element arrays: their shape is
    # fixed by the model, so a tuple tag on each would only add bytes.
    if not isinstance(value, tuple):
        raise Invalid(f"expected a tuple of (value, count) pairs, got {type_name(value)}")
    try:
        return [[encode_tagged(item), _enc_int(count)] for item, count in value]
    except (Invalid, TypeError, ValueError):
        pass
    # Something is wrong; find which pair, for the message.
    for i, pair in enumerate(value):
        try:
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise Invalid(f"expected a (value, count) pair, got {short_repr(pair)}")
            encode_tagged(pair[0])
            _enc_int(pair[1])
        except Invalid as exc:
            exc.parts.append(f"[{i}]")
            raise
    raise Invalid("expected a tuple of (value, count) pairs")  # pragma: no cover


def _dec_pairs(value: Any) -> tuple[tuple[Any, int], ...]:
    entries = want_type(value, list, "a list of [value, count] pairs")
    out = []
    for i, entry in enumerate(entries):
        try:
            if type(entry) is not list or len(entry) != 2:
                raise Invalid("expected a [value, count] pair")
            out.append((decode_tagged(entry[0]), _dec_int(entry[1])))
        except Invalid as exc:
            exc.parts.append(f"[{i}]")
            raise
    return tuple(out)


_INT = (_enc_int, _dec_int)
_NUMBER = (_enc_number, _dec_number)
_STR = (_enc_str, _dec_str)
_BOOL = (_enc_bool, _dec_bool)
_ANY = (_enc_any, decode_tagged)
_DATETIME = (_enc_typed_datetime, _dec_typed_datetime)
_PROPS = (_enc_props, _dec_props)
_DATA_TYPE = _enum_kind(DataType, DATA_TYPES, "data_type")
_LOGICAL_TYPE = _enum_kind(LogicalType, LOGICAL_TYPES, "logical_type")

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
            raise Invalid(f"expected {cls.__name__}, got {type_name(value)}")
        return encode_record(value, spec)

    def dec(value: Any) -> Any:
        return cls(**decode_record(value, spec))

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
        raise Invalid(f"expected a tuple of FieldMetadata, got {type_name(value)}")
    out = []
    encode = _FIELD[0]
    for i, f in enumerate(value):
        try:
            out.append(encode(f))
        except Invalid as exc:
            exc.parts.append(f"[{i}]")
            raise
    return out


def _dec_fields(value: Any) -> tuple[FieldMetadata, ...]:
    entries = want_type(value, list, "a list of fields")
    decode = _FIELD[1]
    out = []
    for i, entry in enumerate(entries):
        try:
            out.append(decode(entry))
        except Invalid as exc:
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
SHELL_SPEC: _Spec = tuple(item for item in _SCHEMA_SPEC if item[0] != "fields")
_SCHEMA = _record_kind(SchemaMetadata, _SCHEMA_SPEC)


def encode_record(obj: Any, spec: _Spec) -> dict[str, Any]:
    out = {}
    for name, (encode, _) in spec:
        try:
            out[name] = encode(getattr(obj, name))
        except Invalid as exc:
            exc.parts.append(f".{name}")
            raise
    return out


def decode_record(value: Any, spec: _Spec, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    if type(value) is not dict:
        raise Invalid(f"expected an object, got {json_type(value)}")
    if len(value) != len(spec) + len(extra):
        expected = {name for name, _ in spec} | set(extra)
        raise Invalid(key_problem(value.keys(), expected))
    kwargs = {}
    for name, (_, decode) in spec:
        if name not in value:
            expected = {n for n, _ in spec} | set(extra)
            raise Invalid(key_problem(value.keys(), expected))
        try:
            kwargs[name] = decode(value[name])
        except Invalid as exc:
            exc.parts.append(f".{name}")
            raise
    return kwargs


MODEL_ENCODERS: dict[str, Callable[[Any], Any]] = {
    "schema": _SCHEMA[0],
    "field": _FIELD[0],
    "field_stats": _FIELD_STATS[0],
    "schema_stats": _SCHEMA_STATS[0],
}
MODEL_DECODERS: dict[str, Callable[[Any], Any]] = {
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
