"""Frames whose version-1 encodings are kept in ``tests/data/frames_v1/``.

The blobs were written by the version-1 encoder (the frame codec before
version 2 existed) with ``python tests/data/frames_v1.py OUT_DIR`` run
against that code; the tests rebuild these frames here and check that each
stored blob still decodes to exactly this frame.  Building a frame must stay
deterministic: no randomness without a fixed seed, no clocks.
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


FRAMES: dict[str, Callable[[], pd.DataFrame]] = {
    "mixed": mixed, "indexed": indexed, "dated": dated, "long": long,
}
# (frame, compression) pairs that were encoded.
CASES = [("mixed", None), ("mixed", "zstd"), ("mixed", "lz4"), ("indexed", None),
         ("dated", None), ("long", "zstd")]


def blob_name(frame: str, compression: str | None) -> str:
    return f"{frame}-{compression or 'plain'}.arrows"


if __name__ == "__main__":
    from petsard_status.formats import encode_frame

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, compression in CASES:
        (out / blob_name(name, compression)).write_bytes(
            encode_frame(FRAMES[name](), compression=compression))
