"""Managing runs from the CLI: rm frees what only the run used, compare, runs filters."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pandas.testing as tm
import pytest
import yaml

from helpers.cli import EXAMPLE_YAML, adult_sample, cli
from petsard_status import Status


def _pipeline(folder: Path, name: str, rows: int) -> Path:
    config = yaml.safe_load(EXAMPLE_YAML.read_text())
    config["Loader"]["adult"] = {"filepath": "adult.csv", "na_values": "?"}
    config["Synthesizer"]["copula"]["sample_num_rows"] = rows
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("manage")
    adult_sample(folder, 1200)
    for run, rows in (("keep", 300), ("other", 500), ("drop", 700)):
        done = cli(["run", str(_pipeline(folder, run, rows)), "--db", "runs.db", "--run", run,
                    "--seed", "4"], folder)
        assert done.returncode == 0, done.stderr
    return folder


def _view(db: Path, run: str) -> dict:
    with Status.open(run, db, read_only=True) as status:
        return {
            "snapshots": [(s.snapshot_id, s.metadata_after) for s in status.get_snapshots()],
            "changes": list(status.get_change_history()),
            "timings": [r.record_id for r in status.get_timing_records()],
            "synthetic": status.get_result("Synthesizer"),
            "report": status.get_report(),
        }


def test_runs_filters_and_sorts(three_runs: Path) -> None:
    done = cli(["runs", "--db", "runs.db", "--json", "--sort", "name", "--limit", "2"],
               three_runs)
    assert [r["name"] for r in json.loads(done.stdout)["runs"]] == ["drop", "keep"]
    done = cli(["runs", "--db", "runs.db", "--json", "--state", "failed"], three_runs)
    assert json.loads(done.stdout)["runs"] == []
    done = cli(["runs", "--db", "runs.db", "--json", "--newest-first"], three_runs)
    assert [r["name"] for r in json.loads(done.stdout)["runs"]] == ["drop", "other", "keep"]


def test_compare_names_the_differing_parameter_and_shows_scores(three_runs: Path) -> None:
    done = cli(["compare", "keep", "other", "--db", "runs.db", "--json"], three_runs)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["config"] == [{"experiment": "Synthesizer[copula]",
                              "parameter": "sample_num_rows", "a": 300, "b": 500}]
    assert doc["metadata"] == []  # the steps that record metadata ran on the same data
    assert doc["scores"], "the evaluator's global scores are compared"
    assert all(s["a"] is not None and s["b"] is not None for s in doc["scores"])
    table = cli(["compare", "keep", "other", "--db", "runs.db"], three_runs).stdout
    assert "sample_num_rows" in table and "evaluator scores" in table


def test_rm_removes_one_run_and_leaves_the_others_answering_the_same(three_runs: Path) -> None:
    db = three_runs / "runs.db"
    before = {run: _view(db, run) for run in ("keep", "other")}
    size = db.stat().st_size

    refused = cli(["rm", "drop", "--db", "runs.db"], three_runs)  # no terminal: no confirmation
    assert refused.returncode != 0
    done = cli(["rm", "drop", "--db", "runs.db", "--yes"], three_runs)
    assert done.returncode == 0, done.stderr
    assert "removed run drop" in done.stdout

    names = json.loads(cli(["runs", "--db", "runs.db", "--json"], three_runs).stdout)["runs"]
    assert [r["name"] for r in names] == ["keep", "other"]
    for run, seen in before.items():
        now = _view(db, run)
        assert now["snapshots"] == seen["snapshots"]
        assert now["changes"] == seen["changes"]
        assert now["timings"] == seen["timings"]
        tm.assert_frame_equal(now["synthetic"], seen["synthetic"])
        assert now["report"].keys() == seen["report"].keys()
    assert db.stat().st_size < size  # its frames were freed and the file vacuumed
    check = cli(["db", "check", "--db", "runs.db"], three_runs)
    assert check.returncode == 0, check.stdout
    with sqlite3.connect(db) as conn:
        logged = conn.execute("SELECT name, snapshots FROM removed_runs").fetchall()
    conn.close()
    assert logged == [("drop", 8)]


def test_rm_of_an_unknown_run_removes_nothing(three_runs: Path) -> None:
    done = cli(["rm", "keep", "nope", "--db", "runs.db", "--yes"], three_runs)
    assert done.returncode == 1
    assert "no run named 'nope'" in done.stderr
    names = json.loads(cli(["runs", "--db", "runs.db", "--json"], three_runs).stdout)["runs"]
    assert "keep" in [r["name"] for r in names]
