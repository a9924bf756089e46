"""End to end: the bundled example pipeline with the store against the same modules in memory.

Ours is ``Executor(examples/adult-income.yaml, store=<SQLite file>).run()``,
which puts every step, records its timing and keeps the run's state; every run
goes into one database, as a user's would (the warm-up run creates its tables).  The
baseline walks the same flow with the same adapters, parameters and seed, and
puts into :class:`workload.MemoryStatus`.  Runs alternate (ours, memory,
memory, ours, ...) after one warm-up run of each, and the medians are compared.
"""

from __future__ import annotations

import gc
import statistics
import time
from pathlib import Path
from typing import Any

from workload import MemoryStatus

from petsard_status.config import Config
from petsard_status.execution import Executor
from petsard_status.modules import ModuleContext, build_adapter

REPO = Path(__file__).resolve().parent.parent
EXAMPLE = REPO / "examples" / "adult-income.yaml"
SEED = 42


def run_memory(folder: Path, tag: str) -> float:
    config = Config.from_yaml(EXAMPLE)
    t0 = time.perf_counter()
    status = MemoryStatus(config.sequence)
    context = ModuleContext(run_name=tag, output_dir=folder / tag, base_dir=EXAMPLE.parent,
                            seed=SEED)
    for step in config.flow():
        adapter = build_adapter(step.module, step.params, context)
        adapter.run(adapter.set_input(status))
        status.put(step.module, step.experiment, adapter)
    return time.perf_counter() - t0


def run_ours(folder: Path, tag: str) -> float:
    t0 = time.perf_counter()
    with Executor(EXAMPLE, store=folder / "e2e.db", run=tag, output_dir=folder / tag,
                  seed=SEED) as executor:
        executor.run()
    return time.perf_counter() - t0


def end_to_end(folder: Path, pairs: int) -> dict[str, Any]:
    """Medians over ``pairs`` alternating runs, after a warm-up run of each."""
    run_memory(folder, "warm_memory")
    run_ours(folder, "warm_ours")
    ours: list[float] = []
    memory: list[float] = []
    for i in range(pairs):
        order = ((run_ours, ours), (run_memory, memory))
        for fn, sink in (order if i % 2 == 0 else order[::-1]):
            gc.collect()
            sink.append(fn(folder, f"{fn.__name__}_{i}"))
    ours_s, memory_s = statistics.median(ours), statistics.median(memory)
    return {
        "e2e_ours_s": round(ours_s, 3),
        "e2e_memory_s": round(memory_s, 3),
        "e2e_overhead_ratio": round(ours_s / memory_s, 3),
        "e2e_pairs": pairs,
    }
