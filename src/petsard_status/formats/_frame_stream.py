"""Frames straight to and from a file, batch by batch, hashed as the bytes pass.

:func:`write_frame` writes exactly the bytes :func:`encode_frame` returns, but
into an open binary file as each record batch is encoded, and returns their
content hash (the same :func:`hash_bytes` gives for those bytes) and size; no
copy of the whole encoded frame is ever held in memory.  :func:`read_frame`
reads such a file one record batch at a time into the frame's final blocks,
hashing what it reads, and refuses the frame if the hash is not the one
expected, so a damaged or edited file is an error, not a different frame.
Both hash in a second thread, beside Arrow's (de)compression.
"""

from __future__ import annotations

import hashlib
import threading
from collections import deque
from typing import Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from petsard_status.errors import CorruptDataError, PetsardStatusError
from petsard_status.formats._frame_batches import read_batches
from petsard_status.formats._frames import (
    END_OF_STREAM,
    Compression,
    build_one,
    check_batch,
    plan_for,
    prepare_frame,
)

__all__ = ["read_frame", "write_frame"]

# Arrow arrays read from a Python file may be views of the bytes read; a
# frame must own its memory, so every string column is copied out of them.
_EVERYWHERE = (0, 2**64 - 1)
# Room for a batch or two: 131,072 rows of 20 columns are about 10 MB compressed,
# 20 MB not, and the bytes waiting are held beside the frame.
_PENDING_BYTES = 32 << 20


class _Digest:
    """BLAKE2b of the bytes handed to it, computed in a thread of its own.

    hashlib releases the GIL on large buffers, so one batch's bytes are hashed
    while Arrow (de)compresses the next.  What waits for the hash is bounded
    (:data:`_PENDING_BYTES`): the chunks are the stream's own bytes, kept alive
    until they are hashed.
    """

    def __init__(self) -> None:
        self._hash = hashlib.blake2b(digest_size=16)
        self._chunks: deque[tuple[Any, int]] = deque()
        self._pending = 0  # bytes queued or being hashed
        self._ended = False
        self._error: BaseException | None = None
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="frame-hash", daemon=True)
        self._thread.start()

    def update(self, data: Any) -> None:
        size = memoryview(data).nbytes
        with self._changed:
            # One chunk is always let in, however large, or a big buffer would wait forever.
            self._changed.wait_for(
                lambda: not self._pending or self._pending + size <= _PENDING_BYTES)
            self._chunks.append((data, size))
            self._pending += size
            self._changed.notify_all()

    def close(self) -> None:
        """Hash what is queued and end the thread (called however the stream ends)."""
        with self._changed:
            self._ended = True
            self._changed.notify_all()
        self._thread.join()

    def hexdigest(self) -> str:
        """The hash of everything given; nothing may be given after it."""
        self.close()
        if self._error is not None:
            raise self._error
        return self._hash.hexdigest()

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._chunks or self._ended)
                if not self._chunks:
                    return
                data, size = self._chunks.popleft()
            # A failed update must not stop the draining: the producer would block.
            if self._error is None:
                try:
                    self._hash.update(data)
                except BaseException as exc:
                    self._error = exc
            del data  # not kept alive while the thread waits for the next chunk
            with self._changed:
                self._pending -= size
                self._changed.notify_all()


class _Hashing:
    """A file wrapper that hashes every byte written to or read from it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.digest = _Digest()
        self.size = 0
        self.closed = False

    def write(self, data: Any) -> int:
        # Arrow hands over bytes or a Buffer owning its memory: the queue's
        # reference keeps it valid until it is hashed.
        view = memoryview(data)
        self.raw.write(view)
        self.digest.update(data)
        self.size += view.nbytes
        return view.nbytes

    def read(self, n: int = -1) -> bytes:
        data = self.raw.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data

    def tell(self) -> int:
        return self.size

    def flush(self) -> None:
        self.raw.flush()

    def close(self) -> None:
        self.closed = True

    def writable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False


def write_frame(df: pd.DataFrame, file: BinaryIO, *,
                compression: Compression = None) -> tuple[str, int]:
    """Write ``encode_frame(df, compression=...)``'s bytes to ``file``; their hash and size.

    Raises:
        SerializationError: as :func:`encode_frame`, before anything is written.
    """
    batch, options, write = prepare_frame(df, compression)
    sink = _Hashing(file)
    try:
        write(pa.PythonFile(sink, mode="w"), batch, options)
    finally:
        sink.digest.close()
    return sink.digest.hexdigest(), sink.size


def read_frame(file: BinaryIO, *, digest: str | None = None) -> pd.DataFrame:
    """Read a frame that :func:`write_frame` (or ``encode_frame``) wrote to ``file``.

    Raises:
        CorruptDataError: the bytes are not a frame, or their hash is not ``digest``;
            no other exception escapes for any content.
    """
    source = _Hashing(file)
    try:
        frame = _read(source)
        if source.read() != b"":
            raise CorruptDataError("frame file has bytes after its end-of-stream marker")
    except PetsardStatusError:
        raise
    except Exception as exc:
        # As in decode_frame: whatever a damaged file trips is corrupt stored data.
        raise CorruptDataError(
            f"frame file is corrupt or not a frame: {type(exc).__name__}: {exc}"
        ) from exc
    finally:
        source.digest.close()
    found = source.digest.hexdigest()
    if digest is not None and found != digest:
        raise CorruptDataError(
            f"the frame file does not match its content hash {digest} (it holds "
            f"{found}); it is damaged or was edited outside petsard-status"
        )
    return frame


def _read(source: _Hashing) -> pd.DataFrame:
    try:
        reader = ipc.open_stream(pa.PythonFile(source, mode="r"))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CorruptDataError(f"frame file is not an Arrow IPC stream: {exc}") from exc
    plan = plan_for(reader)
    plan.blob = _EVERYWHERE
    if plan.batch_rows is not None:
        frame = read_batches(reader, plan, check_batch)
    else:
        try:
            batch = reader.read_next_batch()
        except StopIteration:
            raise CorruptDataError("frame file holds no record batch") from None
        frame = build_one(plan, batch)
    if source.read(len(END_OF_STREAM)) != END_OF_STREAM:
        raise CorruptDataError(
            "frame file does not end right after its record batches (it is truncated or "
            "holds more record batches than its rows need)"
        )
    return frame
