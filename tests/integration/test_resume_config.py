"""``resume RUN --config FIXED.yaml``, and how a failed step is reported."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import yaml

from helpers.cli import adult_sample, cli, line_of

CHECKER = '''\
from petsard_status.modules import BaseAdapter


class Checker(BaseAdapter):
    def set_input(self, status):
        return {"data": status.get_result("Loader")}

    def run(self, input):
        if self.config["limit"] > 100:
            raise ValueError(f"limit {self.config['limit']} is too large")
        self.result = input["data"].head(self.config["limit"])

    def get_result(self):
        return self.result
'''

PIPELINE = '''\
Loader:
  data:
    filepath: adult.csv
    na_values: "?"
CustomCheck:
  first:
    module_path: checker.py
    class_name: Checker
    limit: LIMIT
Reporter:
  out:
    method: save_data
    source: CustomCheck
'''


def setup(folder: Path) -> None:
    adult_sample(folder, 300)
    (folder / "checker.py").write_text(CHECKER, encoding="utf-8")
    (folder / "bad.yaml").write_text(PIPELINE.replace("LIMIT", "500"), encoding="utf-8")
    (folder / "fixed.yaml").write_text(PIPELINE.replace("LIMIT", "50"), encoding="utf-8")
    (folder / "changed.yaml").write_text(
        PIPELINE.replace("LIMIT", "50").replace('na_values: "?"', "na_values: [\"?\", NA]"),
        encoding="utf-8")


def run_row(db: Path, name: str) -> tuple[str, str | None, dict]:
    """State, failed step and info of a run, read with plain SQL (info is in an envelope)."""
    with sqlite3.connect(db) as conn:
        state, failed_step, info = conn.execute(
            "SELECT state, failed_step, info_json FROM runs WHERE name = ?", (name,)).fetchone()
    conn.close()
    return state, failed_step, json.loads(info)["value"]


def test_a_run_that_failed_on_a_bad_value_completes_with_a_corrected_config(
        tmp_path: Path) -> None:
    setup(tmp_path)
    db = tmp_path / "runs.db"
    failed = cli(["run", "bad.yaml", "--db", str(db), "--run", "r1", "--plain"], tmp_path)
    assert failed.returncode == 1
    # One line on stderr: the step, where the user's code raised, and the way on.
    assert len(failed.stderr.splitlines()) == 1, failed.stderr
    raised_at = line_of(CHECKER, "raise ValueError")
    assert (f"step Loader[data]_CustomCheck[first] failed: {tmp_path / 'checker.py'}:"
            f"{raised_at}: ValueError: limit 500 is too large") in failed.stderr
    assert f"petsard-status resume r1 --db {db}" in failed.stderr
    assert "Traceback" not in failed.stderr + failed.stdout
    assert "too large" not in failed.stdout
    assert run_row(db, "r1")[:2] == ("failed", "Loader[data]_CustomCheck[first]")

    resumed = cli(["resume", "r1", "--db", str(db), "--config", "fixed.yaml", "--plain"],
                  tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert "1/3 steps already done" in resumed.stdout
    state, _, info = run_row(db, "r1")
    assert state == "completed"
    [revision] = info["config_revisions"]
    written = yaml.safe_load((tmp_path / "fixed.yaml").read_text(encoding="utf-8"))
    stored = json.loads(revision["config_json"])
    assert stored == written and list(stored) == ["Loader", "CustomCheck", "Reporter"]
    canonical = json.dumps(written, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert revision["sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert revision["revision"] == 1 and revision["time"]
    saved = tmp_path / "petsard-output" / "r1" / \
        "petsard_Loader[data]_CustomCheck[first].csv"
    assert len(saved.read_text(encoding="utf-8").splitlines()) == 51

    again = cli(["resume", "r1", "--db", str(db), "--plain"], tmp_path)
    assert again.returncode == 0
    assert "already completed" in again.stdout


def test_resume_refuses_a_config_that_changes_a_finished_step(tmp_path: Path) -> None:
    setup(tmp_path)
    db = tmp_path / "runs.db"
    assert cli(["run", "bad.yaml", "--db", str(db), "--run", "r1"], tmp_path).returncode == 1
    before = run_row(db, "r1")
    refused = cli(["resume", "r1", "--db", str(db), "--config", "changed.yaml"], tmp_path)
    assert refused.returncode == 1
    assert len(refused.stderr.splitlines()) == 1
    assert "finished step(s) are configured differently" in refused.stderr
    assert "Loader[data] (na_values)" in refused.stderr
    assert run_row(db, "r1") == before


def test_resume_checks_the_corrected_config_first(tmp_path: Path) -> None:
    setup(tmp_path)
    db = tmp_path / "runs.db"
    assert cli(["run", "bad.yaml", "--db", str(db), "--run", "r1"], tmp_path).returncode == 1
    (tmp_path / "typo.yaml").write_text(
        PIPELINE.replace("LIMIT", "50").replace("source:", "sorce:"), encoding="utf-8")
    before = run_row(db, "r1")
    refused = cli(["resume", "r1", "--db", str(db), "--config", "typo.yaml"], tmp_path)
    assert refused.returncode == 1
    assert "unknown parameter 'sorce' (did you mean 'source'?)" in refused.stderr
    assert run_row(db, "r1") == before


def test_traceback_shows_the_whole_trace(tmp_path: Path) -> None:
    setup(tmp_path)
    done = cli(["run", "bad.yaml", "--db", "runs.db", "--traceback"], tmp_path)
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().splitlines()[-1].startswith("Error: run ")


def test_hints_repeat_the_database_from_the_environment(tmp_path: Path) -> None:
    setup(tmp_path)
    db = tmp_path / "env.db"
    done = cli(["run", "bad.yaml", "--run", "r1"], tmp_path, env={"PETSARD_STATUS_DB": str(db)})
    assert done.returncode == 1
    assert f"petsard-status resume r1 --db {db}" in done.stderr
    taken = cli(["run", "fixed.yaml", "--run", "r1"], tmp_path,
                env={"PETSARD_STATUS_DB": str(db)})
    assert taken.returncode == 1
    assert "Status.open" not in taken.stderr
    assert f"petsard-status resume r1 --db {db}" in taken.stderr
