"""Open and look up at scale: runs of 1,000 and 100,000 snapshots.

Building 100,000 snapshots through ``Status.put`` would take many minutes,
so a run is built the fast way: two real cycles of the put workload go through
``Status.put`` (so schemas, fields, blobs and the head state are the store's
own), then the second cycle's ``snapshots`` and ``changes`` rows are copied,
with new ``seq``, ids, timestamps and ``state_json`` (whose snapshot references
are renumbered), by SQLAlchemy Core ``insert(...)`` executemany in batches of
5,000 rows, in one transaction; the run's head is set to the last copied state
and the WAL is checkpointed.  The rows are
what the store writes for that workload; only their number grows.

Each figure is taken in a fresh interpreter (``python scale.py measure ...``)
so that caches, imports and resident memory start from nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
BATCH = 5000


def build_run(path: Path, snapshots: int, seed: int = 0) -> str:
    """A SQLite store at ``path`` holding one run ``scale`` of ``snapshots`` snapshots."""
    from sqlalchemy import insert, select, update
    from workload import CONFIG, MODULES, build_workload, database_bytes

    from petsard_status import Status
    from petsard_status.store import models as m

    work = build_workload(seed)
    cycle = len(MODULES)
    status = Status(CONFIG, store=path, run="scale")
    for module, expt, adapter in work.puts(2 * cycle):
        status.put(module, expt, adapter)
    run_id = status.run_id
    store = status.store
    status.close()

    s, c = m.snapshots.c, m.changes.c
    with store.engine.connect() as conn:
        template = [dict(r._mapping) for r in conn.execute(
            select(m.snapshots).where(s.run_id == run_id, s.seq > cycle).order_by(s.seq))]
        template_changes = [dict(r._mapping) for r in conn.execute(
            select(m.changes).where(c.run_id == run_id, c.snapshot_seq > cycle).order_by(c.seq))]
        next_change = conn.execute(
            select(c.seq).where(c.run_id == run_id).order_by(c.seq.desc()).limit(1)).scalar()
    for row in template:
        row.pop("id")
    for row in template_changes:
        row.pop("id")

    states = [json.loads(row["state_json"]) for row in template]
    shifts = [0] * cycle
    start = dt.datetime(2024, 1, 1)
    snap_rows: list[dict[str, Any]] = []
    change_rows: list[dict[str, Any]] = []
    last_state = None

    def flush(conn: Any) -> None:
        if snap_rows:
            conn.execute(insert(m.snapshots), snap_rows)
            snap_rows.clear()
        if change_rows:
            conn.execute(insert(m.changes), change_rows)
            change_rows.clear()

    with store.engine.begin() as conn:
        for seq in range(2 * cycle + 1, snapshots + 1):
            base = template[(seq - 1) % cycle]
            shift = seq - base["seq"]
            when = start + dt.timedelta(seconds=seq)
            stamp = when.strftime("%Y%m%d_%H%M%S")
            # The state as RunState.to_json writes it, its snapshot references moved on.
            state = states[(seq - 1) % cycle]
            for entry in state["active"]:
                entry[2] += shift - shifts[(seq - 1) % cycle]
            shifts[(seq - 1) % cycle] = shift
            last_state = json.dumps(state, separators=(",", ":"), ensure_ascii=False)
            snap_rows.append({**base, "seq": seq, "snapshot_id": f"snapshot_{seq:06d}_{stamp}",
                              "timestamp": when, "state_json": last_state})
            for change in template_changes:
                if change["snapshot_seq"] != base["seq"]:
                    continue
                next_change += 1
                change_rows.append({**change, "seq": next_change, "snapshot_seq": seq,
                                    "change_id": f"change_{next_change:06d}_{stamp}",
                                    "timestamp": when})
            if len(snap_rows) >= BATCH:
                flush(conn)
        flush(conn)
        if last_state is not None:
            conn.execute(update(m.runs).where(m.runs.c.id == run_id).values(head_json=last_state))
    store.close()
    # A single transaction this large cannot be checkpointed while it runs; a store
    # that grew put by put would have been checkpointed all along.
    database_bytes(path)
    return "scale"


def _rss_bytes() -> int:
    try:
        import psutil

        return int(psutil.Process().memory_info().rss)
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def measure(path: Path, run: str, lookups: int, seed: int) -> dict[str, Any]:
    """In this (fresh) process: open, lookups, summary and the memory open adds."""
    import gc

    from petsard_status import Status

    gc.collect()
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    status = Status.open(run, store=path)
    open_first = time.perf_counter() - t0
    gc.collect()
    rss1 = _rss_bytes()
    reopen = []
    for _ in range(5):
        t0 = time.perf_counter()
        again = Status.open(run, store=path)
        reopen.append(time.perf_counter() - t0)
        again.close()
    total = status.count("snapshots")
    rng = random.Random(seed)
    seqs = [rng.randint(1, total) for _ in range(lookups)]
    ids = status.store.read(lambda conn: _ids_for(conn, status.run_id, seqs))
    times = []
    for snapshot_id in ids:
        t0 = time.perf_counter()
        snap = status.get_snapshot_by_id(snapshot_id)
        times.append(time.perf_counter() - t0)
        assert snap is not None and snap.snapshot_id == snapshot_id
    summaries = []
    for _ in range(5):
        t0 = time.perf_counter()
        summary = status.get_status_summary()
        summaries.append(time.perf_counter() - t0)
    assert summary["total_snapshots"] == total
    status.close()
    return {
        "snapshots": total,
        "open_ms_first": open_first * 1e3,
        "open_ms_again": statistics.median(reopen) * 1e3,
        "lookup_us_median": statistics.median(times) * 1e6,
        "lookup_us_first": times[0] * 1e6,
        "summary_ms": statistics.median(summaries) * 1e3,
        "open_rss_mb": (rss1 - rss0) / 2**20,
    }


def _ids_for(conn: Any, run_id: int, seqs: list[int]) -> list[str]:
    from sqlalchemy import select

    from petsard_status.store import models as m

    s = m.snapshots.c
    by_seq = dict(conn.execute(select(s.seq, s.snapshot_id).where(
        s.run_id == run_id, s.seq.in_(sorted(set(seqs))))).all())
    return [by_seq[q] for q in seqs]


def measure_in_subprocess(path: Path, run: str, lookups: int, seed: int) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "measure", str(path), run,
         str(lookups), str(seed)],
        capture_output=True, text=True, timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"scale measurement failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def build_runs(tmp: Path, sizes: tuple[int, ...]) -> tuple[dict[int, Path], float]:
    """One store per size; returns their paths and the seconds it took."""
    t0 = time.perf_counter()
    paths = {}
    for n in sizes:
        paths[n] = tmp / f"scale_{n}.db"
        build_run(paths[n], n)
    return paths, time.perf_counter() - t0


def open_and_lookup(paths: dict[int, Path], built: float, repeats: int) -> dict[str, Any]:
    small, large = sorted(paths)
    results: dict[int, list[dict[str, Any]]] = {small: [], large: []}
    for r in range(repeats):
        for n in ((small, large) if r % 2 == 0 else (large, small)):
            results[n].append(measure_in_subprocess(paths[n], "scale", 200, r))

    def med(n: int, key: str) -> float:
        return statistics.median(x[key] for x in results[n])

    open_small, open_large = med(small, "open_ms_first"), med(large, "open_ms_first")
    return {
        "open_ms_1k": round(open_small, 2),
        "open_ms_100k": round(open_large, 2),
        "open_growth_ratio": round(open_large / open_small, 3),
        "open_ms_again_1k": round(med(small, "open_ms_again"), 2),
        "open_ms_again_100k": round(med(large, "open_ms_again"), 2),
        "lookup_us_median": round(med(large, "lookup_us_median"), 1),
        "lookup_us_first_100k": round(med(large, "lookup_us_first"), 1),
        "summary_ms_100k": round(med(large, "summary_ms"), 2),
        "summary_ms_1k": round(med(small, "summary_ms"), 2),
        "open_rss_mb_100k": round(med(large, "open_rss_mb"), 2),
        "open_rss_mb_1k": round(med(small, "open_rss_mb"), 2),
        "scale_snapshots": [small, large],
        "scale_build_s": round(built, 1),
        "scale_db_mb_100k": round(paths[large].stat().st_size / 2**20, 1),
    }


if __name__ == "__main__" and len(sys.argv) == 6 and sys.argv[1] == "measure":
    sys.path.insert(0, str(HERE))
    print(json.dumps(measure(Path(sys.argv[2]), sys.argv[3], int(sys.argv[4]),
                             int(sys.argv[5]))))
