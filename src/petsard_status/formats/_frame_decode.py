"""Arrow arrays + a validated manifest -> DataFrame: the work of ``decode_frame``.

The manifest is first turned into a :class:`Plan` (every descriptor checked
against the allow-list, the index and column labels checked for shape), so
the Arrow schema can be compared with what the plan expects before any
buffer is read.  Columns are then rebuilt from the Arrow buffers alone and
assembled block by block, so pandas never infers a dtype the manifest did
not name.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa

from petsard_status.errors import CorruptDataError
from petsard_status.formats._frame_manifest import (
    CATEGORY,
    DEFAULT_STR,
    INT_NAT,
    MASKED,
    NULL_VALUE,
    NUMPY,
    OBJECT_STR,
    STRING_DTYPES,
    STRINGS,
    TEMPORAL_RE,
    Kind,
    check_column_index,
    check_freq,
    check_range,
    expect_bool,
    expect_int,
    expect_keys,
    expect_label,
    expect_list,
    kind_from_slot,
    labels_kind,
    tz_from_descriptor,
)

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


def column_index_from_spec(spec: dict[str, Any], labels: list[Any]) -> pd.Index:
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
        return pd.Index(labels, dtype=DEFAULT_STR, name=spec["name"])
    allowed = {"b": (bool,), "f": (int, float)}.get(np.dtype(dtype).kind, (int,))
    if any(type(label) not in allowed for label in labels):
        raise CorruptDataError(f"frame manifest: {dtype} column labels hold another type")
    return pd.Index(np.array(labels, dtype=dtype), dtype=dtype, name=spec["name"])


# -- the decoding plan


@dataclass
class Plan:
    rows: int
    columns: list[tuple[Any, Kind]]
    column_index: dict[str, Any]
    index: dict[str, Any]
    index_kinds: list[tuple[Any, Kind]]
    freqs: list[Any]
    allows_duplicate_labels: bool
    batch_rows: int | None = None  # version 2: rows per record batch
    # Where the blob lies in memory: Arrow arrays read from an uncompressed
    # stream are views of it, and a frame must not keep the blob alive.
    blob: tuple[int, int] = (0, 0)

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any]) -> Plan:
        keys = {"format", "version", "rows", "columns", "column_index", "index", "flags"}
        batched = manifest.get("version") == 2
        if batched:
            expect_keys(manifest, keys | {"batch_rows"}, "top level (version 2)")
        else:
            expect_keys(manifest, keys, "top level")
        rows = expect_int(manifest["rows"], "rows", 0)
        batch_rows = expect_int(manifest["batch_rows"], "batch_rows", 1) if batched else None
        columns = [
            kind_from_slot(slot, f"column {pos}")
            for pos, slot in enumerate(expect_list(manifest["columns"], "columns"))
        ]
        column_index = check_column_index(manifest["column_index"])
        index = manifest["index"]
        if not isinstance(index, dict):
            raise CorruptDataError("frame manifest: index is not an object")
        index_kinds: list[tuple[Any, Kind]] = []
        freqs: list[Any] = []
        kind = index.get("kind")
        if kind == "range":
            check_range(index, "index")
            if len(range(index["start"], index["stop"], index["step"])) != rows:
                raise CorruptDataError("frame manifest: range index length differs from rows")
        elif kind == "levels":
            expect_keys(index, {"kind", "levels", "freq"}, "index")
            levels = expect_list(index["levels"], "index levels")
            if len(levels) != 1:
                raise CorruptDataError("frame manifest: a flat index must have one level")
            index_kinds.append(kind_from_slot(levels[0], "index"))
            freqs.append(check_freq(index["freq"], index_kinds[0][1], "index"))
        elif kind == "multi":
            expect_keys(index, {"kind", "levels"}, "index")
            levels = expect_list(index["levels"], "index levels")
            if len(levels) < 2:
                raise CorruptDataError("frame manifest: a MultiIndex needs at least two levels")
            for pos, level in enumerate(levels):
                where = f"index level {pos}"
                expect_keys(level, {"name", "values", "freq"}, where)
                values = labels_kind(level["values"], where)
                freqs.append(check_freq(level["freq"], values, where))
                arrow_type = pa.dictionary(pa.int64(), values.arrow_type)
                index_kinds.append(
                    (
                        expect_label(level["name"], where + " name"),
                        Kind("level", arrow_type, True, categories=values),
                    )
                )
        else:
            raise CorruptDataError(f"frame manifest: index kind {kind!r} is unknown")
        flags = expect_keys(manifest["flags"], {"allows_duplicate_labels"}, "flags")
        return cls(
            rows=rows,
            columns=columns,
            column_index=column_index,
            index=index,
            index_kinds=index_kinds,
            freqs=freqs,
            allows_duplicate_labels=expect_bool(
                flags["allows_duplicate_labels"], "allows_duplicate_labels"
            ),
            batch_rows=batch_rows,
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
        values = self.decode_columns(fields)
        return self.finish(values, self.build_index(fields))

    def decode_columns(self, fields: Any) -> list[Any]:
        """Each column's pandas values, taking its Arrow field(s) from ``fields`` in order."""
        values = []
        for pos, (_, kind) in enumerate(self.columns):
            array = next(fields)
            companion = next(fields) if kind.companion else None
            if kind.descriptor in STRINGS and STRINGS[kind.descriptor][0] == "pyarrow" and not (
                _views(array, self.blob)
            ):
                # Buffers the reader decompressed belong to no one else: no copy needed.
                values.append(STRING_DTYPES[kind.descriptor].__from_arrow__(array))  # type: ignore[union-attr]
            else:
                values.append(_decode_slot(array, companion, kind, f"column {pos}"))
        return values

    def finish(self, values: list[Any], index: pd.Index) -> pd.DataFrame:
        columns = column_index_from_spec(self.column_index, [name for name, _ in self.columns])
        frame = _assemble(values, index, columns, self.rows)
        if not self.allows_duplicate_labels:
            frame = frame.set_flags(allows_duplicate_labels=False)
        return frame

    def build_index(self, fields: Any) -> pd.Index:
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


# -- Arrow array -> pandas array


def _views(array: pa.Array, blob: tuple[int, int]) -> bool:
    """Whether any of ``array``'s buffers lies inside the blob's memory."""
    low, high = blob
    return any(
        buffer is not None and buffer.size and low <= buffer.address < high
        for buffer in array.buffers()
    )


def _decode_slot(array: pa.Array, companion: pa.Array | None, kind: Kind, where: str) -> Any:
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


def _decode_numpy(array: pa.Array, companion: Any, kind: Kind) -> np.ndarray:
    if kind.descriptor == "bool":
        return np.array(array, dtype=bool)
    return _primitive(array, np.dtype(kind.descriptor))


def _decode_masked(array: pa.Array, companion: Any, kind: Kind) -> Any:
    numpy_name = MASKED[kind.descriptor][0]
    missing = _missing(array)
    if numpy_name == "bool":
        data = np.array(array.fill_null(False), dtype=bool)
        return pd.arrays.BooleanArray(data, missing, copy=False)
    data = _primitive(array, np.dtype(numpy_name)).copy()
    if kind.descriptor.startswith("Float"):
        return pd.arrays.FloatingArray(data, missing, copy=False)
    return pd.arrays.IntegerArray(data, missing, copy=False)


def _decode_string(array: pa.Array, companion: Any, kind: Kind) -> Any:
    if STRINGS[kind.descriptor][0] == "pyarrow":
        # A copy, so that the frame does not keep the whole blob alive.
        array = pa.concat_arrays([array])
    # Never None here: _kind_from_descriptor refuses flavours this pandas lacks.
    return STRING_DTYPES[kind.descriptor].__from_arrow__(array)  # type: ignore[union-attr]


def _decode_object_str(array: pa.Array, companion: pa.Array | None, kind: Kind) -> np.ndarray:
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
        for code, marker in NULL_VALUE.items():
            values[missing & (codes == code)] = marker
    elif kind.nulls != "none":
        values[missing] = np.nan if kind.nulls == "nan" else pd.NA
    return values


def _decode_temporal(array: pa.Array, companion: Any, kind: Kind) -> Any:
    family, unit, tz = TEMPORAL_RE.fullmatch(kind.descriptor).groups()  # type: ignore[union-attr]
    i8 = _primitive(array, np.dtype(np.int64))
    if array.null_count:
        i8 = np.where(_missing(array), INT_NAT, i8)
    code = "M8" if family == "datetime64" else "m8"
    values = i8.view(f"{code}[{unit}]")
    if tz is None:
        return values
    # Stored values are UTC instants; localising to UTC is exact and also
    # gives a writable copy, after which converting only swaps the zone.
    return pd.DatetimeIndex(values).tz_localize("UTC").tz_convert(tz_from_descriptor(tz)).array


def _codes(array: pa.DictionaryArray) -> np.ndarray:
    indices = array.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    return np.array(indices, dtype=np.int64)


def _decode_category(array: pa.DictionaryArray, companion: Any, kind: Kind) -> Any:
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


_DECODERS: Final[dict[str, Callable[[pa.Array, Any, Kind], Any]]] = {
    **dict.fromkeys(NUMPY, _decode_numpy),
    **dict.fromkeys(MASKED, _decode_masked),
    **dict.fromkeys(STRINGS, _decode_string),
    OBJECT_STR: _decode_object_str,
    CATEGORY: _decode_category,
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
