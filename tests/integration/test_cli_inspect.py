"""The inspection commands on a real store written by the example pipeline.

Each command's table and ``--json`` output are checked against what the Python
API answers for the same run; each user mistake must give one clear line and
exit status 1, never a traceback.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from helpers.paths import EXAMPLE_RUN, EXAMPLE_YAML, copy_sqlite
from petsard_status import Config, Status, Store
from petsard_status.cli.main import main

RUN = EXAMPLE_RUN


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    return result.output


def as_json(*args: str) -> dict:
    return json.loads(ok(*args, "--json"))


def refused(*args: str) -> str:
    """Output of a command that must fail as a user mistake: status 1, one Error line."""
    result = invoke(*args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1, result.output
    return errors[0]


def table_rows(output: str) -> list[list[str]]:
    """The data rows of the first aligned table in ``output``, split into cells."""
    lines = output.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("-") and "  " in line)
    spans, start = [], 0
    rule_line = lines[rule]
    while start < len(rule_line):
        end = rule_line.find("  ", start)
        end = len(rule_line) if end < 0 else end
        spans.append((start, end))
        start = end + 2
    rows = []
    for line in lines[rule + 1:]:
        if not line.strip():
            break
        rows.append([line[a: (b if i < len(spans) - 1 else None)].strip()
                     for i, (a, b) in enumerate(spans)])
    return rows


@pytest.fixture(scope="module")
def db(example_db: Path) -> str:
    return str(example_db)


@pytest.fixture(scope="module")
def status(db: str):
    with Status.open(RUN, db) as opened:
        yield opened


# --- runs ------------------------------------------------------------------------------------


def test_runs_lists_the_run_with_state_and_steps(db: str, status: Status) -> None:
    output = ok("runs", "--db", db)
    assert output.splitlines()[0] == f"database  {status.store.location}"
    (row,) = table_rows(output)
    total = Config.from_yaml(EXAMPLE_YAML).num_steps
    assert row[0] == RUN
    assert row[1] == status.run_info()["state"] == "completed"
    assert row[2] == status.run_info()["created_at"].strftime("%Y-%m-%d %H:%M:%S")
    assert row[4] == f"{len(status.get_snapshots())}/{total}"


def test_runs_json(db: str, status: Status) -> None:
    doc = as_json("runs", "--db", db)
    assert doc["database"] == status.store.location
    (run,) = doc["runs"]
    info = status.run_info()
    assert run["name"] == RUN
    assert run["state"] == info["state"]
    assert run["started"] == info["created_at"].isoformat()
    assert run["finished"] == info["finished_at"].isoformat()
    expected = (info["finished_at"] - info["created_at"]).total_seconds()
    assert run["duration_seconds"] == pytest.approx(expected, abs=1e-3)
    assert run["steps_done"] == len(status.get_snapshots())
    assert run["steps_total"] == Config.from_yaml(EXAMPLE_YAML).num_steps
    assert run["error"] is None


def test_runs_written_from_python_have_no_step_total(tmp_path: Path, adult_df) -> None:
    """Puts from Python are not flow steps: no "3/2", and closing settles the state."""
    db = tmp_path / "api.db"
    config = {"Loader": {"a": {"filepath": "x.csv"}, "b": {"filepath": "y.csv"}},
              "Synthesizer": {"s": {"method": "gaussian_copula"}}}
    assert Config(config).num_steps == 4
    with Status(config, db, run="by-hand") as status:
        for _ in range(3):
            status.put("Loader", "a", _Frame(adult_df.head(20)))
    doc = as_json("runs", "--db", str(db))
    assert [(r["name"], r["state"], r["steps_done"], r["steps_total"])
            for r in doc["runs"]] == [("by-hand", "completed", 3, None)]


class _Frame:
    """The smallest adapter: a result and no metadata."""

    def __init__(self, frame) -> None:
        self.frame = frame

    def get_result(self):
        return self.frame


def test_runs_on_an_empty_store(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    Store(db).close()
    assert "no runs yet" in ok("runs", "--db", str(db))
    assert as_json("runs", "--db", str(db))["runs"] == []


# --- snapshots -------------------------------------------------------------------------------


def test_snapshots_table_matches_the_api(db: str, status: Status) -> None:
    rows = table_rows(ok("snapshots", RUN, "--db", db))
    snapshots = status.get_snapshots()
    assert [(r[1], r[3], r[4]) for r in rows] == [
        (s.snapshot_id, s.module_name, s.experiment_name) for s in snapshots]
    assert [r[0] for r in rows] == [str(i) for i in range(1, len(snapshots) + 1)]
    assert [r[5] for r in rows] == [
        "yes" if s.execution_context["schema_changed"] else "no" for s in snapshots]
    assert {"yes", "no"} == {r[5] for r in rows}


def test_snapshots_json_matches_the_api(db: str, status: Status) -> None:
    doc = as_json("snapshots", RUN, "--db", db)
    snapshots = status.get_snapshots()
    assert doc["run"] == RUN
    assert [s["snapshot_id"] for s in doc["snapshots"]] == [s.snapshot_id for s in snapshots]
    for got, snap in zip(doc["snapshots"], snapshots):
        assert got["module"] == snap.module_name
        assert got["experiment"] == snap.experiment_name
        assert got["timestamp"] == snap.timestamp.isoformat()
        assert got["step"] == snap.execution_context["step"]
        changed = snap.metadata_after is not None and snap.metadata_after != snap.metadata_before
        assert got["schema_changed"] is changed
        assert got["field_changes"] == snap.execution_context["field_changes"]


def test_snapshots_of_one_module(db: str, status: Status) -> None:
    doc = as_json("snapshots", RUN, "--module", "Reporter", "--db", db)
    assert [s["snapshot_id"] for s in doc["snapshots"]] == [
        s.snapshot_id for s in status.get_snapshots("Reporter")]
    assert len(doc["snapshots"]) == 2


# --- show ------------------------------------------------------------------------------------


def test_show_prints_context_and_every_field(db: str, status: Status) -> None:
    snap = status.get_snapshots("Splitter")[0]
    output = ok("show", RUN, snap.snapshot_id, "--db", db)
    assert f"snapshot        {snap.snapshot_id}" in output
    assert f"step            {snap.execution_context['step']}" in output
    assert "after the module ran" in output
    rows = table_rows(output)
    schema = snap.metadata_after
    assert [r[0] for r in rows] == schema.field_names
    for row, field in zip(rows, schema.fields):
        assert row[1] == field.data_type.value
        assert row[2] == (field.logical_type.value if field.logical_type else "")
        assert row[3] == ("yes" if field.nullable else "no")
        assert row[4] == str(field.stats.na_count)
        assert row[5] == str(field.stats.distinct_count)


def test_show_json_matches_the_api(db: str, status: Status) -> None:
    snap = status.get_snapshots("Preprocessor")[0]
    doc = as_json("show", RUN, snap.snapshot_id, "--db", db)
    assert doc["snapshot_id"] == snap.snapshot_id
    assert doc["context"] == json.loads(json.dumps(snap.execution_context))
    assert doc["metadata"] == "after"
    schema = snap.metadata_after
    assert doc["schema"]["schema_id"] == schema.schema_id
    assert doc["schema"]["row_count"] == schema.stats.row_count
    assert [f["name"] for f in doc["fields"]] == schema.field_names
    for got, field in zip(doc["fields"], schema.fields):
        assert got["data_type"] == field.data_type.value
        assert got["nullable"] is field.nullable
        assert got["na_count"] == field.stats.na_count
        assert got["distinct_count"] == field.stats.distinct_count
        assert got["min_value"] == pytest.approx(field.stats.min_value)
        assert got["max_value"] == pytest.approx(field.stats.max_value)


def test_show_by_number_is_show_by_id(db: str, status: Status) -> None:
    third = status.get_snapshots()[2].snapshot_id
    assert as_json("show", RUN, "3", "--db", db) == as_json("show", RUN, third, "--db", db)
    assert as_json("show", RUN, "#3", "--db", db)["snapshot_id"] == third


def test_show_of_a_module_without_metadata_shows_its_input(db: str, status: Status) -> None:
    snap = status.get_snapshots("Synthesizer")[0]
    assert snap.metadata_after is None and snap.metadata_before is None
    doc = as_json("show", RUN, snap.snapshot_id, "--db", db)
    assert doc["metadata"] == "input"
    preprocessed = status.get_metadata("Preprocessor")
    assert doc["schema"]["schema_id"] == preprocessed.schema_id
    assert [f["name"] for f in doc["fields"]] == preprocessed.field_names
    assert "the module's input" in ok("show", RUN, snap.snapshot_id, "--db", db)


# --- changes ---------------------------------------------------------------------------------


def test_changes_json_matches_the_api(db: str, status: Status) -> None:
    doc = as_json("changes", RUN, "--db", db)
    changes = status.get_change_history()
    assert len(doc["changes"]) == len(changes) > 0
    for got, change in zip(doc["changes"], changes):
        assert got["change_id"] == change.change_id
        assert got["change_type"] == change.change_type
        assert got["target_type"] == change.target_type
        assert got["target_id"] == change.target_id
        assert tuple(got["attributes"]) == change.attributes
        assert f"{got['module']}[{got['experiment']}]" == change.module_context
        assert got["timestamp"] == change.timestamp.isoformat()


def test_changes_table_lists_every_change(db: str, status: Status) -> None:
    rows = table_rows(ok("changes", RUN, "--db", db))
    assert [r[0] for r in rows] == [c.change_id for c in status.get_change_history()]
    assert {r[4] for r in rows} == {"schema", "field"}


def test_changes_of_one_module_and_field(db: str, status: Status) -> None:
    doc = as_json("changes", RUN, "--module", "Preprocessor", "--field", "age", "--db", db)
    expected = [c for c in status.get_change_history("Preprocessor")
                if c.target_type == "field" and c.target_id == "age"]
    assert [c["change_id"] for c in doc["changes"]] == [c.change_id for c in expected]
    (change,) = expected
    # The Preprocessor scales ages: the type changes, and the detail says from what to what.
    assert change.before_state.data_type != change.after_state.data_type
    detail = doc["changes"][0]["detail"]
    assert (f"data_type {change.before_state.data_type.value} -> "
            f"{change.after_state.data_type.value}") in detail


def test_changes_of_a_field_not_in_the_run_is_an_error(db: str) -> None:
    result = invoke("changes", RUN, "--field", "nope", "--db", db)
    assert result.exit_code == 1
    assert "field 'nope' is not in the metadata of run" in result.output


# --- diff ------------------------------------------------------------------------------------


def test_diff_lists_fields_whose_metadata_differs(db: str, status: Status) -> None:
    loader = status.get_snapshots("Loader")[0]
    pre = status.get_snapshots("Preprocessor")[0]
    doc = as_json("diff", RUN, loader.snapshot_id, pre.snapshot_id, "--db", db)
    a, b = loader.metadata_after, pre.metadata_after
    assert doc["a"] == {"snapshot_id": loader.snapshot_id, "metadata": "after",
                        "schema_id": a.schema_id}
    assert doc["schema_change"] == "update"
    by_name = {f["name"]: f for f in doc["fields"]}
    for field in b.fields:
        before = a.get_field(field.name)
        if before.data_type != field.data_type:
            assert "data_type" in by_name[field.name]["attributes"]
        if before.stats.row_count != field.stats.row_count:
            assert "stats" in by_name[field.name]["attributes"]
    assert set(by_name) | set(doc["unchanged_fields"]) == set(b.field_names)
    output = ok("diff", RUN, "1", "3", "--db", db)
    assert [r[0] for r in table_rows(output)] == [f["name"] for f in doc["fields"]]


def test_diff_of_a_snapshot_with_itself_is_empty(db: str) -> None:
    doc = as_json("diff", RUN, "2", "2", "--db", db)
    assert doc["schema_change"] is None and doc["fields"] == []
    assert "the metadata is the same" in ok("diff", RUN, "2", "2", "--db", db)


# --- timings ---------------------------------------------------------------------------------


def test_timings_slowest_first(db: str, status: Status) -> None:
    doc = as_json("timings", RUN, "--db", db)
    records = status.get_timing_records()
    durations = [t["duration_seconds"] for t in doc["timings"]]
    assert durations == sorted(durations, reverse=True)
    assert sorted(t["record_id"] for t in doc["timings"]) == sorted(r.record_id for r in records)
    by_id = {r.record_id: r for r in records}
    for got in doc["timings"]:
        record = by_id[got["record_id"]]
        assert (got["module"], got["experiment"], got["step"], got["duration_seconds"]) == (
            record.module_name, record.experiment_name, record.step_name,
            record.duration_seconds)
    rows = table_rows(ok("timings", RUN, "--db", db))
    assert [r[5] for r in rows] == [t["record_id"] for t in doc["timings"]]


# --- restore ---------------------------------------------------------------------------------


def test_restore_records_and_shows_the_state(example_db: Path, tmp_path: Path) -> None:
    db = str(copy_sqlite(example_db, tmp_path / "restore.db"))
    with Status.open(RUN, db) as before:
        target = before.get_snapshots("Preprocessor")[0]
        n_snapshots = len(before.get_snapshots())
    doc = as_json("restore", RUN, target.snapshot_id, "--db", db)
    assert doc["restored_to"] == target.snapshot_id
    assert [a["module"] for a in doc["active"]] == ["Loader", "Splitter", "Preprocessor"]
    with Status.open(RUN, db) as after:
        assert list(after.get_full_expt()) == [a["module"] for a in doc["active"]]
        assert [a["experiment"] for a in doc["active"]] == list(after.get_full_expt().values())
        assert len(after.get_snapshots()) == n_snapshots  # history is kept
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT snapshot_id FROM restores").fetchall() == [
            (target.snapshot_id,)]
    output = ok("restore", RUN, "1", "--db", db)
    assert output.startswith(f"restored run {RUN} to ")
    assert [r[0] for r in table_rows(output)] == ["Loader"]


# --- user mistakes ---------------------------------------------------------------------------

RUN_COMMANDS = [
    ("snapshots", "nope"), ("show", "nope", "1"), ("changes", "nope"),
    ("diff", "nope", "1", "2"), ("timings", "nope"), ("restore", "nope", "1"),
    ("export", "nope"), ("materialize", "nope"),
]


@pytest.mark.parametrize("args", RUN_COMMANDS, ids=[a[0] for a in RUN_COMMANDS])
def test_unknown_run_lists_the_runs(args: tuple[str, ...], db: str, tmp_path: Path) -> None:
    line = refused(*args, "--db", db)
    assert "no run named 'nope'" in line
    assert f"runs there: {RUN}" in line


@pytest.mark.parametrize("command", ["show", "restore"])
def test_unknown_snapshot_lists_snapshot_ids(command: str, db: str, status: Status) -> None:
    line = refused(command, RUN, "snapshot_999", "--db", db)
    assert "no snapshot 'snapshot_999'" in line
    ids = [s.snapshot_id for s in status.get_snapshots()]
    assert ids[0] in line and ids[-1] in line
    assert f"its {len(ids)} snapshots" in line


def test_unknown_snapshot_in_diff(db: str) -> None:
    assert "no snapshot '99'" in refused("diff", RUN, "1", "99", "--db", db)


def test_unknown_module_lists_the_modules(db: str) -> None:
    line = refused("snapshots", RUN, "--module", "Loder", "--db", db)
    assert "'Loder' is not in run" in line and "Loader, Splitter" in line


def test_missing_database_file_lists_the_databases_there(db: str, tmp_path: Path) -> None:
    Store(tmp_path / "real.db").close()
    line = refused("runs", "--db", str(tmp_path / "typo.db"))
    assert f"no database at {tmp_path / 'typo.db'}" in line
    assert "real.db" in line
    assert not (tmp_path / "typo.db").exists()


def test_database_in_a_missing_folder(tmp_path: Path) -> None:
    line = refused("snapshots", RUN, "--db", str(tmp_path / "no" / "such" / "x.db"))
    assert "does not exist" in line


@pytest.mark.parametrize("kind", ["folder", "text file"])
def test_unreadable_database_path(kind: str, tmp_path: Path) -> None:
    path = tmp_path
    if kind == "text file":
        path = tmp_path / "notes.db"
        path.write_text("not a database at all, but long enough to have a header\n")
    line = refused("runs", "--db", str(path))
    assert ("is a folder" if kind == "folder" else "is not a SQLite database") in line


@pytest.mark.parametrize("url, expected", [
    ("nosuchdialect://host/db", "no SQLAlchemy dialect"),
    ("postgresql+psycopg://nobody@127.0.0.1:1/none", "cannot connect"),
    ("postgresql://user@host:notaport/db", "not a database URL"),
])
def test_bad_url(url: str, expected: str) -> None:
    line = refused("runs", "--db", url)
    assert expected in line


def test_snapshots_pages_and_streams_json(db: str) -> None:
    """--limit/--offset/--newest-first read one page; --json is one valid document."""
    page = as_json("snapshots", RUN, "--db", db, "--newest-first", "--offset", "1",
                   "--limit", "3")
    assert [r["seq"] for r in page["snapshots"]] == [7, 6, 5]
    assert page["run"] == RUN and page["module"] is None
    everything = as_json("snapshots", RUN, "--db", db)
    assert [r["seq"] for r in everything["snapshots"]] == list(range(1, 9))
    assert as_json("snapshots", RUN, "--db", db, "--offset", "20")["snapshots"] == []
    text = ok("snapshots", RUN, "--db", db, "--limit", "2")
    assert [line.split()[0] for line in text.splitlines()[2:]] == ["1", "2"]
