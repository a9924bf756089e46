"""Data-only codec for result DataFrames.

A frame is stored as one Arrow IPC stream holding a single record batch
(version 1) or, for a frame of more than 131,072 rows with a RangeIndex,
record batches of ``batch_rows`` rows each (version 2, see
``_frame_batches``; version 1 is still read, and still written for every
other frame, so their bytes and hashes do not change). The
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

    version 2 adds "batch_rows": <int >= 1> and requires a "range" index.

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

This module holds the two public functions and the checks on a stream as a
whole (its schema, its single batch, its end marker, its strings); the dtype
allow-list and manifest validation are in ``_frame_manifest``, the column
codecs in ``_frame_encode`` and ``_frame_decode``.
"""

from __future__ import annotations

import codecs
import io
import json
from collections.abc import Callable, Sequence
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from petsard_status.errors import CorruptDataError, PetsardStatusError, SerializationError
from petsard_status.formats._common import check_envelope, strict_loads
from petsard_status.formats._frame_batches import (
    BATCH_ROWS,
    batched,
    read_batches,
    write_batches,
)
from petsard_status.formats._frame_decode import Plan
from petsard_status.formats._frame_encode import (
    Memo,
    encode_column_labels,
    encode_columns,
    encode_index,
)
from petsard_status.formats._frame_manifest import CATEGORY

__all__ = [
    "FRAME_FORMAT",
    "FRAME_VERSION",
    "Compression",
    "decode_frame",
    "encode_frame",
    "frame_cells",
]

FRAME_FORMAT: Final = "petsard-status/frame"
FRAME_VERSION: Final = 1
FRAME_VERSION_BATCHED: Final = 2
MANIFEST_KEY: Final = b"petsard-status/frame"

Compression = Literal["lz4", "zstd"] | None
Writer = Callable[[Any, pa.RecordBatch, ipc.IpcWriteOptions], None]

_UTF8_SLICE: Final = 1 << 24
END_OF_STREAM: Final = b"\xff\xff\xff\xff\x00\x00\x00\x00"


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
    batch, options, write = prepare_frame(df, compression)
    if compression is not None or write is write_batches:
        # Large or compressed: a BytesIO grows in place and hands over its
        # buffer without a copy, where an Arrow buffer would be copied into
        # a bytes object at the end (a second full copy of the blob).
        sink = io.BytesIO()
        write(pa.PythonFile(sink, mode="w"), batch, options)
        return sink.getvalue()
    # Small and uncompressed: Arrow's own buffer stream takes the stream without
    # a Python call per buffer; one copy turns it into bytes.
    sink = pa.BufferOutputStream()
    write(sink, batch, options)
    return sink.getvalue().to_pybytes()


def prepare_frame(
    df: pd.DataFrame, compression: Compression
) -> tuple[pa.RecordBatch, ipc.IpcWriteOptions, Writer]:
    """The frame as one Arrow record batch with its manifest, and how to write it."""
    if not isinstance(df, pd.DataFrame):
        raise SerializationError(f"expected a pandas DataFrame, got {type(df).__name__}")
    if compression not in (None, "lz4", "zstd"):
        raise SerializationError(f"unknown compression {compression!r}; use None, 'lz4' or 'zstd'")
    if df.attrs:
        raise SerializationError(
            "DataFrame.attrs is not stored; clear it (df.attrs = {}) before storing the frame"
        )

    column_index, names = encode_column_labels(df.columns)
    arrays: list[pa.Array] = []
    field_names: list[str] = []
    columns: list[dict[str, Any]] = []
    dictionary_widths: list[int] = []
    for pos, (spec, encoded) in enumerate(encode_columns(df, names)):
        columns.append({"name": names[pos], **spec})
        arrays.extend(encoded)
        field_names.append(f"c{pos}")
        if len(encoded) == 2:
            field_names.append(field_names[-1] + ".nulls")
        if spec["dtype"] == CATEGORY:
            dictionary_widths.append(encoded[0].type.index_type.bit_width)

    index_fields: list[pa.Field] = []
    index_arrays: list[pa.Array] = []
    index_spec = encode_index(df.index, index_fields, index_arrays)
    several = batched(df)
    manifest = {
        "format": FRAME_FORMAT,
        "version": FRAME_VERSION_BATCHED if several else FRAME_VERSION,
        **({"batch_rows": BATCH_ROWS} if several else {}),
        "rows": len(df),
        "columns": columns,
        "column_index": column_index,
        "index": index_spec,
        "flags": {"allows_duplicate_labels": bool(df.flags.allows_duplicate_labels)},
    }
    text = json.dumps(manifest, sort_keys=True, separators=(",", ":"), allow_nan=False)
    schema = _schema(text, arrays, field_names, dictionary_widths, index_fields)
    batch = pa.RecordBatch.from_arrays(arrays + index_arrays, schema=schema)
    options = ipc.IpcWriteOptions(compression=compression)
    return batch, options, write_batches if several else _write_stream


_schemas = Memo(64)
# Manifests longer than this (frames of thousands of columns) are not kept.
_MEMO_MANIFEST_CHARS: Final = 1 << 16


def _schema(text: str, arrays: list[pa.Array], names: list[str], dictionary_widths: list[int],
            index_fields: list[pa.Field]) -> pa.Schema:
    """The batch's schema, remembered: the manifest decides every Arrow type of the
    columns but the width of a category's codes, so those widths join the key."""
    key = (text, tuple(dictionary_widths), tuple(index_fields))
    schema = _schemas.get(key)
    if schema is None:
        fields = [pa.field(name, array.type) for name, array in zip(names, arrays, strict=True)]
        schema = pa.schema(fields + index_fields, metadata={MANIFEST_KEY: text.encode("ascii")})
        if len(text) <= _MEMO_MANIFEST_CHARS:
            _schemas.put(key, schema)
    return schema


def _write_stream(sink: Any, batch: pa.RecordBatch, options: ipc.IpcWriteOptions) -> None:
    with ipc.new_stream(sink, batch.schema, options=options) as writer:
        writer.write_batch(batch)


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
    blob = pa.py_buffer(data)
    source = pa.BufferReader(blob)
    try:
        reader = ipc.open_stream(source)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptDataError(f"frame blob is not an Arrow IPC stream: {exc}") from exc
    plan = plan_for(reader)
    plan.blob = (blob.address, blob.address + blob.size)
    if plan.batch_rows is not None:
        frame = read_batches(reader, plan, check_batch)
        _check_end(data, source, "more record batches than its rows need")
        return frame
    try:
        batch = reader.read_next_batch()
    except StopIteration:
        raise CorruptDataError("frame blob holds no record batch") from None
    _check_end(data, source)
    return build_one(plan, batch)


def plan_for(reader: ipc.RecordBatchStreamReader) -> Plan:
    """The decoding plan of a stream whose schema matches its manifest."""
    plan = Plan.from_manifest(_read_manifest(reader.schema))
    expected = plan.expected_schema()
    schema = reader.schema
    if schema.names != [f.name for f in expected] or not all(
        _type_matches(got.type, want.type) for got, want in zip(schema, expected)
    ):
        raise CorruptDataError(
            "frame blob's Arrow fields do not match its manifest: expected "
            f"{_describe_schema(expected)}, found {_describe_schema(schema)}"
        )
    return plan


def build_one(plan: Plan, batch: pa.RecordBatch) -> pd.DataFrame:
    """A version 1 frame from its one record batch."""
    if batch.num_columns and batch.num_rows != plan.rows:
        raise CorruptDataError(
            f"frame blob holds {batch.num_rows} rows but its manifest says {plan.rows}"
        )
    check_batch(batch)
    return plan.build(batch)


def _check_end(data: bytes | bytearray | memoryview, source: pa.BufferReader,
               batches: str = "more than one record batch") -> None:
    # Exactly the end-of-stream marker must follow the last batch: anything
    # else is one batch too many, trailing bytes, or a blob cut short (a
    # stream without its marker would otherwise read as complete).
    if bytes(memoryview(data)[source.tell() :]) != END_OF_STREAM:
        raise CorruptDataError(
            f"frame blob does not end right after its record batch (it is truncated, holds "
            f"{batches}, or has trailing bytes)"
        )


def check_batch(batch: pa.RecordBatch) -> None:
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
    view = memoryview(data)  # type: ignore[arg-type]  # numpy arrays are buffers
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
    manifest = strict_loads(raw, what="frame manifest", error=CorruptDataError)
    check_envelope(manifest, fmt=FRAME_FORMAT, versions={FRAME_VERSION, FRAME_VERSION_BATCHED},
                   what="frame manifest", error=CorruptDataError)
    return manifest


def frame_cells(data: bytes | bytearray | memoryview) -> int:
    """Rows times columns of a frame blob, read from its manifest alone (nothing decoded).

    Raises:
        CorruptDataError: ``data`` does not start like a frame blob.
    """
    try:
        schema = ipc.open_stream(pa.BufferReader(pa.py_buffer(data))).schema
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptDataError(f"frame blob is not an Arrow IPC stream: {exc}") from exc
    manifest = _read_manifest(schema)
    rows, columns = manifest.get("rows"), manifest.get("columns")
    if not isinstance(rows, int) or not isinstance(columns, list):
        raise CorruptDataError("frame manifest has no row count or column list")
    return rows * len(columns)
