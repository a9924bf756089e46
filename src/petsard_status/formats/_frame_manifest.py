"""The frame manifest's vocabulary, and its validation when read from a blob.

A manifest may only name dtypes from a fixed allow-list of descriptors (the
tables below); each descriptor read from a blob becomes a :class:`Kind`, the
Arrow type its field must have and how it decodes, so that nothing in a blob
can choose which Python types are constructed.  Time zones and frequencies
are written and read here too, since a descriptor or index carries them as
text.  The format itself is described in :mod:`petsard_status.formats._frames`.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from petsard_status.errors import CorruptDataError

INT_NAT: Final = np.iinfo(np.int64).min
UNITS: Final = ("s", "ms", "us", "ns")

# Plain numpy columns: no missing values are possible in the dtype itself.
NUMPY: Final[dict[str, pa.DataType]] = {
    "bool": pa.bool_(),
    "int8": pa.int8(),
    "int16": pa.int16(),
    "int32": pa.int32(),
    "int64": pa.int64(),
    "uint8": pa.uint8(),
    "uint16": pa.uint16(),
    "uint32": pa.uint32(),
    "uint64": pa.uint64(),
    "float16": pa.float16(),
    "float32": pa.float32(),
    "float64": pa.float64(),
}

NUMPY_NAMES: Final[dict[np.dtype, str]] = {np.dtype(name): name for name in NUMPY}

# pandas masked ("nullable") dtypes, keyed by pandas' own name: the numpy
# dtype of their values, their Arrow type and their dtype class.
MASKED: Final[dict[str, tuple[str, pa.DataType, type]]] = {
    "boolean": ("bool", pa.bool_(), pd.BooleanDtype),
    "Int8": ("int8", pa.int8(), pd.Int8Dtype),
    "Int16": ("int16", pa.int16(), pd.Int16Dtype),
    "Int32": ("int32", pa.int32(), pd.Int32Dtype),
    "Int64": ("int64", pa.int64(), pd.Int64Dtype),
    "UInt8": ("uint8", pa.uint8(), pd.UInt8Dtype),
    "UInt16": ("uint16", pa.uint16(), pd.UInt16Dtype),
    "UInt32": ("uint32", pa.uint32(), pd.UInt32Dtype),
    "UInt64": ("uint64", pa.uint64(), pd.UInt64Dtype),
    "Float32": ("float32", pa.float32(), pd.Float32Dtype),
    "Float64": ("float64", pa.float64(), pd.Float64Dtype),
}
MASKED_NAMES: Final[dict[type, str]] = {cls: name for name, (_, _, cls) in MASKED.items()}

# The four flavours of pandas.StringDtype: storage and missing-value marker.
STRINGS: Final[dict[str, tuple[str, Any]]] = {
    "str": ("pyarrow", np.nan),
    "str[python]": ("python", np.nan),
    "string[pyarrow]": ("pyarrow", pd.NA),
    "string[python]": ("python", pd.NA),
}


def _string_dtype(storage: str, na_value: Any) -> pd.StringDtype | None:
    """This pandas' dtype for one flavour, or None where it has no such dtype.

    pandas 2.2 takes no ``na_value``: it calls the NaN flavour with Arrow
    storage "pyarrow_numpy" (pandas 2.3 maps that name to the same dtype) and
    has no NaN flavour with Python storage.
    """
    try:
        return pd.StringDtype(storage, na_value=na_value)
    except TypeError:
        if na_value is pd.NA:
            return pd.StringDtype(storage)
        return pd.StringDtype("pyarrow_numpy") if storage == "pyarrow" else None


STRING_DTYPES: Final = {name: _string_dtype(*flavour) for name, flavour in STRINGS.items()}
DEFAULT_STR: Final = STRING_DTYPES["str"]
OBJECT_STR: Final = "object-str"
CATEGORY: Final = "category"
_NULL_KINDS: Final = ("none", "nan", "na", "mixed")
# Companion codes for object-str columns whose missing values mix markers.
NULL_CODE: Final[dict[type, int]] = {type(None): 1, float: 2, type(pd.NA): 3}
NULL_VALUE: Final[dict[int, Any]] = {1: None, 2: np.nan, 3: pd.NA}

LABEL_DTYPES: Final = frozenset(["object", "str", *(k for k in NUMPY if k != "float16")])
TEMPORAL_RE: Final = re.compile(r"(datetime64|timedelta64)\[(s|ms|us|ns)(?:, ([^\]]+))?\]")
_OFFSET_RE: Final = re.compile(r"UTC([+-])(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{6}))?)?")
LABEL_TYPES: Final = (str, int, float, bool, type(None))


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class Kind:
    """A validated dtype descriptor: how its Arrow field looks and decodes."""

    descriptor: str
    arrow_type: pa.DataType
    nullable: bool  # whether the Arrow field may carry nulls
    companion: bool = False  # object-str with mixed null markers
    categories: Kind | None = None
    ordered: bool = False
    nulls: str = "none"


# ------------------------------------------------------------------------ time zones


def tz_descriptor(tz: Any) -> str | None:
    if isinstance(tz, zoneinfo.ZoneInfo):
        return tz.key if tz.key else None
    if isinstance(tz, dt.timezone):
        if tz == dt.UTC:
            return "UTC"
        name = str(tz)
        return name if _OFFSET_RE.fullmatch(name) else None
    return None


def tz_round_trips(name: str, dtype: pd.DatetimeTZDtype) -> bool:
    """Whether reading ``name`` back gives a dtype pandas considers equal."""
    try:
        return pd.DatetimeTZDtype(dtype.unit, tz_from_descriptor(name)) == dtype
    except CorruptDataError:  # a zone this system's database does not know
        return False


def arrow_tz(tz: str | None) -> str | None:
    if tz is None:
        return None
    match = _OFFSET_RE.fullmatch(tz)
    if match:
        return tz[3:]
    return tz


@lru_cache(maxsize=1)
def _zone_keys() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


@lru_cache(maxsize=256)
def tz_from_descriptor(name: str) -> dt.tzinfo:
    if name == "UTC":
        return dt.UTC
    match = _OFFSET_RE.fullmatch(name)
    if match:
        sign, hours, minutes, seconds, micros = match.groups()
        offset = dt.timedelta(
            hours=int(hours),
            minutes=int(minutes),
            seconds=int(seconds or 0),
            microseconds=int(micros or 0),
        )
        if offset >= dt.timedelta(hours=24):
            raise CorruptDataError(f"time zone offset {name!r} is out of range")
        return dt.timezone(-offset if sign == "-" else offset)
    if name in _zone_keys():
        return zoneinfo.ZoneInfo(name)
    raise CorruptDataError(
        f"unknown time zone {name!r} in frame manifest (not in this system's time zone database)"
    )


def parse_freq(freqstr: Any) -> Any:
    return pd.tseries.frequencies.to_offset(freqstr)


# -- manifest validation helpers


def expect_keys(obj: Any, required: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CorruptDataError(f"frame manifest: {where} is not an object")
    if set(obj) != required:
        raise CorruptDataError(
            f"frame manifest: {where} has keys {sorted(obj)}, expected {sorted(required)}"
        )
    return obj


def expect_int(value: Any, where: str, minimum: int | None = None) -> int:
    if type(value) is not int or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise CorruptDataError(f"frame manifest: {where} is {value!r}, expected an int{bound}")
    return value


def expect_bool(value: Any, where: str) -> bool:
    if type(value) is not bool:
        raise CorruptDataError(f"frame manifest: {where} is {value!r}, expected true or false")
    return value


def expect_label(value: Any, where: str) -> Any:
    if type(value) not in LABEL_TYPES:
        raise CorruptDataError(f"frame manifest: {where} is {value!r}, not a label")
    return value


def expect_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise CorruptDataError(f"frame manifest: {where} is not a list")
    return value


def _kind_from_descriptor(descriptor: Any, where: str, *, in_category: bool = False) -> Kind:
    """The allow-list: every descriptor a manifest may name."""
    if not isinstance(descriptor, str):
        raise CorruptDataError(f"frame manifest: {where} dtype {descriptor!r} is not a string")
    if descriptor in NUMPY:
        return Kind(descriptor, NUMPY[descriptor], nullable=False)
    if descriptor in MASKED:
        return Kind(descriptor, MASKED[descriptor][1], nullable=True)
    if descriptor in STRINGS:
        if STRING_DTYPES[descriptor] is None:
            raise CorruptDataError(
                f"frame manifest: {where} has dtype {descriptor!r} (StringDtype(storage="
                f"{STRINGS[descriptor][0]!r}, na_value=nan)), which pandas {pd.__version__} "
                "does not have; reading it needs pandas >= 2.3"
            )
        return Kind(descriptor, pa.large_string(), nullable=True)
    match = TEMPORAL_RE.fullmatch(descriptor)
    if match:
        family, unit, tz = match.groups()
        if family == "timedelta64":
            if tz is not None:
                raise CorruptDataError(f"frame manifest: {where} has unknown dtype {descriptor!r}")
            return Kind(descriptor, pa.duration(unit), nullable=True)
        if tz is not None:
            tz_from_descriptor(tz)
        return Kind(descriptor, pa.timestamp(unit, tz=arrow_tz(tz)), nullable=True)
    if descriptor == OBJECT_STR and in_category:
        return Kind(descriptor, pa.large_string(), nullable=False)
    raise CorruptDataError(f"frame manifest: {where} has unknown dtype {descriptor!r}")


def labels_kind(descriptor: Any, where: str) -> Kind:
    """Categories and MultiIndex level values: never missing, so never null."""
    kind = _kind_from_descriptor(descriptor, where, in_category=True)
    return Kind(kind.descriptor, kind.arrow_type, nullable=False)


def kind_from_slot(slot: Any, where: str) -> tuple[Any, Kind]:
    if not isinstance(slot, dict):
        raise CorruptDataError(f"frame manifest: {where} is not an object")
    if type(slot.get("name")) in LABEL_TYPES:
        where = f"{where} ({slot['name']!r})"
    descriptor = slot.get("dtype")
    if descriptor == CATEGORY:
        expect_keys(slot, {"name", "dtype", "categories", "ordered"}, where)
        categories = labels_kind(slot["categories"], where + " categories")
        ordered = expect_bool(slot["ordered"], where + " ordered")
        arrow_type = pa.dictionary(pa.int64(), categories.arrow_type, ordered=ordered)
        kind = Kind(CATEGORY, arrow_type, True, categories=categories, ordered=ordered)
    elif descriptor == OBJECT_STR:
        expect_keys(slot, {"name", "dtype", "nulls"}, where)
        nulls = slot["nulls"]
        if nulls not in _NULL_KINDS:
            raise CorruptDataError(f"frame manifest: {where} nulls is {nulls!r}")
        kind = Kind(OBJECT_STR, pa.large_string(), True, companion=nulls == "mixed", nulls=nulls)
    else:
        expect_keys(slot, {"name", "dtype"}, where)
        kind = _kind_from_descriptor(descriptor, where)
    return expect_label(slot["name"], where + " name"), kind


def check_freq(value: Any, kind: Kind, where: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CorruptDataError(f"frame manifest: {where} freq is not a string")
    if not kind.descriptor.startswith(("datetime64", "timedelta64")):
        raise CorruptDataError(f"frame manifest: {where} freq given for a non-temporal index")
    try:
        return parse_freq(value)
    except ValueError as exc:
        raise CorruptDataError(f"frame manifest: {where} freq is invalid: {exc}") from exc


def check_range(spec: Any, where: str) -> None:
    expect_keys(spec, {"kind", "start", "stop", "step", "name"}, where)
    for key in ("start", "stop", "step"):
        value = expect_int(spec[key], f"{where} {key}")
        if not -(2**63) <= value < 2**63:
            raise CorruptDataError(f"frame manifest: {where} {key} is out of range")
    if spec["step"] == 0:
        raise CorruptDataError(f"frame manifest: {where} step is 0")
    expect_label(spec["name"], f"{where} name")


def check_column_index(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise CorruptDataError("frame manifest: column_index is not an object")
    if spec.get("kind") == "range":
        check_range(spec, "column_index")
        return spec
    if spec.get("kind") == "labels":
        expect_keys(spec, {"kind", "dtype", "name"}, "column_index")
        if not isinstance(spec["dtype"], str) or spec["dtype"] not in LABEL_DTYPES:
            raise CorruptDataError(
                f"frame manifest: column label dtype {spec['dtype']!r} is unknown"
            )
        expect_label(spec["name"], "column_index name")
        return spec
    raise CorruptDataError(f"frame manifest: column_index kind {spec.get('kind')!r} is unknown")
