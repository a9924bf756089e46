"""Version 2 frames: one Arrow IPC stream of several record batches.

A frame of more rows than :data:`BATCH_ROWS` (with a RangeIndex) is written as
record batches of ``batch_rows`` rows each (the last one shorter), sliced from
the same Arrow arrays, so that neither writing nor reading ever holds a second
full copy of the frame in Arrow form: the writer compresses one batch at a
time, and the reader decompresses one batch at a time and copies it into the
frame's final pandas blocks, preallocated from the manifest.  Its manifest is
version 1's with ``"version": 2`` and ``"batch_rows"``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from petsard_status.errors import CorruptDataError
from petsard_status.formats._frame_decode import (
    Plan,
    column_index_from_spec,
    create_dataframe_from_blocks,
)

BATCH_ROWS: Final = 1 << 17
# A record batch message is at least its 8-byte prefix and a flatbuffer header.
_MIN_BATCH_BYTES: Final = 64


def batched(df: pd.DataFrame) -> bool:
    """Whether ``df`` is written as version 2 (the rule depends on its shape alone)."""
    return len(df) > BATCH_ROWS and isinstance(df.index, pd.RangeIndex)


def write_batches(sink: Any, batch: pa.RecordBatch, options: ipc.IpcWriteOptions) -> None:
    with ipc.new_stream(sink, batch.schema, options=options) as writer:
        for start in range(0, max(batch.num_rows, 1), BATCH_ROWS):
            writer.write_batch(batch.slice(start, BATCH_ROWS))


def read_batches(reader: ipc.RecordBatchStreamReader, plan: Plan,
                 check: Callable[[pa.RecordBatch], None]) -> pd.DataFrame:
    """Build the frame batch by batch; ``check`` validates each batch before it is read."""
    if plan.index.get("kind") != "range":
        raise CorruptDataError("frame blob: a version 2 frame must have a range index")
    assert plan.batch_rows is not None
    rows, size = plan.rows, plan.batch_rows
    count = max(1, -(-rows // size))
    # Every record batch takes more than _MIN_BATCH_BYTES of the stream: a forged
    # row count is refused here, before blocks for it are allocated.
    low, high = plan.blob
    if count > (high - low) // _MIN_BATCH_BYTES + 1:
        raise CorruptDataError(
            f"frame blob: its manifest claims {rows} rows, more than its "
            f"{high - low} bytes can hold in batches of {size}"
        )
    builder = _Builder(plan)
    for number, batch in enumerate(_batches(reader, count)):
        expected = min(size, rows - number * size) if rows else 0
        if batch.num_rows != expected:
            raise CorruptDataError(
                f"frame blob: record batch {number} holds {batch.num_rows} rows, expected "
                f"{expected}"
            )
        check(batch)
        builder.add(plan.decode_columns(iter(batch.columns)), number * size)
        del batch
    return finish_blocks(plan, builder.blocks(), plan.build_index(iter(())))


def _batches(reader: ipc.RecordBatchStreamReader, count: int) -> Iterator[pa.RecordBatch]:
    for _ in range(count):
        try:
            yield reader.read_next_batch()
        except StopIteration:
            raise CorruptDataError(
                f"frame blob holds fewer record batches than its {count} rows need"
            ) from None


class _Builder:
    """The frame's columns as they fill, each allocated whole from the first batch.

    Numpy columns of one dtype share a 2D block; other pandas arrays (masked,
    categorical, zoned datetimes) are allocated all-missing and set slice by
    slice, so no column is ever held both as pieces and whole; Arrow-backed
    ones (strings) are kept as their batches' chunks, which join without a copy.
    """

    def __init__(self, plan: Plan) -> None:
        self.rows = plan.rows
        self.slots: dict[int, tuple[np.ndarray, int]] = {}
        self.groups: dict[np.dtype, list[int]] = {}
        self.arrays: dict[np.dtype, np.ndarray] = {}
        self.filled: dict[int, Any] = {}
        self.pieces: dict[int, list[Any]] = {}

    def add(self, values: list[Any], start: int) -> None:
        if not self.slots and not self.filled and not self.pieces:
            self._allocate(values)
        for pos, piece in enumerate(values):
            if pos in self.slots:
                if not isinstance(piece, np.ndarray):
                    raise CorruptDataError("frame blob: record batches disagree on a column")
                block, row = self.slots[pos]
                block[row, start : start + len(piece)] = piece
            elif pos in self.filled:
                whole = self.filled[pos]
                # A categorical's categories could change between batches (a
                # replaced dictionary); setting would then recode or refuse.
                if type(piece) is not type(whole) or piece.dtype != whole.dtype:
                    raise CorruptDataError(f"frame blob: record batches disagree on column {pos}")
                whole[start : start + len(piece)] = piece
            elif isinstance(piece, np.ndarray):
                raise CorruptDataError("frame blob: record batches disagree on a column")
            else:
                self.pieces[pos].append(piece)

    def _allocate(self, values: list[Any]) -> None:
        missing = np.full(self.rows, -1, dtype=np.intp)
        for pos, piece in enumerate(values):
            if isinstance(piece, np.ndarray):
                self.groups.setdefault(piece.dtype, []).append(pos)
            elif isinstance(piece, pd.arrays.ArrowExtensionArray):
                self.pieces[pos] = []
            else:
                self.filled[pos] = piece.take(missing, allow_fill=True)
        for dtype, positions in self.groups.items():
            block = np.empty((len(positions), self.rows), dtype=dtype)
            self.arrays[dtype] = block
            for row, pos in enumerate(positions):
                self.slots[pos] = (block, row)

    def blocks(self) -> list[tuple[Any, np.ndarray]]:
        out: list[tuple[Any, np.ndarray]] = [
            (self.arrays[dtype], np.array(positions, dtype=np.intp))
            for dtype, positions in self.groups.items()
        ]
        out += [(whole, np.array([pos], dtype=np.intp)) for pos, whole in self.filled.items()]
        for pos, pieces in self.pieces.items():
            first = pieces[0]
            if any(p.dtype != first.dtype for p in pieces):
                raise CorruptDataError(f"frame blob: record batches disagree on column {pos}")
            whole = type(first)._concat_same_type(pieces) if len(pieces) > 1 else first
            pieces.clear()
            out.append((whole, np.array([pos], dtype=np.intp)))
        return out


def finish_blocks(plan: Plan, blocks: list[tuple[Any, np.ndarray]], index: pd.Index
                  ) -> pd.DataFrame:
    if len(index) != plan.rows:
        raise CorruptDataError(
            f"frame blob: index has {len(index)} entries, manifest says {plan.rows}")
    columns = column_index_from_spec(plan.column_index, [name for name, _ in plan.columns])
    frame = create_dataframe_from_blocks(blocks, index=index, columns=columns)
    if not plan.allows_duplicate_labels:
        frame = frame.set_flags(allows_duplicate_labels=False)
    return frame
