"""History lists read the store page by page and still behave as the seed's lists."""

from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from petsard_status import Metadater, Status
from petsard_status.status import history

CONFIG = {"Loader": {"a": {"filepath": "x.csv"}}, "Preprocessor": {"p": {}}}
PUTS = 1203  # more than two pages of history.PAGE


class Adapter:
    def __init__(self, frame: pd.DataFrame, metadata=None) -> None:
        self.frame, self.metadata = frame, metadata

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self):
        return self.metadata


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    db = str(tmp_path_factory.mktemp("pages") / "pages.db")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    modules = []
    with Status(CONFIG, db, run="pages") as status:
        status.put("Loader", "a", Adapter(frame, Metadater.create_schema(frame, "loader")))
        modules.append("Loader")
        for i in range(1, PUTS):
            changed = pd.DataFrame({"x": [1.0, 2.0, float(i % 7)]})
            status.put("Preprocessor", "p",
                       Adapter(changed, Metadater.create_schema(changed, "pre")))
            modules.append("Preprocessor")
    return db, modules


def test_snapshots_behave_as_a_list(run: tuple[str, list[str]]) -> None:
    db, modules = run
    assert history.PAGE < PUTS // 2
    with Status.open("pages", db, read_only=True) as status:
        snaps = status.get_snapshots()
        assert len(snaps) == PUTS
        assert [s.module_name for s in snaps] == modules  # iteration crosses pages
        assert snaps[0].snapshot_id.startswith("snapshot_000001_")
        assert snaps[-1].snapshot_id.startswith(f"snapshot_{PUTS:06d}_")
        assert [s.snapshot_id[:15] for s in snaps[-3:]] == [
            f"snapshot_{n:06d}" for n in (PUTS - 2, PUTS - 1, PUTS)]
        assert snaps[10:13] == list(snaps)[10:13]
        every = list(snaps)
        assert snaps[::600] == [every[0], every[600], every[1200]]
        assert snaps == list(snaps) and list(snaps) == snaps
        with pytest.raises(IndexError):
            snaps[PUTS]
        assert len(status.get_snapshots("Loader")) == 1
        assert snaps[0].metadata_after.schema_id == "loader"  # decoded when touched


def test_changes_and_evolution_page_too(run: tuple[str, list[str]]) -> None:
    db, _ = run
    with Status.open("pages", db, read_only=True) as status:
        changes = status.get_change_history("Preprocessor")
        assert list(changes)[-2:] == changes[-2:]
        assert len(list(changes)) == len(changes)
        evolution = status.get_metadata_evolution("Preprocessor")
        conn = sqlite3.connect(db)
        distinct = conn.execute(
            "SELECT COUNT(DISTINCT after_schema) FROM changes WHERE module = 'Preprocessor' "
            "AND target_type = 'schema'").fetchone()[0]
        conn.close()
        assert len(evolution) == distinct == PUTS - 1  # every put re-inferred new stats
        # Put i held [1, 2, i % 7]: version j (0-based) is put j + 1's, in first-seen order.
        for j in (0, 1, 5, 6, len(evolution) - 1):
            assert evolution[j].fields[0].stats.max_value == max(2.0, float((j + 1) % 7))
        assert evolution[-1] == list(evolution)[-1]
