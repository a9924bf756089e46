"""petsard-status benchmarks: our figures beside their baselines, measured in the same run.

    python benchmarks/run.py [--quick] [--json FILE] [--mlflow-python PYTHON]

Prints one table (figure, ours, baseline, ratio, target, met?) and, with
``--json``, writes the same figures as JSON.  ``--quick`` uses smaller sizes
and finishes within a minute on 2 cores; the full run takes a few minutes.
This machine is noisy: compare the ratios, which are measured side by side.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sqlite3
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e import end_to_end
from puts import MlflowSteps, find_mlflow_python, put_overhead
from roundtrip import result_round_trip
from scale import build_runs, open_and_lookup
from workload import build_workload
from writers import many_writers, pg_reachable, pg_writers

FULL = {"puts": 2000, "storage": 10000, "mlflow_steps": 500, "scale": (1000, 100_000),
        "scale_repeats": 3, "mixed_rows": 1_000_000, "rt_repeats": 3, "sqlite_writers": 8,
        "sqlite_puts": 250, "pg_writers": 16, "pg_puts": 100, "e2e_pairs": 5}
QUICK = {"puts": 300, "storage": 1000, "mlflow_steps": 50, "scale": (1000, 100_000),
         "scale_repeats": 1, "mixed_rows": 200_000, "rt_repeats": 2, "sqlite_writers": 8,
         "sqlite_puts": 25, "pg_writers": 16, "pg_puts": 10, "e2e_pairs": 1}

KEYS = ("put_us_median", "put_floor_us_median", "put_ratio_floor", "put_memory_us_median",
        "mlflow_ratio", "bytes_per_put", "naive_bytes_per_put", "storage_ratio", "open_ms_1k",
        "open_ms_100k", "open_growth_ratio", "lookup_us_median", "summary_ms_100k",
        "open_rss_mb_100k", "result_rt_ratio_pickle", "sqlite_writers_puts_s",
        "postgres_writers_puts_s", "e2e_overhead_ratio")


def machine() -> dict[str, Any]:
    def version(name: str) -> str:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return "not installed"

    return {
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "pandas": version("pandas"),
        "pyarrow": version("pyarrow"),
        "sqlalchemy": version("SQLAlchemy"),
        "petsard_status": version("petsard-status"),
        # Other work on the machine shows here; the ratios are what to compare.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("yes" if ok else "NO")


def table_rows(r: dict[str, Any], sizes: dict[str, Any]) -> list[dict[str, str]]:
    rows = []

    def add(figure: str, ours: Any, baseline: Any, ratio: Any, target: str,
            ok: bool | None, digits: int = 1) -> None:
        rows.append({"figure": figure, "ours": _fmt(ours, digits),
                     "baseline": _fmt(baseline, digits), "ratio": _fmt(ratio, 3),
                     "target": target, "met": _met(ok)})

    add(f"put median us vs raw-sqlite3 floor ({r['put_count']} puts)", r["put_us_median"],
        r["put_floor_us_median"], r["put_ratio_floor"], "<= 2 (aim <= 1)",
        r["put_ratio_floor"] <= 2)
    add("put median us vs floor with JSON encoded beforehand (info)", r["put_us_median"],
        r["put_floor_write_only_us_median"],
        round(r["put_us_median"] / r["put_floor_write_only_us_median"], 3), "-", None)
    add("put median us vs in-memory dict+deque (info)", r["put_us_median"],
        r["put_memory_us_median"], r["put_memory_ratio"], "-", None, 2)
    mlflow = r.get("mlflow_step_us_median")
    add("MLflow step us / our put us", r["put_us_median"], mlflow, r["mlflow_ratio"],
        ">= 20", None if r["mlflow_ratio"] is None else r["mlflow_ratio"] >= 20)
    add(f"storage bytes per put ({r['storage_puts']} puts) vs full JSON",
        r["bytes_per_put"], r["naive_bytes_per_put"], r["storage_ratio"], "<= 0.05",
        r["storage_ratio"] <= 0.05)
    add("Status.open ms, 100k vs 1k snapshots", r["open_ms_100k"], r["open_ms_1k"],
        r["open_growth_ratio"], "<= 2", r["open_growth_ratio"] <= 2, 2)
    add("get_snapshot_by_id us (100k run, with metadata)", r["lookup_us_median"], None, None,
        "<= 1000 us", r["lookup_us_median"] <= 1000)
    add("get_status_summary ms (100k run)", r["summary_ms_100k"], r["summary_ms_1k"], None,
        "<= 50 ms", r["summary_ms_100k"] <= 50, 2)
    add("RSS added by Status.open MB (100k run)", r["open_rss_mb_100k"], r["open_rss_mb_1k"],
        None, "<= 30 MB", r["open_rss_mb_100k"] <= 30, 2)
    for detail in r["result_rt_detail"]:
        add(f"result write+read ms vs pickle, {detail['frame']}", detail["ours_ms"],
            detail["pickle_ms"], detail["ratio"], "<= 3, exact",
            detail["ratio"] <= 3 and detail["exact"])
        add(f"  same vs pickle + fsync (info), {detail['frame']}", detail["ours_ms"],
            detail["pickle_fsync_ms"], detail["ratio_pickle_fsync"], "-", None)
    for name, key in (("SQLite", "sqlite_writers"), ("PostgreSQL", "postgres_writers")):
        w = r.get(f"{key}_detail")
        if w is None:
            add(f"{name} many writers puts/s", None, None, None, "0 errors", None)
            continue
        add(f"{name} {w['processes']} writers puts/s (p99 {_fmt(w['p99_ms'])} ms, "
            f"{w['errors']} errors)", w["puts_s"], None, None, "0 errors", w["errors"] == 0)
    add(f"example pipeline s, store vs in-memory ({r['e2e_pairs']} pairs)", r["e2e_ours_s"],
        r["e2e_memory_s"], r["e2e_overhead_ratio"], "<= 1.10",
        r["e2e_overhead_ratio"] <= 1.10, 3)
    return rows


def render(rows: list[dict[str, str]]) -> str:
    columns = ("figure", "ours", "baseline", "ratio", "target", "met")
    widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in columns}
    lines = [" | ".join(c.ljust(widths[c]) for c in columns),
             "-|-".join("-" * widths[c] for c in columns)]
    for row in rows:
        lines.append(" | ".join(row[c].ljust(widths[c]) for c in columns))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--mlflow-python", help="an interpreter that can import mlflow "
                        "(default: $PETSARD_BENCH_MLFLOW_PYTHON, then this one)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, Any] = {}
    notes: dict[str, str] = {}
    phases: dict[str, float] = {}

    def phase(name: str, t0: float) -> None:
        phases[name] = round(time.perf_counter() - t0, 1)
        print(f"  {name}: {phases[name]} s", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="petsard-bench-") as folder:
        tmp = Path(folder)
        t0 = time.perf_counter()
        work = build_workload()
        python, mlflow_info = find_mlflow_python(args.mlflow_python)
        mlflow = None
        if python is None:
            notes["mlflow_ratio"] = mlflow_info
        else:
            try:
                mlflow = MlflowSteps(python, work, sizes["mlflow_steps"], tmp)
            except OSError as exc:
                notes["mlflow_ratio"] = f"cannot start {python}: {exc}"
        paths, built = build_runs(tmp, sizes["scale"])
        phase("workload and scale stores built", t0)

        t0 = time.perf_counter()
        if mlflow is not None:
            try:
                results.update(mlflow.measure())
                results["mlflow_python"] = mlflow_info
            except (RuntimeError, OSError, ValueError) as exc:
                mlflow.stop()
                notes["mlflow_ratio"] = str(exc)
        phase("mlflow", t0)

        t0 = time.perf_counter()
        results.update(put_overhead(work, sizes["puts"], sizes["storage"], tmp))
        step = results.get("mlflow_step_us_median")
        results["mlflow_ratio"] = round(step / results["put_us_median"], 2) if step else None
        phase("put overhead and storage", t0)

        t0 = time.perf_counter()
        results.update(open_and_lookup(paths, built, sizes["scale_repeats"]))
        phase("open and lookup", t0)

        t0 = time.perf_counter()
        results.update(result_round_trip(tmp, sizes["mixed_rows"], sizes["rt_repeats"]))
        phase("result round trip", t0)

        t0 = time.perf_counter()
        sqlite_w = many_writers(f"sqlite:///{tmp / 'writers.db'}", sizes["sqlite_writers"],
                                sizes["sqlite_puts"], work)
        results["sqlite_writers_detail"] = sqlite_w
        results["sqlite_writers_puts_s"] = sqlite_w["puts_s"]
        if sqlite_w["errors"]:
            notes["sqlite_writers_puts_s"] = f"{sqlite_w['errors']} puts failed"
        reason = pg_reachable()
        if reason is None:
            pg_w = pg_writers(sizes["pg_writers"], sizes["pg_puts"], work)
            results["postgres_writers_detail"] = pg_w
            results["postgres_writers_puts_s"] = pg_w["puts_s"]
            if pg_w["errors"]:
                notes["postgres_writers_puts_s"] = f"{pg_w['errors']} puts failed"
        else:
            results["postgres_writers_puts_s"] = None
            notes["postgres_writers_puts_s"] = reason
        phase("many writers", t0)

        t0 = time.perf_counter()
        results.update(end_to_end(tmp, sizes["e2e_pairs"]))
        phase("end to end", t0)

    rows = table_rows(results, sizes)
    print(render(rows))
    for key, note in notes.items():
        print(f"note: {key}: {note}")
    elapsed = round(time.perf_counter() - started, 1)
    print(f"{'quick' if args.quick else 'full'} run, {elapsed} s; load average at start "
          f"{load_before}, at end {[round(x, 2) for x in os.getloadavg()]}")
    if args.json:
        document = {key: results.get(key) for key in KEYS}
        document.update({
            "note": "; ".join(f"{k}: {v}" for k, v in notes.items()) or None,
            "notes": notes,
            "mode": "quick" if args.quick else "full",
            "sizes": sizes,
            "elapsed_s": elapsed,
            "phases_s": phases,
            "machine": {**machine(), "load_average_at_start": load_before},
            "table": rows,
            "details": {k: v for k, v in results.items() if k not in KEYS},
        })
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
