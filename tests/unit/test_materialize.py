"""``petsard-status materialize``: result frames as plain SQL tables, and back out again."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine

from helpers.paths import EXAMPLE_RUN, copy_sqlite
from petsard_status import Metadater, Status, Store
from petsard_status.cli.db import check_store
from petsard_status.cli.main import main
from petsard_status.store.materialize import list_materialized, materialize_run, table_name

RUN = EXAMPLE_RUN


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def materialize(db: str, *args: str) -> list[dict[str, Any]]:
    result = invoke("materialize", *args, "--db", db, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout).get("tables", [])


def expected_frames(status: Status, module: str | None = None) -> dict[tuple[str, str], Any]:
    """(module, part) -> frame, for every DataFrame in the run's active results."""
    out = {}
    for name in status.status:
        if module is not None and name != module:
            continue
        result = status.get_result(name)
        if isinstance(result, pd.DataFrame):
            out[(name, "")] = result
        elif isinstance(result, dict):
            out.update({(name, key): value for key, value in result.items()
                        if isinstance(value, pd.DataFrame)})
    return out


def read_table(engine: Engine, table: str) -> pd.DataFrame:
    with engine.connect() as conn:
        frame = pd.read_sql(text(f'SELECT * FROM "{table}"'), conn)
    if "row_index" in frame.columns:
        frame = frame.set_index("row_index")
        frame.index.name = None
    return frame


def same_rows(stored: pd.DataFrame, expected: pd.DataFrame) -> None:
    """Same columns, index and values; SQL types need not be pandas' dtypes."""
    assert list(stored.columns) == [str(c) for c in expected.columns]
    assert stored.index.tolist() == expected.index.tolist()
    for column in expected.columns:
        got, want = stored[str(column)], expected[column]
        if pd.api.types.is_datetime64_any_dtype(want):
            assert pd.to_datetime(got).tolist() == want.tolist(), column
        elif pd.api.types.is_numeric_dtype(want) and not pd.api.types.is_bool_dtype(want):
            np.testing.assert_allclose(got.astype(float), want.astype(float), equal_nan=True)
        else:
            assert [None if pd.isna(v) else str(v) for v in got] == [
                None if pd.isna(v) else str(v) for v in want], column


def result_tables(engine: Engine) -> set[str]:
    return {t for t in inspect(engine).get_table_names() if t.startswith("result_")}


@pytest.fixture
def db(example_db: Path, tmp_path: Path) -> str:
    return str(copy_sqlite(example_db, tmp_path / "mat.db"))


# --- the example run -------------------------------------------------------------------------


def test_every_active_result_frame_becomes_a_table(db: str) -> None:
    tables = materialize(db, RUN)
    engine = create_engine(f"sqlite:///{db}")
    with Status.open(RUN, db) as status:
        frames = expected_frames(status)
        assert {(t["module"], t["part"]) for t in tables} == set(frames)
        snapshot_ids = {s.snapshot_id for s in status.get_snapshots()}
        for t in tables:
            frame = frames[(t["module"], t["part"])]
            assert t["rows"] == len(frame) and t["columns"] == frame.shape[1]
            assert t["experiment"] == status.get_full_expt()[t["module"]]
            assert re.fullmatch(r"[a-z0-9_]{1,63}", t["table_name"])
            same_rows(read_table(engine, t["table_name"]), frame)
    assert result_tables(engine) == {t["table_name"] for t in tables}
    with engine.connect() as conn:
        view = [dict(r._mapping) for r in conn.execute(text("SELECT * FROM materialized_view"))]
    assert sorted((v["run"], v["module"], v["part"], v["table_name"]) for v in view) == sorted(
        (RUN, t["module"], t["part"], t["table_name"]) for t in tables)
    assert {v["snapshot_id"] for v in view} <= snapshot_ids
    engine.dispose()


def test_materialize_is_idempotent_and_drop_removes_only_its_tables(db: str) -> None:
    first = materialize(db, RUN, "--module", "Evaluator") + materialize(db, RUN, "-m", "Loader")
    again = materialize(db, RUN, "--module", "Evaluator") + materialize(db, RUN, "-m", "Loader")
    assert [t["table_name"] for t in first] == [t["table_name"] for t in again]
    assert len(first) == 4
    engine = create_engine(f"sqlite:///{db}")
    loader = next(t for t in again if t["module"] == "Loader")
    assert len(read_table(engine, loader["table_name"])) == loader["rows"]
    with Store(db) as store:
        assert len(list_materialized(store, RUN)) == len(first)
    result = invoke("materialize", RUN, "--drop", "--module", "Loader", "--db", db)
    assert result.exit_code == 0 and loader["table_name"] in result.output
    assert result_tables(engine) == {t["table_name"] for t in first} - {loader["table_name"]}
    result = invoke("materialize", RUN, "--drop", "--db", db)
    assert result.exit_code == 0, result.output
    assert result_tables(engine) == set()
    with Store(db) as store:
        assert list_materialized(store) == []
        assert check_store(store.engine)["problems"] == []
    engine.dispose()


def test_one_module_only(db: str) -> None:
    tables = materialize(db, RUN, "--module", "Splitter")
    assert sorted(t["part"] for t in tables) == ["train", "validation"]
    engine = create_engine(f"sqlite:///{db}")
    assert result_tables(engine) == {t["table_name"] for t in tables}
    engine.dispose()


def test_tables_of_results_no_longer_active_are_dropped(db: str) -> None:
    evaluator = materialize(db, RUN, "--module", "Evaluator")
    with Status.open(RUN, db) as status:
        status.restore_from_snapshot(status.get_snapshots("Loader")[0].snapshot_id)
    tables = materialize(db, RUN)
    assert [t["module"] for t in tables] == ["Loader"]
    engine = create_engine(f"sqlite:///{db}")
    assert result_tables(engine) == {t["table_name"] for t in tables}
    assert not result_tables(engine) & {t["table_name"] for t in evaluator}
    engine.dispose()


def test_human_output(db: str) -> None:
    result = invoke("materialize", RUN, "--module", "Loader", "--db", db)
    assert result.exit_code == 0, result.output
    assert table_name(RUN, "Loader", "adult") in result.output
    assert "48842" in result.output


@pytest.mark.parametrize("args, expected", [
    (("--module", "Loder"), "'Loder' is not in run"),
])
def test_mistakes(db: str, args: tuple[str, ...], expected: str) -> None:
    result = invoke("materialize", RUN, *args, "--db", db)
    assert result.exit_code == 1 and expected in result.output
    assert "Traceback" not in result.output


def test_module_without_a_result(db: str) -> None:
    with Status.open(RUN, db) as status:
        status.restore_from_snapshot(status.get_snapshots("Loader")[0].snapshot_id)
    result = invoke("materialize", RUN, "--module", "Evaluator", "--db", db)
    assert result.exit_code == 1 and "Evaluator has no result" in result.output
    assert "Traceback" not in result.output


# --- names and awkward frames ----------------------------------------------------------------


def test_table_names_are_valid_identifiers() -> None:
    assert table_name("adult-demo", "Splitter", "split_[1-1]", "train") == (
        "result_adult_demo_splitter_split_1_1_train")
    long = table_name("r" * 100, "Synthesizer", "experiment with spaces ünïcode", "part")
    assert len(long) <= 63 and re.fullmatch(r"result_[a-z0-9_]+_[0-9a-f]{8}", long)
    assert long != table_name("r" * 100, "Synthesizer", "experiment with spaces ünïcode", "x")
    assert table_name("a", "Loader", "x", hashed=True) != table_name("a", "Loader", "x")


class Stub:
    def __init__(self, result: Any) -> None:
        self.result = result

    def get_result(self) -> Any:
        return self.result

    def get_metadata(self) -> Any:
        return Metadater.create_schema(self.result, "loader")


AWKWARD = pd.DataFrame({
    "select": [1, 2, 3], 'say "hi"': ["a", None, "c"], "größe": [1.5, np.nan, 2.0],
    "from table": pd.to_datetime(["2026-01-01", "2026-01-02", None]),
}, index=[10, 20, 30])


def awkward_run(store: Any, run: str) -> None:
    with Status({"Loader": {"l": {"filepath": "x.csv"}}}, store, run=run) as status:
        status.put("Loader", "l", Stub(AWKWARD))


def test_runs_whose_names_clean_up_alike_get_their_own_tables(tmp_path: Path) -> None:
    db = tmp_path / "alike.db"
    awkward_run(db, "x-y")
    awkward_run(db, "x_y")
    with Store(db) as store:
        (a,) = materialize_run(store, "x-y")
        (b,) = materialize_run(store, "x_y")
        assert a.table_name == table_name("x-y", "Loader", "l")
        assert b.table_name != a.table_name and b.table_name.startswith(a.table_name[:-2])
        for table in (a, b):
            same_rows(read_table(store.engine, table.table_name), AWKWARD)


def test_a_users_own_table_is_never_replaced(tmp_path: Path) -> None:
    db = tmp_path / "own.db"
    awkward_run(db, "mine")
    name = table_name("mine", "Loader", "l")
    with Store(db) as store:
        with store.engine.begin() as conn:
            conn.execute(text(f'CREATE TABLE "{name}" (note TEXT)'))
            conn.execute(text(f"INSERT INTO \"{name}\" VALUES ('keep me')"))
        (made,) = materialize_run(store, "mine")
        assert made.table_name != name
        with store.engine.connect() as conn:
            assert conn.execute(text(f'SELECT note FROM "{name}"')).all() == [("keep me",)]
        result = invoke("materialize", "mine", "--drop", "--db", str(db))
        assert result.exit_code == 0, result.output
        assert name in inspect(store.engine).get_table_names()


@pytest.mark.postgres
def test_materialize_on_postgresql(pg_url: str) -> None:
    awkward_run(pg_url, "pg-run")
    tables = materialize(pg_url, "pg-run")
    assert [t["table_name"] for t in tables] == [table_name("pg-run", "Loader", "l")]
    engine = create_engine(pg_url)
    try:
        same_rows(read_table(engine, tables[0]["table_name"]), AWKWARD)
        with engine.connect() as conn:
            view = conn.execute(text("SELECT run, module, table_name FROM materialized_view"))
            assert view.all() == [("pg-run", "Loader", tables[0]["table_name"])]
        assert materialize(pg_url, "pg-run") == tables
        assert invoke("materialize", "pg-run", "--drop", "--db", pg_url).exit_code == 0
        assert result_tables(engine) == set()
    finally:
        engine.dispose()
