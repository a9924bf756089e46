"""The metadata model: immutable descriptions of a table and its fields.

Values are normalised on construction (numpy and pandas scalars become Python
values, every NaN becomes the one ``math.nan`` object, ``-0.0`` becomes ``0.0``,
lists become tuples) so that two models built from the same data compare equal
and encode to the same canonical JSON bytes.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field, fields
from decimal import Decimal
from enum import Enum
from typing import Any


class DataType(Enum):
    """Physical type of a field."""

    BOOLEAN = "boolean"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT32 = "float32"
    FLOAT64 = "float64"
    DECIMAL = "decimal"
    STRING = "string"
    BINARY = "binary"
    OBJECT = "object"
    DATE = "date"
    TIME = "time"
    TIMESTAMP = "timestamp"
    TIMESTAMP_TZ = "timestamp_tz"


class LogicalType(Enum):
    """What a field's values mean, where the evidence is clear."""

    EMAIL = "email"
    URL = "url"
    UUID = "uuid"
    CATEGORICAL = "categorical"
    PERCENTAGE = "percentage"
    CURRENCY = "currency"
    LATITUDE = "latitude"
    LONGITUDE = "longitude"
    IP_ADDRESS = "ip_address"
    PRIMARY_KEY = "primary_key"


def normalize_value(value: Any) -> Any:
    """Turn numpy/pandas scalars and containers into plain, canonical Python values."""
    # Long on purpose: one flat case per kind of value, in the order they are tested.
    if value is None or isinstance(value, (bool, Enum, Decimal)):
        return value
    if isinstance(value, (str, bytes)):
        # numpy.str_ / numpy.bytes_ are subclasses; keep the plain type.
        return value if type(value) in (str, bytes) else (
            str(value) if isinstance(value, str) else bytes(value)
        )
    if isinstance(value, (bytearray, memoryview)):
        # Mutable buffers would make the model unhashable and change under it.
        return bytes(value)
    if isinstance(value, float):
        value = float(value)  # numpy.float64 is a float subclass
        if math.isnan(value):
            return math.nan
        return 0.0 if value == 0.0 else value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, dict):
        return {normalize_value(k): normalize_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return tuple(normalize_value(v) for v in value)
    if isinstance(value, dt.datetime):
        # pandas.Timestamp is a datetime subclass; keep only what datetime can hold.
        if type(value) is not dt.datetime:
            # pandas.NaT is a datetime subclass too, and the only one unequal to itself.
            if value != value:
                return None
            value = dt.datetime(
                value.year, value.month, value.day, value.hour, value.minute,
                value.second, value.microsecond, tzinfo=value.tzinfo, fold=value.fold,
            )
        return value
    if isinstance(value, dt.timedelta):
        # pandas.Timedelta is a subclass; keep what timedelta holds (microseconds).
        if type(value) is not dt.timedelta:
            value = dt.timedelta(
                days=value.days, seconds=value.seconds, microseconds=value.microseconds
            )
        return value
    if isinstance(value, (dt.date, dt.time)):
        return value
    # numpy scalars (and pandas' NA / NaT) without importing either at module import.
    type_module = type(value).__module__
    if type_module.startswith("numpy"):
        if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "M":
            import pandas as pd

            return None if pd.isna(value) else normalize_value(pd.Timestamp(value))
        if hasattr(value, "dtype") and getattr(value.dtype, "kind", "") == "m":
            import pandas as pd

            return None if pd.isna(value) else pd.Timedelta(value).to_pytimedelta()
        if getattr(value, "ndim", 0) and hasattr(value, "tolist"):
            # An array is a container: the same rule as lists applies.
            return normalize_value(value.tolist())
        if not hasattr(value, "item"):
            return value
        item = value.item()
        if type(item) is type(value):
            # longdouble / clongdouble have no Python counterpart; item() returns
            # them unchanged, so narrow them explicitly instead of recursing forever.
            kind = getattr(value.dtype, "kind", "")
            if kind == "f":
                return normalize_value(float(value))
            if kind == "c":
                return complex(value)
            return value
        return normalize_value(item)
    if type_module.startswith("pandas"):
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    return value


def _normalize_fields(obj: Any) -> None:
    for f in fields(obj):
        value = getattr(obj, f.name)
        normalized = normalize_value(value)
        if normalized is not value:
            object.__setattr__(obj, f.name, normalized)


def _normalize_scalars(obj: Any, names: tuple[str, ...]) -> None:
    for name in names:
        value = getattr(obj, name)
        normalized = normalize_value(value)
        if normalized is not value:
            object.__setattr__(obj, name, normalized)


@dataclass(frozen=True)
class FieldStats:
    """Statistics of one field's values."""

    row_count: int = 0
    na_count: int = 0
    na_percentage: float = 0.0
    distinct_count: int = 0
    min_value: Any = None
    max_value: Any = None
    mean_value: float | None = None
    std_value: float | None = None
    quantiles: dict[float, Any] | None = None
    most_frequent: tuple[tuple[Any, int], ...] | None = None

    def __post_init__(self) -> None:
        _normalize_fields(self)


@dataclass(frozen=True)
class SchemaStats:
    """Statistics of a whole table."""

    row_count: int = 0
    field_count: int = 0
    na_count: int = 0
    na_percentage: float = 0.0

    def __post_init__(self) -> None:
        _normalize_fields(self)


def _now() -> dt.datetime:
    return dt.datetime.now()


@dataclass(frozen=True)
class FieldMetadata:
    """Description of one column."""

    name: str
    data_type: DataType
    nullable: bool = True
    source_dtype: str | None = None
    target_dtype: str | None = None
    logical_type: LogicalType | None = None
    description: str | None = None
    cast_error: str = "coerce"
    stats: FieldStats | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if not isinstance(self.data_type, DataType):
            object.__setattr__(self, "data_type", DataType(self.data_type))
        if self.logical_type is not None and not isinstance(self.logical_type, LogicalType):
            object.__setattr__(self, "logical_type", LogicalType(self.logical_type))
        object.__setattr__(self, "properties", normalize_value(dict(self.properties)))
        _normalize_scalars(self, ("name", "nullable", "created_at", "updated_at"))


@dataclass(frozen=True)
class SchemaMetadata:
    """Description of a table: its fields in order, its stats and properties."""

    schema_id: str
    name: str
    description: str | None = None
    fields: tuple[FieldMetadata, ...] = ()
    stats: SchemaStats | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    created_at: dt.datetime = field(default_factory=_now)
    updated_at: dt.datetime = field(default_factory=_now)

    def __post_init__(self) -> None:
        if not isinstance(self.fields, tuple):
            object.__setattr__(self, "fields", tuple(self.fields))
        object.__setattr__(self, "properties", normalize_value(dict(self.properties)))
        _normalize_scalars(self, ("schema_id", "name", "created_at", "updated_at"))

    @property
    def field_names(self) -> list[str]:
        return [f.name for f in self.fields]

    def get_field(self, name: str) -> FieldMetadata | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None
