"""Workload of the concurrency tests, runnable as a separate process.

Everything a worker writes is derived from ``(proc, i)`` by the pure functions
below, so the parent test can rebuild what every process should have stored
and compare it with what the store returns.  As a script it talks JSON lines:
it prints ``{"ready": ...}`` once it is set up, waits for a line on stdin (the
parent releases all workers at once), does its work and prints one final JSON
object.  No pickling crosses the process boundary.

    python concurrency_worker.py puts URL PROC COUNT
    python concurrency_worker.py open URL
    python concurrency_worker.py same-run URL RUN PROC COUNT
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import math
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from petsard_status.metadata.types import (
    DataType,
    FieldMetadata,
    FieldStats,
    SchemaMetadata,
    SchemaStats,
)

FIELD_COUNT = 50
PER_PROCESS = 10
"""Fields f00..f09 differ between processes; the other 40 are the same in every
process, so concurrent writers insert the same content-addressed rows."""
VARIED = ("f01", "f02", "f03")
"""Fields whose stats the Preprocessor puts change, relative to the Loader's schema."""
LOADER_EVERY = 10
"""Put ``i`` is a Loader put when ``i % LOADER_EVERY == 0``, else a Preprocessor put."""
STAMP = dt.datetime(2024, 12, 24, 21, 0, 0)
CONFIG = {"Loader": {"data": {}}, "Preprocessor": {"default": {}}}

_TYPES = (DataType.INT64, DataType.FLOAT64, DataType.STRING, DataType.BOOLEAN,
          DataType.TIMESTAMP)


def run_name(proc: int) -> str:
    return f"writer_{proc:02d}"


def module_of(i: int) -> str:
    return "Loader" if i % LOADER_EVERY == 0 else "Preprocessor"


def _field(name: str, index: int, stats: FieldStats) -> FieldMetadata:
    return FieldMetadata(
        name=name,
        data_type=_TYPES[index % len(_TYPES)],
        nullable=index % 3 == 0,
        source_dtype="int64",
        description=f"column {index}",
        stats=stats,
        properties={"position": index},
        created_at=STAMP,
        updated_at=STAMP,
    )


def _stats(proc: int, index: int, salt: int) -> FieldStats:
    proc = proc if index < PER_PROCESS else 0
    return FieldStats(
        row_count=1000,
        na_count=index % 7,
        na_percentage=round((index % 7) / 1000, 6),
        distinct_count=10 + index,
        min_value=float(-index),
        max_value=float(index * 10 + proc),
        mean_value=round(index + proc / 100 + salt / 10_000, 6),
        std_value=1.5,
        quantiles={0.25: float(index), 0.5: float(index + 1), 0.75: float(index + 2)},
        most_frequent=((f"v{index}", 40), (f"w{index}", 30)),
    )


@functools.lru_cache(maxsize=4096)
def loader_schema(proc: int, block: int) -> SchemaMetadata:
    """The Loader's schema in block ``block``: only field f00 depends on the block."""
    fields = [
        _field(f"f{k:02d}", k, _stats(proc, k, block if k == 0 else 0))
        for k in range(FIELD_COUNT)
    ]
    return SchemaMetadata(
        schema_id=f"writer_{proc}", name="loaded", fields=tuple(fields),
        stats=SchemaStats(row_count=1000, field_count=FIELD_COUNT),
        created_at=STAMP, updated_at=STAMP,
    )


def preprocessor_schema(proc: int, i: int) -> SchemaMetadata:
    """The Loader's current schema with new stats for the VARIED fields."""
    base = loader_schema(proc, i // LOADER_EVERY)
    fields = [
        _field(f.name, k, _stats(proc, k, 1 + i)) if f.name in VARIED else f
        for k, f in enumerate(base.fields)
    ]
    return SchemaMetadata(
        schema_id=f"writer_{proc}", name="preprocessed", fields=tuple(fields),
        stats=SchemaStats(row_count=1000, field_count=FIELD_COUNT),
        created_at=STAMP, updated_at=STAMP,
    )


def schema_for(proc: int, i: int) -> SchemaMetadata:
    if module_of(i) == "Loader":
        return loader_schema(proc, i // LOADER_EVERY)
    return preprocessor_schema(proc, i)


def result_frame(proc: int, i: int) -> pd.DataFrame:
    n = 5 + (proc + i) % 4
    ints = np.arange(n, dtype="int64") + proc * 1_000_000 + i * 100
    return pd.DataFrame({
        "id": ints,
        "value": ints.astype("float64") / 7.0,
        "label": pd.Categorical([f"p{proc}-{(i + k) % 3}" for k in range(n)]),
        "maybe": pd.array([None if k % 2 else k + i for k in range(n)], dtype="Int64"),
    })


def expected_changes(proc: int, count: int) -> list[tuple[str, str, str, Any]]:
    """(change_type, target_type, target_id, after_state) of every change, in order."""
    out: list[tuple[str, str, str, Any]] = []
    seen: set[str] = set()
    for i in range(count):
        module = module_of(i)
        after = schema_for(proc, i)
        out.append(("update" if module in seen else "create", "schema", after.schema_id, after))
        seen.add(module)
        if module == "Preprocessor":
            for f in after.fields:
                if f.name in VARIED:
                    out.append(("update", "field", f.name, f))
    return out


class FixedAdapter:
    """An adapter whose metadata and result were computed beforehand."""

    def __init__(self, schema: SchemaMetadata, frame: pd.DataFrame) -> None:
        self._schema = schema
        self._frame = frame

    def get_metadata(self) -> SchemaMetadata:
        return self._schema

    def get_result(self) -> pd.DataFrame:
        return self._frame


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]


# --- run, kill, resume: shared by the tests that interrupt the example pipeline ----------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "adult-income.yaml"


def step_rows(url: str, run: str, engine: Any = None) -> list[tuple[Any, ...]]:
    """(seq, snapshot_id, module, timestamp, context_json) of every snapshot of ``run``."""
    from sqlalchemy import create_engine, text

    own = engine is None
    engine = create_engine(url) if own else engine
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT s.seq, s.snapshot_id, s.module, s.timestamp, s.context_json "
                "FROM snapshots s JOIN runs r ON r.id = s.run_id "
                "WHERE r.name = :run ORDER BY s.seq"
            ), {"run": run}).all()
    finally:
        if own:
            engine.dispose()
    return [tuple(row) for row in rows]


def kill_after_module(command: list[str], url: str, run: str, module: str,
                      timeout: float = 180) -> list[tuple[Any, ...]]:
    """Start ``command``, SIGKILL it once ``module``'s snapshot is stored; the rows then."""
    from sqlalchemy import create_engine

    engine = create_engine(url)
    # A file, not a pipe: a chatty process must not block on a full pipe before the kill.
    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    rows = step_rows(url, run, engine)
                except Exception:  # the store or the run may not exist yet
                    rows = []
                if any(row[2] == module for row in rows):
                    break
                if proc.poll() is not None:
                    errors.seek(0)
                    raise AssertionError(f"the run ended before {module} was stored: "
                                         f"{errors.read().decode(errors='replace')[-2000:]}")
                if time.monotonic() > deadline:
                    raise AssertionError(f"{module} was not stored within {timeout} s")
                time.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
        finally:
            if proc.poll() is None:
                proc.kill()
            proc.wait()
            engine.dispose()
    assert proc.returncode == -signal.SIGKILL, proc.returncode
    return step_rows(url, run)


def check_resumed(url: str, run: str, before: list[tuple[Any, ...]]) -> None:
    """One snapshot per flow step, numbered 1..n, and the steps done before the kill untouched."""
    from petsard_status import Config, Status
    from petsard_status import formats as codec

    flow = [step.key for step in Config.from_yaml(EXAMPLE).flow()]
    assert 0 < len(before) < len(flow), f"the kill landed after {len(before)} steps"
    after = step_rows(url, run)
    assert after[: len(before)] == before, "a step done before the kill was put again"
    steps = [codec.loads_value(row[4])["step"] for row in after]
    assert sorted(steps) == sorted(flow), steps
    assert [row[0] for row in after] == list(range(1, len(flow) + 1))
    with Status.open(run, url) as status:
        assert status.run_info()["state"] == "completed"
        assert isinstance(status.get_result("Postprocessor"), pd.DataFrame)


# --- the process side ------------------------------------------------------------------


def _emit(doc: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(doc) + "\n")
    sys.stdout.flush()


def _wait_for_go() -> None:
    _emit({"ready": True})
    sys.stdin.readline()


def _puts(url: str, proc: int, count: int) -> dict[str, Any]:
    from petsard_status import Status

    # Build every put's payload before the start signal, so the timed part is the store's.
    payloads = [(module_of(i), FixedAdapter(schema_for(proc, i), result_frame(proc, i)))
                for i in range(count)]
    _wait_for_go()
    started = time.time()
    latencies = []
    with Status(CONFIG, url, run_name(proc)) as status:
        opened = time.time()
        for module, adapter in payloads:
            t0 = time.perf_counter()
            status.put(module, "data" if module == "Loader" else "default", adapter)
            latencies.append(time.perf_counter() - t0)
    return {"started": started, "opened": opened, "finished": time.time(),
            "latencies": latencies}


def _open(url: str) -> dict[str, Any]:
    from petsard_status.store.store import Store

    _wait_for_go()
    with Store(url) as store:
        return {"revision": store.revision}


def _same_run(url: str, run: str, proc: int, count: int) -> dict[str, Any]:
    from petsard_status import ConcurrentWriterError, Status

    status = Status.open(run, url)
    _wait_for_go()
    done = 0
    error = None
    try:
        for i in range(count):
            module = module_of(i)
            adapter = FixedAdapter(schema_for(proc, i), result_frame(proc, i))
            status.put(module, "data" if module == "Loader" else "default", adapter)
            done += 1
    except ConcurrentWriterError as exc:
        error = str(exc)
    finally:
        status.close()
    return {"puts": done, "concurrent_writer_error": error}


def main(argv: list[str]) -> int:
    command, url, *rest = argv
    try:
        if command == "puts":
            doc = _puts(url, int(rest[0]), int(rest[1]))
        elif command == "open":
            doc = _open(url)
        elif command == "same-run":
            doc = _same_run(url, rest[0], int(rest[1]), int(rest[2]))
        else:
            raise SystemExit(f"unknown command {command!r}")
    except Exception as exc:
        _emit({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})
        return 1
    _emit({"ok": True, **doc})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
