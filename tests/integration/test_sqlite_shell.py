"""The example queries of docs/schema.md, run verbatim, answer what the API answers.

On SQLite they go through the ``sqlite3`` command-line shell, as a user would
type them; their PostgreSQL forms run on PostgreSQL where a server answers.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from helpers.paths import REPO, adult_head
from petsard_status import Status
from petsard_status import formats as codec
from petsard_status.modules import ModuleContext, build_adapter

SQLITE3 = shutil.which("sqlite3")
RUN = "adult-demo"
ROWS = 250
QUERY = re.compile(r"<!-- query: ([\w-]+)(?: \((postgresql)\))? -->\s*```sql\n(.*?)```", re.S)

Rows = list[dict[str, Any]]


def doc_queries() -> dict[tuple[str, str], str]:
    """(name, dialect) -> SQL, exactly as written in docs/schema.md."""
    text = (REPO / "docs" / "schema.md").read_text(encoding="utf-8")
    found: dict[tuple[str, str], str] = {}
    for name, dialect, sql in QUERY.findall(text):
        key = (name, dialect or "sqlite")
        assert key not in found, f"query {key} appears twice in docs/schema.md"
        found[key] = sql
    return found


def pipeline(csv: Path) -> dict[str, Any]:
    return {
        "Loader": {"small": {"filepath": str(csv), "na_values": "?"}},
        "Splitter": {"split": {"train_split_ratio": 0.8, "num_samples": 2, "random_state": 2}},
        "Preprocessor": {"onehot": {"missing": "mode", "encoding": "onehot"}},
        "Synthesizer": {"copula": {"method": "gaussian_copula", "sample_num_rows": 30}},
    }


def build_demo(store: str, csv: Path, out: Path) -> None:
    """The run the documented queries read: both Splitter samples, timed, one step failing."""
    ctx = ModuleContext(output_dir=out, base_dir=out)
    with Status(pipeline(csv), store, run=RUN) as status:
        for flow_step in status.config.flow():
            adapter = build_adapter(flow_step.module, flow_step.params, ctx)
            with status.timing(flow_step.module, flow_step.experiment, "run"):
                adapter.run(adapter.set_input(status))
            status.put(flow_step.module, flow_step.experiment, adapter)
        with pytest.raises(RuntimeError), status.timing("Synthesizer", "copula", "check"):
            raise RuntimeError("synthetic rows failed a check")


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return adult_head(tmp_path_factory.mktemp("data"), ROWS)


@pytest.fixture(scope="module")
def demo_db(small_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shell")
    db = folder / "runs.db"
    build_demo(f"sqlite:///{db}", small_csv, folder)
    # A second run in the same file: the queries must pick out theirs by name.
    with Status({"Loader": {"other": {"filepath": str(small_csv)}}}, db, run="other") as other:
        adapter = build_adapter("Loader", other.config.params("Loader", "other"))
        adapter.run({})
        other.put("Loader", "other", adapter)
    return db


def when(value: Any) -> dt.datetime:
    return value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(value)


# --- what each query must return, according to the API ---------------------------------


def check_snapshots(rows: Rows, status: Status) -> None:
    snapshots = status.get_snapshots()
    assert len(snapshots) == 7
    assert [(r["seq"], r["snapshot_id"], r["module"], r["experiment"], r["adapter"],
             when(r["timestamp"])) for r in rows] == [
        (i, s.snapshot_id, s.module_name, s.experiment_name,
         s.execution_context["adapter_type"], s.timestamp)
        for i, s in enumerate(snapshots, 1)]


def check_snapshot_view(rows: Rows, status: Status) -> None:
    expected = []
    for i, s in enumerate(status.get_snapshots(), 1):
        changed = s.metadata_after is not None and s.metadata_after != s.metadata_before
        expected.append((i, s.snapshot_id, s.module_name, s.experiment_name, int(changed)))
    assert [(r["seq"], r["snapshot_id"], r["module"], r["experiment"], r["schema_changed"])
            for r in rows] == expected
    assert any(e[-1] for e in expected) and not all(e[-1] for e in expected)


def check_changes_per_snapshot(rows: Rows, status: Status) -> None:
    # A put stamps its snapshot and its change records with the same time.
    expected: Counter[tuple[str, str, str]] = Counter()
    for s in status.get_snapshots():
        where = f"{s.module_name}[{s.experiment_name}]"
        for c in status.get_change_history(s.module_name):
            if c.timestamp == s.timestamp and c.module_context == where:
                expected[(s.snapshot_id, c.target_type, c.change_type)] += 1
    assert sum(expected.values()) == len(status.get_change_history())
    got = {(r["snapshot_id"], r["target_type"], r["change_type"]): r["changes"] for r in rows}
    assert got == dict(expected)
    assert len(got) == len(rows)


def check_field_changes(rows: Rows, status: Status) -> None:
    changes = [c for c in status.get_change_history("Preprocessor") if c.target_type == "field"]
    assert {c.change_type for c in changes} == {"create", "update", "delete"}

    def data_type(state: Any) -> str | None:
        return state.data_type.value if state is not None else None

    assert [(r["change_id"], r["change_type"], r["field"],
             tuple(json.loads(r["attributes"])) if r["attributes"] else (),
             r["type_before"], r["type_after"]) for r in rows] == [
        (c.change_id, c.change_type, c.target_id, c.attributes, data_type(c.before_state),
         data_type(c.after_state)) for c in changes]


def check_snapshot_fields(rows: Rows, status: Status) -> None:
    schema = status.get_snapshots()[0].metadata_after
    assert [(r["position"], r["name"], r["data_type"], bool(r["nullable"]), r["na_count"])
            for r in rows] == [
        (i, f.name, f.data_type.value, f.nullable, f.stats.na_count)
        for i, f in enumerate(schema.fields)]
    assert any(f.stats.na_count for f in schema.fields)


def check_timings(rows: Rows, status: Status) -> None:
    records = status.get_timing_records()
    assert [(r["record_id"], r["module"], r["step"], r["duration_seconds"], r["error"])
            for r in rows] == [
        (t.record_id, t.module_name, t.step_name, t.duration_seconds, t.context.get("error"))
        for t in records]
    assert [r["error"] for r in rows if r["error"]] == [
        "RuntimeError: synthetic rows failed a check"]


def check_sharing(rows: Rows, status: Status) -> None:
    fields = [f for s in status.get_snapshots() if s.metadata_after is not None
              for f in s.metadata_after.fields]
    (row,) = rows
    assert row["field_references"] == len(fields)
    assert row["field_documents"] == len({codec.to_json(f) for f in fields})
    assert row["field_documents"] < row["field_references"]


CHECKS: dict[str, Callable[[Rows, Status], None]] = {
    "snapshot-view": check_snapshot_view,
    "snapshots": check_snapshots,
    "changes-per-snapshot": check_changes_per_snapshot,
    "field-changes": check_field_changes,
    "snapshot-fields": check_snapshot_fields,
    "timings": check_timings,
    "sharing": check_sharing,
}


def test_every_documented_query_is_checked() -> None:
    names = {name for name, _ in doc_queries()}
    assert names == set(CHECKS)


# --- SQLite, through the sqlite3 shell ------------------------------------------------------


def shell(db: Path, sql: str) -> Rows:
    assert SQLITE3 is not None
    done = subprocess.run([SQLITE3, "-json", "-bail", str(db)], input=sql, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, f"sqlite3 failed: {done.stderr}\n{sql}"
    return json.loads(done.stdout) if done.stdout.strip() else []


@pytest.mark.skipif(SQLITE3 is None, reason="the sqlite3 command-line shell is not installed")
@pytest.mark.parametrize("name", list(CHECKS))
def test_documented_query_in_sqlite3_shell(name: str, demo_db: Path) -> None:
    sql = doc_queries()[(name, "sqlite")]
    rows = shell(demo_db, sql)
    assert rows, f"{name} returned no rows"
    with Status.open(RUN, demo_db) as status:
        CHECKS[name](rows, status)


# --- PostgreSQL ------------------------------------------------------------------------------


@pytest.mark.postgres
def test_documented_queries_on_postgresql(pg_url: str, small_csv: Path, tmp_path: Path) -> None:
    build_demo(pg_url, small_csv, tmp_path)
    queries = doc_queries()
    engine = create_engine(pg_url)
    try:
        with Status.open(RUN, engine) as status, engine.connect() as conn:
            for name, check in CHECKS.items():
                sql = queries.get((name, "postgresql"), queries[(name, "sqlite")])
                rows = [dict(r._mapping) for r in conn.exec_driver_sql(sql)]
                assert rows, f"{name} returned no rows"
                check(rows, status)
    finally:
        engine.dispose()
