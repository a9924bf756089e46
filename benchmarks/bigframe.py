"""A 5,000,000 x 20 mixed frame: put and get_result memory, and the round trip
beside Parquet and pickle.

Every step runs in a subprocess of its own (``python bigframe.py STEP ROWS
FOLDER``), so that one step's memory or page cache of Python objects never
helps another: writers build the frame, reset the peak-RSS mark
(``/proc/self/clear_refs``), write, and report the peak (``VmHWM``); readers
read what the writer left and report the same.  Memory ratios are the peak
RSS above what the process held before the frame existed (the frame itself
counts as 1.0), over the frame's ``memory_usage(deep=True)``.  Round trip =
write seconds + read seconds, each in its own process, after a 100-row round
trip of the same kind (lazy imports are not what is compared):

- ours: ``Status.put`` of the frame into a fresh SQLite store, ``get_result``
  after ``Status.open`` in a new process; the frame is over the store's
  threshold, so it goes the store's real way: streamed by ``write_frame`` into
  ``big.db.frames/<hash>.arrows`` (partial file, fsync, rename, folder fsync)
  before the put's transaction, and read back by ``read_frame`` checking its hash;
- blob: the same put and read with the threshold out of reach
  (``frame_file_cells=10**12``), so the frame is one blob in the database, as
  every frame was before frame files (and as on PostgreSQL);
- Parquet: ``to_parquet`` (pyarrow, its default snappy) and ``read_parquet``;
- pickle: ``pickle.dump`` (protocol 5) plus ``fsync`` (the durability of our
  commit), and ``pickle.load``.

Only one such frame is in memory at a time: the steps run one after another.

``python bigframe.py stream ROWS FOLDER REPEATS`` times the frame file codec
alone, in one process: ``write_frame`` (zstd) with an fsync, then
``read_frame`` checking the hash (medians of wall and CPU seconds).
"""

from __future__ import annotations

import gc
import json
import os
import pickle
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
STEPS = ("ours", "blob", "parquet", "pickle")


def big_frame(rows: int, seed: int = 0) -> pd.DataFrame:
    """20 columns: ints, floats with NaN, nullable ints/floats/bools, str, categories, times."""
    rng = np.random.default_rng(seed)
    words = np.array([f"token-{i:05d}" for i in range(20_000)], dtype=object)
    missing = rng.random(rows) < 0.05
    naive = pd.Timestamp("2000-01-01") + pd.to_timedelta(rng.integers(0, 10**9, rows), unit="s")
    floats = rng.normal(0.0, 1.0, rows)
    floats[missing] = np.nan
    nullable = pd.array(rng.integers(-10**6, 10**6, rows), dtype="Int64")
    nullable[missing] = pd.NA
    maybe = pd.array(rng.random(rows) < 0.5, dtype="boolean")
    maybe[rng.random(rows) < 0.02] = pd.NA
    measured = pd.array(rng.exponential(3.0, rows), dtype="Float64")
    measured[rng.random(rows) < 0.04] = pd.NA
    text_na = words[rng.integers(0, len(words), rows)]
    text_na[rng.random(rows) < 0.03] = None
    return pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "count": rng.integers(0, 1000, rows),
        "code": rng.integers(0, 2**40, rows),
        "small": rng.integers(0, 100, rows).astype(np.int32),
        "score": floats,
        "weight": rng.exponential(2.0, rows),
        "noise": rng.normal(5.0, 2.0, rows),
        "ratio": rng.random(rows).astype(np.float32),
        "amount": nullable,
        "maybe": maybe,
        "measured": measured,
        "flag": rng.random(rows) < 0.5,
        "group": pd.Categorical(rng.choice(["a", "b", "c", "d", "e"], rows)),
        "grade": pd.Categorical(rng.choice(["low", "mid", "high"], rows),
                                categories=["low", "mid", "high"], ordered=True),
        "name": pd.Series(words[rng.integers(0, len(words), rows)], dtype="str"),
        "city": pd.Series(words[rng.integers(0, 500, rows)], dtype="str"),
        "note": pd.Series(text_na, dtype="str"),
        "created": naive,
        "updated": naive.tz_localize("UTC"),
        "elapsed": pd.to_timedelta(rng.integers(0, 10**6, rows), unit="s"),
    })


def _rss_kb() -> int:
    return int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def _hwm_kb() -> int:
    return int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))


def _reset_peak() -> None:
    Path("/proc/self/clear_refs").write_text("5")


def _store_frame(step: str, frame: pd.DataFrame, folder: Path, name: str) -> None:
    from workload import ResultOnlyAdapter

    from petsard_status import Status, Store

    if step in ("ours", "blob"):
        with Store(folder / f"{name}.db", frame_file_cells=_cells(step)) as store, Status(
                {"Loader": {"load": {"filepath": "big.csv"}}}, store=store, run="big") as status:
            status.put("Loader", "load", ResultOnlyAdapter(frame))
    elif step == "parquet":
        frame.to_parquet(folder / f"{name}.parquet")
    else:
        with (folder / f"{name}.pickle").open("wb") as handle:
            pickle.dump(frame, handle, protocol=5)
            handle.flush()
            os.fsync(handle.fileno())


def _cells(step: str) -> int | None:
    return 10**12 if step == "blob" else None  # None: the store's default threshold


def _load_frame(step: str, folder: Path, name: str) -> pd.DataFrame:
    from petsard_status import Status, Store

    if step in ("ours", "blob"):
        with Store(folder / f"{name}.db", frame_file_cells=_cells(step)) as store, \
                Status.open("big", store=store) as status:
            return status.get_result("Loader")
    if step == "parquet":
        return pd.read_parquet(folder / f"{name}.parquet")
    with (folder / f"{name}.pickle").open("rb") as handle:
        return pickle.load(handle)  # our own file, written a moment ago by this benchmark


def _warm_up(step: str, folder: Path) -> None:
    """A 100-row round trip first, so lazy imports and first-call costs are not timed."""
    warm = folder / "warm"
    warm.mkdir(exist_ok=True)
    _store_frame(step, big_frame(100), warm, "warm")
    _load_frame(step, warm, "warm")
    shutil.rmtree(warm)


def _write(step: str, rows: int, folder: Path) -> dict[str, Any]:
    _warm_up(step, folder)
    gc.collect()
    before = _rss_kb()
    frame = big_frame(rows)
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    gc.collect()
    _reset_peak()
    t0 = time.perf_counter()
    _store_frame(step, frame, folder, "big")
    elapsed = time.perf_counter() - t0
    return {"seconds": elapsed, "frame_bytes": frame_bytes,
            "peak_ratio": (_hwm_kb() - before) * 1024 / frame_bytes}


def _read(step: str, folder: Path, check: bool, rows: int) -> dict[str, Any]:
    _warm_up(step, folder)
    gc.collect()
    before = _rss_kb()
    _reset_peak()
    t0 = time.perf_counter()
    frame = _load_frame(step, folder, "big")
    elapsed = time.perf_counter() - t0
    peak = (_hwm_kb() - before) * 1024
    frame_bytes = int(frame.memory_usage(deep=True).sum())
    out: dict[str, Any] = {"seconds": elapsed, "peak_ratio": peak / frame_bytes, "exact": None}
    if check:
        expected = big_frame(rows)
        try:
            pd.testing.assert_frame_equal(frame, expected, check_exact=True)
            out["exact"] = True
        except AssertionError as exc:
            out["exact"] = False
            out["difference"] = str(exc)[:500]
    return out


def stream_codec(rows: int, repeats: int, folder: Path) -> dict[str, Any]:
    """``write_frame`` (zstd, fsync) then ``read_frame`` of one frame file, in this
    process, from the page cache: medians of wall and CPU seconds over ``repeats``."""
    from petsard_status.formats import read_frame, write_frame

    frame = big_frame(rows)
    path = folder / "big.stream.arrows"
    times: dict[str, list[float]] = {}
    for _ in range(repeats):
        gc.collect()
        clocks = time.perf_counter(), time.process_time()
        with path.open("wb") as handle:
            digest, _ = write_frame(frame, handle, compression="zstd")
            os.fsync(handle.fileno())
        middle = time.perf_counter(), time.process_time()
        with path.open("rb") as handle:
            back = read_frame(handle, digest=digest)
        end = time.perf_counter(), time.process_time()
        del back
        for name, (a, b) in (("write", (clocks, middle)), ("read", (middle, end))):
            times.setdefault(f"{name}_s", []).append(b[0] - a[0])
            times.setdefault(f"{name}_cpu_s", []).append(b[1] - a[1])
    path.unlink()
    return {key: round(statistics.median(values), 3) for key, values in times.items()}


def _clean(folder: Path) -> None:
    for path in folder.glob("big.*"):
        if path.is_dir():
            shutil.rmtree(path)
        else:
            path.unlink()


def _child(role: str, step: str, rows: int, folder: Path, check: bool) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), role, step, str(rows),
                          str(folder), "check" if check else "-"],
                         capture_output=True, text=True, timeout=3600)
    if out.returncode != 0:
        raise RuntimeError(f"bigframe {role} {step} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def big_frame_round_trips(rows: int, repeats: int, folder: Path,
                          steps: tuple[str, ...] = STEPS) -> dict[str, Any]:
    """Medians over ``repeats``; the order of the steps rotates."""
    samples: dict[str, list[dict[str, Any]]] = {s: [] for s in steps}
    for r in range(repeats):
        k = r % len(steps)
        for step in steps[k:] + steps[:k]:
            _clean(folder)
            written = _child("write", step, rows, folder, False)
            read = _child("read", step, rows, folder, r == 0)
            samples[step].append({"write": written, "read": read})
        _clean(folder)
    out: dict[str, Any] = {"big_rows": rows, "big_repeats": repeats}
    for step, runs in samples.items():
        for role in ("write", "read"):
            out[f"big_{step}_{role}_s"] = round(statistics.median(
                x[role]["seconds"] for x in runs), 3)
        out[f"big_{step}_rt_s"] = round(statistics.median(
            x["write"]["seconds"] + x["read"]["seconds"] for x in runs), 3)
        out[f"big_{step}_write_peak_ratio"] = round(statistics.median(
            x["write"]["peak_ratio"] for x in runs), 2)
        out[f"big_{step}_read_peak_ratio"] = round(statistics.median(
            x["read"]["peak_ratio"] for x in runs), 2)
        out[f"big_{step}_exact"] = runs[0]["read"]["exact"]
    out["big_frame_mb"] = round(samples["ours"][0]["write"]["frame_bytes"] / 2**20, 1)
    for mine, key in (("ours", "big"), ("blob", "big_blob")):
        if mine in samples:
            out[f"{key}_rt_ratio_parquet"] = round(
                out[f"big_{mine}_rt_s"] / out["big_parquet_rt_s"], 3)
            out[f"{key}_rt_ratio_pickle_fsync"] = round(
                out[f"big_{mine}_rt_s"] / out["big_pickle_rt_s"], 3)
    return out


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    if len(sys.argv) == 6 and sys.argv[1] in ("write", "read") and sys.argv[2] in STEPS:
        role, step, n, where, flag = sys.argv[1:]
        result = (_write(step, int(n), Path(where)) if role == "write"
                  else _read(step, Path(where), flag == "check", int(n)))
        print(json.dumps(result))
    elif len(sys.argv) >= 4 and sys.argv[1] == "measure":
        target = Path(sys.argv[3])
        target.mkdir(parents=True, exist_ok=True)
        chosen = tuple(sys.argv[4:]) or STEPS
        if not set(chosen) <= set(STEPS) or not {"parquet", "pickle"} <= set(chosen):
            raise SystemExit(f"steps: some of {', '.join(STEPS)}, parquet and pickle included")
        print(json.dumps(big_frame_round_trips(int(sys.argv[2]), 1, target, chosen), indent=2))
    elif len(sys.argv) == 5 and sys.argv[1] == "stream":
        target = Path(sys.argv[3])
        target.mkdir(parents=True, exist_ok=True)
        print(json.dumps(stream_codec(int(sys.argv[2]), int(sys.argv[4]), target)))
    else:
        raise SystemExit("usage: bigframe.py measure ROWS FOLDER [STEP ...] | stream ROWS "
                         "FOLDER REPEATS | (write|read) STEP ROWS FOLDER (check|-)")
