"""DataFrame -> Arrow arrays and manifest entries: the work of ``encode_frame``.

Every column, index level and label is checked against what decoding can
rebuild exactly; anything else is refused with a SerializationError that names
the column and its dtype, instead of being stored in a lossy form.  Where pandas
may hold equal data in different buffers (slices, chunks, values under a mask),
the arrays are normalised so that equal frames give equal bytes.
"""

from __future__ import annotations

import struct
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from petsard_status.errors import SerializationError
from petsard_status.formats._frame_decode import column_index_from_spec
from petsard_status.formats._frame_manifest import (
    CATEGORY,
    DEFAULT_STR,
    INT_NAT,
    LABEL_DTYPES,
    LABEL_TYPES,
    MASKED,
    MASKED_NAMES,
    NULL_CODE,
    NUMPY,
    NUMPY_NAMES,
    OBJECT_STR,
    STRINGS,
    UNITS,
    arrow_tz,
    parse_freq,
    tz_descriptor,
    tz_round_trips,
)


def append_fields(
    fields: list[pa.Field], arrays: list[pa.Array], name: str, encoded: list[pa.Array]
) -> None:
    arrays.extend(encoded)
    fields.append(pa.field(name, encoded[0].type))
    if len(encoded) == 2:
        fields.append(pa.field(name + ".nulls", encoded[1].type))


def encode_columns(df: pd.DataFrame, names: list[Any]) -> list[tuple[dict[str, Any], list]]:
    """(manifest entry, Arrow arrays) of every column, in position order.

    The columns are taken from pandas' blocks, not a Series at a time: building
    a Series, or the block manager's lookup of one column, costs more than
    encoding a short column.  A block of numbers or times becomes one Arrow array
    that each of its columns is a slice of (the IPC writer writes a slice's own
    values only, so the bytes are those of a column encoded alone).
    """
    blocks = getattr(getattr(df, "_mgr", None), "blocks", None)
    if blocks is None:  # pragma: no cover - a pandas without the block manager
        return [encode_array(column.array, column.dtype, _where(names, pos))
                for pos, (_, column) in enumerate(df.items())]
    encoded: list[Any] = [None] * df.shape[1]
    for block in blocks:
        values, dtype = block.values, block.dtype
        positions = block.mgr_locs.as_array.tolist()
        if values.ndim == 1:
            encoded[positions[0]] = encode_array(values, dtype, _where(names, positions[0]))
            continue
        if isinstance(dtype, np.dtype):
            # datetime64 and timedelta64 blocks hold a pandas array around the numpy one.
            values = np.asarray(values)
            whole = _encode_block(values, dtype)
            if whole is not None:
                for row, pos in enumerate(positions):
                    encoded[pos] = whole[row] or encode_array(values[row], dtype,
                                                              _where(names, pos))
                continue
        for row, pos in enumerate(positions):
            encoded[pos] = encode_array(values[row], dtype, _where(names, pos))
    return encoded


def _where(names: list[Any], pos: int) -> str:
    return f"column {names[pos]!r} (position {pos})"


_COPIED_BLOCK_BYTES = 1 << 20


def _encode_block(values: np.ndarray, dtype: np.dtype) -> list[Any] | None:
    """Each row of a 2-D block of numbers or times as a slice of one Arrow array.

    None if the block is not such a block, is not of 8-byte values, or is a
    large block that is not contiguous (a frame sliced from a larger one): a
    contiguous copy of a small block costs less than a column at a time, of a
    large one a second copy of its data.  A row holding NaT is None, for the
    column-at-a-time path that gives it a validity mask.
    """
    # Each slice must end on an 8-byte boundary: the IPC writer pads a buffer to
    # one, and for a slice it pads with the bytes that follow it, not zeros.
    if dtype.itemsize != 8:
        return None
    if not values.flags.c_contiguous:
        if values.nbytes > _COPIED_BLOCK_BYTES:
            return None
        values = np.ascontiguousarray(values)
    rows = values.shape[1]
    name = NUMPY_NAMES.get(dtype)
    if name is not None and name != "bool":
        flat = pa.array(values.reshape(-1), type=NUMPY[name])
        spec: dict[str, Any] = {"dtype": name}
        return [(spec, [flat.slice(row * rows, rows)]) for row in range(len(values))]
    unit = np.datetime_data(dtype)[0] if dtype.kind in "mM" else None
    if unit not in UNITS:
        return None
    i8 = values.view("i8")
    with_nat = (i8 == INT_NAT).any(axis=1).tolist()
    flat = pa.array(i8.reshape(-1), type=pa.int64()).view(_temporal_type(dtype.kind, unit, None))
    spec = {"dtype": _temporal_descriptor(dtype.kind, unit)}
    return [None if nat else (spec, [flat.slice(row * rows, rows)])
            for row, nat in enumerate(with_nat)]


class Memo:
    """A small cache of encodings that depend only on immutable inputs.

    It is emptied when full: the frames of one pipeline repeat a handful of
    layouts, and a key that misses is only encoded again.
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: dict[Any, Any] = {}

    def get(self, key: Any) -> Any:
        return self._entries.get(key)

    def put(self, key: Any, value: Any) -> Any:
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[key] = value
        return value


# A key compares values *and* their exact types, so that 1, True and 1.0 or an
# np.int64 label never share an entry; floats are never keyed at all, because
# 0.0 and -0.0 are equal keys that encode differently.
_EXACT_TYPES = frozenset([str, int, bool, type(None)])
_MEMO_MAX_VALUES = 1000
_labels_memo = Memo(64)


def _exact_key(values: list[Any]) -> tuple[Any, ...] | None:
    types = tuple(map(type, values))
    if len(values) > _MEMO_MAX_VALUES or not _EXACT_TYPES.issuperset(types):
        return None
    return (tuple(values), types)


def _encode_slot(obj: pd.Series | pd.Index, where: str) -> tuple[dict[str, Any], list[pa.Array]]:
    """Arrow array(s) and manifest entry for one column or index level."""
    return encode_array(obj.array, obj.dtype, where)


def encode_array(values: Any, dtype: Any, where: str) -> tuple[dict[str, Any], list[pa.Array]]:
    try:
        return _encode_values(values, dtype, where)
    except SerializationError:
        raise
    except (pa.ArrowException, ValueError, TypeError, UnicodeError, OverflowError) as exc:
        raise SerializationError(f"{where} of dtype {dtype} cannot be stored: {exc}") from exc


def _encode_values(values: Any, dtype: Any, where: str) -> tuple[dict[str, Any], list[pa.Array]]:
    if isinstance(dtype, np.dtype):
        name = NUMPY_NAMES.get(dtype)
        if name is not None:
            return {"dtype": name}, [pa.array(np.asarray(values), type=NUMPY[name])]
        if dtype.kind in "mM":
            unit = np.datetime_data(dtype)[0]
            if unit in UNITS:
                array = _temporal_to_arrow(np.asarray(values).view("i8"), dtype.kind, unit, None)
                return {"dtype": _temporal_descriptor(dtype.kind, unit)}, [array]
        if dtype == np.dtype(object):
            return _encode_object_str(np.asarray(values), where)
    elif isinstance(dtype, pd.DatetimeTZDtype):
        unit = dtype.unit
        name = tz_descriptor(dtype.tz)
        if unit in UNITS and name is not None and tz_round_trips(name, dtype):
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
        for descriptor, (storage, na_value) in STRINGS.items():
            if storage_of == storage and (na_value is pd.NA) == uses_na:
                return {"dtype": descriptor}, [_string_to_arrow(values)]
    elif type(dtype) in MASKED_NAMES:
        name = MASKED_NAMES[type(dtype)]
        numpy_name, arrow_type, _ = MASKED[name]
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
    nat = i8 == INT_NAT
    array = pa.array(i8, type=pa.int64(), mask=nat if nat.any() else None)
    return array.view(_temporal_type(kind, unit, tz))


def _temporal_type(kind: str, unit: str, tz: str | None) -> pa.DataType:
    return pa.duration(unit) if kind == "m" else pa.timestamp(unit, tz=arrow_tz(tz))


def _temporal_descriptor(kind: str, unit: str) -> str:
    """The manifest's descriptor of a naive datetime64 or timedelta64 column."""
    return f"{'datetime64' if kind == 'M' else 'timedelta64'}[{unit}]"


def _string_to_arrow(values: Any) -> pa.Array:
    array = pa.array(values)
    if isinstance(array, pa.ChunkedArray):
        # One contiguous array per column keeps the bytes independent of how
        # pandas happened to chunk the data.
        if array.num_chunks == 1:
            array = array.chunk(0)
        else:
            array = pa.concat_arrays(array.chunks) if array.num_chunks else pa.array([], array.type)
    if array.type != _LARGE_STRING:
        array = array.cast(_LARGE_STRING)
    # A slice of a longer array is written with (parts of) its parent's
    # buffers; a compact copy makes equal frames give equal bytes.
    length = len(array)
    if length == 0:
        return pa.array([], type=_LARGE_STRING)
    if array.offset:
        return pa.concat_arrays([array])
    _, offsets, data = array.buffers()
    first, last = _OFFSET.unpack_from(offsets, 0)[0], _OFFSET.unpack_from(offsets, 8 * length)[0]
    if first or (0 if data is None else data.size) != last:
        array = pa.concat_arrays([array])
    return array


_LARGE_STRING = pa.large_string()
_OFFSET = struct.Struct("<q")


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
    spec: dict[str, Any] = {"dtype": OBJECT_STR, "nulls": "none"}
    arrays = [pa.array(values, type=pa.large_string(), mask=missing if missing.any() else None)]
    if missing.any():
        markers = values[missing]
        kinds = set(map(type, markers))
        odd = kinds - set(NULL_CODE)
        if odd:
            raise SerializationError(
                f"{where} has dtype object and marks missing values with "
                f"{_type_names(odd)}; only None, float('nan') and pd.NA can be stored"
            )
        if len(kinds) == 1:
            spec["nulls"] = {type(None): "none", float: "nan", type(pd.NA): "na"}[kinds.pop()]
        else:
            codes = np.zeros(len(values), dtype=np.int8)
            codes[missing] = [NULL_CODE[type(v)] for v in markers]
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
    spec = {"dtype": CATEGORY, "categories": cat_dtype, "ordered": bool(dtype.ordered)}
    return spec, [array]


def _encode_labels(labels: pd.Index, where: str) -> tuple[str, pa.Array]:
    """Categories or MultiIndex level values: unique, never missing."""
    if isinstance(labels.dtype, pd.CategoricalDtype):
        raise SerializationError(f"{where} are of dtype category, which cannot be stored")
    spec, encoded = _encode_slot(labels, where)
    if len(encoded) != 1 or spec.get("nulls", "none") != "none":
        raise SerializationError(f"{where} of dtype {labels.dtype} hold missing values")
    return spec["dtype"], encoded[0]


def encode_index(index: pd.Index, fields: list[pa.Field], arrays: list[pa.Array]) -> dict:
    if isinstance(index, pd.RangeIndex):
        return {
            "kind": "range",
            "start": index.start,
            "stop": index.stop,
            "step": index.step,
            "name": label_to_json(index.name, "index name"),
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
                    "name": label_to_json(name, where + " name"),
                    "values": level_dtype,
                    "freq": _encode_freq(level, where),
                }
            )
            append_fields(fields, arrays, f"i{pos}", [array])
        return {"kind": "multi", "levels": levels}
    where = f"index {index.name!r}"
    spec, encoded = _encode_slot(index, where)
    spec = {"name": label_to_json(index.name, "index name"), **spec}
    append_fields(fields, arrays, "i0", encoded)
    return {"kind": "levels", "levels": [spec], "freq": _encode_freq(index, where)}


def _encode_freq(index: pd.Index, where: str) -> str | None:
    """The frequency a DatetimeIndex or TimedeltaIndex carries, as a string."""
    freq = getattr(index, "freq", None)
    if freq is None:
        return None
    freqstr = freq.freqstr
    if parse_freq(freqstr) != freq:
        raise SerializationError(f"{where} has frequency {freq!r}, which cannot be stored exactly")
    return freqstr


def encode_column_labels(columns: pd.Index) -> tuple[dict[str, Any], list[Any]]:
    """The column index's manifest entry and every column's label as JSON.

    Remembered by the labels' values and exact types: a pipeline's frames share
    their columns, and checking the labels costs more than encoding a short column.
    """
    if isinstance(columns, pd.MultiIndex):
        raise SerializationError(
            "column labels are a MultiIndex, which cannot be stored; flatten them first"
        )
    labels = columns.tolist()
    exact = _exact_key(labels)
    key = None
    if exact is not None and type(columns.name) in _EXACT_TYPES:
        key = (type(columns), columns.dtype, columns.name, type(columns.name), *exact)
        found = _labels_memo.get(key)
        if found is not None:
            return found
    names = [
        label_to_json(label, f"column {label!r} (position {pos}) label", nan_as_none=True)
        for pos, label in enumerate(labels)
    ]
    encoded = (encode_column_index(columns), names)
    return encoded if key is None else _labels_memo.put(key, encoded)


def encode_column_index(columns: pd.Index) -> dict[str, Any]:
    name = label_to_json(columns.name, "column labels' name")
    if isinstance(columns, pd.RangeIndex):
        return {
            "kind": "range",
            "start": columns.start,
            "stop": columns.stop,
            "step": columns.step,
            "name": name,
        }
    dtype = columns.dtype
    if dtype == DEFAULT_STR:
        label_dtype = "str"
    else:
        label_dtype = dtype.name if isinstance(dtype, np.dtype) else str(dtype)
    spec = {"kind": "labels", "dtype": label_dtype, "name": name}
    if label_dtype not in LABEL_DTYPES:
        raise SerializationError(
            f"column labels of dtype {dtype} cannot be stored; use str or int labels"
        )
    # The labels travel in the per-column entries; rebuilding them here proves
    # that reading gives back the same labels, of the same types.
    labels = [
        label_to_json(label, f"column label {label!r}", nan_as_none=True)
        for label in columns.tolist()
    ]
    rebuilt = column_index_from_spec(spec, labels)
    if not (rebuilt.equals(columns) and rebuilt.dtype == dtype) or (
        label_dtype == "object" and list(map(type, rebuilt)) != list(map(type, columns))
    ):
        raise SerializationError(f"column labels {list(columns)!r} cannot be stored exactly")
    return spec


def label_to_json(label: Any, where: str, *, nan_as_none: bool = False) -> Any:
    """A column label or index name as a JSON value that loads back equal."""
    if isinstance(label, np.generic) and not isinstance(label, np.str_):
        label = label.item()
    if type(label) in LABEL_TYPES:
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
