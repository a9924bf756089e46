"""The put workload shared by every benchmark, and the baselines it runs against.

A cycle is five puts: Loader, Splitter, Preprocessor, Synthesizer, Evaluator.
The data has 100 fields with statistics inferred by ``Metadater`` from a
mixed-type frame (ints, floats with NaN, categories, strings, datetimes).  The
Loader and the Splitter hand back the same schema objects every cycle (the
Splitter changes only the table's row count); each Preprocessor put hands back
a freshly built schema, as re-inference would, in which 5 fields differ from its
input and the other 95 are new objects equal to the input's but for their
timestamps.  The 5 are the same fields every cycle (a Preprocessor transforms
the columns its config names) but what is recorded about them differs every
cycle, so every Preprocessor put brings 5 new field versions to store.  Results are 100-row
frames, built once (``changing=True``: one cell differs every put, the copy
made before the put): adapters return precomputed objects so that what is
timed is the store, not the modules.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import sys
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from petsard_status.metadata import Metadater
from petsard_status.metadata.types import SchemaMetadata

# The test suite's given-output adapters and the status its module tests use (the
# baseline adds what PETsARD's keeps besides).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from helpers.adapters import Fixed as FixedAdapter
from helpers.adapters import ResultOnly as ResultOnlyAdapter
from helpers.modules import MemoryStatus as ModuleTestStatus

MODULES = ("Loader", "Splitter", "Preprocessor", "Synthesizer", "Evaluator")
EXPERIMENTS = {"Loader": "load", "Splitter": "split", "Preprocessor": "prep",
               "Synthesizer": "synth", "Evaluator": "eval"}
CONFIG = {module: {expt: {}} for module, expt in EXPERIMENTS.items()}
CONFIG["Loader"]["load"] = {"filepath": "benchmark.csv"}
N_FIELDS = 100
RESULT_ROWS = 100
CHANGED_PER_PREP = 5
# The Preprocessor transforms the same columns every run (its config says which);
# what it writes about them (its fitted statistics) differs every run.
PREPROCESSED = frozenset(range(0, N_FIELDS, N_FIELDS // CHANGED_PER_PREP))


def mixed_frame(rows: int, n_columns: int = N_FIELDS, seed: int = 0) -> pd.DataFrame:
    """A frame whose columns cycle through int, float-with-NaN, category, str, datetime."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    words = np.array([f"w{j:03d}" for j in range(200)])
    for i in range(n_columns):
        name = f"f{i:03d}"
        kind = i % 5
        if kind == 0:
            cols[name] = rng.integers(0, 100_000, rows)
        elif kind == 1:
            values = rng.normal(50.0, 10.0, rows)
            values[rng.random(rows) < 0.05] = np.nan
            cols[name] = values
        elif kind == 2:
            cols[name] = pd.Categorical(rng.choice(["low", "mid", "high", "top"], rows))
        elif kind == 3:
            cols[name] = pd.Series(words[rng.integers(0, len(words), rows)], dtype="str")
        else:
            seconds = rng.integers(0, 10**8, rows)
            cols[name] = pd.Timestamp("2015-01-01") + pd.to_timedelta(seconds, unit="s")
    return pd.DataFrame(cols)


@dataclass
class Workload:
    """Everything a put needs, built once."""

    loader_schema: SchemaMetadata
    splitter_schema: SchemaMetadata
    frames: dict[str, Any]
    seed: int = 0

    def preprocessor_schema(self, cycle: int) -> SchemaMetadata:
        """The Preprocessor's output metadata in ``cycle``: 5 fields changed, all re-made."""
        base = self.splitter_schema
        when = dt.datetime(2024, 1, 1) + dt.timedelta(seconds=cycle)
        changed = PREPROCESSED
        fields = []
        for i, f in enumerate(base.fields):
            if i in changed:
                stats = f.stats
                if stats is not None:
                    stats = replace(stats, mean_value=round(cycle * 0.001 + i, 6),
                                    std_value=1.0 + (cycle % 997) * 0.0001)
                fields.append(replace(f, target_dtype="float64", stats=stats,
                                      properties={"scaler": "standard", "cycle": cycle},
                                      created_at=when, updated_at=when))
            else:
                fields.append(replace(f, created_at=when, updated_at=when))
        return replace(base, schema_id="preprocessed", name="preprocessed",
                       fields=tuple(fields), created_at=when, updated_at=when)

    def frame(self, module: str, put: int, changing: bool) -> pd.DataFrame:
        """The module's result; with ``changing``, one cell differs from every other put's."""
        frame = self.frames[module]
        if not changing:
            return frame
        frame = frame.copy()
        # Column 1 is a float column in every module's frame.
        frame.iat[0, 1] = float(put) + 0.5
        return frame

    def puts(self, n: int, changing: bool = False) -> Iterator[tuple[str, str, Any]]:
        """``n`` puts as (module, experiment, adapter); objects are built between puts."""
        for i in range(n):
            cycle, slot = divmod(i, len(MODULES))
            module = MODULES[slot]
            frame = self.frame(module, i, changing)
            if module == "Loader":
                adapter: Any = FixedAdapter(frame, self.loader_schema)
            elif module == "Splitter":
                adapter = FixedAdapter(frame, self.splitter_schema)
            elif module == "Preprocessor":
                adapter = FixedAdapter(frame, self.preprocessor_schema(cycle))
            else:
                adapter = ResultOnlyAdapter(frame)
            yield module, EXPERIMENTS[module], adapter


def build_workload(seed: int = 0, stats_rows: int = 2000) -> Workload:
    data = mixed_frame(stats_rows, seed=seed)
    loader = Metadater.create_schema(data, "data", name="benchmark data")
    train_rows = int(stats_rows * 0.8)
    splitter = replace(loader, schema_id="train", name="train",
                       stats=replace(loader.stats, row_count=train_rows))
    head = data.head(RESULT_ROWS).reset_index(drop=True)
    prep = head.copy()
    for name in prep.columns[::5]:
        prep[name] = (prep[name] - prep[name].mean()) / prep[name].std()
    synth = mixed_frame(RESULT_ROWS, seed=seed + 1)
    evaluation = pd.DataFrame({
        "field": [f.name for f in loader.fields],
        "score": np.linspace(0.5, 1.0, N_FIELDS),
        "ks": np.linspace(0.0, 0.2, N_FIELDS),
        "tvd": np.linspace(0.0, 0.1, N_FIELDS),
    })
    frames = {
        "Loader": head,
        "Splitter": data.iloc[RESULT_ROWS : 2 * RESULT_ROWS].reset_index(drop=True),
        "Preprocessor": prep,
        "Synthesizer": synth,
        "Evaluator": evaluation,
    }
    return Workload(loader, splitter, frames, seed)


# --- the in-memory baseline ----------------------------------------------------------------


@dataclass(frozen=True)
class MemorySnapshot:
    snapshot_id: str
    module_name: str
    experiment_name: str
    timestamp: dt.datetime
    metadata_before: SchemaMetadata | None
    metadata_after: SchemaMetadata | None
    execution_context: dict[str, Any] = field(default_factory=dict)


class MemoryStatus(ModuleTestStatus):
    """A PETsARD-like status in memory: the tests' one, keeping snapshots and change records.

    The getters are those of the status the module tests use; a put also keeps
    deques of frozen snapshots and change records the way PETsARD's in-memory
    manager does (immutable metadata is shared, not copied).
    """

    def __init__(self, sequence: list[str], max_snapshots: int = 1000) -> None:
        super().__init__(sequence)
        self.snapshots: deque[MemorySnapshot] = deque(maxlen=max_snapshots)
        self.changes: deque[tuple[Any, ...]] = deque(maxlen=5 * max_snapshots)
        self._count = 0

    def put(self, module: str, expt: str, adapter: Any, **_: Any) -> None:
        if module in self.status:
            keep = set(self.sequence[: self.sequence.index(module) + 1])
            for name in [m for m in self.status if m not in keep]:
                del self.status[name]
        before = self.metadata.get(module)
        after = None
        get_metadata = getattr(adapter, "get_metadata", None)
        if module in ("Loader", "Splitter", "Preprocessor") and callable(get_metadata):
            after = get_metadata()
            if after is not None:
                self.metadata[module] = after
                self.changes.append(("update" if before else "create", module, before, after))
        if module == "Splitter" and hasattr(adapter, "get_train_indices"):
            self.exist_train_indices.extend(set(s) for s in adapter.get_train_indices())
        if module == "Reporter":
            self.report.update(adapter.get_result())
        self.status[module] = {"expt": expt, "operator": adapter}
        self._count += 1
        now = dt.datetime.now()
        self.snapshots.append(MemorySnapshot(
            f"snapshot_{self._count:06d}_{now:%Y%m%d_%H%M%S}", module, expt, now, before, after,
            {"module": module, "sequence_index": self.sequence.index(module)},
        ))

    def get_timing_report_data(self) -> pd.DataFrame:
        return pd.DataFrame(columns=["module_name", "experiment_name", "duration_seconds"])


def database_bytes(path: Path) -> int:
    """Bytes of a SQLite database once its WAL is checkpointed into the main file."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    total = path.stat().st_size
    wal = Path(f"{path}-wal")
    if wal.exists():
        total += wal.stat().st_size
    return total
