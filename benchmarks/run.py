"""petsard-status benchmarks: our figures beside their baselines, measured in the same run.

    python benchmarks/run.py [--quick] [--json FILE] [--mlflow-python PYTHON]
                             [--only PHASE ...] [--cache DIR]

Prints one table (figure, ours, baseline, ratio, target, met?) and, with
``--json``, writes every figure as JSON.  ``--quick`` uses smaller sizes and
finishes in a few minutes on 2 cores.  This machine is noisy: compare the
ratios, which are measured side by side.
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
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from backends import pg_reachable, postgres_vs_sqlite
from bigframe import big_frame_round_trips
from e2e import end_to_end
from history import DEFAULT_CACHE, history_reads
from mlflow_compare import find_mlflow_python, mlflow_interleaved
from puts import put_overhead
from roundtrip import result_round_trip
from startup import cli_startup
from table import table_rows
from workload import build_workload
from writers import many_writers, pg_writers

FULL = {"puts": 1000, "storage": 10000, "mlflow_steps": 500, "pg_puts": 500,
        "history_snapshots": 100_000, "history_repeats": 3, "cli_runs": 10,
        "big_rows": 5_000_000, "big_repeats": 3, "rt_repeats": 6, "mixed_rows": 1_000_000,
        "sqlite_writers": 8, "sqlite_puts": 250, "pg_writers": 16, "pg_writer_puts": 100,
        "e2e_pairs": 5}
QUICK = {"puts": 200, "storage": 1000, "mlflow_steps": 50, "pg_puts": 100,
         "history_snapshots": 10_000, "history_repeats": 1, "cli_runs": 5,
         "big_rows": 500_000, "big_repeats": 1, "rt_repeats": 2, "mixed_rows": 200_000,
         "sqlite_writers": 8, "sqlite_puts": 25, "pg_writers": 16, "pg_writer_puts": 10,
         "e2e_pairs": 1}
PHASES = ("puts", "mlflow", "postgres", "startup", "history", "roundtrip", "bigframe",
          "writers", "e2e")


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
        **{name: version(name) for name in ("pandas", "pyarrow", "SQLAlchemy", "psycopg",
                                            "petsard-status")},
        # Other work on the machine shows here; the ratios are what to compare.
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
    }


def render(rows: list[dict[str, str]]) -> str:
    columns = ("figure", "ours", "baseline", "ratio", "target", "met")
    widths = {c: max(len(c), *(len(row[c]) for row in rows)) for c in columns}
    lines = [" | ".join(c.ljust(widths[c]) for c in columns),
             "-|-".join("-" * widths[c] for c in columns)]
    lines += [" | ".join(row[c].ljust(widths[c]) for c in columns) for row in rows]
    return "\n".join(lines)


def phases(args: argparse.Namespace, sizes: dict[str, Any], tmp: Path, notes: dict[str, str]
           ) -> dict[str, Callable[[], dict[str, Any]]]:
    work = build_workload()

    def mlflow() -> dict[str, Any]:
        python, info = find_mlflow_python(args.mlflow_python)
        if python is None:
            notes["mlflow_ratio"] = info
            return {}
        try:
            return mlflow_interleaved(python, work, sizes["mlflow_steps"], tmp)
        except (RuntimeError, OSError, ValueError) as exc:
            notes["mlflow_ratio"] = str(exc)
            return {}

    def postgres() -> dict[str, Any]:
        out = postgres_vs_sqlite(work, sizes["pg_puts"], tmp)
        if "postgres_note" in out:
            notes["postgres_put_ratio"] = out["postgres_note"]
        return out

    def writers() -> dict[str, Any]:
        out = {"sqlite_writers_detail": many_writers(
            f"sqlite:///{tmp / 'writers.db'}", sizes["sqlite_writers"], sizes["sqlite_puts"],
            work)}
        reason = pg_reachable()
        if reason is None:
            out["postgres_writers_detail"] = pg_writers(sizes["pg_writers"],
                                                        sizes["pg_writer_puts"], work)
        else:
            notes["postgres_writers"] = reason
        return out

    return {
        "puts": lambda: put_overhead(work, sizes["puts"], sizes["storage"], tmp),
        "mlflow": mlflow,
        "postgres": postgres,
        "startup": lambda: cli_startup(sizes["cli_runs"]),
        "history": lambda: history_reads(sizes["history_snapshots"], sizes["history_repeats"],
                                         args.cache),
        "roundtrip": lambda: result_round_trip(tmp, sizes["mixed_rows"], sizes["rt_repeats"]),
        "bigframe": lambda: big_frame_round_trips(sizes["big_rows"], sizes["big_repeats"],
                                                  tmp / "big"),
        "writers": writers,
        "e2e": lambda: end_to_end(tmp, sizes["e2e_pairs"]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, a few minutes")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--mlflow-python", help="an interpreter that can import mlflow "
                        "(default: $PETSARD_BENCH_MLFLOW_PYTHON, then this one)")
    parser.add_argument("--only", nargs="+", choices=PHASES, help="run only these phases")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help="where the built history run is kept between runs")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    started = time.perf_counter()
    load_before = [round(x, 2) for x in os.getloadavg()]
    results: dict[str, Any] = {}
    notes: dict[str, str] = {}
    timings: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="petsard-bench-") as folder:
        tmp = Path(folder)
        (tmp / "big").mkdir()
        for name, run in phases(args, sizes, tmp, notes).items():
            if args.only and name not in args.only:
                continue
            t0 = time.perf_counter()
            results.update(run())
            timings[name] = round(time.perf_counter() - t0, 1)
            print(f"  {name}: {timings[name]} s", file=sys.stderr, flush=True)
    rows = table_rows(results)
    print(render(rows))
    for key, note in notes.items():
        print(f"note: {key}: {note}")
    elapsed = round(time.perf_counter() - started, 1)
    print(f"{'quick' if args.quick else 'full'} run, {elapsed} s; load average at start "
          f"{load_before}, at end {[round(x, 2) for x in os.getloadavg()]}")
    if args.json:
        document = {"figures": results, "notes": notes, "table": rows,
                    "mode": "quick" if args.quick else "full", "sizes": sizes,
                    "elapsed_s": elapsed, "phases_s": timings,
                    "machine": {**machine(), "load_average_at_start": load_before}}
        args.json.write_text(json.dumps(document, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
