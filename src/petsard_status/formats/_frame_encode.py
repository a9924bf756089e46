"""DataFrame -> Arrow arrays and manifest entries: the work of ``encode_frame``.

Every column, index level and label is checked against what decoding can
rebuild exactly; anything else is refused with a SerializationError that names
the column and its dtype, instead of being stored in a lossy form.  Where pandas
may hold equal data in different buffers (slices, chunks, values under a mask),
the arrays are normalised so that equal frames give equal bytes.
"""

from __future__ import annotations

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


def frame_columns(df: pd.DataFrame) -> Any:
    """(label, values, dtype) of each column, without building a Series per column.

    Building the Series costs more than encoding a short column; the block
    manager hands out the same values directly.
    """
    iget_values = getattr(getattr(df, "_mgr", None), "iget_values", None)
    if iget_values is None:  # pragma: no cover - a pandas without the accessor
        for label, column in df.items():
            yield label, column.array, column.dtype
        return
    # Iterating an Index boxes one label at a time (slow for Arrow-backed
    # labels); tolist() converts them all at once, to the same Python values.
    for pos, (label, dtype) in enumerate(zip(df.columns.tolist(), df.dtypes, strict=True)):
        yield label, iget_values(pos), dtype


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
            prefix = "datetime64" if dtype.kind == "M" else "timedelta64"
            if unit in UNITS:
                array = _temporal_to_arrow(np.asarray(values).view("i8"), dtype.kind, unit, None)
                return {"dtype": f"{prefix}[{unit}]"}, [array]
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
    if kind == "m":
        return array.view(pa.duration(unit))
    return array.view(pa.timestamp(unit, tz=arrow_tz(tz)))


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


def encode_column_index(columns: pd.Index) -> dict[str, Any]:
    if isinstance(columns, pd.MultiIndex):
        raise SerializationError(
            "column labels are a MultiIndex, which cannot be stored; flatten them first"
        )
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
