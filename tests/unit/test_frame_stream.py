"""Frames written to and read from files batch by batch, hashed as they pass."""

from __future__ import annotations

import io
import sys
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from pandas import testing as tm

from petsard_status.errors import CorruptDataError, SerializationError
from petsard_status.formats import (
    decode_frame,
    encode_frame,
    hash_bytes,
    read_frame,
    write_frame,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "data"))

import frames_v1  # deterministic frames shared with the version 1 fixtures


def _long() -> pd.DataFrame:
    n = 200_000
    return pd.DataFrame({"i": np.arange(n), "s": pd.Series([f"v{i % 97}" for i in range(n)],
                                                           dtype="str"),
                         "c": pd.Categorical(np.arange(n) % 3)})


FRAMES = {"mixed": frames_v1.mixed, "indexed": frames_v1.indexed, "long": _long}


@pytest.mark.parametrize("name", FRAMES)
@pytest.mark.parametrize("compression", [None, "zstd"])
def test_written_files_hold_encode_frames_bytes(tmp_path: Path, name: str,
                                                compression: str | None) -> None:
    df = FRAMES[name]()
    path = tmp_path / "frame.arrows"
    with path.open("wb") as handle:
        digest, size = write_frame(df, handle, compression=compression)  # type: ignore[arg-type]
    expected = encode_frame(df, compression=compression)  # type: ignore[arg-type]
    assert path.read_bytes() == expected
    assert (digest, size) == (hash_bytes(expected), len(expected))
    with path.open("rb") as handle:
        out = read_frame(handle, digest=digest)
    tm.assert_frame_equal(out, df, check_exact=True)


def test_a_file_that_does_not_match_its_hash_is_refused() -> None:
    blob = bytearray(encode_frame(frames_v1.mixed()))
    digest = hash_bytes(bytes(blob))
    # A changed float value: still a valid frame, but not the one stored.
    position = bytes(blob).rindex(np.float64(frames_v1.mixed()["score"].iloc[1]).tobytes())
    blob[position] ^= 0x01
    with pytest.raises(CorruptDataError, match="content hash"):
        read_frame(io.BytesIO(bytes(blob)), digest=digest)
    # Without an expected hash it decodes to the changed frame: the hash is what protects.
    changed = read_frame(io.BytesIO(bytes(blob)))["score"].iloc[1]
    assert changed != frames_v1.mixed()["score"].iloc[1]


@pytest.mark.parametrize("cut", [1, 8, 100, 5000])
def test_truncated_or_extended_files_are_corrupt_data(cut: int) -> None:
    blob = encode_frame(_long())
    with pytest.raises(CorruptDataError):
        read_frame(io.BytesIO(blob[:-cut]))
    with pytest.raises(CorruptDataError, match="after its end-of-stream"):
        read_frame(io.BytesIO(blob + b"\x00" * cut))


def test_garbage_is_corrupt_data() -> None:
    for data in (b"", b"\x00" * 64, b"PAR1" + b"\xff" * 100):
        with pytest.raises(CorruptDataError):
            read_frame(io.BytesIO(data))


def test_unstorable_frames_write_nothing() -> None:
    sink = io.BytesIO()
    with pytest.raises(SerializationError):
        write_frame(pd.DataFrame({"o": [object()]}), sink)
    assert sink.getvalue() == b""


def test_a_deferred_result_finishes_as_the_same_tree_as_one_encoded_in_memory() -> None:
    from petsard_status.formats import (
        decode_result,
        encode_result,
        finish_result,
        frame_compression,
    )

    big = pd.DataFrame({"a": np.arange(300_000), "b": np.arange(300_000) % 7 == 0})
    small = pd.DataFrame({"c": ["x", "y"]})
    value = {"big": big, "small": small, "n": 3, "series": big["a"]}
    whole = encode_result(value)
    deferred = encode_result(value, defer=lambda f: f.size > 1000)
    assert len(deferred.pending) == 2 and deferred.ref != whole.ref
    written: dict[str, bytes] = {}

    def write(frame: pd.DataFrame, compression: Any) -> tuple[str, int]:
        sink = io.BytesIO()
        digest, size = write_frame(frame, sink, compression=compression)
        written[digest] = sink.getvalue()
        return digest, size

    done = finish_result(deferred, write)
    assert done.ref == whole.ref and not done.pending
    assert set(done.files) == set(written) == {h for h, (k, _) in whole.blobs.items()
                                                if k == "frame" and h not in done.blobs}
    digest = hash_bytes(encode_frame(big, compression=frame_compression(big)))
    assert written[digest] == encode_frame(big, compression=frame_compression(big))
    back = decode_result(done.blobs[done.ref][1], None, load_frame=lambda h: read_frame(
        io.BytesIO(written[h]), digest=h) if h in written else decode_frame(done.blobs[h][1]))
    pd.testing.assert_frame_equal(back["big"], big, check_exact=True)
    pd.testing.assert_series_equal(back["series"], big["a"], check_exact=True)
    assert back["n"] == 3


def test_a_tree_with_a_pending_frame_is_never_read() -> None:
    from petsard_status.formats import decode_result, encode_result

    deferred = encode_result(pd.DataFrame({"a": range(10)}), defer=lambda f: True)
    with pytest.raises(CorruptDataError, match="unknown node 'pending'"):
        decode_result(deferred.blobs[deferred.ref][1], lambda h: b"")


def _every_kind(rows: int) -> pd.DataFrame:
    """A frame of several record batches with each kind of column the batches fill."""
    rng = np.random.default_rng(7)
    missing = rng.random(rows) < 0.05
    ints = pd.array(rng.integers(-1000, 1000, rows), dtype="Int64")
    ints[missing] = pd.NA
    maybe = pd.array(rng.random(rows) < 0.5, dtype="boolean")
    maybe[~missing & (rng.random(rows) < 0.05)] = pd.NA
    measured = pd.array(rng.normal(size=rows), dtype="Float64")
    measured[rng.random(rows) < 0.05] = pd.NA
    grade = pd.Categorical(rng.choice(["low", "mid", "high"], rows),
                           categories=["low", "mid", "high"], ordered=True)
    grade[missing] = np.nan
    when = pd.Series(pd.date_range("2020-01-01", periods=rows, freq="min",
                                    tz=ZoneInfo("Asia/Taipei")))
    when[missing] = pd.NaT
    words = pd.Series([f"w{i % 1013}" for i in range(rows)], dtype="str")
    words[missing] = None
    return pd.DataFrame({"x": rng.normal(size=rows), "ints": ints, "maybe": maybe,
                         "measured": measured, "grade": grade, "when": when, "words": words,
                         "small": rng.integers(0, 100, rows).astype(np.int32)})


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_a_frame_of_several_batches_reads_back_exactly(tmp_path: Path,
                                                       compression: str | None) -> None:
    df = _every_kind(300_001)
    path = tmp_path / "frame.arrows"
    with path.open("wb") as handle:
        digest, _ = write_frame(df, handle, compression=compression)  # type: ignore[arg-type]
    assert path.read_bytes() == encode_frame(df, compression=compression)  # type: ignore[arg-type]
    with path.open("rb") as handle:
        out = read_frame(handle, digest=digest)
    tm.assert_frame_equal(out, df, check_exact=True)
    # The columns filled slice by slice are the frame's own, writable memory.
    out.loc[0, "ints"] = 12345
    assert out["ints"].iloc[0] == 12345 and df["ints"].iloc[0] != 12345


def test_a_file_changed_in_its_last_batch_is_refused(tmp_path: Path) -> None:
    df = _every_kind(300_001)
    path = tmp_path / "frame.arrows"
    with path.open("wb") as handle:
        digest, _ = write_frame(df, handle)
    data = bytearray(path.read_bytes())
    source = pa.BufferReader(bytes(data))
    reader = ipc.open_stream(source)
    reader.read_next_batch(), reader.read_next_batch()
    last_batch = source.tell()
    # The last row's float: in the last record batch, still a valid frame once changed.
    position = bytes(data).rindex(np.float64(df["x"].iloc[-1]).tobytes())
    assert position > last_batch
    data[position] ^= 0x01
    path.write_bytes(bytes(data))
    with path.open("rb") as handle, pytest.raises(CorruptDataError, match="content hash"):
        read_frame(handle, digest=digest)
    with path.open("rb") as handle:
        assert read_frame(handle)["x"].iloc[-1] != df["x"].iloc[-1]
    assert not [t for t in threading.enumerate() if t.name == "frame-hash"]


def test_batches_that_disagree_on_a_columns_categories_are_corrupt() -> None:
    df = pd.DataFrame({"c": pd.Categorical(np.arange(300_000) % 3)})
    reader = ipc.open_stream(encode_frame(df))
    batches = list(reader)
    last = batches[-1]
    changed = pa.DictionaryArray.from_arrays(last.column(0).indices, pa.array([0, 1, 5]))
    batches[-1] = pa.RecordBatch.from_arrays([changed], schema=reader.schema)
    sink = io.BytesIO()
    with ipc.new_stream(sink, reader.schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    with pytest.raises(CorruptDataError, match="disagree"):
        read_frame(io.BytesIO(sink.getvalue()))
    assert not [t for t in threading.enumerate() if t.name == "frame-hash"]
