"""A writer that went stale changes nothing; readers never disturb a writer; a run is
created whole.

Real SQLite files and the real PostgreSQL; other processes are real subprocesses.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from helpers.paths import EXAMPLE_YAML, adult_head
from petsard_status import ConcurrentWriterError, Status

CONFIG = {"Loader": {"a": {"filepath": "x.csv"}}, "Splitter": {"s": {}},
          "Reporter": {"r": {"method": "save_report", "granularity": "global"}}}
FRAME = pd.DataFrame({"x": [1.0, 2.0, 3.0]})


class Frame:
    def __init__(self, result: object) -> None:
        self.result = result

    def get_result(self) -> object:
        return self.result


def head(store: str) -> str:
    with Status.open("r", store, read_only=True) as status:
        return status.repository.row().head_json


@pytest.mark.parametrize("write", ["put_validation_result", "set_report",
                                   "update_exist_train_indices", "restore_from_snapshot",
                                   "put"])
def test_a_stale_writer_gets_concurrent_writer_error_and_changes_nothing(
        store_url: str, write: str) -> None:
    with Status(CONFIG, store_url, run="r") as a:
        a.put("Loader", "a", Frame(FRAME))
        first = a.get_snapshots()[0].snapshot_id
        b = Status.open("r", store_url)
        a.put("Splitter", "s", Frame({"train": FRAME}))
        a.put("Loader", "a", Frame(FRAME))
        before = head(store_url)
        calls = {
            "put_validation_result": lambda: b.put_validation_result("Loader", {"ok": True}),
            "set_report": lambda: b.set_report({"[global]": FRAME}),
            "update_exist_train_indices": lambda: b.update_exist_train_indices([{0, 1}]),
            "restore_from_snapshot": lambda: b.restore_from_snapshot(first),
            "put": lambda: b.put("Reporter", "r", Frame({"[global]": FRAME})),
        }
        with pytest.raises(ConcurrentWriterError):
            calls[write]()
        b.close()
        assert head(store_url) == before
        with Status.open("r", store_url, read_only=True) as reopened:
            assert list(reopened.status) == ["Loader"]
            assert len(reopened.get_snapshots()) == 3
        a.put("Splitter", "s", Frame({"train": FRAME}))  # the live writer goes on


READER = textwrap.dedent('''
    import logging, sys, time
    from petsard_status import Status

    logging.getLogger("PETsARD").setLevel(logging.DEBUG)
    status = Status.open("r", sys.argv[1], read_only=True)
    now = time.time()
    logging.getLogger("PETsARD.Loader").info("TIMING_START|Loader|load|%s", now)
    logging.getLogger("PETsARD.Loader").info("TIMING_END|Loader|load|%s|0.1", now + 0.1)
    print(len(status.get_timing_records()))
    status.close()
''')


def test_a_reader_in_another_process_never_disturbs_the_writer(store_url: str,
                                                               tmp_path: Path) -> None:
    script = tmp_path / "reader.py"
    script.write_text(READER)
    with Status(CONFIG, store_url, run="r") as writer:
        writer.put("Loader", "a", Frame(FRAME))
        done = subprocess.run([sys.executable, str(script), store_url], capture_output=True,
                              text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert done.stdout.strip() == "0"  # the reader recorded nothing
        writer.put("Splitter", "s", Frame({"train": FRAME}))  # no false conflict
        assert writer.count("timings") == 0


def test_a_log_call_never_raises_even_when_its_status_is_stale(sqlite_url: str) -> None:
    logger = logging.getLogger("PETsARD")
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        with Status(CONFIG, sqlite_url, run="r") as a:
            a.put("Loader", "a", Frame(FRAME))
            stale = Status.open("r", sqlite_url)
            a.put("Splitter", "s", Frame({"train": FRAME}))
            logging.getLogger("PETsARD.Loader").info("TIMING_START|Loader|load|1")
            logging.getLogger("PETsARD.Loader").info("TIMING_END|Loader|load|2|1.0")
            stale.close()  # its pending log timings cannot be stored: a warning, no error
            a.put("Loader", "a", Frame(FRAME))
    finally:
        logger.setLevel(level)


CREATE_THEN_DIE = textwrap.dedent('''
    import os, signal, sys
    import yaml
    from petsard_status.execution import Executor

    config = yaml.safe_load(open(sys.argv[1]))
    config["Loader"]["adult"] = {"filepath": sys.argv[3], "na_values": "?"}
    Executor(config, store=sys.argv[2], run="young", seed=9, output_dir=sys.argv[4])
    os.kill(os.getpid(), signal.SIGKILL)  # right after the run was created
''')


def test_a_run_killed_right_after_it_was_created_resumes(tmp_path: Path) -> None:
    script = tmp_path / "die.py"
    script.write_text(CREATE_THEN_DIE)
    csv = adult_head(tmp_path, 600)
    db = tmp_path / "runs.db"
    died = subprocess.run([sys.executable, str(script), str(EXAMPLE_YAML), str(db), str(csv),
                           str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert died.returncode == -signal.SIGKILL
    resumed = subprocess.run([sys.executable, "-m", "petsard_status.cli", "resume", "young",
                              "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    with Status.open("young", db, read_only=True) as status:
        assert status.run_info()["state"] == "completed"
        assert status.run_info()["info"]["seeds"] == {"run": 9}
