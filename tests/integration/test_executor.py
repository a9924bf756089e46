"""The main job: run a pipeline from YAML, and resume it after a crash or a failure."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from petsard_status import Config, Status
from petsard_status.execution import Executor

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "adult-income.yaml"

SLOW_SYNTHESIZER = textwrap.dedent(
    '''
    import os
    import time
    from pathlib import Path

    from petsard_status.modules.synthesizer import GaussianCopula


    class SlowCopula(GaussianCopula):
        """The reference copula, made to wait while a marker file exists."""

        def fit(self, data):
            Path(os.environ["SYNTH_STARTED"]).touch()
            while Path(os.environ["SYNTH_HOLD"]).exists():
                time.sleep(0.05)
            return super().fit(data)
    '''
)


def _snapshot_counts(db: Path) -> dict[str, int]:
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT module, COUNT(*) FROM snapshots GROUP BY module")
        ).all()
    engine.dispose()
    return {module: count for module, count in rows}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def _cli(*args: str, env: dict | None = None, cwd: Path | None = None, **kw):
    return subprocess.run(
        [sys.executable, "-m", "petsard_status.cli", *args],
        capture_output=True, text=True, env=env, cwd=cwd, **kw,
    )


def test_example_runs_end_to_end_with_one_snapshot_per_step(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    out = tmp_path / "out"
    done = _cli("run", str(EXAMPLE), "--db", str(db), "--output", str(out), "--run", "demo",
                "--seed", "3")
    assert done.returncode == 0, done.stderr
    steps = Config.from_yaml(EXAMPLE).num_steps
    assert sum(_snapshot_counts(db).values()) == steps
    assert "demo (completed)" in done.stdout
    csvs = sorted(p.name for p in out.glob("*.csv"))
    assert any("Postprocessor[inverse]" in name for name in csvs)
    assert any("[global]" in name for name in csvs)
    with Status.open("demo", db) as status:
        assert status.run_info()["state"] == "completed"
        assert status.get_result("Postprocessor").shape[1] == status.get_result("Loader").shape[1]


def _killable_config(tmp_path: Path) -> Path:
    module = tmp_path / "slow_copula.py"
    module.write_text(SLOW_SYNTHESIZER)
    config = yaml.safe_load(EXAMPLE.read_text())
    config["Synthesizer"] = {
        "copula": {"method": "custom", "module_path": str(module), "class_name": "SlowCopula",
                   "random_state": 42}
    }
    path = tmp_path / "pipeline.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


@pytest.mark.slow
def test_sigkill_during_synthesizer_then_resume_matches_uninterrupted_run(tmp_path: Path) -> None:
    pipeline = _killable_config(tmp_path)
    started, hold = tmp_path / "started", tmp_path / "hold"
    env = {**os.environ, "SYNTH_STARTED": str(started), "SYNTH_HOLD": str(hold)}

    # The reference: the same pipeline and seed, never interrupted.
    reference_out = tmp_path / "reference"
    done = _cli("run", str(pipeline), "--db", str(tmp_path / "ref.db"), "--output",
                str(reference_out), "--seed", "11", env=env)
    assert done.returncode == 0, done.stderr
    started.unlink()

    db, out = tmp_path / "runs.db", tmp_path / "out"
    hold.touch()
    proc = subprocess.Popen(
        [sys.executable, "-m", "petsard_status.cli", "run", str(pipeline), "--db", str(db),
         "--output", str(out), "--run", "killed", "--seed", "11"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not started.exists():
        assert proc.poll() is None, "the run ended before the Synthesizer started"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    hold.unlink()
    before = _snapshot_counts(db)
    assert "Synthesizer" not in before
    assert before == {"Loader": 1, "Splitter": 1, "Preprocessor": 1}

    resumed = _cli("resume", "killed", "--db", str(db), env=env)
    assert resumed.returncode == 0, resumed.stderr
    assert "re-ran for live objects: Loader[adult]_Splitter[split_[1-1]]_Preprocessor[default]" \
        in resumed.stdout
    after = _snapshot_counts(db)
    for module, count in before.items():
        assert after[module] == count, f"{module} was put again on resume"
    assert sum(after.values()) == Config.from_yaml(pipeline).num_steps
    assert _files(out) == _files(reference_out)


def test_two_samples_by_two_synthesizers_give_four_results(tmp_path: Path) -> None:
    config = {
        "Loader": {"adult": {"filepath": "benchmark://adult-income"}},
        "Splitter": {"split": {"num_samples": 2, "train_split_ratio": 0.5, "random_state": 5}},
        "Synthesizer": {
            "a": {"method": "gaussian_copula", "random_state": 1, "sample_num_rows": 200},
            "b": {"method": "gaussian_copula", "random_state": 2, "sample_num_rows": 300},
        },
    }
    with Executor(config, tmp_path / "db.sqlite", seed=0, output_dir=tmp_path) as executor:
        results = executor.run()
    expected = {
        f"Loader[adult]_Splitter[split_[2-{k}]]_Synthesizer[{s}]"
        for k in (1, 2) for s in ("a", "b")
    }
    assert set(results) == expected
    for key, frame in results.items():
        assert len(frame) == (200 if key.endswith("[a]") else 300)
    # 1 loader + 2 splits + 4 synthesizers
    assert sum(_snapshot_counts(tmp_path / "db.sqlite").values()) == 7


FAILING_MODULE = textwrap.dedent(
    '''
    from petsard_status.modules.base import BaseAdapter


    class Doubler(BaseAdapter):
        module_name = "CustomDoubler"

        def set_input(self, status):
            return {"data": status.get_result("Loader")}

        def run(self, input):
            if {broken}:
                raise RuntimeError("the doubler is broken")
            self.result = input["data"].head(10)

        def get_result(self):
            return self.result
    '''
)


def test_failing_custom_module_marks_run_failed_and_resume_finishes(tmp_path: Path) -> None:
    module = tmp_path / "doubler.py"
    module.write_text(FAILING_MODULE.replace("{broken}", "True"))
    config = {
        "Loader": {"adult": {"filepath": "benchmark://adult-income"}},
        "CustomDoubler": {"twice": {"module_path": str(module), "class_name": "Doubler"}},
    }
    db = tmp_path / "db.sqlite"
    with (
        pytest.raises(RuntimeError, match="the doubler is broken"),
        Executor(config, db, run="fragile", seed=0) as executor,
    ):
        executor.run()
    with Status.open("fragile", db) as status:
        info = status.run_info()
        assert info["state"] == "failed"
        assert "the doubler is broken" in info["error"]
        assert info["failed_step"] == "Loader[adult]_CustomDoubler[twice]"

    module.write_text(FAILING_MODULE.replace("{broken}", "False"))
    # A new process, as a user fixing their module would have.
    done = _cli("resume", "fragile", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert _snapshot_counts(db) == {"Loader": 1, "CustomDoubler": 1}
    with Status.open("fragile", db) as status:
        assert status.run_info()["state"] == "completed"
        assert len(status.get_result("CustomDoubler")) == 10


def test_resuming_a_completed_run_does_nothing_and_says_so(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    config = {"Loader": {"adult": {"filepath": "benchmark://adult-income"}}}
    with Executor(config, db, run="once", seed=0) as executor:
        executor.run()
    done = _cli("resume", "once", "--db", str(db))
    assert done.returncode == 0, done.stderr
    assert "already completed" in done.stdout
    assert _snapshot_counts(db) == {"Loader": 1}


def test_unknown_run_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    config = {"Loader": {"adult": {"filepath": "benchmark://adult-income"}}}
    with Executor(config, db, run="known", seed=0) as executor:
        executor.run()
    done = _cli("resume", "nope", "--db", str(db))
    assert done.returncode == 1
    assert "no run named 'nope'" in done.stderr and "known" in done.stderr
    assert "Traceback" not in done.stderr
