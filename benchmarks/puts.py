"""Put time and storage: ours beside the physical floor and the naive store.

The systems take the same puts in turn, put by put, and the order rotates
every put, so that the noise of this machine falls on all of them alike.  Two
workloads: result frames identical every cycle (what the benchmark workload
does) and frames of which one cell changes every put (what deduplication
cannot help).  The floor writes, per put, pre-made bytes of the size our
put adds to the database in steady state on the same workload (measured first,
on a store of its own).
"""

from __future__ import annotations

import sqlite3
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from baselines import NaiveStore, PhysicalFloor, arrow_ipc
from workload import CONFIG, MODULES, Workload, database_bytes

from petsard_status import Status

Put = Callable[[str, str, Any], None]


def _median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000.0


def interleave(systems: dict[str, Put], items: Iterable[tuple[str, str, Any]]
               ) -> dict[str, list[int]]:
    """Each put goes to every system, in an order that rotates every put; ns per put."""
    names = list(systems)
    times: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for i, (module, expt, adapter) in enumerate(items):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            put = systems[name]
            t0 = clock()
            put(module, expt, adapter)
            times[name].append(clock() - t0)
    return times


def steady_bytes_per_put(work: Workload, tmp: Path, changing: bool,
                         warm: int = 50, measured: int = 200) -> int:
    """Bytes our put adds to the database once the first frames are stored."""
    sizes = []
    for n in (warm, warm + measured):
        path = tmp / f"calibrate_{int(changing)}_{n}.db"
        status = Status(CONFIG, store=path, run="calibrate")
        for module, expt, adapter in work.puts(n, changing=changing):
            status.put(module, expt, adapter)
        status.close()
        sizes.append(database_bytes(path))
    return max(1, round((sizes[1] - sizes[0]) / measured))


def _payload_bytes(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("SELECT COALESCE(SUM(LENGTH(data)), 0) FROM results")
                   .fetchone()[0])
    finally:
        conn.close()


def _one_workload(work: Workload, n_puts: int, tmp: Path, changing: bool
                  ) -> tuple[dict[str, list[int]], dict[str, Any]]:
    tag = "changing" if changing else "identical"
    payload = steady_bytes_per_put(work, tmp, changing)
    ours = Status(CONFIG, store=tmp / f"ours_{tag}.db", run="bench")
    naive = NaiveStore(tmp / f"naive_{tag}.db")
    floor = PhysicalFloor(tmp / f"floor_{tag}.db", payload)
    systems: dict[str, Put] = {
        "ours": lambda m, e, a: ours.put(m, e, a),
        "naive": naive.put,
        "floor": lambda m, e, a: floor.put(),
    }
    times = interleave(systems, work.puts(n_puts, changing=changing))
    ours.close()
    naive.close()
    floor.close()
    return times, {"floor_payload_bytes": payload}


def put_overhead(work: Workload, n_puts: int, n_storage: int, tmp: Path) -> dict[str, Any]:
    """Both workloads interleaved; then ours alone to ``n_storage`` puts for storage."""
    out: dict[str, Any] = {"put_count": n_puts}
    for changing in (False, True):
        tag = "changing" if changing else "identical"
        times, info = _one_workload(work, n_puts, tmp, changing)
        ours_us, floor_us, naive_us = (_median_us(times[k]) for k in ("ours", "floor", "naive"))
        key = "" if not changing else "_changing"
        out[f"put_us_median{key}"] = round(ours_us, 1)
        out[f"put_floor_us_median{key}"] = round(floor_us, 1)
        out[f"put_naive_us_median{key}"] = round(naive_us, 1)
        out[f"put_ratio_floor{key}"] = round(ours_us / floor_us, 2)
        out[f"put_ratio_naive{key}"] = round(ours_us / naive_us, 3)
        out[f"floor_payload_bytes{key}"] = info["floor_payload_bytes"]
        out[f"put_us_p95{key}"] = round(statistics.quantiles(times["ours"], n=20)[-1] / 1e3, 1)
        by_module = {m: [t for i, t in enumerate(times["ours"]) if i % len(MODULES) == j]
                     for j, m in enumerate(MODULES)}
        out[f"put_us_median_by_module{key}"] = {m: round(_median_us(v), 1)
                                                for m, v in by_module.items() if v}
        naive_path = tmp / f"naive_{tag}.db"
        naive_bytes = database_bytes(naive_path)
        out[f"naive_bytes_per_put{key}"] = round(naive_bytes / n_puts, 1)
        out[f"naive_json_bytes_per_put{key}"] = round(
            (naive_bytes - _payload_bytes(naive_path)) / n_puts, 1)
    out.update(_storage(work, n_puts, n_storage, tmp))
    out["storage_ratio_json"] = round(out["bytes_per_put"] / out["naive_json_bytes_per_put"], 5)
    return out


def _storage(work: Workload, n_puts: int, n_storage: int, tmp: Path) -> dict[str, Any]:
    """Bytes per put: ours after ``n_storage`` puts (identical frames) and after the
    interleaved changing-frame puts, beside the naive store and the frames' Arrow size."""
    path = tmp / "ours_identical.db"
    status = Status.open("bench", store=path)
    for i, (module, expt, adapter) in enumerate(work.puts(n_storage)):
        if i >= n_puts:
            status.put(module, expt, adapter)
    status.close()
    ours = database_bytes(path) / max(n_storage, n_puts)
    ours_changing = database_bytes(tmp / "ours_changing.db") / n_puts
    arrow = statistics.mean(len(arrow_ipc(work.frames[m])) for m in MODULES)
    naive = database_bytes(tmp / "naive_identical.db") / n_puts
    naive_changing = database_bytes(tmp / "naive_changing.db") / n_puts
    return {
        "storage_puts": max(n_storage, n_puts),
        "bytes_per_put": round(ours, 1),
        "storage_ratio": round(ours / naive, 5),
        "bytes_per_put_changing": round(ours_changing, 1),
        "storage_ratio_changing": round(ours_changing / naive_changing, 3),
        "frame_arrow_bytes_mean": round(arrow, 1),
    }
