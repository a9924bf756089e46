"""MLflow interleaved with ours, step by step, in one run.

MLflow is not a dependency of ours, so it runs in its own interpreter
(``mlflow_steps.py``) as a step server; this process puts the workload into
our store.  For every step both record it, one after the other, and which goes
first alternates every step, so that the machine's noise falls on both alike.
Each side times only its own call (the pipe between them is not timed).  The
first cycle of each (tables, folders, caches) is left out.
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

from workload import CONFIG, MODULES, Workload

from petsard_status import Status
from petsard_status import formats as codec

HERE = Path(__file__).resolve().parent


def find_mlflow_python(explicit: str | None) -> tuple[str | None, str]:
    """An interpreter to run MLflow with: the one given, else this one if it has mlflow."""
    given = explicit or os.environ.get("PETSARD_BENCH_MLFLOW_PYTHON")
    if given:
        return given, given
    if importlib.util.find_spec("mlflow") is not None:
        return sys.executable, sys.executable
    return None, (
        "mlflow is not importable here; install mlflow-skinny (plus SQLAlchemy and alembic "
        "for its SQLite tracking store) in a separate virtualenv and pass --mlflow-python"
    )


def mlflow_interleaved(python: str, work: Workload, steps: int, tmp: Path) -> dict[str, Any]:
    folder = tmp / "mlflow"
    folder.mkdir()
    schema_doc = json.loads(codec.to_json(work.loader_schema))["value"]
    (folder / "schema.json").write_text(json.dumps(schema_doc))
    child = subprocess.Popen([python, str(HERE / "mlflow_steps.py"), str(folder)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, cwd=folder)
    assert child.stdin is not None and child.stdout is not None
    try:
        if child.stdout.readline().strip() != "ready":
            child.kill()
            raise RuntimeError(f"the MLflow run failed to start: {child.communicate()[1][-2000:]}")
        status = Status(CONFIG, store=tmp / "ours_mlflow.db", run="mlflow")
        ours: list[int] = []
        theirs: list[int] = []
        warm = len(MODULES)

        def mlflow_step(step: int) -> None:
            child.stdin.write(f"step {step}\n")
            child.stdin.flush()
            line = child.stdout.readline()
            if not line.strip().isdigit():
                raise RuntimeError(f"the MLflow step failed: {line!r}")
            if step >= warm:
                theirs.append(int(line))

        for step, (module, expt, adapter) in enumerate(work.puts(steps + warm)):
            if step % 2:
                mlflow_step(step)
            t0 = time.perf_counter_ns()
            status.put(module, expt, adapter)
            elapsed = time.perf_counter_ns() - t0
            if step >= warm:
                ours.append(elapsed)
            if step % 2 == 0:
                mlflow_step(step)
        status.close()
        out, err = child.communicate("end\n", timeout=300)
        if child.returncode != 0:
            raise RuntimeError(f"the MLflow run failed: {err[-2000:]}")
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    ours_us, theirs_us = statistics.median(ours) / 1e3, statistics.median(theirs) / 1e3
    return {"mlflow_step_us_median": round(theirs_us, 1),
            "mlflow_ours_put_us_median": round(ours_us, 1),
            "mlflow_ratio": round(theirs_us / ours_us, 2), "mlflow_steps": steps,
            "mlflow_version": json.loads(out.strip().splitlines()[-1])["version"]}
