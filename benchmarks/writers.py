"""Many writers: N processes putting into one store at once, each into its own run.

The processes are forked from a parent that has already imported everything
and created the store's tables, wait on a barrier, then each makes its puts of
the shared workload.  Aggregate throughput is all puts over the wall time from
the barrier to the last put; latency is per put.  A figure is reported only
when no put failed.
"""

from __future__ import annotations

import multiprocessing as mp
import statistics
import time
import traceback
from typing import Any

from backends import pg_schema
from workload import CONFIG, Workload

from petsard_status import Status, Store


def _writer(url: str, index: int, work: Workload, puts: int, barrier: Any,
            queue: Any) -> None:
    latencies: list[int] = []
    errors: list[str] = []
    start = end = 0.0
    try:
        status = Status(CONFIG, store=url, run=f"writer_{index:02d}")
        items = list(work.puts(puts))
        barrier.wait(timeout=300)
        start = time.time()
        for module, expt, adapter in items:
            t0 = time.perf_counter_ns()
            try:
                status.put(module, expt, adapter)
            except Exception as exc:  # counted and reported, never hidden
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter_ns() - t0)
        end = time.time()
        status.close()
    except Exception:
        errors.append(traceback.format_exc(limit=3))
        barrier.abort()
    queue.put({"latencies": latencies, "errors": errors, "start": start, "end": end})


def many_writers(url: str, processes: int, puts: int, work: Workload) -> dict[str, Any]:
    Store(url).close()  # create the tables once, before the writers race to
    context = mp.get_context("fork")
    barrier = context.Barrier(processes)
    queue = context.Queue()
    workers = [context.Process(target=_writer, args=(url, i, work, puts, barrier, queue))
               for i in range(processes)]
    for w in workers:
        w.start()
    reports = [queue.get(timeout=1800) for _ in workers]
    for w in workers:
        w.join(timeout=60)
    errors = [e for r in reports for e in r["errors"]]
    latencies = sorted(x for r in reports for x in r["latencies"])
    done = len(latencies) - len(errors)
    wall = max(r["end"] for r in reports) - min(r["start"] for r in reports if r["start"])
    result: dict[str, Any] = {
        "processes": processes,
        "puts": done,
        "errors": len(errors),
        "wall_s": round(wall, 2),
    }
    if errors:
        result["first_error"] = errors[0][-500:]
        result["puts_s"] = None
        result["p99_ms"] = None
        return result
    result["puts_s"] = round(done / wall, 1)
    result["p99_ms"] = round(statistics.quantiles(latencies, n=100)[-1] / 1e6, 2)
    result["p50_ms"] = round(statistics.median(latencies) / 1e6, 2)
    return result


def pg_writers(processes: int, puts: int, work: Workload) -> dict[str, Any]:
    """Many writers on a fresh PostgreSQL schema, dropped afterwards."""
    with pg_schema() as url:
        return many_writers(url, processes, puts, work)
