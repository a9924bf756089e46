"""Outputs per run, ``results``, and ``show`` / ``changes`` on what a run holds."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest

from helpers.cli import cli, example_on_sample

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two runs of the example pipeline (on 2000 rows), one after the other, in one folder."""
    folder = tmp_path_factory.mktemp("two_runs")
    example_on_sample(folder, 2000)
    for name, seed in (("first", "1"), ("second", "2")):
        done = cli(["run", "pipeline.yaml", "--db", "runs.db", "--run", name, "--seed", seed,
                    "--plain"], folder)
        assert done.returncode == 0, done.stderr
    return folder


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_two_runs_leave_two_output_folders(two_runs: Path) -> None:
    output = two_runs / "petsard-output"
    assert sorted(p.name for p in output.iterdir()) == ["first", "second"]
    for name in ("first", "second"):
        files = sorted(p.name for p in (output / name).iterdir())
        assert "petsard[Report]_[global].csv" in files and len(files) == 2


def test_runs_shows_the_seed_and_the_output_folder(two_runs: Path) -> None:
    done = cli(["runs", "--db", "runs.db", "--json"], two_runs)
    assert done.returncode == 0, done.stderr
    runs = {r["name"]: r for r in json.loads(done.stdout)["runs"]}
    assert runs["first"]["seed"] == 1 and runs["second"]["seed"] == 2
    for name in ("first", "second"):
        assert Path(runs[name]["output_dir"]) == (two_runs / "petsard-output" / name).resolve()
    table = cli(["runs", "--db", "runs.db"], two_runs).stdout.splitlines()
    assert table[1].split()[-1] == "seed"
    assert [line.split()[-1] for line in table[3:]] == ["1", "2"]


def test_results_match_the_report_the_reporter_wrote(two_runs: Path) -> None:
    done = cli(["results", "first", "--db", "runs.db", "--json"], two_runs)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    [written] = csv_rows(two_runs / "petsard-output" / "first" / "petsard[Report]_[global].csv")
    [evaluation] = doc["evaluations"]
    assert evaluation["step"] == written["full_expt_name"]
    assert [m for m, _ in evaluation["path"]] == [
        "Loader", "Splitter", "Preprocessor", "Synthesizer", "Postprocessor", "Evaluator"]
    [scores] = evaluation["tables"]["global"]
    [report] = [r for r in doc["reports"] if r["name"] == "[global]"]
    [report_row] = report["rows"]
    compared = 0
    for key, text in written.items():
        if key == "full_expt_name" or key in ("Loader", "Splitter", "Preprocessor",
                                              "Synthesizer", "Postprocessor", "Evaluator"):
            assert report_row[key] == text
            continue
        expected = float(text) if text else math.nan
        for shown in (scores[key], report_row[key]):
            if math.isnan(expected):
                assert shown is None
            else:
                assert shown == pytest.approx(expected, rel=1e-12)
        compared += 1
    assert compared >= 10
    assert len(evaluation["tables"]["columnwise"]) == 15


def test_results_as_text_show_scores_with_their_path(two_runs: Path) -> None:
    done = cli(["results", "second", "--db", "runs.db"], two_runs)
    assert done.returncode == 0, done.stderr
    [written] = csv_rows(two_runs / "petsard-output" / "second" / "petsard[Report]_[global].csv")
    out = done.stdout
    assert "Evaluator[quality]" in out
    assert "path  Loader[adult] > Splitter[split_[1-1]] > " in out
    risk = float(written["privacy_dcr_risk"])
    assert any(line.split() == ["privacy_dcr_risk", f"{risk:.6g}"] for line in out.splitlines())
    assert "pairwise: 105 rows" in out


def test_show_on_the_evaluator_says_it_records_no_metadata(two_runs: Path) -> None:
    done = cli(["show", "first", "6", "--db", "runs.db", "--json"], two_runs)
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["module"] == "Evaluator"
    assert doc["metadata"] is None and doc["fields"] == []
    text = cli(["show", "first", "6", "--db", "runs.db"], two_runs).stdout
    assert "records no metadata of its own" in text
    assert "preprocessor (" not in text
    synthesizer = json.loads(cli(["show", "first", "4", "--db", "runs.db", "--json"],
                                 two_runs).stdout)
    assert synthesizer["metadata"] == "input"
    assert synthesizer["schema"]["schema_id"] == "preprocessor"


def test_changes_of_an_unknown_field_is_an_error(two_runs: Path) -> None:
    done = cli(["changes", "first", "--field", "workclas", "--db", "runs.db"], two_runs)
    assert done.returncode == 1
    assert done.stdout == ""
    assert "did you mean 'workclass'?" in done.stderr
    assert len(done.stderr.splitlines()) == 1
    known = cli(["changes", "first", "--field", "workclass", "--db", "runs.db"], two_runs)
    assert known.returncode == 0 and "workclass" in known.stdout
