"""Runs that know whether they are alive: leases, stale runs, refused resumes, signals.

Every case drives the real CLI in subprocesses on real SQLite files; a pipeline
is held in its Synthesizer by a marker file so that the test decides when it
may go on.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from helpers.paths import EXAMPLE_YAML, adult_head

HOLDING_COPULA = '''
import os
import time
from pathlib import Path

from petsard_status.modules.synthesizer import GaussianCopula


class HoldingCopula(GaussianCopula):
    """The reference copula, made to wait while a marker file exists."""

    def fit(self, data):
        Path(os.environ["SYNTH_STARTED"]).touch()
        while Path(os.environ["SYNTH_HOLD"]).exists():
            time.sleep(0.05)
        return super().fit(data)
'''


def cli(*args: str, env: dict[str, str], cwd: Path, timeout: float = 300):
    return subprocess.run([sys.executable, "-m", "petsard_status.cli", *args],
                          capture_output=True, text=True, env=env, cwd=cwd, timeout=timeout)


@pytest.fixture
def held(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """A small pipeline whose Synthesizer waits while ``hold`` exists."""
    (tmp_path / "holding.py").write_text(HOLDING_COPULA)
    config = yaml.safe_load(EXAMPLE_YAML.read_text())
    config["Loader"]["adult"] = {"filepath": str(adult_head(tmp_path, 1500)),
                                 "na_values": "?"}
    config["Synthesizer"] = {"copula": {"method": "custom", "class_name": "HoldingCopula",
                                        "module_path": str(tmp_path / "holding.py")}}
    pipeline = tmp_path / "pipeline.yaml"
    pipeline.write_text(yaml.safe_dump(config, sort_keys=False))
    env = {**os.environ, "SYNTH_STARTED": str(tmp_path / "started"),
           "SYNTH_HOLD": str(tmp_path / "hold"), "PETSARD_STATUS_STALE_AFTER": "2"}
    return pipeline, env


def start_held_run(tmp_path: Path, pipeline: Path, env: dict[str, str],
                   run: str) -> subprocess.Popen[bytes]:
    (tmp_path / "hold").touch()
    proc = subprocess.Popen(
        [sys.executable, "-m", "petsard_status.cli", "run", str(pipeline), "--db", "runs.db",
         "--run", run, "--seed", "5"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not (tmp_path / "started").exists():
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert time.monotonic() < deadline, "the Synthesizer never started"
        time.sleep(0.05)
    return proc


def runs(tmp_path: Path, env: dict[str, str]) -> dict[str, dict]:
    done = cli("runs", "--db", "runs.db", "--json", env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    return {r["name"]: r for r in json.loads(done.stdout)["runs"]}


def table_rows(db: Path) -> list[tuple]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT name, state, error, failed_step FROM runs").fetchall()
    finally:
        conn.close()


@pytest.mark.slow
def test_resume_of_a_live_run_is_refused_at_once_and_the_run_completes(
        tmp_path: Path, held: tuple[Path, dict[str, str]]) -> None:
    pipeline, env = held
    proc = start_held_run(tmp_path, pipeline, env, "live")
    time.sleep(3)  # longer than the stale window: only the heartbeat keeps it live
    assert runs(tmp_path, env)["live"]["state"] == "running"
    before = table_rows(tmp_path / "runs.db")

    started = time.monotonic()
    refused = cli("resume", "live", "--db", "runs.db", env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert time.monotonic() - started < 5  # python start-up included; no step ran
    assert "is being written by process" in refused.stderr
    assert refused.stderr.count("Error:") == 1
    assert table_rows(tmp_path / "runs.db") == before  # nothing changed

    (tmp_path / "hold").unlink()
    assert proc.wait(timeout=300) == 0
    assert runs(tmp_path, env)["live"]["state"] == "completed"


@pytest.mark.slow
def test_a_killed_run_shows_stale_and_resumes(tmp_path: Path,
                                              held: tuple[Path, dict[str, str]]) -> None:
    pipeline, env = held
    proc = start_held_run(tmp_path, pipeline, env, "killed")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    seen = runs(tmp_path, env)["killed"]
    assert seen["state"] == "stale"
    assert seen["last_seen"] is not None
    table = cli("runs", "--db", "runs.db", env=env, cwd=tmp_path).stdout
    assert "stale" in table

    (tmp_path / "hold").unlink()
    resumed = cli("resume", "killed", "--db", "runs.db", env=env, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    assert runs(tmp_path, env)["killed"]["state"] == "completed"


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM])
def test_hangup_and_terminate_mark_the_run_interrupted(
        tmp_path: Path, held: tuple[Path, dict[str, str]], sig: signal.Signals) -> None:
    pipeline, env = held
    proc = start_held_run(tmp_path, pipeline, env, "stopped")
    proc.send_signal(sig)
    assert proc.wait(timeout=60) == 130
    seen = runs(tmp_path, env)["stopped"]
    assert seen["state"] == "interrupted"
    assert "Synthesizer" in (seen["failed_step"] or "")


def test_a_copied_database_file_alone_holds_the_whole_run(tmp_path: Path) -> None:
    """After the pipeline ends, the .db file holds everything: no -wal needed."""
    from petsard_status import Status
    from petsard_status.execution import Executor

    config = yaml.safe_load(EXAMPLE_YAML.read_text())
    config["Loader"]["adult"] = {"filepath": str(adult_head(tmp_path, 800)), "na_values": "?"}
    with Executor(config, store=tmp_path / "runs.db", run="whole", seed=2,
                  output_dir=tmp_path / "out") as executor:
        executor.run()
        steps = executor.config.num_steps
    copy = tmp_path / "copy" / "runs.db"
    copy.parent.mkdir()
    shutil.copyfile(tmp_path / "runs.db", copy)  # the file alone, as a user would
    assert not (copy.parent / "runs.db-wal").exists()
    with Status.open("whole", copy, read_only=True) as status:
        assert len(status.get_snapshots()) == steps
        assert status.run_info()["state"] == "completed"
