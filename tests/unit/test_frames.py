"""The frame codec: exact round trips, stable bytes, and hostile input.

Round trips are checked more strictly than ``assert_frame_equal`` alone: index
and column classes exactly (a RangeIndex stays a RangeIndex with its start,
stop and step), categories with their own dtype, the missing-value marker of
every object cell (None, NaN and pd.NA are told apart), time zones by name,
and that the decoded frame is writable.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import os
import subprocess
import sys
import zoneinfo
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import pandas as hpd
from pandas import testing as tm

from petsard_status.errors import CorruptDataError, PetsardStatusError, SerializationError
from petsard_status.formats import (
    FRAME_FORMAT,
    FRAME_VERSION,
    MANIFEST_KEY,
    decode_frame,
    encode_frame,
)
from petsard_status.formats import _frames as frames

ADULT_CSV = Path(__file__).resolve().parents[2] / "examples" / "data" / "adult-income.csv"
TAIPEI = zoneinfo.ZoneInfo("Asia/Taipei")


# Feature checks, so that this file also runs under pandas 2.2 and 2.3.
def _has_python_str_with_nan() -> bool:
    try:
        pd.StringDtype("python", na_value=np.nan)
    except TypeError:
        return False
    return True


needs_python_str_with_nan = pytest.mark.skipif(
    not _has_python_str_with_nan(),
    reason="StringDtype('python', na_value=nan) does not exist before pandas 2.3",
)
needs_str_alias_as_string_dtype = pytest.mark.skipif(
    not isinstance(pd.Index(["a"], dtype="str").dtype, pd.StringDtype),
    reason="before pandas 3 the 'str' alias gives object labels, and NaN among object "
    "labels cannot be stored exactly",
)
needs_zone_names_as_zoneinfo = pytest.mark.skipif(
    not isinstance(pd.Timestamp(0, tz="Asia/Taipei").tz, zoneinfo.ZoneInfo),
    reason="before pandas 3 zone names give pytz zones, which the codec refuses",
)


# ------------------------------------------------------------------------- helpers


def assert_same_index(got: pd.Index, want: pd.Index) -> None:
    tm.assert_index_equal(got, want, exact=True, check_exact=True, check_categorical=True)
    assert got.names == want.names
    assert [type(n) for n in got.names] == [type(n) for n in want.names]
    if isinstance(want, pd.RangeIndex):
        assert (got.start, got.stop, got.step) == (want.start, want.stop, want.step)
    if isinstance(want, pd.MultiIndex):
        for got_level, want_level in zip(got.levels, want.levels):
            tm.assert_index_equal(got_level, want_level, exact=True)
        for got_codes, want_codes in zip(got.codes, want.codes):
            np.testing.assert_array_equal(got_codes, want_codes)
    if isinstance(want, pd.DatetimeIndex | pd.TimedeltaIndex):
        assert got.freq == want.freq
    if want.dtype == object:
        assert list(map(type, got)) == list(map(type, want))


def assert_same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert type(got) is pd.DataFrame
    tm.assert_frame_equal(
        got,
        want,
        check_exact=True,
        check_index_type=True,
        check_column_type=True,
        check_flags=True,
        check_freq=True,
    )
    assert_same_index(got.index, want.index)
    assert_same_index(got.columns, want.columns)
    for pos in range(want.shape[1]):
        g, w = got.iloc[:, pos], want.iloc[:, pos]
        assert g.dtype == w.dtype
        if w.dtype == object:
            assert list(map(type, g)) == list(map(type, w)), f"column {pos}"
        if isinstance(w.dtype, pd.CategoricalDtype):
            tm.assert_index_equal(g.cat.categories, w.cat.categories, exact=True)
            assert g.cat.ordered == w.cat.ordered
        if isinstance(w.dtype, pd.DatetimeTZDtype):
            assert str(g.dtype.tz) == str(w.dtype.tz)


def round_trip(df: pd.DataFrame) -> pd.DataFrame:
    out = decode_frame(encode_frame(df))
    assert_same(out, df)
    return out


def read_blob(blob: bytes) -> tuple[pa.Schema, list[pa.RecordBatch]]:
    reader = ipc.open_stream(blob)
    return reader.schema, list(reader)


def write_blob(schema: pa.Schema, batches: list[pa.RecordBatch]) -> bytes:
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, schema) as writer:
        for batch in batches:
            writer.write_batch(batch.replace_schema_metadata(schema.metadata))
    return sink.getvalue().to_pybytes()


def manifest_of(blob: bytes) -> dict[str, Any]:
    schema, _ = read_blob(blob)
    return json.loads(schema.metadata[MANIFEST_KEY])


def with_manifest(blob: bytes, manifest: Any) -> bytes:
    """The same Arrow data under another manifest (a dict, or raw bytes)."""
    schema, batches = read_blob(blob)
    raw = manifest if isinstance(manifest, bytes) else json.dumps(manifest).encode()
    return write_blob(schema.with_metadata({MANIFEST_KEY: raw}), batches)


def with_batch(blob: bytes, arrays: list[pa.Array]) -> bytes:
    """The same manifest over other Arrow arrays (of the same field names)."""
    schema, _ = read_blob(blob)
    fields = [pa.field(f.name, a.type) for f, a in zip(schema, arrays)]
    new_schema = pa.schema(fields, metadata=schema.metadata)
    return write_blob(new_schema, [pa.RecordBatch.from_arrays(arrays, schema=new_schema)])


def decode_or_package_error(data: Any) -> pd.DataFrame | None:
    try:
        return decode_frame(data)
    except PetsardStatusError:
        return None


# ------------------------------------------------------------------- round trips

N = 7


def _frame(**columns: Any) -> pd.DataFrame:
    return pd.DataFrame(columns)


def _int_extremes(dtype: str) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.array([info.min, info.max, 0, 1, info.min + 1, info.max - 1, 7], dtype=dtype)


CASES: dict[str, Callable[[], pd.DataFrame]] = {
    # integers, floats, booleans
    **{
        f"numpy-{dtype}": (lambda d=dtype: _frame(x=_int_extremes(d)))
        for dtype in ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64")
    },
    "nullable-Int64": lambda: _frame(
        x=pd.array([1, None, -(2**63), 2**63 - 1, None, 0, 5], dtype="Int64")
    ),
    "nullable-Int32": lambda: _frame(x=pd.array([1, None, 3, None, None, 6, 7], dtype="Int32")),
    "nullable-other": lambda: _frame(
        i8=pd.array([1, None, -128, 127, None, 0, 5], dtype="Int8"),
        i16=pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int16"),
        u8=pd.array([1, None, 255, 4, 5, 6, 7], dtype="UInt8"),
        u64=pd.array([1, None, 2**64 - 1, 4, 5, 6, 7], dtype="UInt64"),
        f32=pd.array([1.5, None, 3.0, -0.0, 5, 6, 7], dtype="Float32"),
        f64=pd.array([1.5, None, np.inf, -np.inf, 5, 6, 7], dtype="Float64"),
    ),
    "nullable-all-missing": lambda: _frame(x=pd.array([None] * N, dtype="Int64")),
    "float": lambda: _frame(
        f64=np.array([1.5, np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.7976931348623157e308]),
        f32=np.array([1.5, np.nan, np.inf, -np.inf, -0.0, 1e-45, 3.4e38], dtype="float32"),
        f16=np.array([1.5, np.nan, np.inf, -np.inf, -0.0, 6e-8, 65504], dtype="float16"),
    ),
    "bool": lambda: _frame(x=np.array([True, False, True, True, False, False, True])),
    "boolean-with-NA": lambda: _frame(
        x=pd.array([True, None, False, True, None, False, True], dtype="boolean")
    ),
    # strings
    "str-default-with-NaN": lambda: _frame(x=["a", None, "", "é", "日本語", "🎉 x", np.nan]),
    "str-python-storage": lambda: _frame(
        x=pd.array(["a", None, "", "é", "b", "c", "d"], dtype=pd.StringDtype("python", np.nan))
    ),
    "string-pyarrow-NA": lambda: _frame(
        x=pd.array(["a", None, "", "é", "b", pd.NA, "d"], dtype="string[pyarrow]")
    ),
    "string-python-NA": lambda: _frame(
        x=pd.array(["a", None, "", "é", "b", pd.NA, "d"], dtype="string[python]")
    ),
    "object-str-None": lambda: _frame(
        x=pd.Series(["a", None, "", "é", "b", None, "d"], dtype=object)
    ),
    "object-str-NaN": lambda: _frame(
        x=pd.Series(["a", np.nan, "", "é", "b", np.nan, "d"], dtype=object)
    ),
    "object-str-NA": lambda: _frame(
        x=pd.Series(["a", pd.NA, "", "é", "b", pd.NA, "d"], dtype=object)
    ),
    "object-str-mixed-missing": lambda: _frame(
        x=pd.Series(["a", None, np.nan, pd.NA, "b", None, np.nan], dtype=object)
    ),
    "object-all-None": lambda: _frame(x=pd.Series([None] * N, dtype=object)),
    # categories
    "category-str": lambda: _frame(x=pd.Categorical(["b", "a", None, "a", "c", "b", None])),
    "category-ordered": lambda: _frame(
        x=pd.Categorical(
            ["lo", "hi", None, "mid", "lo", "hi", "mid"],
            categories=["lo", "mid", "hi", "unused"],
            ordered=True,
        )
    ),
    "category-int": lambda: _frame(x=pd.Categorical([3, 1, None, 2, 3, 1, 1])),
    "category-int-ordered": lambda: _frame(
        x=pd.Categorical([3, 1, 2, 2, 3, 1, 1], categories=[3, 2, 1], ordered=True)
    ),
    "category-object-categories": lambda: _frame(
        x=pd.Categorical(
            ["a", "b", None, "a", "b", "a", "a"],
            dtype=pd.CategoricalDtype(pd.Index(["b", "a"], dtype=object)),
        )
    ),
    "category-datetime-categories": lambda: _frame(
        x=pd.Categorical(pd.to_datetime(["2020-01-01", "2021-01-01", None] * 2 + ["2020-01-01"]))
    ),
    "category-all-missing": lambda: _frame(x=pd.Categorical([None] * N, categories=["a", "b"])),
    "category-no-categories": lambda: _frame(
        x=pd.Categorical([None] * N, categories=pd.Index([], dtype=object))
    ),
    # times
    **{
        f"datetime64[{unit}]": (
            lambda u=unit: _frame(
                x=pd.to_datetime(
                    [
                        "2024-12-24 21:00:00",
                        None,
                        "1970-01-01",
                        "1677-09-22",
                        "2262-04-11",
                        "2000-02-29 12:34:56",
                        None,
                    ],
                    format="ISO8601",
                ).as_unit(u)
            )
        )
        for unit in ("s", "ms", "us", "ns")
    },
    **{
        f"datetime64-{tz}": (
            lambda z=tz: _frame(
                x=pd.to_datetime(
                    [
                        "2024-12-24 21:00:00.123456789",
                        None,
                        "1970-01-01",
                        "2024-03-10 02:30",
                        "2024-11-03 01:30",
                        "2000-02-29",
                        None,
                    ],
                    format="ISO8601",
                ).tz_localize(z, ambiguous=True, nonexistent="shift_forward")
            )
        )
        for tz in ("UTC", "Asia/Taipei", "America/New_York", "Europe/London")
    },
    "datetime64-tz-units": lambda: _frame(
        s=pd.date_range("2024-01-01", periods=N, freq="h", tz=TAIPEI, unit="s"),
        ms=pd.date_range("2024-01-01", periods=N, freq="h", tz=TAIPEI, unit="ms"),
        us=pd.date_range("2024-01-01", periods=N, freq="h", tz=TAIPEI, unit="us"),
        ns=pd.date_range("2024-01-01", periods=N, freq="h", tz=TAIPEI, unit="ns"),
    ),
    "datetime64-fixed-offsets": lambda: _frame(
        plus=pd.date_range(
            "2024-01-01", periods=N, freq="D", tz=dt.timezone(dt.timedelta(hours=8))
        ),
        minus=pd.date_range(
            "2024-01-01", periods=N, freq="D", tz=dt.timezone(-dt.timedelta(hours=3, minutes=30))
        ),
    ),
    **{
        f"timedelta64[{unit}]": (
            lambda u=unit: _frame(
                x=pd.to_timedelta(["1 day", None, "-3 s", "0 s", "100 days", "1 ms", None]).as_unit(
                    u
                )
            )
        )
        for unit in ("s", "ms", "us", "ns")
    },
    # indexes
    "range-index-default": lambda: _frame(x=np.arange(N)),
    "range-index-start-step": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.RangeIndex(5, 5 + 7 * N, 7, name="r")
    ),
    "range-index-negative-step": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.RangeIndex(100, 100 - 3 * N, -3)
    ),
    "range-index-loose-stop": lambda: pd.DataFrame(
        {"x": np.arange(3)}, index=pd.RangeIndex(0, 8, 3)
    ),
    "int64-index": lambda: pd.DataFrame({"x": np.arange(N)}, index=np.arange(N) * 3),
    "int64-index-named": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.Index(np.arange(N) * 3, name="row id")
    ),
    "Int64-index-with-NA": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.Index([1, None, 3, 4, 5, 6, 7], dtype="Int64", name=0)
    ),
    "non-unique-index": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.Index([1, 1, 2, 2, 2, 3, 1], name="dup")
    ),
    "str-index": lambda: pd.DataFrame({"x": np.arange(N)}, index=list("abcdefg")),
    "object-index": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.Index([*"abcdef", None], dtype=object)
    ),
    "uint8-index": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.Index(np.arange(N, dtype="uint8"))
    ),
    "float-index": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.Index([0.5, np.nan, -np.inf, 1, 2, 3, 4])
    ),
    "bool-index": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.Index([True, False] * 3 + [True])
    ),
    "datetime-index-with-freq": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.date_range("2024-01-01", periods=N, freq="D", name="day")
    ),
    "datetime-index-tz-with-freq": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.date_range("2024-01-01", periods=N, freq="15min", tz=TAIPEI)
    ),
    "datetime-index-no-freq": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.to_datetime(["2024-01-01", None] * 3 + ["2020-01-01"])
    ),
    "timedelta-index-with-freq": lambda: pd.DataFrame(
        {"x": np.arange(N)}, index=pd.timedelta_range("1 day", periods=N, freq="h")
    ),
    "categorical-index": lambda: pd.DataFrame(
        {"x": np.arange(N)},
        index=pd.CategoricalIndex(list("abcabca"), categories=list("cba"), ordered=True, name="c"),
    ),
    "multi-index": lambda: pd.DataFrame(
        {"x": np.arange(N)},
        index=pd.MultiIndex.from_arrays(
            [list("aabbccd"), [1, 2, 1, 2, 1, None, 2]], names=["letter", 7]
        ),
    ),
    "multi-index-unused-levels": lambda: pd.DataFrame(
        {"x": np.arange(N * 2)},
        index=pd.MultiIndex.from_product(
            [["x", "y"], pd.date_range("2024-01-01", periods=N, tz="UTC")], names=["k", None]
        ),
    ).iloc[N:],
    # empty frames
    "empty-0x0": pd.DataFrame,
    "empty-rows-only": lambda: pd.DataFrame(index=pd.RangeIndex(4)),
    "empty-rows-int-index": lambda: pd.DataFrame(index=pd.Index([3, 1, 2], name="i")),
    "empty-columns-only": lambda: pd.DataFrame(columns=["a", "b"]),
    "empty-object-columns-index": lambda: pd.DataFrame(columns=pd.Index([], dtype=object)),
    # column labels
    "sql-keyword-columns": lambda: pd.DataFrame(
        {k: np.arange(N) for k in ("select", "from", "where", "table", "order", "group", "NULL")}
    ),
    "unicode-columns": lambda: pd.DataFrame(
        {"年齡": np.arange(N), "émoji 🎉": np.arange(N), "tab\tand\nnewline": np.arange(N)}
    ),
    "empty-string-column": lambda: pd.DataFrame({"": np.arange(N), " ": np.arange(N)}),
    "long-column-name": lambda: pd.DataFrame({"x" * 1000: np.arange(N), "é" * 1000: ["a"] * N}),
    "duplicated-columns": lambda: pd.DataFrame(
        [[1, "a", 2.5, 3]] * N, columns=["dup", "dup", "other", "dup"]
    ),
    "int-column-labels": lambda: pd.DataFrame({3: np.arange(N), -1: np.arange(N), 0: ["a"] * N}),
    "range-column-labels": lambda: pd.DataFrame(np.arange(N * 3).reshape(N, 3)),
    "mixed-column-labels": lambda: pd.DataFrame(
        {1: np.arange(N), "a": np.arange(N), 2.5: np.arange(N), None: np.arange(N)}
    ),
    "named-column-index": lambda: pd.DataFrame({"a": np.arange(N)}).rename_axis(columns="features"),
    "float-column-labels": lambda: pd.DataFrame({0.5: np.arange(N), 1.0: np.arange(N)}),
    "str-column-labels-with-nan": lambda: pd.DataFrame(
        [[1, 2]], columns=pd.Index(["a", np.nan], dtype="str")
    ),
    "bool-column-labels": lambda: pd.DataFrame([[1, 2]], columns=pd.Index([True, False])),
    # layout
    "sliced-rows": lambda: pd.DataFrame(
        {
            "s": [f"v{i}é" for i in range(40)],
            "o": pd.Series([f"o{i}" if i % 3 else None for i in range(40)], dtype=object),
            "i": pd.array([i if i % 4 else None for i in range(40)], dtype="Int64"),
            "c": pd.Categorical([f"c{i % 5}" for i in range(40)]),
            "b": np.arange(40) % 3 == 0,
        }
    ).iloc[13:31],
    "chunked-str": lambda: pd.DataFrame(
        {"s": pd.concat([pd.Series(["a", None, "b"]), pd.Series(["c", "d", None])])}
    ),
    "no-duplicate-labels-flag": lambda: pd.DataFrame({"a": [1, 2]}).set_flags(
        allows_duplicate_labels=False
    ),
}


CASE_MARKS = {
    "str-python-storage": needs_python_str_with_nan,
    "str-column-labels-with-nan": needs_str_alias_as_string_dtype,
    **dict.fromkeys(
        ("datetime64-Asia/Taipei", "datetime64-America/New_York", "datetime64-Europe/London"),
        needs_zone_names_as_zoneinfo,
    ),
}


@pytest.mark.parametrize("name", [pytest.param(n, marks=CASE_MARKS.get(n, ())) for n in CASES])
def test_round_trip(name: str) -> None:
    df = CASES[name]()
    round_trip(df)


@needs_python_str_with_nan
@needs_zone_names_as_zoneinfo
def test_round_trip_every_case_in_one_frame() -> None:
    parts = [
        CASES[name]().reset_index(drop=True)
        for name in CASES
        if name.startswith(("numpy-", "nullable-", "float", "bool", "str", "string", "object-"))
        or name.startswith(("category", "datetime64", "timedelta64"))
    ]
    df = pd.concat(parts, axis=1)
    df.columns = [f"{pos}:{label}" for pos, label in enumerate(df.columns)]
    assert df.shape[1] > 40
    round_trip(df)
    round_trip(df.iloc[:0])
    round_trip(df.iloc[2:5])


def test_adult_income_round_trip() -> None:
    df = pd.read_csv(ADULT_CSV, na_values="?", skipinitialspace=True)
    assert df.shape == (48842, 15)
    round_trip(df)


@needs_zone_names_as_zoneinfo
def test_decoded_frame_is_writable_and_owns_its_memory() -> None:
    df = pd.concat(
        [
            CASES[name]()
            for name in (
                "nullable-Int64",
                "float",
                "str-default-with-NaN",
                "category-str",
                "datetime64-Asia/Taipei",
                "object-str-mixed-missing",
                "boolean-with-NA",
                "numpy-int8",
                "bool",
                "datetime64[ns]",
                "timedelta64[s]",
                "string-python-NA",
            )
        ],
        axis=1,
    )
    df.columns = [f"c{i}" for i in range(df.shape[1])]
    blob = bytearray(encode_frame(df))
    out = decode_frame(blob)
    # Scribbling over the blob must not change the decoded frame.
    blob[:] = bytes(len(blob))
    assert_same(out, df)
    for pos in range(out.shape[1]):
        out.iloc[0, pos] = out.iloc[2, pos]
        first, third = out.iloc[[0], pos], out.iloc[[2], pos]
        tm.assert_series_equal(first.reset_index(drop=True), third.reset_index(drop=True))


def test_decode_accepts_bytes_like() -> None:
    df = CASES["str-default-with-NaN"]()
    blob = encode_frame(df)
    assert_same(decode_frame(memoryview(blob)), df)
    assert_same(decode_frame(bytearray(blob)), df)


@pytest.mark.parametrize("compression", ["lz4", "zstd"])
def test_compressed_round_trip(compression: str) -> None:
    df = CASES["sliced-rows"]()
    blob = encode_frame(df, compression=compression)  # type: ignore[arg-type]
    assert blob != encode_frame(df)
    assert_same(decode_frame(blob), df)
    assert encode_frame(df, compression=compression) == blob  # type: ignore[arg-type]


# ------------------------------------------------------------------- determinism


def test_same_frame_same_bytes() -> None:
    df = CASES["sliced-rows"]()
    assert encode_frame(df) == encode_frame(df)
    assert encode_frame(df.copy(deep=True)) == encode_frame(df)


def _stable_digest() -> str:
    df = pd.DataFrame(
        {
            "s": ["a", None, "é"],
            "c": pd.Categorical(["x", "y", None]),
            "o": pd.Series(["p", None, np.nan], dtype=object),
            2: [1.5, np.nan, -np.inf],
        },
        index=pd.Index([3, 1, 2], name="i"),
    )
    return hashlib.sha256(encode_frame(df)).hexdigest()


def test_bytes_are_the_same_in_another_process() -> None:
    # Content addressing relies on this: no dict or set order, address or
    # hash seed may reach the bytes.
    script = (
        f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        "from test_frames import _stable_digest; print(_stable_digest())"
    )
    seed = "0" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": seed},
    ).stdout.strip()
    assert other == _stable_digest()


def test_equal_frames_with_different_hidden_values_give_same_bytes() -> None:
    mask = np.array([False, True, False])
    one = pd.DataFrame({"x": pd.arrays.IntegerArray(np.array([1, 2, 3]), mask)})
    two = pd.DataFrame({"x": pd.arrays.IntegerArray(np.array([1, 999, 3]), mask)})
    tm.assert_frame_equal(one, two)
    assert encode_frame(one) == encode_frame(two)


def test_chunking_does_not_change_bytes() -> None:
    chunked = CASES["chunked-str"]()
    flat = pd.DataFrame({"s": pd.Series(["a", None, "b", "c", "d", None], index=chunked.index)})
    tm.assert_frame_equal(chunked, flat)
    assert encode_frame(chunked) == encode_frame(flat)


@pytest.mark.parametrize("rows", [slice(13, 31), slice(0, 10), slice(30, 40), slice(5, 5)])
def test_slices_give_the_same_bytes_as_fresh_frames(rows: slice) -> None:
    values = [f"v{i}é" if i % 3 else None for i in range(40)]
    whole = pd.DataFrame(
        {
            "str": pd.Series(values, dtype="str"),
            "string": pd.Series(values, dtype="string[pyarrow]"),
            "python": pd.Series(values, dtype="string[python]"),
            "category": pd.Series(values, dtype="category"),
        }
    )
    part = whole.iloc[rows]
    fresh = pd.DataFrame(
        {
            name: pd.Series(list(part[name]), index=part.index, dtype=part[name].dtype)
            for name in part.columns
        }
    )
    tm.assert_frame_equal(part, fresh)
    assert encode_frame(part) == encode_frame(fresh)


def test_different_frames_give_different_bytes() -> None:
    base = pd.DataFrame({"x": [1, 2, 3]})
    variants = [
        pd.DataFrame({"x": [1, 2, 4]}),
        pd.DataFrame({"y": [1, 2, 3]}),
        pd.DataFrame({"x": np.array([1, 2, 3], dtype="int32")}),
        pd.DataFrame({"x": [1, 2, 3]}, index=[0, 1, 2]),
        pd.DataFrame({"x": [1, 2, 3]}).rename_axis("i"),
    ]
    blobs = {encode_frame(base), *(encode_frame(v) for v in variants)}
    assert len(blobs) == len(variants) + 1


@needs_zone_names_as_zoneinfo
def test_manifest_shape() -> None:
    df = pd.DataFrame(
        {
            "n": pd.array([1, None], dtype="Int64"),
            "c": pd.Categorical(["a", None], ordered=True),
            "t": pd.to_datetime(["2020", None]).tz_localize("Asia/Taipei"),
            "o": pd.Series(["a", np.nan], dtype=object),
        }
    )
    manifest = manifest_of(encode_frame(df))
    assert manifest["format"] == FRAME_FORMAT == "petsard-status/frame"
    assert manifest["version"] == FRAME_VERSION == 1
    assert manifest["rows"] == 2
    assert manifest["columns"] == [
        {"name": "n", "dtype": "Int64"},
        {"name": "c", "dtype": "category", "categories": "str", "ordered": True},
        {"name": "t", "dtype": "datetime64[us, Asia/Taipei]"},
        {"name": "o", "dtype": "object-str", "nulls": "nan"},
    ]
    assert manifest["index"] == {"kind": "range", "start": 0, "stop": 2, "step": 1, "name": None}
    schema, _ = read_blob(encode_frame(df))
    assert set(schema.metadata) == {MANIFEST_KEY}, "pandas' own metadata must not be written"


# --------------------------------------------------------------------- hypothesis


def _frames_strategy() -> st.SearchStrategy[pd.DataFrame]:
    text = st.text(max_size=8)
    base = hpd.data_frames(
        columns=[
            hpd.column("i8", dtype="int8"),
            hpd.column("u64", dtype="uint64"),
            hpd.column("i64", dtype="int64"),
            hpd.column("f64", dtype="float64", elements=st.floats(allow_nan=True)),
            hpd.column("f32", dtype="float32", elements=st.floats(width=32, allow_nan=True)),
            hpd.column("b", dtype=bool),
            hpd.column("s", dtype=object, elements=st.none() | text),
            hpd.column("m", dtype=bool),
            hpd.column(
                "t",
                elements=st.datetimes(dt.datetime(1800, 1, 1), dt.datetime(2200, 1, 1)),
                dtype="datetime64[ns]",
            ),
        ],
        index=hpd.range_indexes(max_size=25)
        | hpd.indexes(dtype="int64", max_size=25)
        | hpd.indexes(elements=text, max_size=25, unique=True),
    )

    def derive(df: pd.DataFrame) -> pd.DataFrame:
        mask = df["m"].to_numpy()
        out = df.drop(columns="m")
        out["I64"] = pd.array(np.where(mask, None, df["i64"]), dtype="Int64")
        out["bool_na"] = pd.array(np.where(mask, None, df["b"]), dtype="boolean")
        out["str"] = df["s"].astype("str")
        out["string"] = df["s"].astype("string[python]")
        out["cat"] = df["s"].astype("category")
        out["tz"] = out["t"].dt.tz_localize("UTC").dt.tz_convert(TAIPEI)
        out["td"] = out["t"] - pd.Timestamp("2000-01-01")
        out.loc[mask, "t"] = pd.NaT
        return out

    return base.map(derive)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames_strategy())
def test_hypothesis_round_trip(df: pd.DataFrame) -> None:
    blob = encode_frame(df)
    assert_same(decode_frame(blob), df)
    assert encode_frame(df) == blob


# ------------------------------------------------------------ rejection at encode


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (pd.Series([1, "a", 2], dtype=object), "int"),
        (pd.Series(["a", {"k": 1}], dtype=object), "dict"),
        (pd.Series([b"raw", "text"], dtype=object), "bytes"),
        (pd.Series([1.5, 2.5], dtype=object), "float"),
        (pd.Series([np.str_("numpy"), "python"], dtype=object), "str_"),
        (pd.Series(["a", np.float64("nan")], dtype=object), "float64"),
        (pd.Series(["a", pd.NaT], dtype=object), "NaTType"),
        (pd.Series([dt.date(2024, 1, 1)], dtype=object), "date"),
    ],
)
def test_object_columns_that_are_not_all_str_are_refused(values: pd.Series, expected: str) -> None:
    df = pd.DataFrame({"good": range(len(values)), "bad col": values})
    with pytest.raises(SerializationError) as info:
        encode_frame(df)
    message = str(info.value)
    assert "'bad col'" in message and "object" in message and expected in message


@pytest.mark.parametrize(
    "values",
    [
        pd.Series(pd.period_range("2024-01", periods=3, freq="M")),
        pd.Series(pd.interval_range(0, 3)),
        pd.Series(np.array([1 + 2j, 3j, 0j])),
        pd.Series(pd.arrays.SparseArray([0, 1, 0])),
        pd.Series([1, 2, 3], dtype="int64[pyarrow]"),
        pd.Series(["a", "b", "c"], dtype=pd.ArrowDtype(pa.string())),
        pd.Series(pd.date_range("2024", periods=3, tz="dateutil/Asia/Taipei")),
        pd.Series(
            pd.date_range("2024", periods=3, tz=dt.timezone(dt.timedelta(hours=1), "Custom"))
        ),
        pd.Series(["a", "\ud800", "b"], dtype=object),
    ],
    ids=[
        "period",
        "interval",
        "complex",
        "sparse",
        "arrow-int",
        "arrow-string",
        "dateutil-tz",
        "named-fixed-offset",
        "lone-surrogate",
    ],
)
def test_unsupported_columns_are_refused_naming_column_and_dtype(values: pd.Series) -> None:
    df = pd.DataFrame({"ok": range(3), "the column": values})
    with pytest.raises(SerializationError) as info:
        encode_frame(df)
    assert "'the column'" in str(info.value)
    assert str(values.dtype) in str(info.value)


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", 1), ("a", 2)])),
        lambda: pd.DataFrame({("a", 1): [1]}),
        lambda: pd.DataFrame({"a": [1]}, index=pd.Index([1], name=("tuple", "name"))),
        lambda: pd.DataFrame({"a": [1]}).rename_axis(np.nan),
        lambda: pd.DataFrame({np.int64(1): [1], "a": [2]}),
        lambda: pd.DataFrame({pd.Timestamp("2024-01-01"): [1]}),
        lambda: pd.DataFrame({"a": [1]}, index=pd.period_range("2024", periods=1, freq="D")),
        lambda: pd.DataFrame(
            {"a": [1, 2]},
            index=pd.MultiIndex.from_arrays([pd.Categorical(["x", "y"]), [1, 2]]),
        ),
    ],
    ids=[
        "multiindex-columns",
        "tuple-label",
        "tuple-index-name",
        "nan-columns-name",
        "numpy-int-in-object-labels",
        "timestamp-label",
        "period-index",
        "categorical-multiindex-level",
    ],
)
def test_unsupported_labels_and_indexes_are_refused(make: Callable[[], pd.DataFrame]) -> None:
    with pytest.raises(SerializationError):
        encode_frame(make())


def test_attrs_and_non_frames_are_refused() -> None:
    df = pd.DataFrame({"a": [1]})
    df.attrs["source"] = "x"
    with pytest.raises(SerializationError, match="attrs"):
        encode_frame(df)
    with pytest.raises(SerializationError, match="DataFrame"):
        encode_frame(pd.Series([1]))  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match="compression"):
        encode_frame(pd.DataFrame(), compression="gzip")  # type: ignore[arg-type]


# ------------------------------------------------------------ rejection at decode


@pytest.fixture(scope="module")
def blob() -> bytes:
    df = pd.DataFrame(
        {
            "i": np.arange(5),
            "s": ["a", "bb", None, "é", ""],
            "c": pd.Categorical(["x", "y", None, "x", "y"]),
            "t": pd.date_range("2024", periods=5, tz=TAIPEI),
            "o": pd.Series(["a", None, np.nan, "b", "c"], dtype=object),
            "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
        },
        index=pd.Index(np.arange(5) * 2, name="idx"),
    )
    return encode_frame(df)


def _edit(blob: bytes, edit: Callable[[dict[str, Any]], None]) -> bytes:
    manifest = manifest_of(blob)
    edit(manifest)
    return with_manifest(blob, manifest)


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(manifest: dict[str, Any]) -> None:
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return edit


@pytest.mark.parametrize(
    ("edit", "match"),
    [
        (_set(["columns", 0, "dtype"], "object-pickle"), "unknown dtype 'object-pickle'"),
        (_set(["columns", 3, "dtype"], "datetime64[ns, Not/AZone]"), "Not/AZone"),
        (_set(["columns", 3, "dtype"], "datetime64[us, ../../etc/passwd]"), "time zone"),
        (_set(["columns", 3, "dtype"], "datetime64[fs]"), "unknown dtype"),
        (_set(["columns", 0, "dtype"], "int32"), "do not match"),
        (_set(["columns", 0, "dtype"], 64), "not a string"),
        (_set(["columns", 2, "categories"], "category"), "unknown dtype"),
        (_set(["columns", 2, "ordered"], "yes"), "ordered"),
        (_set(["columns", 4, "nulls"], "pickle"), "nulls"),
        (_set(["columns", 0, "name"], [1, 2]), "not a label"),
        (_set(["columns", 0, "extra"], 1), "keys"),
        (_set(["version"], 2), "version 2"),
        (_set(["version"], "1"), "version"),
        (_set(["version"], True), "version"),
        (_set(["format"], "pandas"), "format"),
        (_set(["rows"], "5"), "rows"),
        (_set(["rows"], -1), "rows"),
        (_set(["rows"], 6), "rows"),
        (_set(["index", "kind"], "pickle"), "index kind"),
        (_set(["index", "freq"], "D"), "non-temporal"),
        (_set(["column_index", "dtype"], "category"), "column label dtype"),
        (
            _set(
                ["column_index"],
                {"kind": "range", "start": 0, "stop": 10**18, "step": 1, "name": None},
            ),
            "disagree with their range",
        ),
        (_set(["index", "levels", 0, "dtype"], "str"), "do not match"),
        (_set(["flags"], {"allows_duplicate_labels": 1}), "true or false"),
        (lambda m: m["columns"].pop(), "do not match"),
        (lambda m: m["columns"].append(dict(m["columns"][0])), "do not match"),
        (lambda m: m.pop("index"), "keys"),
        (lambda m: m.update(extra=True), "keys"),
    ],
)
def test_bad_manifests_are_corrupt_data(
    blob: bytes, edit: Callable[[dict[str, Any]], None], match: str
) -> None:
    with pytest.raises(CorruptDataError, match=match):
        decode_frame(_edit(blob, edit))


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'"petsard-status/frame"',
        b'{"format": "petsard-status/frame", "version": NaN}',
        b'{"format": "petsard-status/frame", "format": "petsard-status/frame", "version": 1}',
        b"[" * 100_000,
        b'{"version": 1' + b"9" * 5000 + b"}",
    ],
    ids=["empty", "text", "not-utf8", "list", "string", "nan", "dup-keys", "deep", "huge-int"],
)
def test_unparsable_manifests_are_corrupt_data(blob: bytes, raw: bytes) -> None:
    with pytest.raises(CorruptDataError):
        decode_frame(with_manifest(blob, raw))


def test_stream_without_our_manifest_is_refused() -> None:
    table = pa.Table.from_pandas(pd.DataFrame({"a": [1, 2]}))
    assert b"pandas" in table.schema.metadata
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    with pytest.raises(CorruptDataError, match="manifest"):
        decode_frame(sink.getvalue().to_pybytes())


def test_arrow_file_format_and_garbage_are_refused(blob: bytes) -> None:
    schema, batches = read_blob(blob)
    sink = pa.BufferOutputStream()
    with ipc.new_file(sink, schema) as writer:
        writer.write_batch(batches[0])
    for data in (sink.getvalue().to_pybytes(), b"", b"\x00", b"PAR1" + bytes(100), b"\xff" * 64):
        with pytest.raises(CorruptDataError):
            decode_frame(data)


def test_not_bytes_is_refused() -> None:
    with pytest.raises(CorruptDataError):
        decode_frame("a string")  # type: ignore[arg-type]
    with pytest.raises(CorruptDataError):
        decode_frame(None)  # type: ignore[arg-type]


def test_every_truncation_is_corrupt_data(blob: bytes) -> None:
    for length in range(len(blob)):
        with pytest.raises(CorruptDataError):
            decode_frame(blob[:length])


def test_flipped_bytes_never_escape_as_foreign_errors(blob: bytes) -> None:
    outcomes = {"decoded": 0, "refused": 0}
    for pos in range(len(blob)):
        for value in (0x00, 0xFF, blob[pos] ^ 0x01):
            data = bytearray(blob)
            data[pos] = value
            outcomes["refused" if decode_or_package_error(bytes(data)) is None else "decoded"] += 1
    assert outcomes["refused"] > 0 and outcomes["decoded"] > 0


def test_more_or_fewer_batches_are_refused(blob: bytes) -> None:
    schema, batches = read_blob(blob)
    with pytest.raises(CorruptDataError, match="more than one"):
        decode_frame(write_blob(schema, batches * 2))
    with pytest.raises(CorruptDataError, match="trailing"):
        decode_frame(blob + b"\x00" * 8)
    with pytest.raises(CorruptDataError, match="no record batch"):
        decode_frame(write_blob(schema, []))


def _strings(offsets: list[int], data: bytes) -> pa.Array:
    return pa.Array.from_buffers(
        pa.large_string(),
        len(offsets) - 1,
        [None, pa.py_buffer(np.array(offsets, dtype=np.int64).tobytes()), pa.py_buffer(data)],
    )


def _with_offsets(offsets: list[int]) -> bytes:
    """A blob of two strings whose offsets were overwritten in place.

    pyarrow refuses to build such arrays, so the stored bytes are patched the
    way a damaged file would be.
    """
    blob = encode_frame(pd.DataFrame({"s": ["a", "b"]}))
    good = np.array([0, 1, 2], dtype=np.int64).tobytes()
    assert blob.count(good) == 1
    return blob.replace(good, np.array(offsets, dtype=np.int64).tobytes())


@pytest.mark.parametrize(
    ("data", "match"),
    [(b"\xff\xfe", "invalid UTF-8"), ("é".encode(), "invalid UTF-8")],
    ids=["invalid-bytes", "character-split-across-strings"],
)
def test_bad_utf8_is_corrupt(data: bytes, match: str) -> None:
    good = encode_frame(pd.DataFrame({"s": ["a", "b"]}))
    with pytest.raises(CorruptDataError, match=match):
        decode_frame(with_batch(good, [_strings([0, 1, 2], data)]))


@pytest.mark.parametrize(
    "offsets",
    [[0, 2, 1], [0, 1, 64], [-8, 1, 2], [0, -1, 2], [1, 0, 2], [0, 2**62, 2]],
    ids=["decreasing-end", "past-end", "negative-start", "negative-middle", "decreasing", "huge"],
)
def test_bad_string_offsets_are_corrupt(offsets: list[int]) -> None:
    with pytest.raises(CorruptDataError, match=r"offsets|malformed"):
        decode_frame(_with_offsets(offsets))
    assert list(decode_frame(_with_offsets([0, 1, 2]))["s"]) == ["a", "b"]


def test_utf8_check_in_slices_handles_characters_across_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Slices of one byte cut every multi-byte character; the check must
    # still accept valid text and refuse invalid text.
    monkeypatch.setattr(frames, "_UTF8_SLICE", 1)
    round_trip(pd.DataFrame({"s": ["é日", "🎉", "", "plain", None]}))
    good = encode_frame(pd.DataFrame({"s": ["a", "b"]}))
    with pytest.raises(CorruptDataError, match="invalid UTF-8"):
        decode_frame(with_batch(good, [_strings([0, 2, 3], b"\xe6\x97x")]))


def test_valid_hand_made_strings_are_accepted() -> None:
    good = encode_frame(pd.DataFrame({"s": ["a", "b"]}))
    out = decode_frame(with_batch(good, [_strings([0, 2, 3], "éx".encode())]))
    assert list(out["s"]) == ["é", "x"]


def test_arrow_data_disagreeing_with_manifest_are_corrupt() -> None:
    ints = encode_frame(pd.DataFrame({"x": np.arange(3)}))
    with pytest.raises(CorruptDataError, match="holds nulls"):
        decode_frame(with_batch(ints, [pa.array([1, None, 3], pa.int64())]))
    with pytest.raises(CorruptDataError, match="do not match"):
        decode_frame(with_batch(ints, [pa.array([1, 2, 3], pa.int32())]))
    cats = encode_frame(pd.DataFrame({"c": pd.Categorical(["a", "b", "a"])}))
    out_of_range = pa.DictionaryArray.from_arrays(
        pa.array([0, 5, 1], pa.int8()), pa.array(["a", "b"], pa.large_string()), safe=False
    )
    with pytest.raises(CorruptDataError):
        decode_frame(with_batch(cats, [out_of_range]))
    repeated = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, 1], pa.int8()), pa.array(["a", "a"], pa.large_string())
    )
    with pytest.raises(CorruptDataError):
        decode_frame(with_batch(cats, [repeated]))
    mixed = encode_frame(pd.DataFrame({"o": pd.Series(["a", None, np.nan], dtype=object)}))
    schema, batches = read_blob(mixed)
    assert schema.names == ["c0", "c0.nulls"]
    bad_markers = [batches[0].column(0), pa.array([0, 9, 2], pa.int8())]
    with pytest.raises(CorruptDataError, match="markers"):
        decode_frame(with_batch(mixed, bad_markers))


def test_duplicate_labels_under_no_duplicates_flag_are_corrupt() -> None:
    blob = encode_frame(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(CorruptDataError):
        decode_frame(_edit(blob, _set(["flags", "allows_duplicate_labels"], False)))


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "str",
            "int64",
            "Int64",
            "category",
            "object-str",
            "range",
            "levels",
            "multi",
            "datetime64[ns, UTC]",
            "timedelta64[s]",
            "mixed",
            "nan",
            "D",
            "labels",
            "object",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for pos, item in enumerate(value):
            found += _paths(item, (*prefix, pos))
    return found


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_hypothesis_arbitrary_manifests_only_raise_package_errors(
    blob: bytes, data: st.DataObject
) -> None:
    manifest = manifest_of(blob)
    if data.draw(st.booleans(), label="replace whole manifest"):
        manifest = data.draw(json_values, label="manifest")
    else:
        # Replace one part of a valid manifest, so that the checks deep
        # inside it are reached too.
        path = data.draw(st.sampled_from(_paths(manifest)[1:]), label="path")
        target = manifest
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = data.draw(json_values, label="value")
    out = decode_or_package_error(with_manifest(blob, manifest))
    assert out is None or isinstance(out, pd.DataFrame)


@settings(max_examples=150, deadline=None)
@given(raw=st.binary(max_size=600), keep=st.integers(min_value=0, max_value=2000))
def test_hypothesis_arbitrary_bytes_only_raise_package_errors(
    blob: bytes, raw: bytes, keep: int
) -> None:
    out = decode_or_package_error(raw)
    assert out is None or isinstance(out, pd.DataFrame)
    # Valid stream start followed by garbage reaches deeper into the reader.
    out = decode_or_package_error(blob[:keep] + raw)
    assert out is None or isinstance(out, pd.DataFrame)


@settings(max_examples=100, deadline=None)
@given(raw=st.binary(max_size=200))
def test_hypothesis_arbitrary_manifest_bytes_only_raise_package_errors(
    blob: bytes, raw: bytes
) -> None:
    assert decode_or_package_error(with_manifest(blob, raw)) is None


def test_nan_never_leaks_through_json() -> None:
    # Float labels go through JSON; infinities and NaN names are refused.
    with pytest.raises(SerializationError):
        encode_frame(pd.DataFrame({math.inf: [1]}))
    round_trip(pd.DataFrame({-0.5: [1], 1e300: [2]}))


# Labels that compare equal but differ in type or sign; None marks labels refused.
LOOKALIKE_LABELS = [
    ([1, 2], [1, 2]), ([True, 2], [True, 2]), ([1.0, 2], [1.0, 2]),
    ([np.int64(1), 2], None), (["a", 0.0], ["a", 0.0]), (["a", -0.0], ["a", -0.0]),
    (["a", "b"], ["a", "b"]), ([np.str_("a"), "b"], None),
]


def _signed(labels: list[Any]) -> list[Any]:
    return [(type(c), math.copysign(1, c) if isinstance(c, float) else c) for c in labels]


@pytest.mark.parametrize("order", [1, -1])
def test_frames_whose_labels_are_equal_but_of_other_types_keep_their_own(order: int) -> None:
    # Encoded one after another, in both orders: a frame's labels are never taken
    # from, or let through by, an earlier frame whose labels compare equal.
    for columns, expected in LOOKALIKE_LABELS[::order]:
        frame = pd.DataFrame([[1, 2]], columns=pd.Index(columns, dtype=object))
        if expected is None:
            with pytest.raises(SerializationError):
                encode_frame(frame)
            continue
        out = decode_frame(encode_frame(frame))
        assert _signed(list(out.columns)) == _signed(expected)


def test_frames_alike_but_for_the_width_of_category_codes_each_decode() -> None:
    # 4 categories have int8 codes, 300 have int16: the manifests are the same text.
    few = pd.DataFrame({"c": pd.Categorical(["a", "b"], categories=list("abcd"))})
    many_labels = [f"k{i}" for i in range(300)]
    many = pd.DataFrame({"c": pd.Categorical(["k0", "k299"], categories=many_labels)})
    for frame in (few, many, few):
        pd.testing.assert_frame_equal(decode_frame(encode_frame(frame)), frame)
