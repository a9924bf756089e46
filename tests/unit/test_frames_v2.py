"""Frame format versions: version 1 blobs written before version 2 existed, and
version 2 (record batches) round trips and refusals."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from pandas import testing as tm

from petsard_status.errors import CorruptDataError
from petsard_status.formats import MANIFEST_KEY, decode_frame, encode_frame

DATA = Path(__file__).resolve().parents[1] / "data"
sys.path.insert(0, str(DATA))

import frames_v1  # noqa: E402  (the fixtures' own definitions, beside their blobs)

ROWS = 300_001  # three record batches of 131,072 rows and a shorter fourth


def _manifest(blob: bytes) -> dict[str, Any]:
    return json.loads(ipc.open_stream(blob).schema.metadata[MANIFEST_KEY])


def _rewrite(blob: bytes, batches: list[pa.RecordBatch], manifest: dict | None = None) -> bytes:
    schema = ipc.open_stream(blob).schema
    if manifest is not None:
        schema = schema.with_metadata({MANIFEST_KEY: json.dumps(manifest).encode()})
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch.replace_schema_metadata(schema.metadata))
    return sink.getvalue().to_pybytes()


@pytest.mark.parametrize(("name", "compression"), frames_v1.CASES)
def test_version_1_blobs_still_decode_exactly(name: str, compression: str | None) -> None:
    blob = (DATA / "frames_v1" / frames_v1.blob_name(name, compression)).read_bytes()
    assert _manifest(blob)["version"] == 1
    expected = frames_v1.FRAMES[name]()
    out = decode_frame(blob)
    tm.assert_frame_equal(out, expected, check_exact=True)
    tm.assert_index_equal(out.columns, expected.columns, exact=True)
    for label in expected.columns:
        if expected[label].dtype == object:
            # None, NaN and NA stay told apart.
            assert list(map(type, out[label])) == list(map(type, expected[label]))


@pytest.mark.parametrize(("name", "compression"),
                         [c for c in frames_v1.CASES if c[0] != "long"])
def test_small_frames_encode_to_the_same_bytes_as_version_1(
    name: str, compression: str | None
) -> None:
    # Equal bytes mean equal hashes: a store written before deduplicates against them.
    blob = (DATA / "frames_v1" / frames_v1.blob_name(name, compression)).read_bytes()
    assert encode_frame(frames_v1.FRAMES[name](), compression=compression) == blob


@pytest.mark.parametrize(("name", "compression"), frames_v1.V2_CASES)
def test_version_2_blobs_decode_and_encode_to_the_same_bytes(
    name: str, compression: str | None
) -> None:
    blob = (DATA / "frames_v1" / frames_v1.blob_name(name, compression)).read_bytes()
    assert _manifest(blob)["version"] == 2
    expected = frames_v1.FRAMES[name]()
    tm.assert_frame_equal(decode_frame(blob), expected, check_exact=True)
    assert encode_frame(expected, compression=compression) == blob


def long_frame(rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    words = np.array([f"w{i}" for i in range(50)], dtype=object)
    amount = pd.array(rng.integers(0, 100, rows), dtype="Int64")
    amount[::9] = pd.NA
    mixed_nulls = words[rng.integers(0, 50, rows)]
    mixed_nulls[1::10] = None
    mixed_nulls[2::10] = np.nan
    when = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(rows), unit="s")
    with_nat = when.to_numpy().copy()
    with_nat[::17] = np.datetime64("NaT")
    return pd.DataFrame({
        "i": np.arange(rows, dtype=np.int64),
        "f": rng.normal(size=rows),
        "b": np.arange(rows) % 2 == 0,
        "amount": amount,
        "s": pd.Series(words[rng.integers(0, 50, rows)], dtype="str"),
        "o": pd.Series(mixed_nulls, dtype=object),
        "c": pd.Categorical(rng.choice(["x", "y", "z"], rows), categories=["z", "y", "x", "u"]),
        "t": with_nat,
        "tz": when.tz_localize("UTC").tz_convert("Asia/Taipei"),
        "d": pd.to_timedelta(np.arange(rows) % 1000, unit="ms"),
    })


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return long_frame()


@pytest.mark.parametrize("compression", [None, "zstd"])
def test_long_frames_round_trip_in_record_batches(frame: pd.DataFrame,
                                                  compression: str | None) -> None:
    blob = encode_frame(frame, compression=compression)  # type: ignore[arg-type]
    manifest = _manifest(blob)
    assert (manifest["version"], manifest["batch_rows"]) == (2, 131_072)
    assert [b.num_rows for b in ipc.open_stream(blob)] == [131_072, 131_072, 37_857]
    out = decode_frame(blob)
    tm.assert_frame_equal(out, frame, check_exact=True)
    assert list(map(type, out["o"])) == list(map(type, frame["o"]))
    assert encode_frame(out, compression=compression) == blob  # type: ignore[arg-type]
    out.iloc[0, 0] = -1  # writable, and not the blob's memory
    assert out.iloc[0, 0] == -1


def test_decoded_strings_do_not_point_into_an_uncompressed_blob(frame: pd.DataFrame) -> None:
    blob = encode_frame(frame)
    whole = pa.py_buffer(blob)
    chunks = pa.chunked_array(pa.array(decode_frame(blob)["s"].array)).chunks
    for buffer in (b for chunk in chunks for b in chunk.buffers() if b is not None):
        assert not whole.address <= buffer.address < whole.address + whole.size


def test_long_frames_with_another_index_stay_one_batch() -> None:
    df = long_frame(140_000).set_index("f")
    blob = encode_frame(df)
    assert _manifest(blob)["version"] == 1
    tm.assert_frame_equal(decode_frame(blob), df, check_exact=True)


def _batches(blob: bytes) -> list[pa.RecordBatch]:
    return list(ipc.open_stream(blob))


def test_wrong_record_batches_are_corrupt_data() -> None:
    blob = encode_frame(long_frame(140_000))
    first, second = _batches(blob)
    cases = [
        ([first], "fewer record batches"),
        ([first, second, second.slice(0, 0)], "more record batches"),
        ([first.slice(0, 100), first.slice(100), second], "holds 100 rows"),
    ]
    for batches, match in cases:
        with pytest.raises(CorruptDataError, match=match):
            decode_frame(_rewrite(blob, batches))


def test_version_2_manifests_are_checked() -> None:
    blob = encode_frame(long_frame(140_000))
    batches = _batches(blob)
    manifest = _manifest(blob)
    for edit, match in [
        ({"batch_rows": 0}, "batch_rows"),
        ({"batch_rows": "131072"}, "batch_rows"),
        ({"batch_rows": None}, "batch_rows"),
        ({"index": {"kind": "levels", "levels": [{"name": None, "dtype": "int64"}],
                    "freq": None}}, "range index|do not match"),
    ]:
        with pytest.raises(CorruptDataError, match=match):
            decode_frame(_rewrite(blob, batches, {**manifest, **edit}))
    with pytest.raises(CorruptDataError, match="more than its"):
        forged = {**manifest, "rows": 10**15, "index": {**manifest["index"], "stop": 10**15}}
        decode_frame(_rewrite(blob, batches, forged))
    without = {k: v for k, v in manifest.items() if k != "batch_rows"}
    with pytest.raises(CorruptDataError, match="version 2"):
        decode_frame(_rewrite(blob, batches, without))


def test_a_version_2_frame_with_a_shorter_batch_size_decodes() -> None:
    df = long_frame(140_000)
    blob = encode_frame(df)
    whole = pa.Table.from_batches(_batches(blob)).combine_chunks().to_batches()[0]
    batches = [whole.slice(start, 50_000) for start in range(0, 140_000, 50_000)]
    rebatched = _rewrite(blob, batches, {**_manifest(blob), "batch_rows": 50_000})
    tm.assert_frame_equal(decode_frame(rebatched), df, check_exact=True)
