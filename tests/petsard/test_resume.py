"""Stopping a real PETsARD pipeline (SIGKILL, SIGINT, a raising step) and resuming it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from collections import Counter
from pathlib import Path

import pytest
from petsard_support import (
    ADULT_CSV,
    EXAMPLE,
    HOLD_SYNTHESIZER,
    cli,
    pipeline,
    require_petsard,
    write_pipeline,
)

require_petsard()

from petsard_status import Status  # noqa: E402
from petsard_status.petsard import Executor  # noqa: E402

warnings.filterwarnings("ignore", category=FutureWarning)
STEPS = ["Loader", "Splitter", "Preprocessor", "Synthesizer", "Postprocessor", "Evaluator",
         "Reporter", "Reporter", "Reporter"]


def _state(store: Path, run: str) -> dict:
    with Status.open(run, store) as status:
        return {"info": status.run_info(),
                "snapshots": Counter(s.module_name for s in status.get_snapshots()),
                "timings": [(r.module_name, r.experiment_name, r.context.get("status"))
                            for r in status.get_timing_records()]}


def _start_held(tmp_path: Path, run: str) -> tuple[subprocess.Popen, Path, Path]:
    """A child running the pipeline, held at the start of PETsARD's Synthesizer."""
    config = write_pipeline(tmp_path, pipeline(tmp_path))
    store, marker = tmp_path / "runs.db", tmp_path / "synthesizer-started"
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(HOLD_SYNTHESIZER), str(config), str(store), run,
         str(marker)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not marker.exists():
        if child.poll() is not None:
            pytest.fail(f"the pipeline ended before its Synthesizer: {child.stderr.read()}")
        if time.monotonic() > deadline:
            child.kill()
            pytest.fail("the Synthesizer did not start within 240 s")
        time.sleep(0.05)
    return child, store, config


def test_sigkill_in_the_synthesizer_then_cli_resume(tmp_path: Path) -> None:
    child, store, _ = _start_held(tmp_path, "killed")
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=30)
    before = _state(store, "killed")
    assert before["info"]["state"] == "running"  # nobody could mark it: it was killed
    assert before["snapshots"] == {"Loader": 1, "Splitter": 1, "Preprocessor": 1}

    done = cli("resume", "killed", "--db", str(store), "--plain", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3/9 steps already done" in done.stdout
    assert "re-running Loader[adult]_Splitter[split_[1-1]]_Preprocessor[default]" in done.stdout

    after = _state(store, "killed")
    assert after["info"]["state"] == "completed"
    # The finished steps before the Synthesizer did not run again (no second snapshot).
    assert after["snapshots"] == Counter(STEPS)
    assert [m for m, _, _ in after["timings"]] == STEPS
    assert {s for _, _, s in after["timings"]} == {"completed"}
    outputs = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert len(outputs) == 3 and any("[Timing]" in name for name in outputs)


def test_sigint_leaves_the_run_interrupted(tmp_path: Path) -> None:
    child, store, _ = _start_held(tmp_path, "stopped")
    child.send_signal(signal.SIGINT)
    _, err = child.communicate(timeout=60)
    assert child.returncode != 0
    assert "RunInterrupted" in err
    state = _state(store, "stopped")
    assert state["info"]["state"] == "interrupted"
    assert state["info"]["failed_step"].endswith("Synthesizer[default]")
    assert state["snapshots"] == {"Loader": 1, "Splitter": 1, "Preprocessor": 1}


def test_a_raising_step_leaves_the_run_failed(tmp_path: Path) -> None:
    config = pipeline(tmp_path, modules=["Loader", "Splitter", "Preprocessor"])
    # A numeric scaler on a text column: PETsARD's Preprocessor raises while it runs.
    config["Preprocessor"]["default"] = {"scaler": {"workclass": "scaler_standard"}}
    executor = Executor(config, store=tmp_path / "runs.db", run="broken")
    with executor, pytest.raises(ValueError, match="could not convert") as raised:
        executor.run()
    info = _state(tmp_path / "runs.db", "broken")
    assert info["info"]["state"] == "failed"
    assert info["info"]["failed_step"] == (
        "Loader[adult]_Splitter[split_[1-1]]_Preprocessor[default]")
    assert str(raised.value) in info["info"]["error"]
    assert info["snapshots"] == {"Loader": 1, "Splitter": 1}
    assert info["timings"][-1] == ("Preprocessor", "default", "error")
    assert not executor.is_execution_completed()


def test_two_executors_keep_their_own_timings(tmp_path: Path) -> None:
    # DEBUG: PETsARD's own timing messages reach every Status in the process.
    config = pipeline(tmp_path, log_level="DEBUG", modules=["Loader", "Splitter"])
    store = tmp_path / "runs.db"
    first = Executor(config, store=store, run="first")
    first.run()  # left open, as upstream's users leave theirs
    second = Executor(config, store=store, run="second")
    second.run()
    second.close()
    first.close()
    for run in ("first", "second"):
        timings = _state(store, run)["timings"]
        assert timings == [("Loader", "adult", "completed"),
                           ("Splitter", "split_[1-1]", "completed")], run


def test_cli_runs_the_example(tmp_path: Path) -> None:
    shutil.copy(EXAMPLE, tmp_path / EXAMPLE.name)
    (tmp_path / "examples" / "data").mkdir(parents=True)
    shutil.copy(ADULT_CSV, tmp_path / "examples" / "data" / ADULT_CSV.name)
    env = {**os.environ, "PETSARD_STATUS_DB": str(tmp_path / "runs.db")}
    done = cli("run", EXAMPLE.name, "--modules", "petsard", "--run", "example", "--plain",
               cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "9/9 Reporter[timing] done" in done.stdout
    assert "run       example (completed)" in done.stdout
    state = _state(tmp_path / "runs.db", "example")
    assert state["snapshots"] == Counter(STEPS)
    assert state["info"]["info"]["modules"] == "petsard"
    # The log goes where the YAML says, and only there (no stray default log file).
    assert list(tmp_path.glob("*.log")) == []
    written = sorted(p.name for p in (tmp_path / "petsard-output").iterdir())
    assert any(name.endswith(".log") for name in written)
    assert any("[Timing]" in name for name in written)
