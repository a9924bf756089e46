"""A module's metadata evolution: each distinct schema once, where it first appeared."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd

from petsard_status import Metadater, Status

CONFIG = {"Loader": {"a": {"filepath": "x.csv"}}, "Preprocessor": {"p": {}}}


class Adapter:
    def __init__(self, frame: pd.DataFrame, schema_id: str) -> None:
        self.frame = frame
        self.metadata = Metadater.create_schema(frame, schema_id)

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self):
        return self.metadata


def test_a_schema_seen_again_keeps_its_first_place(tmp_path: Path) -> None:
    db = tmp_path / "evolution.db"
    # One adapter per schema, so that a schema seen again is the same document.
    adapters = {name: Adapter(pd.DataFrame({"x": [1.0, 2.0, top]}), "prep")
                for name, top in (("A", 3.0), ("B", 4.0), ("C", 5.0))}
    with Status(CONFIG, db, run="evo") as status:
        status.put("Loader", "a", Adapter(adapters["A"].frame, "loaded"))
        for name in ("A", "B", "A", "C", "B"):
            status.put("Preprocessor", "p", adapters[name])
    with Status.open("evo", db, read_only=True) as status:
        evolution = status.get_metadata_evolution("Preprocessor")
        tops = [schema.fields[0].stats.max_value for schema in evolution]
        # B's document comes back unchanged at the fifth put and keeps its second place;
        # A's second put gives a document of its own: its hash differs from the first's.
        assert tops == [3.0, 4.0, 3.0, 5.0]
        assert evolution[-1].fields[0].stats.max_value == 5.0
        assert [s.schema_id for s in status.get_metadata_evolution("Loader")] == ["loaded"]
        assert list(status.get_metadata_evolution("Synthesizer")) == []
    conn = sqlite3.connect(db)
    try:
        shown = [h for (h,) in conn.execute(
            "SELECT after_schema FROM changes WHERE module = 'Preprocessor' "
            "AND target_type = 'schema' ORDER BY seq")]
    finally:
        conn.close()
    assert len(shown) == 5 and len(set(shown)) == 4 and shown[1] == shown[4]
