"""Inferring metadata from a DataFrame.

:class:`Metadater` turns a ``pandas.DataFrame`` into a :class:`SchemaMetadata`:
one :class:`FieldMetadata` per column, with its physical type read from the
dtype, a logical type where the values leave no doubt, and :class:`FieldStats`.

Decisions worth knowing:

* ``na_percentage`` is a percentage (0-100) rounded to 4 decimals, as in PETsARD.
* ``min_value`` / ``max_value`` are given for every type whose values can be
  ordered: numbers, booleans, datetimes, dates, times, decimals, bytes, and
  strings (lexicographic order of code points, i.e. Python's ``str`` order, not a
  locale collation).  An ordered categorical uses its category order, an
  unordered one the natural order of the categories that occur.  Values that
  cannot be ordered (mixed types) give ``None``.
* ``mean_value`` / ``std_value`` (sample standard deviation, ``ddof=1``) and the
  quartiles are computed in float64 for integer and float columns only;
  ``std_value`` is ``None`` with fewer than two values.
* ``most_frequent`` holds up to five ``(value, count)`` pairs, by count
  descending and then by value ascending, so that ties are broken the same way
  every time.
* Timezone-aware values in the statistics carry a fixed UTC offset (the zone
  name is in ``source_dtype``), so they survive the JSON codec unchanged.
* Values the JSON codec cannot carry (``Interval``, ``Period``, arbitrary
  objects, containers) appear in the statistics as their ``str()``.
* Column names become ``str``; duplicate names are refused, because fields are
  looked up and compared by name.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import math
import re
import warnings
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from petsard_status.errors import MetadataError
from petsard_status.metadata.types import (
    DataType,
    FieldMetadata,
    FieldStats,
    LogicalType,
    SchemaMetadata,
    SchemaStats,
    normalize_value,
)

__all__ = ["Metadater"]

_QUANTILES = (0.25, 0.5, 0.75)
_TOP_N = 5
# A string column is categorical when it has few distinct values, both in
# absolute terms and relative to its length.
_CATEGORICAL_MAX_DISTINCT = 50
_CATEGORICAL_MAX_RATIO = 0.05

_SIGNED_BY_SIZE = {1: DataType.INT8, 2: DataType.INT16, 4: DataType.INT32, 8: DataType.INT64}
# An unsigned integer needs the next wider signed type to hold its range;
# uint64 has no wider type and maps to int64 (values above 2**63-1 overflow it).
_UNSIGNED_BY_SIZE = {1: DataType.INT16, 2: DataType.INT32, 4: DataType.INT64, 8: DataType.INT64}
_INTEGER_TYPES = frozenset(_SIGNED_BY_SIZE.values())
_NUMERIC_TYPES = _INTEGER_TYPES | {DataType.FLOAT32, DataType.FLOAT64}

_OBJECT_INFERRED = {
    "string": DataType.STRING,
    "bytes": DataType.BINARY,
    "decimal": DataType.DECIMAL,
    "date": DataType.DATE,
    "time": DataType.TIME,
    "boolean": DataType.BOOLEAN,
    "integer": DataType.INT64,
    "floating": DataType.FLOAT64,
    "mixed-integer-float": DataType.FLOAT64,
}

_UUID_RE = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_EMAIL_RE = (
    r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*"
    r"\.[A-Za-z]{2,63}"
)
_URL_RE = r"(?:https?|ftp)://[^\s/?#@]+(?:[/?#]\S*)?"
# Cheap vectorised screen before the exact (per value) ipaddress check.
_IP_SCREEN_RE = r"[0-9A-Fa-f:.]+(?:%[0-9A-Za-z_.-]+)?"

_ID_NAME_RE = re.compile(
    r"(?:^|[^A-Za-z0-9])(?:id|key|pk|uuid|guid|uid)$"  # id, user_id, row-key, PK
    r"|^(?:id|key|pk|uuid|guid|uid)(?:[^A-Za-z0-9]|$)",  # id_user
    re.IGNORECASE,
)
# userId, customerID; case matters here so that "paid" or "valid" do not match.
_ID_CAMEL_RE = re.compile(r"[a-z0-9](?:Id|ID)$")
_NAME_TOKEN_RE = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
_PERCENT_TOKENS = frozenset({"percent", "percentage", "pct"})
_LATITUDE_TOKENS = frozenset({"lat", "latitude"})
_LONGITUDE_TOKENS = frozenset({"lon", "lng", "long", "longitude"})

_PLAIN_SCALARS = (
    type(None), bool, int, float, str, bytes, Decimal, dt.datetime, dt.date, dt.time,
    dt.timedelta,
)


class Metadater:
    """Builds metadata from pandas objects."""

    @staticmethod
    def create_schema(
        df: pd.DataFrame,
        schema_id: str,
        name: str | None = None,
        description: str | None = None,
        properties: dict[str, Any] | None = None,
    ) -> SchemaMetadata:
        """Describe ``df``: one field per column, in column order, plus table stats.

        Every field and the schema share one ``created_at`` / ``updated_at``
        timestamp (naive local time, like the model's defaults).
        """
        if not isinstance(df, pd.DataFrame):
            raise MetadataError(
                f"create_schema expects a pandas DataFrame, got {type(df).__name__}"
            )
        names = [str(c) for c in df.columns]
        if len(set(names)) != len(names):
            dupes = sorted({n for n in names if names.count(n) > 1})
            raise MetadataError(
                f"schema {schema_id!r}: duplicate column names {dupes}; fields are "
                "identified by name, so rename the columns before building metadata"
            )
        now = dt.datetime.now()
        fields = tuple(
            _build_field(df.iloc[:, i], col_name, now) for i, col_name in enumerate(names)
        )
        row_count = len(df)
        na_cells = sum(f.stats.na_count for f in fields if f.stats is not None)
        cells = row_count * len(fields)
        stats = SchemaStats(
            row_count=row_count,
            field_count=len(fields),
            na_count=na_cells,
            na_percentage=_percentage(na_cells, cells),
        )
        return SchemaMetadata(
            schema_id=schema_id,
            name=name if name is not None else schema_id,
            description=description,
            fields=fields,
            stats=stats,
            properties=dict(properties or {}),
            created_at=now,
            updated_at=now,
        )

    @staticmethod
    def create_field(series: pd.Series, name: str) -> FieldMetadata:
        """Describe one column."""
        if not isinstance(series, pd.Series):
            raise MetadataError(
                f"create_field expects a pandas Series, got {type(series).__name__}"
            )
        return _build_field(series, str(name), dt.datetime.now())


# --- data types ------------------------------------------------------------------------


def _data_type(dtype: Any, values: Any) -> DataType:
    """The DataType for a dtype; ``values`` is consulted only for object dtypes."""
    if isinstance(dtype, pd.CategoricalDtype):
        return _data_type(dtype.categories.dtype, dtype.categories)
    if isinstance(dtype, pd.SparseDtype):
        return _data_type(dtype.subtype, np.asarray(values))
    if isinstance(dtype, pd.StringDtype):
        return DataType.STRING
    if isinstance(dtype, pd.DatetimeTZDtype):
        return DataType.TIMESTAMP_TZ
    if isinstance(dtype, pd.ArrowDtype):
        return _arrow_data_type(dtype)
    kind = getattr(dtype, "kind", "O")
    np_dtype = dtype if isinstance(dtype, np.dtype) else getattr(dtype, "numpy_dtype", None)
    if kind == "b":
        return DataType.BOOLEAN
    if kind in "iu" and np_dtype is not None:
        table = _SIGNED_BY_SIZE if kind == "i" else _UNSIGNED_BY_SIZE
        return table.get(np_dtype.itemsize, DataType.INT64)
    if kind == "f" and np_dtype is not None:
        return DataType.FLOAT32 if np_dtype.itemsize <= 4 else DataType.FLOAT64
    if kind == "M":
        return DataType.TIMESTAMP
    if kind == "O" and isinstance(dtype, np.dtype):
        return _object_data_type(values)
    # complex, timedelta, period, interval and unknown extension types
    return DataType.OBJECT


def _arrow_data_type(dtype: pd.ArrowDtype) -> DataType:
    import pyarrow as pa

    t = dtype.pyarrow_dtype
    checks = (
        (pa.types.is_boolean, DataType.BOOLEAN),
        (pa.types.is_string, DataType.STRING),
        (pa.types.is_large_string, DataType.STRING),
        (pa.types.is_binary, DataType.BINARY),
        (pa.types.is_large_binary, DataType.BINARY),
        (pa.types.is_fixed_size_binary, DataType.BINARY),
        (pa.types.is_decimal, DataType.DECIMAL),
        (pa.types.is_date, DataType.DATE),
        (pa.types.is_time, DataType.TIME),
    )
    for check, data_type in checks:
        if check(t):
            return data_type
    if pa.types.is_timestamp(t):
        return DataType.TIMESTAMP_TZ if t.tz else DataType.TIMESTAMP
    if pa.types.is_integer(t) or pa.types.is_floating(t):
        return _data_type(np.dtype(t.to_pandas_dtype()), None)
    return DataType.OBJECT


def _object_data_type(values: Any) -> DataType:
    inferred = pd.api.types.infer_dtype(values, skipna=True)
    data_type = _OBJECT_INFERRED.get(inferred)
    if data_type is not None:
        return data_type
    if inferred in ("datetime", "datetime64"):
        aware = {
            getattr(v, "tzinfo", None) is not None
            for v in pd.Series(values).dropna().tolist()
        }
        if aware == {True}:
            return DataType.TIMESTAMP_TZ
        if aware == {False}:
            return DataType.TIMESTAMP
    return DataType.OBJECT


# --- fields ----------------------------------------------------------------------------


def _build_field(series: pd.Series, name: str, now: dt.datetime) -> FieldMetadata:
    dtype = series.dtype
    is_category = isinstance(dtype, pd.CategoricalDtype)
    data_type = _data_type(dtype, series)
    stats, uniques = _field_stats(series, data_type)
    logical = _logical_type(name, data_type, is_category, stats, uniques)
    properties: dict[str, Any] = {}
    if is_category:
        properties["ordered"] = bool(dtype.ordered)
    return FieldMetadata(
        name=name,
        data_type=data_type,
        nullable=stats.na_count > 0,
        source_dtype=str(dtype),
        logical_type=logical,
        stats=stats,
        properties=properties,
        created_at=now,
        updated_at=now,
    )


def _percentage(part: int, whole: int) -> float:
    return round(part / whole * 100.0, 4) if whole else 0.0


def _field_stats(series: pd.Series, data_type: DataType) -> tuple[FieldStats, pd.Index | None]:
    """Statistics of a column, and the index of its distinct non-null values."""
    row_count = len(series)
    na_mask = series.isna()
    na_count = int(na_mask.sum())
    non_null = series[~na_mask] if na_count else series
    try:
        counts = non_null.value_counts(sort=True, dropna=True)
    except TypeError:
        # Unhashable values (lists, dicts): count their text form, report no values.
        distinct = int(non_null.map(repr).nunique()) if len(non_null) else 0
        return (
            FieldStats(
                row_count=row_count,
                na_count=na_count,
                na_percentage=_percentage(na_count, row_count),
                distinct_count=distinct,
            ),
            None,
        )
    if isinstance(counts.index, pd.CategoricalIndex):
        counts = counts[counts.to_numpy() > 0]
    uniques = counts.index

    min_value, max_value = _min_max(uniques, series.dtype)
    mean_value = std_value = None
    quantiles = None
    if data_type in _NUMERIC_TYPES and len(non_null) and not _is_bool_like(series.dtype):
        values = _float_array(non_null)
        if values is not None and len(values):
            with np.errstate(invalid="ignore", over="ignore"), warnings.catch_warnings():
                # Infinite values make the mean/std/quantiles inf or nan; that is
                # the honest answer, not something to warn about.
                warnings.simplefilter("ignore", RuntimeWarning)
                mean_value = float(np.mean(values))
                std_value = float(np.std(values, ddof=1)) if len(values) > 1 else None
                qs = np.quantile(values, _QUANTILES)
            quantiles = {q: float(v) for q, v in zip(_QUANTILES, qs)}

    stats = FieldStats(
        row_count=row_count,
        na_count=na_count,
        na_percentage=_percentage(na_count, row_count),
        distinct_count=len(uniques),
        min_value=_plain(min_value),
        max_value=_plain(max_value),
        mean_value=mean_value,
        std_value=std_value,
        quantiles=quantiles,
        most_frequent=_most_frequent(counts) if len(counts) else None,
    )
    return stats, uniques


def _is_bool_like(dtype: Any) -> bool:
    return getattr(dtype, "kind", "") == "b"


def _float_array(non_null: pd.Series) -> np.ndarray | None:
    dtype = non_null.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return None
    try:
        return non_null.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _min_max(uniques: pd.Index, dtype: Any) -> tuple[Any, Any]:
    if len(uniques) == 0:
        return None, None
    index = uniques
    if isinstance(index, pd.CategoricalIndex) and not index.ordered:
        # Unordered categories have no order of their own; use the values' order.
        index = pd.Index(index.to_numpy(), dtype=index.categories.dtype)
    try:
        return index.min(), index.max()
    except (TypeError, ValueError):
        return None, None


def _most_frequent(counts: pd.Series) -> tuple[tuple[Any, int], ...]:
    """The top values by count descending, then value ascending."""
    values = counts.to_numpy()
    if len(counts) > _TOP_N:
        threshold = values[_TOP_N - 1]
        head = counts[values > threshold]
        ties = counts.index[values == threshold]
        tie_values = _smallest(ties, _TOP_N - len(head))
        pairs = _sort_pairs(list(zip(head.index.tolist(), head.tolist())))
        pairs += [(v, int(threshold)) for v in tie_values]
    else:
        pairs = _sort_pairs(list(zip(counts.index.tolist(), counts.tolist())))
    return tuple((_plain(v), int(c)) for v, c in pairs)


def _smallest(index: pd.Index, k: int) -> list[Any]:
    try:
        return index.sort_values()[:k].tolist()
    except (TypeError, ValueError):
        return sorted(index.tolist(), key=_fallback_key)[:k]


def _sort_pairs(pairs: list[tuple[Any, int]]) -> list[tuple[Any, int]]:
    try:
        return sorted(pairs, key=lambda p: (-p[1], p[0]))
    except TypeError:
        return sorted(pairs, key=lambda p: (-p[1], _fallback_key(p[0])))


def _fallback_key(value: Any) -> tuple[str, str]:
    # Values of different types cannot be compared; group them by type, then text.
    return type(value).__name__, repr(value)


def _plain(value: Any) -> Any:
    """A statistics value the codec can carry, with a fixed UTC offset if aware."""
    value = normalize_value(value)
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        offset = value.utcoffset()
        if offset is not None and type(value.tzinfo) is not dt.timezone:
            value = value.replace(tzinfo=dt.timezone(offset))
        return value
    if isinstance(value, _PLAIN_SCALARS):
        return value
    return str(value)


# --- logical types -----------------------------------------------------------------------


def _logical_type(
    name: str,
    data_type: DataType,
    is_category: bool,
    stats: FieldStats,
    uniques: pd.Index | None,
) -> LogicalType | None:
    if is_category:
        return LogicalType.CATEGORICAL
    if uniques is None or stats.distinct_count == 0:
        return None
    if data_type is DataType.STRING:
        pattern_type = _string_pattern_type(uniques)
        if pattern_type is not None:
            return pattern_type
        if _is_primary_key(name, data_type, stats):
            return LogicalType.PRIMARY_KEY
        if (
            stats.distinct_count <= _CATEGORICAL_MAX_DISTINCT
            and stats.distinct_count <= _CATEGORICAL_MAX_RATIO * stats.row_count
        ):
            return LogicalType.CATEGORICAL
        return None
    if data_type in _INTEGER_TYPES and _is_primary_key(name, data_type, stats):
        return LogicalType.PRIMARY_KEY
    if data_type in _NUMERIC_TYPES:
        return _numeric_hint_type(name, stats)
    return None


def _string_pattern_type(uniques: pd.Index) -> LogicalType | None:
    if uniques.dtype == object and pd.api.types.infer_dtype(uniques, skipna=True) != "string":
        return None
    # Most columns fail on their first values; screening a few keeps wide tables fast.
    head = uniques[:64]
    logical = next(
        (
            candidate
            for pattern, candidate in (
                (_UUID_RE, LogicalType.UUID),
                (_EMAIL_RE, LogicalType.EMAIL),
                (_URL_RE, LogicalType.URL),
                (_IP_SCREEN_RE, LogicalType.IP_ADDRESS),
            )
            if _all_true(head.str.fullmatch(pattern))
            and _all_true(uniques.str.fullmatch(pattern))
        ),
        None,
    )
    if logical is LogicalType.IP_ADDRESS:
        # The screen only checks characters; the stdlib parser decides.
        try:
            for value in uniques.tolist():
                ipaddress.ip_address(value)
        except ValueError:
            return None
    return logical


def _all_true(matches: Any) -> bool:
    flags = pd.Series(matches, copy=False)
    return bool(len(flags)) and bool(flags.fillna(False).astype(bool).all())


def _is_primary_key(name: str, data_type: DataType, stats: FieldStats) -> bool:
    if stats.na_count or stats.row_count == 0 or stats.distinct_count != stats.row_count:
        return False
    if _ID_NAME_RE.search(name) or _ID_CAMEL_RE.search(name):
        return True
    # Without a telling name, unique integers are a key only when they form a gap-free
    # run (a row number); unique measurements in a small table are not keys.
    return (
        data_type in _INTEGER_TYPES
        and stats.row_count >= 2
        and isinstance(stats.min_value, int)
        and isinstance(stats.max_value, int)
        and stats.max_value - stats.min_value == stats.row_count - 1
    )


def _numeric_hint_type(name: str, stats: FieldStats) -> LogicalType | None:
    tokens = {t.lower() for t in _NAME_TOKEN_RE.findall(name)}
    low, high = stats.min_value, stats.max_value
    if not isinstance(low, (int, float)) or not isinstance(high, (int, float)):
        return None
    if (tokens & _PERCENT_TOKENS or "%" in name) and low >= 0 and high <= 100:
        return LogicalType.PERCENTAGE
    if tokens & _LATITUDE_TOKENS and low >= -90 and high <= 90:
        return LogicalType.LATITUDE
    if tokens & _LONGITUDE_TOKENS and low >= -180 and high <= 180:
        return LogicalType.LONGITUDE
    return None
