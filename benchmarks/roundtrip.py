"""Result round trip: a frame through the store and back, against pickle to a file.

Ours: a put whose result is the frame (one transaction on a fresh SQLite file
whose tables exist already), then ``get_result`` on a Status just reopened with
``Status.open`` (a new Store, so nothing is served from a cache; the open itself,
a few milliseconds, is not counted).  Pickle: ``pickle.dump`` to a file and
``pickle.load`` back, protocol 5; for reference it is also timed with an
``fsync`` before reading back, the durability a store commit gives.  Pickle
appears here only as the yardstick; the store never uses it.  Both results must
equal the frame exactly.
"""

from __future__ import annotations

import gc
import os
import pickle
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pandas.testing import assert_frame_equal
from workload import ResultOnlyAdapter

from petsard_status import Status

REPO = Path(__file__).resolve().parent.parent
ADULT_CSV = REPO / "examples" / "data" / "adult-income.csv"
CONFIG = {"Loader": {"load": {"filepath": "frame.csv"}}}


def adult_frame() -> pd.DataFrame:
    return pd.read_csv(ADULT_CSV, na_values="?", skipinitialspace=True)


def wide_mixed_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """15 columns: ints, nullable ints, floats with NaN, strings, categories, datetimes."""
    rng = np.random.default_rng(seed)
    words = np.array([f"token-{i:05d}" for i in range(5000)], dtype=object)
    missing = rng.random(rows) < 0.05
    nullable = pd.array(rng.integers(-10**6, 10**6, rows), dtype="Int64")
    nullable[missing] = pd.NA
    small_nullable = pd.array(rng.integers(0, 100, rows), dtype="Int32")
    small_nullable[rng.random(rows) < 0.1] = pd.NA
    floats = rng.normal(0.0, 1.0, rows)
    floats[missing] = np.nan
    text = words[rng.integers(0, len(words), rows)]
    text_na = text.copy()
    text_na[rng.random(rows) < 0.03] = None
    naive = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 10**9, rows), unit="s")
    aware = naive.tz_localize("UTC")
    return pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "count": rng.integers(0, 1000, rows).astype(np.int32),
        "amount": nullable,
        "level": small_nullable,
        "score": floats,
        "ratio": rng.random(rows).astype(np.float32),
        "name": pd.Series(text, dtype="str"),
        "note": pd.Series(text_na, dtype="str"),
        "group": pd.Categorical(rng.choice(["a", "b", "c", "d", "e"], rows)),
        "grade": pd.Categorical(rng.choice(["low", "mid", "high"], rows),
                                categories=["low", "mid", "high"], ordered=True),
        "flag": rng.random(rows) < 0.5,
        "created": naive,
        "updated": aware,
        "local": aware.tz_convert("Europe/Paris"),
        "weight": rng.exponential(2.0, rows),
    })


def _ours(frame: pd.DataFrame, folder: Path, rep: int) -> tuple[float, float, Any]:
    path = folder / f"rt_{rep}.db"
    # A fresh file each time, or content addressing would skip the second write;
    # creating it (and its tables) is not part of storing a frame.
    status = Status(CONFIG, store=path, run="rt")
    adapter = ResultOnlyAdapter(frame)
    t0 = time.perf_counter()
    status.put("Loader", "load", adapter)
    write = time.perf_counter() - t0
    status.close()
    with Status.open("rt", store=path) as reopened:
        t0 = time.perf_counter()
        back = reopened.get_result("Loader")
        read = time.perf_counter() - t0
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return write, read, back


def _pickle(frame: pd.DataFrame, folder: Path, durable: bool = False) -> tuple[float, Any]:
    path = folder / "frame.pickle"
    t0 = time.perf_counter()
    with path.open("wb") as handle:
        pickle.dump(frame, handle, protocol=5)
        if durable:  # what the store's synchronous=FULL commit guarantees
            handle.flush()
            os.fsync(handle.fileno())
    with path.open("rb") as handle:
        back = pickle.load(handle)
    elapsed = time.perf_counter() - t0
    path.unlink()
    return elapsed, back


def round_trip(name: str, frame: pd.DataFrame, folder: Path, repeats: int) -> dict[str, Any]:
    writes, reads, totals, pickles, durable = [], [], [], [], []
    for rep in range(repeats):
        # Each system takes each place in turn, so that what a place costs (what the
        # system before it left in memory and in the page cache) falls on all alike.
        k = rep % 3
        for which in (0, 1, 2)[k:] + (0, 1, 2)[:k]:
            gc.collect()
            if which == 0:
                write, read, back = _ours(frame, folder, rep)
                writes.append(write)
                reads.append(read)
                totals.append(write + read)
            else:
                elapsed, back = _pickle(frame, folder, durable=which == 2)
                (durable if which == 2 else pickles).append(elapsed)
            assert_frame_equal(back, frame, check_exact=True)
            del back
    ours, base = statistics.median(totals), statistics.median(pickles)
    return {
        "frame": name,
        "shape": list(frame.shape),
        "ours_ms": round(ours * 1e3, 1),
        "ours_write_ms": round(statistics.median(writes) * 1e3, 1),
        "ours_read_ms": round(statistics.median(reads) * 1e3, 1),
        "pickle_ms": round(base * 1e3, 1),
        "ratio": round(ours / base, 3),
        "pickle_fsync_ms": round(statistics.median(durable) * 1e3, 1),
        "ratio_pickle_fsync": round(ours / statistics.median(durable), 3),
        "exact": True,
    }


def result_round_trip(folder: Path, mixed_rows: int, repeats: int) -> dict[str, Any]:
    rows = [round_trip("adult-income", adult_frame(), folder, repeats)]
    frame = wide_mixed_frame(mixed_rows)
    rows.append(round_trip(f"mixed {mixed_rows:,} x 15", frame, folder, repeats))
    del frame
    return {
        "result_rt_ratio_pickle": max(r["ratio"] for r in rows),
        "result_rt_ratio_pickle_adult": rows[0]["ratio"],
        "result_rt_ratio_pickle_mixed": rows[1]["ratio"],
        "result_rt_detail": rows,
    }
