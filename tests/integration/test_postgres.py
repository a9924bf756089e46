"""Every store feature on PostgreSQL, through the same models and migrations as SQLite.

Each test gets a fresh schema (``pg_url``: its search_path); without a server
they skip, and under ``CI=true`` they fail.
"""

from __future__ import annotations

import datetime as dt
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import create_engine, text

from helpers import concurrency_worker as w
from helpers.adapters import Fixed
from petsard_status import Status
from petsard_status.errors import RunExistsError, RunNotFoundError
from petsard_status.metadata.types import DataType, FieldMetadata, FieldStats, SchemaMetadata
from petsard_status.modules import ModuleContext, build_adapter
from petsard_status.store.engine import resolve_url
from petsard_status.store.materialize import materialize_run
from petsard_status.store.migrate import head_revision
from petsard_status.store.models import STORE_TABLES
from petsard_status.store.store import Store

pytestmark = pytest.mark.postgres

STAMP = dt.datetime(2025, 3, 1, 12, 0, 0)
PIPELINE = {
    "Loader": {"adult": {"filepath": "benchmark://adult-income"}},
    "Splitter": {"split": {"train_split_ratio": 0.8, "num_samples": 1, "random_state": 3}},
    "Preprocessor": {"default": {"missing": "mode", "encoding": "label", "scaling": "standard"}},
}


def _sql(url: str, statement: str, **params: Any) -> list[tuple[Any, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(statement), params)]
    finally:
        engine.dispose()


def _count(url: str, table: str) -> int:
    assert table.isidentifier()
    return _sql(url, f"SELECT COUNT(*) FROM {table}")[0][0]


def _field(name: str, mean: float, **stats: Any) -> FieldMetadata:
    return FieldMetadata(
        name=name, data_type=DataType.FLOAT64, stats=FieldStats(row_count=10, mean_value=mean,
                                                                **stats),
        created_at=STAMP, updated_at=STAMP,
    )


def _schema(name: str, fields: list[FieldMetadata]) -> SchemaMetadata:
    return SchemaMetadata(schema_id="t", name=name, fields=tuple(fields), created_at=STAMP,
                          updated_at=STAMP)


def test_postgres_urls_use_psycopg() -> None:
    for scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        assert resolve_url(f"{scheme}://u@h/db").drivername == "postgresql+psycopg"


def test_fresh_schema_is_created_at_head_inside_the_search_path(pg_url: str) -> None:
    with Store(pg_url) as store:
        assert store.dialect == "postgresql"
        assert store.revision == head_revision()
    assert _sql(pg_url, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    schema = _sql(pg_url, "SELECT current_schema()")[0][0]
    assert schema.startswith("t_")
    tables = {r[0] for r in _sql(
        pg_url, "SELECT table_name FROM information_schema.tables WHERE table_schema = :s",
        s=schema)}
    assert {*STORE_TABLES, "alembic_version"} <= tables
    views = {r[0] for r in _sql(
        pg_url, "SELECT table_name FROM information_schema.views WHERE table_schema = :s",
        s=schema)}
    assert {"snapshot_view", "change_view", "field_change_view", "timing_view",
            "run_view"} <= views
    # Opening again is a no-op: still one revision row.
    with Store(pg_url) as store:
        assert store.revision == head_revision()
    assert _count(pg_url, "alembic_version") == 1


def test_runs(pg_url: str) -> None:
    config = {"Loader": {"data": {}}}
    with Store(pg_url) as store:
        with Status(config, store, "first") as first:
            first.set_run_state("completed")
        Status(config, store, "second").close()
        assert store.run_names() == ["first", "second"]
        with pytest.raises(RunExistsError, match="'first'"):
            Status(config, store, "first")
        with pytest.raises(RunNotFoundError, match="first, second"):
            Status.open("third", store)
        with Status.open("first", store) as again:
            info = again.run_info()
        assert info["state"] == "completed"
        assert info["finished_at"] is not None


def test_puts_with_real_adapters_reopen_identical(pg_url: str, tmp_path: Path) -> None:
    context = ModuleContext(run_name="real", output_dir=tmp_path, base_dir=tmp_path, seed=1)
    with Status(PIPELINE, pg_url, "real") as status:
        for module, experiments in PIPELINE.items():
            for experiment, params in experiments.items():
                adapter = build_adapter(module, params, context)
                adapter.run(adapter.set_input(status))
                name = "split_[1-1]" if module == "Splitter" else experiment
                status.put(module, name, adapter)
        expected = {module: status.get_result(module) for module in PIPELINE}
        metadata = {module: status.get_metadata(module) for module in PIPELINE}
        indices = status.get_exist_train_indices()
        changes = status.get_change_history()

    # A new store: nothing cached, everything decoded from PostgreSQL.
    with Status.open("real", pg_url) as status:
        assert list(status.status) == list(PIPELINE)
        assert_frame_equal(status.get_result("Loader"), expected["Loader"])
        split = status.get_result("Splitter")
        assert set(split) == set(expected["Splitter"])
        for part, frame in expected["Splitter"].items():
            assert_frame_equal(split[part], frame)
        assert_frame_equal(status.get_result("Preprocessor"), expected["Preprocessor"])
        for module, schema in metadata.items():
            assert status.get_metadata(module) == schema
        assert status.get_exist_train_indices() == indices
        assert status.get_change_history() == changes
        assert [s.module_name for s in status.get_snapshots()] == list(PIPELINE)
    assert any(c.target_type == "field" and c.module_context.startswith("Preprocessor")
               for c in changes)


def test_results_keep_dtypes(pg_url: str) -> None:
    frame = pd.DataFrame(
        {
            "when_utc": pd.date_range("2024-03-30 22:00", periods=4, freq="h", tz="UTC"),
            "when_taipei": pd.date_range("2024-01-01", periods=4, freq="D", tz="Asia/Taipei"),
            "naive": pd.to_datetime(["2024-01-01 00:00:00", None, "2024-02-29 13:45:01.5",
                                    "1969-07-20 20:17:00"], format="ISO8601"),
            "count": pd.array([1, None, 3, -(2**40)], dtype="Int64"),
            "grade": pd.Categorical(["b", "a", None, "b"], categories=["c", "b", "a"],
                                    ordered=True),
            "text": pd.array(["x", None, "ü", ""], dtype="string"),
            "ratio": [0.5, np.nan, np.inf, -0.0],
            "flag": [True, False, True, False],
        },
        index=pd.Index([10, 20, 30, 40], name="row"),
    )
    parts = {"train": frame.iloc[:3], "validation": frame.iloc[3:]}
    config = {"Loader": {"data": {}}, "Splitter": {"split": {}}}
    with Status(config, pg_url, "dtypes") as status:
        status.put("Loader", "data", Fixed(frame))
        status.put("Splitter", "split", Fixed(parts))
    with Status.open("dtypes", pg_url) as status:
        assert_frame_equal(status.get_result("Loader"), frame, check_dtype=True,
                           check_categorical=True, check_index_type=True, check_exact=True)
        assert str(status.get_result("Loader")["when_taipei"].dt.tz) == "Asia/Taipei"
        split = status.get_result("Splitter")
        for name, part in parts.items():
            assert_frame_equal(split[name], part, check_dtype=True, check_exact=True)


def test_metadata_is_shared_between_puts_and_runs(pg_url: str) -> None:
    fields = [_field(f"c{k}", float(k)) for k in range(20)]
    loaded = _schema("loaded", fields)
    changed = _schema("processed", [*fields[:-1], _field("c19", 99.0)])
    config = {"Loader": {"data": {}}, "Preprocessor": {"p": {}}}
    with Status(config, pg_url, "one") as status:
        status.put("Loader", "data", Fixed(None, loaded))
        status.put("Preprocessor", "p", Fixed(None, changed))
    # 20 fields + the one changed field; two schema shells.
    assert (_count(pg_url, "fields"), _count(pg_url, "schemas")) == (21, 2)
    with Status(config, pg_url, "two") as status:
        status.put("Loader", "data", Fixed(None, loaded))
        status.put("Preprocessor", "p", Fixed(None, changed))
    assert (_count(pg_url, "fields"), _count(pg_url, "schemas")) == (21, 2)
    assert _count(pg_url, "snapshots") == 4
    with Status.open("two", pg_url) as status:
        assert status.get_metadata("Preprocessor") == changed
        [field_change] = [c for c in status.get_change_history() if c.target_type == "field"]
        assert (field_change.target_id, field_change.attributes) == ("c19", ("stats",))
        assert field_change.before_state == fields[-1]


def test_nan_and_infinities_in_stats_are_stored(pg_url: str) -> None:
    odd = _field("odd", math.nan, std_value=math.inf, min_value=-math.inf, max_value=math.inf,
                 quantiles={0.0: -math.inf, 0.5: math.nan, 1.0: math.inf})
    schema = _schema("odd", [odd, _field("plain", 1.0)])
    with Status({"Loader": {"data": {}}}, pg_url, "odd") as status:
        status.put("Loader", "data", Fixed(None, schema))
    # The stored documents are JSON that PostgreSQL's own JSON types accept.
    for table in ("fields", "schemas"):
        assert _sql(pg_url, f"SELECT COUNT(CAST(doc AS jsonb)) FROM {table}")[0][0] == \
            _count(pg_url, table)
    with Status.open("odd", pg_url) as status:
        stats = status.get_metadata("Loader").get_field("odd").stats
    assert math.isnan(stats.mean_value)
    assert stats.std_value == math.inf and stats.min_value == -math.inf
    assert math.isnan(stats.quantiles[0.5]) and stats.quantiles[1.0] == math.inf
    assert stats == odd.stats


def test_every_view_returns_rows(pg_url: str) -> None:
    fields = [_field(f"c{k}", float(k)) for k in range(3)]
    config = {"Loader": {"data": {}}, "Preprocessor": {"p": {}}}
    with Status(config, pg_url, "viewed") as status:
        with status.timing("Loader", "data", "run"):
            status.put("Loader", "data",
                       Fixed(pd.DataFrame({"a": [1, 2]}), _schema("s", fields)))
        status.put("Preprocessor", "p",
                   Fixed(pd.DataFrame({"a": [3]}), _schema("s", [*fields[:2],
                                                              _field("c2", 5.0)])))
        materialize_run(status.store, "viewed")
    schema = _sql(pg_url, "SELECT current_schema()")[0][0]
    views = [r[0] for r in _sql(
        pg_url, "SELECT table_name FROM information_schema.views WHERE table_schema = :s",
        s=schema)]
    assert "run_view" in views and "field_change_view" in views
    for view in views:
        assert view.isidentifier()
        assert _count(pg_url, view) > 0, f"{view} is empty"
    assert _sql(pg_url, "SELECT run, snapshots, changes FROM run_view") == [("viewed", 2, 3)]


def test_restore_on_postgres(pg_url: str) -> None:
    config = {"Loader": {"a": {}, "b": {}}, "Preprocessor": {"p": {}}}
    frames = {k: pd.DataFrame({"v": [k, k + 1]}) for k in range(3)}
    with Status(config, pg_url, "rewind") as status:
        status.put("Loader", "a", Fixed(frames[0], _schema("a", [_field("v", 0.0)])))
        status.put("Preprocessor", "p", Fixed(frames[1], _schema("p", [_field("v", 1.0)])))
        status.put("Loader", "b", Fixed(frames[2], _schema("b", [_field("v", 2.0)])))
        assert list(status.status) == ["Loader"]
        target = status.get_snapshots()[1].snapshot_id
        assert status.restore_from_snapshot(target)
        assert not status.restore_from_snapshot("snapshot_999999_20000101_000000")
        assert status.get_full_expt() == {"Loader": "a", "Preprocessor": "p"}
    assert _count(pg_url, "restores") == 1
    with Status.open("rewind", pg_url) as status:
        assert status.get_full_expt() == {"Loader": "a", "Preprocessor": "p"}
        assert_frame_equal(status.get_result("Preprocessor"), frames[1])
        assert status.get_metadata("Loader") == _schema("a", [_field("v", 0.0)])
        status.put("Loader", "b", Fixed(frames[2]))
        assert status.get_snapshots()[-1].snapshot_id.startswith("snapshot_000004_")
    # History was not rewritten by the restore.
    assert _count(pg_url, "snapshots") == 4


@pytest.mark.slow
def test_cli_run_killed_then_resumed_on_postgres(pg_url: str, tmp_path: Path) -> None:
    cli = [sys.executable, "-m", "petsard_status.cli"]
    run = "cli-pg"
    before = w.kill_after_module(
        [*cli, "run", str(w.EXAMPLE), "--db", pg_url, "--run", run, "--plain",
         "--output", str(tmp_path / "out"), "--seed", "5"],
        pg_url, run, "Synthesizer",
    )
    resumed = subprocess.run([*cli, "resume", run, "--db", pg_url, "--plain"],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"{run} (completed)" in resumed.stdout
    w.check_resumed(pg_url, run, before)
    listed = subprocess.run([*cli, "runs", "--db", pg_url], capture_output=True, text=True,
                            timeout=120)
    assert listed.returncode == 0, listed.stderr
    assert run in listed.stdout
