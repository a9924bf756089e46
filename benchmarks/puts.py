"""Put overhead and storage growth: our store, the raw-sqlite3 floor, memory, MLflow.

The three in-process systems take the same puts in turn (the order rotates
every put), so that the noise of this machine falls on all of them alike.
MLflow runs in its own interpreter, since it is not a dependency of ours.
"""

from __future__ import annotations

import importlib.util
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from workload import (
    CONFIG,
    MODULES,
    FloorStore,
    MemoryStatus,
    Workload,
    database_bytes,
)

from petsard_status import Status
from petsard_status import formats as codec

HERE = Path(__file__).resolve().parent


def _median_us(samples: list[int]) -> float:
    return statistics.median(samples) / 1000.0


def put_overhead(work: Workload, n_puts: int, n_storage: int, tmp: Path) -> dict[str, Any]:
    """Interleaved puts, then our store alone up to ``n_storage`` puts for storage growth."""
    ours = Status(CONFIG, store=tmp / "ours.db", run="bench")
    floor = FloorStore(tmp / "floor.db")
    floor_pre = FloorStore(tmp / "floor_pre.db")
    memory = MemoryStatus(list(MODULES))
    times: dict[str, list[int]] = {"ours": [], "floor": [], "floor_pre": [], "memory": []}
    by_module: dict[str, list[int]] = {m: [] for m in MODULES}
    clock = time.perf_counter_ns

    def run_ours(module: str, expt: str, adapter: Any) -> None:
        t0 = clock()
        ours.put(module, expt, adapter)
        elapsed = clock() - t0
        times["ours"].append(elapsed)
        by_module[module].append(elapsed)

    def run_floor(module: str, expt: str, adapter: Any) -> None:
        t0 = clock()
        floor.put(module, expt, adapter)
        times["floor"].append(clock() - t0)

    def run_floor_pre(module: str, expt: str, adapter: Any) -> None:
        encoded = floor_pre.encode(module, adapter)
        t0 = clock()
        floor_pre.put(module, expt, adapter, pre_encoded=encoded)
        times["floor_pre"].append(clock() - t0)

    def run_memory(module: str, expt: str, adapter: Any) -> None:
        t0 = clock()
        memory.put(module, expt, adapter)
        times["memory"].append(clock() - t0)

    systems = [run_ours, run_floor, run_floor_pre, run_memory]
    total = max(n_puts, n_storage)
    storage_started = None
    for i, (module, expt, adapter) in enumerate(work.puts(total)):
        if i < n_puts:
            k = i % len(systems)
            for system in systems[k:] + systems[:k]:
                system(module, expt, adapter)
        else:
            if storage_started is None:
                storage_started = time.perf_counter()
            ours.put(module, expt, adapter)
    ours.close()
    floor.close()
    floor_pre.close()

    ours_bytes = database_bytes(tmp / "ours.db")
    floor_bytes = database_bytes(tmp / "floor.db")
    put_us = _median_us(times["ours"])
    floor_us = _median_us(times["floor"])
    memory_us = _median_us(times["memory"])
    bytes_per_put = ours_bytes / total
    naive_bytes_per_put = floor_bytes / n_puts
    return {
        "put_us_median": round(put_us, 1),
        "put_floor_us_median": round(floor_us, 1),
        "put_ratio_floor": round(put_us / floor_us, 3),
        "put_floor_write_only_us_median": round(_median_us(times["floor_pre"]), 1),
        "put_memory_us_median": round(memory_us, 2),
        "put_memory_ratio": round(put_us / memory_us, 1),
        "put_us_p95": round(statistics.quantiles(times["ours"], n=20)[-1] / 1000.0, 1),
        "put_us_median_by_module": {m: round(_median_us(v), 1) for m, v in by_module.items()},
        "put_count": n_puts,
        "bytes_per_put": round(bytes_per_put, 1),
        "naive_bytes_per_put": round(naive_bytes_per_put, 1),
        "storage_ratio": round(bytes_per_put / naive_bytes_per_put, 5),
        "storage_puts": total,
    }


# --- MLflow ---------------------------------------------------------------------------------


def find_mlflow_python(explicit: str | None) -> tuple[str | None, str]:
    """An interpreter to run MLflow with: the one given, else this one if it has mlflow.

    A given interpreter is not probed here (importing mlflow takes seconds);
    if it cannot run MLflow, :meth:`MlflowSteps.measure` says so.
    """
    given = explicit or os.environ.get("PETSARD_BENCH_MLFLOW_PYTHON")
    if given:
        return given, given
    if importlib.util.find_spec("mlflow") is not None:
        return sys.executable, sys.executable
    return None, (
        "mlflow is not importable here; install mlflow-skinny (plus SQLAlchemy and alembic "
        "for its SQLite tracking store) in a separate virtualenv and pass --mlflow-python"
    )


class MlflowSteps:
    """MLflow on SQLite logging, per step, 10 params and the schema dict.

    ``start`` launches the interpreter, which sets MLflow up (minutes of
    migrations on a slow disk are not what is compared) and waits; ``measure``
    lets it time its steps while nothing else runs.
    """

    def __init__(self, python: str, work: Workload, steps: int, tmp: Path) -> None:
        folder = tmp / "mlflow"
        folder.mkdir()
        schema_doc = json.loads(codec.to_json(work.loader_schema))["value"]
        (folder / "schema.json").write_text(json.dumps(schema_doc))
        self.process = subprocess.Popen(
            [python, str(HERE / "mlflow_steps.py"), str(folder), str(steps)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, cwd=folder,
        )

    def measure(self) -> dict[str, Any]:
        assert self.process.stdout is not None and self.process.stdin is not None
        ready = self.process.stdout.readline()
        if ready.strip() != "ready":
            self.process.kill()
            _, err = self.process.communicate()
            raise RuntimeError(f"the MLflow run failed to start: {err[-2000:]}")
        out, err = self.process.communicate("go\n", timeout=1200)
        if self.process.returncode != 0:
            raise RuntimeError(f"the MLflow run failed: {err[-2000:]}")
        return json.loads(out.strip().splitlines()[-1])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()
