"""A real PETsARD 1.10.1 pipeline recorded into PostgreSQL, beside the same into SQLite.

A team's pipelines on many machines share a PostgreSQL store: the same config,
seeded alike, must give the same snapshots, the same metadata (as PETsARD's own
classes) and the same results where PETsARD is seeded, read back from either.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from petsard_support import pipeline, require_petsard, seed_everything, write_pipeline

require_petsard()

import petsard  # noqa: E402
from petsard_status import Status  # noqa: E402
from petsard_status.petsard import Executor  # noqa: E402

warnings.filterwarnings("ignore", category=FutureWarning)
pytestmark = pytest.mark.postgres


def _run(folder: Path, store: str) -> None:
    path = write_pipeline(folder, pipeline(folder))
    seed_everything()
    with Executor(str(path), store=store, run="team") as executor:
        executor.run()


def test_a_petsard_pipeline_on_postgres_reads_back_as_on_sqlite(pg_url: str,
                                                                tmp_path: Path) -> None:
    _run(tmp_path / "pg", pg_url)
    _run(tmp_path / "lite", f"sqlite:///{tmp_path / 'lite.db'}")
    with (Status.open("team", pg_url, read_only=True) as pg,
          Status.open("team", f"sqlite:///{tmp_path / 'lite.db'}", read_only=True) as lite):
        assert pg.run_info()["state"] == "completed"
        assert [s.module_name for s in pg.get_snapshots()] == [
            "Loader", "Splitter", "Preprocessor", "Synthesizer", "Postprocessor",
            "Evaluator", "Reporter", "Reporter", "Reporter"]
        assert ([s.module_name for s in pg.get_snapshots()]
                == [s.module_name for s in lite.get_snapshots()])
        # The Loader reads a file and the Splitter takes random_state: equal values.
        pd.testing.assert_frame_equal(pg.get_result("Loader"), lite.get_result("Loader"))
        for part in ("train", "validation"):
            pd.testing.assert_frame_equal(pg.get_result("Splitter")[part],
                                          lite.get_result("Splitter")[part])
        assert pg.get_exist_train_indices() == lite.get_exist_train_indices()
        for module in ("Loader", "Splitter", "Preprocessor"):
            schema = pg.get_metadata(module)
            assert type(schema) is petsard.metadater.metadata.Schema
            assert list(schema.attributes) == list(lite.get_metadata(module).attributes)

        def changes(status: Status, module: str) -> list[tuple[str, str, str]]:
            return [(c.change_type, c.target_type, c.target_id)
                    for c in status.get_change_history(module)]

        for module in ("Loader", "Splitter"):
            assert changes(pg, module) == changes(lite, module) != []
        assert len(pg.get_timing_records()) == len(lite.get_timing_records()) > 0
