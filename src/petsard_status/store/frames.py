"""Data-only codec for result DataFrames.

A frame is stored as one Arrow IPC stream holding a single record batch. The
stream's schema metadata carries our own JSON manifest, which names every
column's pandas dtype with a descriptor from a fixed allow-list; decoding
rebuilds the frame from the Arrow buffers and that manifest alone. Nothing is
ever handed to pickle, and pandas' own Arrow metadata is neither written nor
read, because it lets a blob choose which Python types to construct.

Manifest (version 1)::

    {"format": "petsard-status/frame", "version": 1, "rows": <int>,
     "columns": [<slot>, ...],
     "column_index": {"kind": "range", "start", "stop", "step", "name"}
                   | {"kind": "labels", "dtype": <label dtype>, "name"},
     "index": {"kind": "range", "start", "stop", "step", "name"}
            | {"kind": "levels", "levels": [<slot>, ...], "freq": <str|null>}
            | {"kind": "multi", "levels": [<level>, ...]},
     "flags": {"allows_duplicate_labels": <bool>}}

    <slot>  = {"name": <label>, "dtype": <descriptor>}
              + {"ordered": <bool>, "categories": <descriptor>} for "category"
              + {"nulls": "none" | "nan" | "na" | "mixed"} for "object-str"
    <level> = {"name": <label>, "values": <descriptor>, "freq": <str|null>}

Descriptors: ``bool``, ``int8`` ... ``uint64``, ``float16/32/64`` (numpy);
``boolean``, ``Int8`` ... ``UInt64``, ``Float32/64`` (pandas masked); ``str``
and ``str[python]`` (StringDtype with NaN), ``string[pyarrow]`` and
``string[python]`` (StringDtype with NA); ``object-str`` (object column of
Python str); ``category``; ``datetime64[<unit>]``, ``datetime64[<unit>, <zone>]``
and ``timedelta64[<unit>]`` with unit s, ms, us or ns and zone an IANA key,
``UTC`` or a fixed offset such as ``UTC+08:00``. Labels are str, int, float,
bool or null. Category values and MultiIndex levels are Arrow dictionaries
(values plus codes), so unused values and their order survive.

Arrow fields are named by position (``c0``, ``c1``, ... for columns, ``i0``,
... for index levels, ``<field>.nulls`` for the null-kind companion of an
``object-str`` slot with mixed null markers), so duplicated, empty, very long
or non-string column labels never reach Arrow.

pandas 2.2, 2.3 and 3 write the same bytes for equal frames and read each
other's blobs. pandas 2.2 has the ``str`` dtype under the name
``string[pyarrow_numpy]`` (pandas 2.3 treats that name as the same dtype), so
it reads and writes ``str`` as that dtype. It has nothing like
``str[python]``, so reading such a column there raises CorruptDataError,
which names the column and says that pandas >= 2.3 is needed. Before pandas
3, zones given by name (``tz_localize("Asia/Taipei")``) are pytz zones, which
the codec refuses under every pandas; use ``zoneinfo.ZoneInfo`` zones there.
"""

from __future__ import annotations

import codecs
import datetime as dt
import json
import re
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from petsard_status.errors import CorruptDataError, PetsardStatusError, SerializationError

try:
    from pandas.api.internals import create_dataframe_from_blocks
except ImportError:  # pandas 2.2 and 2.3: the function is new in pandas 3
    from pandas.core.internals import BlockManager, make_block

    def create_dataframe_from_blocks(
        blocks: list[tuple[Any, np.ndarray]], index: pd.Index, columns: pd.Index
    ) -> pd.DataFrame:
        """pandas 3's function, through the internals pyarrow itself uses on pandas 2."""
        manager = BlockManager(
            [make_block(values, placement=placement) for values, placement in blocks],
            [columns, index],
        )
        return pd.DataFrame._from_mgr(manager, manager.axes)


__all__ = [
    "FRAME_FORMAT",
    "FRAME_VERSION",
    "Compression",
    "decode_frame",
    "encode_frame",
]

FRAME_FORMAT: Final = "petsard-status/frame"
FRAME_VERSION: Final = 1
MANIFEST_KEY: Final = b"petsard-status/frame"

Compression = Literal["lz4", "zstd"] | None

_INT_NAT: Final = np.iinfo(np.int64).min
_UTF8_SLICE: Final = 1 << 24
_END_OF_STREAM: Final = b"\xff\xff\xff\xff\x00\x00\x00\x00"
_UNITS: Final = ("s", "ms", "us", "ns")

# Plain numpy columns: no missing values are possible in the dtype itself.
_NUMPY: Final[dict[str, pa.DataType]] = {
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

_NUMPY_NAMES: Final[dict[np.dtype, str]] = {np.dtype(name): name for name in _NUMPY}

# pandas masked ("nullable") dtypes, keyed by pandas' own name: the numpy
# dtype of their values, their Arrow type and their dtype class.
_MASKED: Final[dict[str, tuple[str, pa.DataType, type]]] = {
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
_MASKED_NAMES: Final[dict[type, str]] = {cls: name for name, (_, _, cls) in _MASKED.items()}

# The four flavours of pandas.StringDtype: storage and missing-value marker.
_STRINGS: Final[dict[str, tuple[str, Any]]] = {
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


_STRING_DTYPES: Final = {name: _string_dtype(*flavour) for name, flavour in _STRINGS.items()}
_DEFAULT_STR: Final = _STRING_DTYPES["str"]
_OBJECT_STR: Final = "object-str"
_CATEGORY: Final = "category"
_NULL_KINDS: Final = ("none", "nan", "na", "mixed")
# Companion codes for object-str columns whose missing values mix markers.
_NULL_CODE: Final[dict[type, int]] = {type(None): 1, float: 2, type(pd.NA): 3}
_NULL_VALUE: Final[dict[int, Any]] = {1: None, 2: np.nan, 3: pd.NA}

_LABEL_DTYPES: Final = frozenset(["object", "str", *(k for k in _NUMPY if k != "float16")])
_TEMPORAL_RE: Final = re.compile(r"(datetime64|timedelta64)\[(s|ms|us|ns)(?:, ([^\]]+))?\]")
_OFFSET_RE: Final = re.compile(r"UTC([+-])(\d\d):(\d\d)(?::(\d\d)(?:\.(\d{6}))?)?")
_LABEL_TYPES: Final = (str, int, float, bool, type(None))


# --------------------------------------------------------------------------- types


@dataclass(frozen=True)
class _Kind:
    """A validated dtype descriptor: how its Arrow field looks and decodes."""

    descriptor: str
    arrow_type: pa.DataType
    nullable: bool  # whether the Arrow field may carry nulls
    companion: bool = False  # object-str with mixed null markers
    categories: _Kind | None = None
    ordered: bool = False
    nulls: str = "none"


# ------------------------------------------------------------------------ encoding


def encode_frame(df: pd.DataFrame, *, compression: Compression = None) -> bytes:
    """Encode ``df`` as Arrow IPC bytes that :func:`decode_frame` restores exactly.

    The same frame always gives the same bytes (for a given ``compression``),
    so the bytes can be hashed for content addressing.

    Raises:
        SerializationError: a column, the index or the column labels hold
            something this format cannot restore exactly; the message names
            the column and its dtype.
    """
    if not isinstance(df, pd.DataFrame):
        raise SerializationError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if compression not in (None, "lz4", "zstd"):
        raise SerializationError(f"unknown compression {compression!r}; use None, 'lz4' or 'zstd'")
    if df.attrs:
        raise SerializationError(
            "DataFrame.attrs is not stored; clear it (df.attrs = {}) before storing the frame"
        )

    fields: list[pa.Field] = []
    arrays: list[pa.Array] = []
    columns: list[dict[str, Any]] = []
    for pos, (label, values, dtype) in enumerate(_columns(df)):
        where = f"column {label!r} (position {pos})"
        spec, encoded = _encode_array(values, dtype, where)
        spec = {"name": _label_to_json(label, where + " label", nan_as_none=True), **spec}
        columns.append(spec)
        _append_fields(fields, arrays, f"c{pos}", encoded)

    index_spec = _encode_index(df.index, fields, arrays)
    manifest = {
        "format": FRAME_FORMAT,
        "version": FRAME_VERSION,
        "rows": len(df),
        "columns": columns,
        "column_index": _encode_column_index(df.columns),
        "index": index_spec,
        "flags": {"allows_duplicate_labels": bool(df.flags.allows_duplicate_labels)},
    }
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), allow_nan=False)
    schema = pa.schema(fields, metadata={MANIFEST_KEY: text.encode("ascii")})
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    options = ipc.IpcWriteOptions(compression=compression)
    if compression is None:
        # Measuring first and writing into a buffer of the final size avoids
        # the repeated grow-and-copy of an open-ended output stream.
        mock = pa.MockOutputStream()
        _write_stream(mock, batch, options)
        buffer = pa.allocate_buffer(mock.size())
        sink = pa.FixedSizeBufferWriter(buffer)
        _write_stream(sink, batch, options)
        # The buffer is not zeroed; the stream is written front to back, so
        # ending exactly at its end proves that no stale byte is left in it.
        if sink.tell() != buffer.size:
            raise SerializationError("frame encoding wrote an unexpected number of bytes")
        return buffer.to_pybytes()
    sink = pa.BufferOutputStream()
    _write_stream(sink, batch, options)
    return sink.getvalue().to_pybytes()


def _write_stream(sink: Any, batch: pa.RecordBatch, options: ipc.IpcWriteOptions) -> None:
    with ipc.new_stream(sink, batch.schema, options=options) as writer:
        writer.write_batch(batch)


def _append_fields(
    fields: list[pa.Field], arrays: list[pa.Array], name: str, encoded: list[pa.Array]
) -> None:
    arrays.extend(encoded)
    fields.append(pa.field(name, encoded[0].type))
    if len(encoded) == 2:
        fields.append(pa.field(name + ".nulls", encoded[1].type))


def _columns(df: pd.DataFrame) -> Any:
    """(label, values, dtype) of each column, without building a Series per column.

    Building the Series costs more than encoding a short column; the block
    manager hands out the same values directly.
    """
    iget_values = getattr(getattr(df, "_mgr", None), "iget_values", None)
    if iget_values is None:  # pragma: no cover - a pandas without the accessor
        for label, column in df.items():
            yield label, column.array, column.dtype
        return
    for pos, (label, dtype) in enumerate(zip(df.columns, df.dtypes, strict=True)):
        yield label, iget_values(pos), dtype


def _encode_slot(obj: pd.Series | pd.Index, where: str) -> tuple[dict[str, Any], list[pa.Array]]:
    """Arrow array(s) and manifest entry for one column or index level."""
    return _encode_array(obj.array, obj.dtype, where)


def _encode_array(values: Any, dtype: Any, where: str) -> tuple[dict[str, Any], list[pa.Array]]:
    try:
        return _encode_values(values, dtype, where)
    except SerializationError:
        raise
    except (pa.ArrowException, ValueError, TypeError, UnicodeError, OverflowError) as exc:
        raise SerializationError(f"{where} of dtype {dtype} cannot be stored: {exc}") from exc


def _encode_values(values: Any, dtype: Any, where: str) -> tuple[dict[str, Any], list[pa.Array]]:
    if isinstance(dtype, np.dtype):
        name = _NUMPY_NAMES.get(dtype)
        if name is not None:
            return {"dtype": name}, [pa.array(np.asarray(values), type=_NUMPY[name])]
        if dtype.kind in "mM":
            unit = np.datetime_data(dtype)[0]
            prefix = "datetime64" if dtype.kind == "M" else "timedelta64"
            if unit in _UNITS:
                array = _temporal_to_arrow(np.asarray(values).view("i8"), dtype.kind, unit, None)
                return {"dtype": f"{prefix}[{unit}]"}, [array]
        if dtype == np.dtype(object):
            return _encode_object_str(np.asarray(values), where)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        unit = dtype.unit
        name = _tz_descriptor(dtype.tz)
        if unit in _UNITS and name is not None and _tz_round_trips(name, dtype):
            array = _temporal_to_arrow(values.asi8, "M", unit, name)
            return {"dtype": f"datetime64[{unit}, {name}]"}, [array]
        raise SerializationError(
            f"{where} of dtype {dtype} cannot be stored exactly: its time zone "
            f"{dtype.tz!r} ({type(dtype.tz).__module__}.{type(dtype.tz).__name__}) is not "
            "supported; use a zoneinfo.ZoneInfo zone or a datetime.timezone"
        )
    elif isinstance(dtype, pd.CategoricalDtype):
        return _encode_categorical(values, dtype, where)
    elif isinstance(dtype, pd.StringDtype):
        uses_na = dtype.na_value is pd.NA
        # pandas 2.2 names the NaN flavour with Arrow storage by its storage.
        storage_of = "pyarrow" if dtype.storage == "pyarrow_numpy" else dtype.storage
        for descriptor, (storage, na_value) in _STRINGS.items():
            if storage_of == storage and (na_value is pd.NA) == uses_na:
                return {"dtype": descriptor}, [_string_to_arrow(values)]
    elif type(dtype) in _MASKED_NAMES:
        name = _MASKED_NAMES[type(dtype)]
        numpy_name, arrow_type, _ = _MASKED[name]
        mask = np.asarray(values.isna(), dtype=bool)
        fill = False if numpy_name == "bool" else 0
        # Values under the mask are filled so that equal frames give equal bytes.
        data = values.to_numpy(dtype=numpy_name, na_value=fill)
        array = pa.array(data, type=arrow_type, mask=mask if mask.any() else None)
        return {"dtype": name}, [array]
    raise SerializationError(
        f"{where} has dtype {dtype}, which cannot be stored; supported are "
        "bool, (u)int8-64, float16-64, their nullable forms (Int64, boolean, ...), str and "
        "string, object columns of str, category, datetime64 (naive or zoned) and timedelta64"
    )


def _temporal_to_arrow(i8: np.ndarray, kind: str, unit: str, tz: str | None) -> pa.Array:
    nat = i8 == _INT_NAT
    array = pa.array(i8, type=pa.int64(), mask=nat if nat.any() else None)
    if kind == "m":
        return array.view(pa.duration(unit))
    return array.view(pa.timestamp(unit, tz=_arrow_tz(tz)))


def _string_to_arrow(values: Any) -> pa.Array:
    array = pa.array(values)
    if isinstance(array, pa.ChunkedArray):
        # One contiguous array per column keeps the bytes independent of how
        # pandas happened to chunk the data.
        if array.num_chunks == 1:
            array = array.chunk(0)
        else:
            array = pa.concat_arrays(array.chunks) if array.num_chunks else pa.array([], array.type)
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    # A slice of a longer array is written with (parts of) its parent's
    # buffers; a compact copy makes equal frames give equal bytes.
    if len(array) == 0:
        return pa.array([], type=pa.large_string())
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(
        offsets_buffer, dtype=np.int64, count=len(array) + 1, offset=8 * array.offset
    )
    data_size = 0 if data_buffer is None else data_buffer.size
    if array.offset or offsets[0] or data_size != offsets[-1]:
        array = pa.concat_arrays([array])
    return array


def _encode_object_str(values: np.ndarray, where: str) -> tuple[dict[str, Any], list[pa.Array]]:
    missing = pd.isna(values)
    present = values[~missing] if missing.any() else values
    bad = {t for t in set(map(type, present)) if t is not str}
    if bad:
        raise SerializationError(
            f"{where} has dtype object and holds {_type_names(bad)} values; only object "
            "columns whose values are all str (with None/NaN/NA for missing) can be stored; "
            "convert the column (for example with .astype('string')) first"
        )
    spec: dict[str, Any] = {"dtype": _OBJECT_STR, "nulls": "none"}
    arrays = [pa.array(values, type=pa.large_string(), mask=missing if missing.any() else None)]
    if missing.any():
        markers = values[missing]
        kinds = set(map(type, markers))
        odd = kinds - set(_NULL_CODE)
        if odd:
            raise SerializationError(
                f"{where} has dtype object and marks missing values with "
                f"{_type_names(odd)}; only None, float('nan') and pd.NA can be stored"
            )
        if len(kinds) == 1:
            spec["nulls"] = {type(None): "none", float: "nan", type(pd.NA): "na"}[kinds.pop()]
        else:
            codes = np.zeros(len(values), dtype=np.int8)
            codes[missing] = [_NULL_CODE[type(v)] for v in markers]
            spec["nulls"] = "mixed"
            arrays.append(pa.array(codes, type=pa.int8()))
    return spec, arrays


def _encode_categorical(
    values: Any, dtype: pd.CategoricalDtype, where: str
) -> tuple[dict[str, Any], list[pa.Array]]:
    categories = dtype.categories
    if isinstance(categories.dtype, pd.CategoricalDtype):
        raise SerializationError(f"{where} has categories of dtype category, which is unsupported")
    cat_dtype, cat_array = _encode_labels(categories, f"{where} categories")
    codes = np.asarray(values.codes)
    missing = codes < 0
    indices = pa.array(codes, mask=missing if missing.any() else None)
    array = pa.DictionaryArray.from_arrays(
        indices, cat_array, ordered=bool(dtype.ordered), safe=False
    )
    spec = {"dtype": _CATEGORY, "categories": cat_dtype, "ordered": bool(dtype.ordered)}
    return spec, [array]


def _encode_labels(labels: pd.Index, where: str) -> tuple[str, pa.Array]:
    """Categories or MultiIndex level values: unique, never missing."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        raise SerializationError(f"{where} are of dtype category, which cannot be stored")
    spec, encoded = _encode_slot(labels, where)
    if len(encoded) != 1 or spec.get("nulls", "none") != "none":
        raise SerializationError(f"{where} of dtype {labels.dtype} hold missing values")
    return spec["dtype"], encoded[0]


def _encode_index(index: pd.Index, fields: list[pa.Field], arrays: list[pa.Array]) -> dict:
    if isinstance(index, pd.RangeIndex):
        return {
            "kind": "range",
            "start": index.start,
            "stop": index.stop,
            "step": index.step,
            "name": _label_to_json(index.name, "index name"),
        }
    if isinstance(index, pd.MultiIndex):
        levels = []
        for pos, (level, name) in enumerate(zip(index.levels, index.names)):
            where = f"index level {name!r} (position {pos})"
            level_dtype, level_array = _encode_labels(level, where)
            codes = np.asarray(index.codes[pos])
            missing = codes < 0
            indices = pa.array(codes, mask=missing if missing.any() else None)
            array = pa.DictionaryArray.from_arrays(indices, level_array, safe=False)
            levels.append(
                {
                    "name": _label_to_json(name, where + " name"),
                    "values": level_dtype,
                    "freq": _encode_freq(level, where),
                }
            )
            _append_fields(fields, arrays, f"i{pos}", [array])
        return {"kind": "multi", "levels": levels}
    where = f"index {index.name!r}"
    spec, encoded = _encode_slot(index, where)
    spec = {"name": _label_to_json(index.name, "index name"), **spec}
    _append_fields(fields, arrays, "i0", encoded)
    return {"kind": "levels", "levels": [spec], "freq": _encode_freq(index, where)}


def _encode_freq(index: pd.Index, where: str) -> str | None:
    """The frequency a DatetimeIndex or TimedeltaIndex carries, as a string."""
    freq = getattr(index, "freq", None)
    if freq is None:
        return None
    freqstr = freq.freqstr
    if _parse_freq(freqstr) != freq:
        raise SerializationError(f"{where} has frequency {freq!r}, which cannot be stored exactly")
    return freqstr


def _encode_column_index(columns: pd.Index) -> dict[str, Any]:
    if isinstance(columns, pd.MultiIndex):
        raise SerializationError(
            "column labels are a MultiIndex, which cannot be stored; flatten them first"
        )
    name = _label_to_json(columns.name, "column labels' name")
    if isinstance(columns, pd.RangeIndex):
        return {
            "kind": "range",
            "start": columns.start,
            "stop": columns.stop,
            "step": columns.step,
            "name": name,
        }
    dtype = columns.dtype
    if dtype == _DEFAULT_STR:
        label_dtype = "str"
    else:
        label_dtype = dtype.name if isinstance(dtype, np.dtype) else str(dtype)
    spec = {"kind": "labels", "dtype": label_dtype, "name": name}
    if label_dtype not in _LABEL_DTYPES:
        raise SerializationError(
            f"column labels of dtype {dtype} cannot be stored; use str or int labels"
        )
    # The labels travel in the per-column entries; rebuilding them here proves
    # that reading gives back the same labels, of the same types.
    labels = [
        _label_to_json(label, f"column label {label!r}", nan_as_none=True) for label in columns
    ]
    rebuilt = _column_index_from_spec(spec, labels)
    if not (rebuilt.equals(columns) and rebuilt.dtype == dtype) or (
        label_dtype == "object" and list(map(type, rebuilt)) != list(map(type, columns))
    ):
        raise SerializationError(f"column labels {list(columns)!r} cannot be stored exactly")
    return spec


def _label_to_json(label: Any, where: str, *, nan_as_none: bool = False) -> Any:
    """A column label or index name as a JSON value that loads back equal."""
    if isinstance(label, np.generic) and not isinstance(label, np.str_):
        label = label.item()
    if type(label) in _LABEL_TYPES:
        if isinstance(label, float) and not np.isfinite(label):
            if nan_as_none and label != label:
                return None
            raise SerializationError(f"{where} is {label!r}, which cannot be stored")
        return label
    raise SerializationError(
        f"{where} is of type {type(label).__name__}; labels and names must be str, int, "
        "float, bool or None"
    )


def _type_names(types: set[type]) -> str:
    return ", ".join(sorted(t.__name__ for t in types))


# ------------------------------------------------------------------------ time zones


def _tz_descriptor(tz: Any) -> str | None:
    if isinstance(tz, zoneinfo.ZoneInfo):
        return tz.key if tz.key else None
    if isinstance(tz, dt.timezone):
        if tz == dt.UTC:
            return "UTC"
        name = str(tz)
        return name if _OFFSET_RE.fullmatch(name) else None
    return None


def _tz_round_trips(name: str, dtype: pd.DatetimeTZDtype) -> bool:
    """Whether reading ``name`` back gives a dtype pandas considers equal."""
    try:
        return pd.DatetimeTZDtype(dtype.unit, _tz_from_descriptor(name)) == dtype
    except CorruptDataError:  # a zone this system's database does not know
        return False


def _arrow_tz(tz: str | None) -> str | None:
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
def _tz_from_descriptor(name: str) -> dt.tzinfo:
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


def _parse_freq(freqstr: Any) -> Any:
    return pd.tseries.frequencies.to_offset(freqstr)


# ------------------------------------------------------------------------ decoding


def decode_frame(data: bytes | bytearray | memoryview) -> pd.DataFrame:
    """Rebuild the DataFrame that :func:`encode_frame` turned into ``data``.

    Raises:
        CorruptDataError: ``data`` is not a frame blob of a known version, its
            manifest is malformed or names an unknown dtype, or its Arrow data
            disagree with the manifest. No other exception escapes for any input.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise CorruptDataError(f"a frame blob must be bytes, got {type(data).__name__}")
    try:
        return _decode(data)
    except PetsardStatusError:
        raise
    except Exception as exc:
        # Whatever pyarrow, pandas or numpy trip over in a damaged blob is
        # reported as what it is to the caller: corrupt stored data.
        raise CorruptDataError(
            f"frame blob is corrupt or not a frame: {type(exc).__name__}: {exc}"
        ) from exc


def _decode(data: bytes | bytearray | memoryview) -> pd.DataFrame:
    source = pa.BufferReader(pa.py_buffer(data))
    try:
        reader = ipc.open_stream(source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptDataError(f"frame blob is not an Arrow IPC stream: {exc}") from exc
    plan = _Plan.from_manifest(_read_manifest(reader.schema))
    expected = plan.expected_schema()
    schema = reader.schema
    if schema.names != [f.name for f in expected] or not all(
        _type_matches(got.type, want.type) for got, want in zip(schema, expected)
    ):
        raise CorruptDataError(
            "frame blob's Arrow fields do not match its manifest: expected "
            f"{_describe_schema(expected)}, found {_describe_schema(schema)}"
        )
    try:
        batch = reader.read_next_batch()
    except StopIteration:
        raise CorruptDataError("frame blob holds no record batch") from None
    # Exactly the end-of-stream marker must follow the one batch: anything
    # else is a second batch, trailing bytes, or a blob cut short (a stream
    # without its marker would otherwise read as complete).
    if bytes(memoryview(data)[source.tell() :]) != _END_OF_STREAM:
        raise CorruptDataError(
            "frame blob does not end right after its record batch (it is truncated, holds "
            "more than one record batch, or has trailing bytes)"
        )
    if batch.num_columns and batch.num_rows != plan.rows:
        raise CorruptDataError(
            f"frame blob holds {batch.num_rows} rows but its manifest says {plan.rows}"
        )
    _check_batch(batch)
    return plan.build(batch)


def _check_batch(batch: pa.RecordBatch) -> None:
    """Check what Arrow trusts blindly, before any buffer is read.

    Structural validation covers buffer sizes; string offsets and UTF-8 are
    checked here (vectorised, several times faster than Arrow's full
    validation), and dictionary codes where they are turned into pandas codes.
    """
    try:
        batch.validate()
    except pa.ArrowException as exc:
        raise CorruptDataError(f"frame blob's Arrow data are malformed: {exc}") from exc
    for field, array in zip(batch.schema, batch.columns):
        _check_array(array, field.name)


def _check_array(array: pa.Array, name: str) -> None:
    if pa.types.is_dictionary(array.type):
        _check_array(array.dictionary, name + " dictionary")
    elif pa.types.is_large_string(array.type):
        _check_strings(array, name)


def _check_strings(array: pa.LargeStringArray, name: str) -> None:
    n = len(array)
    if n == 0:
        return
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=n + 1, offset=array.offset * 8)
    start, end = int(offsets[0]), int(offsets[-1])
    size = 0 if data_buffer is None else data_buffer.size
    if start < 0 or end > size or (offsets[1:] < offsets[:-1]).any():
        raise CorruptDataError(f"frame blob: string offsets of field {name} are out of bounds")
    if start == end:
        return
    data = np.frombuffer(data_buffer, dtype=np.uint8, count=end - start, offset=start)
    # The whole run of bytes must be UTF-8, and no string may start inside a
    # multi-byte character; together these make every single string UTF-8.
    # Offsets are sorted, so those short of the end are a prefix.
    heads = offsets[: int(np.searchsorted(offsets, end))]
    if start:
        heads = heads - start
    if ((data[heads] & 0xC0) == 0x80).any():
        raise CorruptDataError(f"frame blob: field {name} holds invalid UTF-8")
    # Decoding in slices bounds the memory this check takes on large columns.
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for first in range(0, len(view), _UTF8_SLICE):
            decoder.decode(view[first : first + _UTF8_SLICE])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise CorruptDataError(f"frame blob: field {name} holds invalid UTF-8") from exc


_CODE_TYPES: Final = (pa.int8(), pa.int16(), pa.int32(), pa.int64())


def _type_matches(got: pa.DataType, want: pa.DataType) -> bool:
    """Exact match, except that dictionary codes may have any signed width."""
    if pa.types.is_dictionary(want):
        return (
            pa.types.is_dictionary(got)
            and got.index_type in _CODE_TYPES
            and got.value_type == want.value_type
            and got.ordered == want.ordered
        )
    return got == want


def _describe_schema(schema: Sequence[pa.Field]) -> str:
    return "[" + ", ".join(f"{f.name}: {f.type}" for f in schema) + "]"


def _read_manifest(schema: pa.Schema) -> dict[str, Any]:
    metadata = schema.metadata or {}
    raw = metadata.get(MANIFEST_KEY)
    if raw is None:
        raise CorruptDataError(
            "Arrow stream has no petsard-status frame manifest; it was not written by "
            "petsard-status"
        )
    try:
        manifest = json.loads(
            raw.decode("utf-8"), parse_constant=_reject_constant, object_pairs_hook=_unique_keys
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CorruptDataError(f"frame manifest is not valid JSON: {exc}") from exc
    if not isinstance(manifest, dict):
        raise CorruptDataError("frame manifest is not a JSON object")
    if manifest.get("format") != FRAME_FORMAT:
        raise CorruptDataError(
            f"frame manifest has format {manifest.get('format')!r}, expected {FRAME_FORMAT!r}"
        )
    version = manifest.get("version")
    if type(version) is not int or version != FRAME_VERSION:
        raise CorruptDataError(
            f"frame manifest has version {version!r}; this petsard-status reads version "
            f"{FRAME_VERSION} only (a newer petsard-status may have written it)"
        )
    return manifest


# -- manifest validation helpers


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not allowed in a manifest")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("duplicate keys in a manifest object")
    return result


def _expect_keys(obj: Any, required: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict):
        raise CorruptDataError(f"frame manifest: {where} is not an object")
    if set(obj) != required:
        raise CorruptDataError(
            f"frame manifest: {where} has keys {sorted(obj)}, expected {sorted(required)}"
        )
    return obj


def _expect_int(value: Any, where: str, minimum: int | None = None) -> int:
    if type(value) is not int or (minimum is not None and value < minimum):
        bound = "" if minimum is None else f" >= {minimum}"
        raise CorruptDataError(f"frame manifest: {where} is {value!r}, expected an int{bound}")
    return value


def _expect_bool(value: Any, where: str) -> bool:
    if type(value) is not bool:
        raise CorruptDataError(f"frame manifest: {where} is {value!r}, expected true or false")
    return value


def _expect_label(value: Any, where: str) -> Any:
    if type(value) not in _LABEL_TYPES:
        raise CorruptDataError(f"frame manifest: {where} is {value!r}, not a label")
    return value


def _expect_list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise CorruptDataError(f"frame manifest: {where} is not a list")
    return value


def _kind_from_descriptor(descriptor: Any, where: str, *, in_category: bool = False) -> _Kind:
    """The allow-list: every descriptor a manifest may name."""
    if not isinstance(descriptor, str):
        raise CorruptDataError(f"frame manifest: {where} dtype {descriptor!r} is not a string")
    if descriptor in _NUMPY:
        return _Kind(descriptor, _NUMPY[descriptor], nullable=False)
    if descriptor in _MASKED:
        return _Kind(descriptor, _MASKED[descriptor][1], nullable=True)
    if descriptor in _STRINGS:
        if _STRING_DTYPES[descriptor] is None:
            raise CorruptDataError(
                f"frame manifest: {where} has dtype {descriptor!r} (StringDtype(storage="
                f"{_STRINGS[descriptor][0]!r}, na_value=nan)), which pandas {pd.__version__} "
                "does not have; reading it needs pandas >= 2.3"
            )
        return _Kind(descriptor, pa.large_string(), nullable=True)
    match = _TEMPORAL_RE.fullmatch(descriptor)
    if match:
        family, unit, tz = match.groups()
        if family == "timedelta64":
            if tz is not None:
                raise CorruptDataError(f"frame manifest: {where} has unknown dtype {descriptor!r}")
            return _Kind(descriptor, pa.duration(unit), nullable=True)
        if tz is not None:
            _tz_from_descriptor(tz)
        return _Kind(descriptor, pa.timestamp(unit, tz=_arrow_tz(tz)), nullable=True)
    if descriptor == _OBJECT_STR and in_category:
        return _Kind(descriptor, pa.large_string(), nullable=False)
    raise CorruptDataError(f"frame manifest: {where} has unknown dtype {descriptor!r}")


def _labels_kind(descriptor: Any, where: str) -> _Kind:
    """Categories and MultiIndex level values: never missing, so never null."""
    kind = _kind_from_descriptor(descriptor, where, in_category=True)
    return _Kind(kind.descriptor, kind.arrow_type, nullable=False)


def _kind_from_slot(slot: Any, where: str) -> tuple[Any, _Kind]:
    if not isinstance(slot, dict):
        raise CorruptDataError(f"frame manifest: {where} is not an object")
    if type(slot.get("name")) in _LABEL_TYPES:
        where = f"{where} ({slot['name']!r})"
    descriptor = slot.get("dtype")
    if descriptor == _CATEGORY:
        _expect_keys(slot, {"name", "dtype", "categories", "ordered"}, where)
        categories = _labels_kind(slot["categories"], where + " categories")
        ordered = _expect_bool(slot["ordered"], where + " ordered")
        arrow_type = pa.dictionary(pa.int64(), categories.arrow_type, ordered=ordered)
        kind = _Kind(_CATEGORY, arrow_type, True, categories=categories, ordered=ordered)
    elif descriptor == _OBJECT_STR:
        _expect_keys(slot, {"name", "dtype", "nulls"}, where)
        nulls = slot["nulls"]
        if nulls not in _NULL_KINDS:
            raise CorruptDataError(f"frame manifest: {where} nulls is {nulls!r}")
        kind = _Kind(_OBJECT_STR, pa.large_string(), True, companion=nulls == "mixed", nulls=nulls)
    else:
        _expect_keys(slot, {"name", "dtype"}, where)
        kind = _kind_from_descriptor(descriptor, where)
    return _expect_label(slot["name"], where + " name"), kind


def _column_index_from_spec(spec: dict[str, Any], labels: list[Any]) -> pd.Index:
    if spec["kind"] == "range":
        index = pd.RangeIndex(spec["start"], spec["stop"], spec["step"], name=spec["name"])
        # Lengths first: a forged range may be far too long to list.
        if (
            len(index) != len(labels)
            or any(type(label) is not int for label in labels)
            or list(index) != labels
        ):
            raise CorruptDataError("frame manifest: column labels disagree with their range")
        return index
    dtype = spec["dtype"]
    if dtype == "object":
        values = np.empty(len(labels), dtype=object)
        values[:] = labels
        return pd.Index(values, dtype=object, name=spec["name"])
    if dtype == "str":
        if any(label is not None and type(label) is not str for label in labels):
            raise CorruptDataError("frame manifest: str column labels hold a non-string")
        return pd.Index(labels, dtype=_DEFAULT_STR, name=spec["name"])
    allowed = {"b": (bool,), "f": (int, float)}.get(np.dtype(dtype).kind, (int,))
    if any(type(label) not in allowed for label in labels):
        raise CorruptDataError(f"frame manifest: {dtype} column labels hold another type")
    return pd.Index(np.array(labels, dtype=dtype), dtype=dtype, name=spec["name"])


# -- the decoding plan


@dataclass
class _Plan:
    rows: int
    columns: list[tuple[Any, _Kind]]
    column_index: dict[str, Any]
    index: dict[str, Any]
    index_kinds: list[tuple[Any, _Kind]]
    freqs: list[Any]
    allows_duplicate_labels: bool

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> _Plan:
        _expect_keys(
            manifest,
            {"format", "version", "rows", "columns", "column_index", "index", "flags"},
            "top level",
        )
        rows = _expect_int(manifest["rows"], "rows", 0)
        columns = [
            _kind_from_slot(slot, f"column {pos}")
            for pos, slot in enumerate(_expect_list(manifest["columns"], "columns"))
        ]
        column_index = _check_column_index(manifest["column_index"])
        index = manifest["index"]
        if not isinstance(index, dict):
            raise CorruptDataError("frame manifest: index is not an object")
        index_kinds: list[tuple[Any, _Kind]] = []
        freqs: list[Any] = []
        kind = index.get("kind")
        if kind == "range":
            _check_range(index, "index")
            if len(range(index["start"], index["stop"], index["step"])) != rows:
                raise CorruptDataError("frame manifest: range index length differs from rows")
        elif kind == "levels":
            _expect_keys(index, {"kind", "levels", "freq"}, "index")
            levels = _expect_list(index["levels"], "index levels")
            if len(levels) != 1:
                raise CorruptDataError("frame manifest: a flat index must have one level")
            index_kinds.append(_kind_from_slot(levels[0], "index"))
            freqs.append(_check_freq(index["freq"], index_kinds[0][1], "index"))
        elif kind == "multi":
            _expect_keys(index, {"kind", "levels"}, "index")
            levels = _expect_list(index["levels"], "index levels")
            if len(levels) < 2:
                raise CorruptDataError("frame manifest: a MultiIndex needs at least two levels")
            for pos, level in enumerate(levels):
                where = f"index level {pos}"
                _expect_keys(level, {"name", "values", "freq"}, where)
                values = _labels_kind(level["values"], where)
                freqs.append(_check_freq(level["freq"], values, where))
                arrow_type = pa.dictionary(pa.int64(), values.arrow_type)
                index_kinds.append(
                    (
                        _expect_label(level["name"], where + " name"),
                        _Kind("level", arrow_type, True, categories=values),
                    )
                )
        else:
            raise CorruptDataError(f"frame manifest: index kind {kind!r} is unknown")
        flags = _expect_keys(manifest["flags"], {"allows_duplicate_labels"}, "flags")
        return cls(
            rows=rows,
            columns=columns,
            column_index=column_index,
            index=index,
            index_kinds=index_kinds,
            freqs=freqs,
            allows_duplicate_labels=_expect_bool(
                flags["allows_duplicate_labels"], "allows_duplicate_labels"
            ),
        )

    def expected_schema(self) -> list[pa.Field]:
        fields = []
        for prefix, slots in (("c", self.columns), ("i", self.index_kinds)):
            for pos, (_, kind) in enumerate(slots):
                fields.append(pa.field(f"{prefix}{pos}", kind.arrow_type))
                if kind.companion:
                    fields.append(pa.field(f"{prefix}{pos}.nulls", pa.int8()))
        return fields

    def build(self, batch: pa.RecordBatch) -> pd.DataFrame:
        fields = iter(batch.columns)
        values = []
        for pos, (_, kind) in enumerate(self.columns):
            array = next(fields)
            companion = next(fields) if kind.companion else None
            values.append(_decode_slot(array, companion, kind, f"column {pos}"))
        index = self._build_index(fields)
        columns = _column_index_from_spec(self.column_index, [name for name, _ in self.columns])
        frame = _assemble(values, index, columns, self.rows)
        if not self.allows_duplicate_labels:
            frame = frame.set_flags(allows_duplicate_labels=False)
        return frame

    def _build_index(self, fields: Any) -> pd.Index:
        if self.index["kind"] == "range":
            return pd.RangeIndex(
                self.index["start"], self.index["stop"], self.index["step"], name=self.index["name"]
            )
        if self.index["kind"] == "multi":
            levels, codes, names = [], [], []
            for pos, (name, kind) in enumerate(self.index_kinds):
                array = next(fields)
                assert kind.categories is not None
                values = _decode_slot(array.dictionary, None, kind.categories, f"level {pos}")
                levels.append(_to_index(values, None, self.freqs[pos]))
                codes.append(_codes(array))
                names.append(name)
            return pd.MultiIndex(levels=levels, codes=codes, names=names, verify_integrity=True)
        name, kind = self.index_kinds[0]
        array = next(fields)
        companion = next(fields) if kind.companion else None
        values = _decode_slot(array, companion, kind, "index")
        return _to_index(values, name, self.freqs[0])


def _check_freq(value: Any, kind: _Kind, where: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        raise CorruptDataError(f"frame manifest: {where} freq is not a string")
    if not kind.descriptor.startswith(("datetime64", "timedelta64")):
        raise CorruptDataError(f"frame manifest: {where} freq given for a non-temporal index")
    try:
        return _parse_freq(value)
    except ValueError as exc:
        raise CorruptDataError(f"frame manifest: {where} freq is invalid: {exc}") from exc


def _check_range(spec: Any, where: str) -> None:
    _expect_keys(spec, {"kind", "start", "stop", "step", "name"}, where)
    for key in ("start", "stop", "step"):
        value = _expect_int(spec[key], f"{where} {key}")
        if not -(2**63) <= value < 2**63:
            raise CorruptDataError(f"frame manifest: {where} {key} is out of range")
    if spec["step"] == 0:
        raise CorruptDataError(f"frame manifest: {where} step is 0")
    _expect_label(spec["name"], f"{where} name")


def _check_column_index(spec: Any) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise CorruptDataError("frame manifest: column_index is not an object")
    if spec.get("kind") == "range":
        _check_range(spec, "column_index")
        return spec
    if spec.get("kind") == "labels":
        _expect_keys(spec, {"kind", "dtype", "name"}, "column_index")
        if not isinstance(spec["dtype"], str) or spec["dtype"] not in _LABEL_DTYPES:
            raise CorruptDataError(
                f"frame manifest: column label dtype {spec['dtype']!r} is unknown"
            )
        _expect_label(spec["name"], "column_index name")
        return spec
    raise CorruptDataError(f"frame manifest: column_index kind {spec.get('kind')!r} is unknown")


# -- Arrow array -> pandas array


def _decode_slot(array: pa.Array, companion: pa.Array | None, kind: _Kind, where: str) -> Any:
    if not kind.nullable and array.null_count:
        raise CorruptDataError(f"frame blob: {where} of dtype {kind.descriptor} holds nulls")
    decoder = _DECODERS.get(kind.descriptor) or _decode_temporal
    return decoder(array, companion, kind)


def _primitive(array: pa.Array, dtype: np.dtype) -> np.ndarray:
    """A read-only numpy view of a fixed-width Arrow array's values, nulls included."""
    if len(array) == 0:
        return np.empty(0, dtype=dtype)
    return np.frombuffer(
        array.buffers()[1], dtype=dtype, count=len(array), offset=array.offset * dtype.itemsize
    )


def _missing(array: pa.Array) -> np.ndarray:
    if array.null_count == 0:
        return np.zeros(len(array), dtype=bool)
    return np.array(array.is_null(), dtype=bool)


def _decode_numpy(array: pa.Array, companion: Any, kind: _Kind) -> np.ndarray:
    if kind.descriptor == "bool":
        return np.array(array, dtype=bool)
    return _primitive(array, np.dtype(kind.descriptor))


def _decode_masked(array: pa.Array, companion: Any, kind: _Kind) -> Any:
    numpy_name = _MASKED[kind.descriptor][0]
    missing = _missing(array)
    if numpy_name == "bool":
        data = np.array(array.fill_null(False), dtype=bool)
        return pd.arrays.BooleanArray(data, missing, copy=False)
    data = _primitive(array, np.dtype(numpy_name)).copy()
    if kind.descriptor.startswith("Float"):
        return pd.arrays.FloatingArray(data, missing, copy=False)
    return pd.arrays.IntegerArray(data, missing, copy=False)


def _decode_string(array: pa.Array, companion: Any, kind: _Kind) -> Any:
    if _STRINGS[kind.descriptor][0] == "pyarrow":
        # A copy, so that the frame does not keep the whole blob alive.
        array = pa.concat_arrays([array])
    # Never None here: _kind_from_descriptor refuses flavours this pandas lacks.
    return _STRING_DTYPES[kind.descriptor].__from_arrow__(array)  # type: ignore[union-attr]


def _decode_object_str(array: pa.Array, companion: pa.Array | None, kind: _Kind) -> np.ndarray:
    values = np.empty(len(array), dtype=object)
    values[:] = array.to_numpy(zero_copy_only=False)
    if array.null_count == 0:
        return values
    missing = _missing(array)
    if kind.nulls == "mixed":
        assert companion is not None
        if companion.null_count:
            raise CorruptDataError("frame blob: null markers of an object column hold nulls")
        codes = _primitive(companion, np.dtype(np.int8))
        marks = codes[missing]
        if not np.isin(marks, (1, 2, 3)).all() or codes[~missing].any():
            raise CorruptDataError("frame blob: null markers of an object column are invalid")
        for code, marker in _NULL_VALUE.items():
            values[missing & (codes == code)] = marker
    elif kind.nulls != "none":
        values[missing] = np.nan if kind.nulls == "nan" else pd.NA
    return values


def _decode_temporal(array: pa.Array, companion: Any, kind: _Kind) -> Any:
    family, unit, tz = _TEMPORAL_RE.fullmatch(kind.descriptor).groups()  # type: ignore[union-attr]
    i8 = _primitive(array, np.dtype(np.int64))
    if array.null_count:
        i8 = np.where(_missing(array), _INT_NAT, i8)
    code = "M8" if family == "datetime64" else "m8"
    values = i8.view(f"{code}[{unit}]")
    if tz is None:
        return values
    # Stored values are UTC instants; localising to UTC is exact and also
    # gives a writable copy, after which converting only swaps the zone.
    return pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(_tz_from_descriptor(tz)).array


def _codes(array: pa.DictionaryArray) -> np.ndarray:
    indices = array.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    return np.array(indices, dtype=np.int64)


def _decode_category(array: pa.DictionaryArray, companion: Any, kind: _Kind) -> Any:
    assert kind.categories is not None
    categories = _to_index(_decode_slot(array.dictionary, None, kind.categories, "categories"))
    dtype = pd.CategoricalDtype(categories, ordered=kind.ordered)
    return pd.Categorical.from_codes(_codes(array), dtype=dtype)


def _to_index(values: Any, name: Any = None, freq: Any = None) -> pd.Index:
    # Numpy values may still be views of the blob; extension arrays own theirs.
    copy = isinstance(values, np.ndarray)
    if freq is None:
        return pd.Index(values, dtype=values.dtype, name=name, copy=copy)
    # The constructors check that the values follow the frequency.
    if values.dtype.kind == "m":
        return pd.TimedeltaIndex(values, freq=freq, name=name, copy=copy)
    return pd.DatetimeIndex(values, freq=freq, name=name, copy=copy)


_DECODERS: Final[dict[str, Callable[[pa.Array, Any, _Kind], Any]]] = {
    **dict.fromkeys(_NUMPY, _decode_numpy),
    **dict.fromkeys(_MASKED, _decode_masked),
    **dict.fromkeys(_STRINGS, _decode_string),
    _OBJECT_STR: _decode_object_str,
    _CATEGORY: _decode_category,
}


def _assemble(values: list[Any], index: pd.Index, columns: pd.Index, rows: int) -> pd.DataFrame:
    if len(index) != rows:
        raise CorruptDataError(f"frame blob: index has {len(index)} entries, manifest says {rows}")
    # Blocks are built by hand: the DataFrame constructor would infer dtypes
    # (object columns of str become str). Numpy columns of one dtype share a
    # 2D block, filled by one copy out of the Arrow buffers, which also makes
    # them writable and independent of the blob.
    groups: dict[np.dtype, list[int]] = {}
    blocks: list[tuple[Any, np.ndarray]] = []
    for pos, array in enumerate(values):
        if isinstance(array, np.ndarray):
            groups.setdefault(array.dtype, []).append(pos)
        else:
            blocks.append((array, np.array([pos], dtype=np.intp)))
    for dtype, positions in groups.items():
        block = np.empty((len(positions), rows), dtype=dtype)
        for row, pos in enumerate(positions):
            block[row] = values[pos]
        blocks.append((block, np.array(positions, dtype=np.intp)))
    return create_dataframe_from_blocks(blocks, index=index, columns=columns)
