"""Frames whose encodings are kept in ``tests/data/frames_v1/`` (version 1, and a few of version 2).

The blobs were written with ``python tests/data/frames_v1.py OUT_DIR`` run
against an earlier encoder: by the version-1 encoder (the frame codec before
version 2 existed), and ``blocks``, ``long_blocks`` and ``strided`` by the encoder that still
encoded one column at a time, before a block of numbers became one Arrow
array.  The tests rebuild these frames here and check that each stored blob
still decodes to exactly this frame and that encoding the frame gives its
bytes.  Building a frame must stay deterministic: no randomness without a
fixed seed, no clocks.
"""

from __future__ import annotations

import datetime as dt
import sys
import zoneinfo
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd


def mixed() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 300
    amount = pd.array(rng.integers(-1000, 1000, n), dtype="Int64")
    amount[::7] = pd.NA
    flags = pd.array(rng.random(n) < 0.5, dtype="boolean")
    flags[::11] = pd.NA
    score = rng.normal(size=n)
    score[::13] = np.nan
    note = np.array([f"n{i % 17}" for i in range(n)], dtype=object)
    note[::5] = None
    naive = pd.Timestamp("2021-03-04") + pd.to_timedelta(np.arange(n) * 3_600, unit="s")
    return pd.DataFrame({
        "id": np.arange(n, dtype=np.int64),
        "small": (np.arange(n) % 100).astype(np.int8),
        "ratio": rng.random(n).astype(np.float32),
        "score": score,
        "amount": amount,
        "flag": flags,
        "ok": np.arange(n) % 3 == 0,
        "name": pd.Series([f"name-{i % 23}" for i in range(n)], dtype="str"),
        "note": pd.Series(note, dtype=object),
        "group": pd.Categorical([["a", "b", "c"][i % 3] for i in range(n)]),
        "grade": pd.Categorical([["low", "high"][i % 2] for i in range(n)],
                                categories=["low", "mid", "high"], ordered=True),
        "when": naive,
        "utc": naive.tz_localize("UTC"),
        "taipei": naive.tz_localize("UTC").tz_convert(zoneinfo.ZoneInfo("Asia/Taipei")),
        "wait": pd.to_timedelta(np.arange(n), unit="ms"),
    })


def indexed() -> pd.DataFrame:
    index = pd.MultiIndex.from_product([["x", "y"], [1, 2, 3]], names=["letter", "number"])
    frame = pd.DataFrame({"v": np.arange(6, dtype=np.float64), 7: list("abcdef")}, index=index)
    frame.columns.name = "cols"
    return frame


def dated() -> pd.DataFrame:
    index = pd.date_range(dt.datetime(2024, 1, 1), periods=5, freq="D", name="day")
    return pd.DataFrame({"x": [1, 2, 3, 4, 5]}, index=index)


def long() -> pd.DataFrame:
    """More rows than one record batch of the batched (version 2) encoding holds."""
    n = 140_000
    return pd.DataFrame({
        "k": np.tile(np.arange(7, dtype=np.int8), n // 7),
        "c": pd.Categorical(np.tile(np.array(["p", "q"], dtype=object), n // 2)),
        "s": pd.Series(np.tile(np.array(["u", "vw", "xyz", "z"], dtype=object), n // 4),
                       dtype="str"),
    })


def blocks() -> pd.DataFrame:
    """Several columns of each numeric and temporal dtype, which pandas keeps in
    one 2-D block per dtype, with NaT in some of them."""
    rng = np.random.default_rng(11)
    n = 50
    when = (np.datetime64("2022-05-06T07:08:09", "us")
            + rng.integers(0, 10**9, (3, n)).astype("timedelta64[us]"))
    when[1, ::4] = np.datetime64("NaT")
    frame = pd.DataFrame({
        "i0": rng.integers(-50, 50, n), "f0": rng.normal(size=n),
        "i1": rng.integers(0, 10**12, n), "w0": when[0], "f1": rng.normal(size=n),
        "w1": when[1], "i2": np.arange(n), "w2": when[2],
        "b0": np.arange(n) % 2 == 0, "b1": np.arange(n) % 3 == 0,
        "d0": pd.to_timedelta(rng.integers(0, 10**6, n), unit="s"),
        "d1": pd.to_timedelta(np.arange(n), unit="ms").astype("timedelta64[ms]"),
        "u0": rng.integers(0, 200, n).astype(np.uint8),
        "u1": rng.integers(0, 200, n).astype(np.uint8),
    })
    frame.loc[::6, "f1"] = np.nan
    return frame


def long_blocks() -> pd.DataFrame:
    """A version 2 frame whose 8-byte columns share blocks (long runs of equal
    values, so that its blob stays small)."""
    n = 140_000
    step = np.arange(n) // 2_000
    when = np.datetime64("2023-01-01T00:00:00", "s") + step.astype("timedelta64[s]")
    with_nat = when.copy()
    with_nat[::17] = np.datetime64("NaT")
    return pd.DataFrame({
        "k0": step.astype(np.int64),
        "t0": when,
        "k1": (step % 3).astype(np.int64),
        "t1": with_nat,
    })


def strided() -> pd.DataFrame:
    """A frame made without a copy from a row-major array: its block, the array's
    transpose, is not C-contiguous."""
    values = np.random.default_rng(12).normal(size=(40, 3))
    values[::5, 1] = np.nan
    return pd.DataFrame(values, columns=["t0", "t1", "t2"], copy=False)


FRAMES: dict[str, Callable[[], pd.DataFrame]] = {
    "mixed": mixed, "indexed": indexed, "dated": dated, "long": long, "blocks": blocks,
    "strided": strided, "long_blocks": long_blocks,
}
# (frame, compression) pairs that were encoded.
CASES = [("mixed", None), ("mixed", "zstd"), ("mixed", "lz4"), ("indexed", None),
         ("dated", None), ("long", "zstd"), ("blocks", None), ("blocks", "lz4"),
         ("strided", None)]
# Version 2 (batched) frames, encoded by the column-at-a-time encoder.
V2_CASES = [("long_blocks", "zstd")]


def blob_name(frame: str, compression: str | None) -> str:
    return f"{frame}-{compression or 'plain'}.arrows"


if __name__ == "__main__":
    from petsard_status.formats import encode_frame

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, compression in CASES + V2_CASES:
        (out / blob_name(name, compression)).write_bytes(
            encode_frame(FRAMES[name](), compression=compression))
