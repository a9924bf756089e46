"""What a Status accepts from PETsARD's Executor and adapters, shown without PETsARD installed.

The tests that need PETsARD itself (its Config and Schema classes, its Executor)
are in tests/petsard.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from petsard_status import ConfigError, SchemaMetadata, Status
from petsard_status.metadata import Metadater

CONFIG = {
    "Loader": {"load": {"filepath": "unused.csv"}},
    "Splitter": {"split": {"num_samples": 2}},
    "Synthesizer": {"syn": {"method": "default"}},
}
PETSARD_LOGGER = logging.getLogger("PETsARD")


class Adapter:
    """An adapter as PETsARD's are: a result, and metadata only where the module makes it."""

    def __init__(self, frame: pd.DataFrame, metadata: bool = True) -> None:
        self.frame = frame
        self.metadata = metadata

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self) -> SchemaMetadata:
        if not self.metadata:
            # PETsARD's BaseAdapter, for every module but Loader, Splitter, Preprocessor.
            raise NotImplementedError("Method get_metadata must be implemented")
        return Metadater.create_schema(self.frame, schema_id="data")


FRAME = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})


@pytest.fixture
def status(tmp_path: Path) -> Any:
    with Status(CONFIG, tmp_path / "runs.db", run="r") as status:
        yield status


# --- config -------------------------------------------------------------------------------


def test_splitter_names_already_expanded_are_taken_as_such(tmp_path: Path) -> None:
    expanded = {**CONFIG, "Splitter": {"split_[2-1]": {"num_samples": 1},
                                       "split_[2-2]": {"num_samples": 1}}}
    with Status(expanded, tmp_path / "runs.db") as status:
        assert status.config.experiments("Splitter") == ["split_[2-1]", "split_[2-2]"]
        assert status.config.to_dict()["Splitter"] == {"split": {"num_samples": 2}}


def test_an_incomplete_expansion_is_refused(tmp_path: Path) -> None:
    partial = {**CONFIG, "Splitter": {"split_[3-1]": {}, "split_[3-3]": {}}}
    with pytest.raises(ConfigError, match=r"not a complete expansion of num_samples 3"):
        Status(partial, tmp_path / "runs.db")


# --- put ----------------------------------------------------------------------------------


def test_put_by_petsards_keywords(status: Status) -> None:
    status.put(module="Loader", expt="load", operator=Adapter(FRAME))
    status.put("Splitter", experiment_name="split_[2-1]", adapter=Adapter(FRAME))
    assert status.get_full_expt() == {"Loader": "load", "Splitter": "split_[2-1]"}
    with pytest.raises(TypeError, match="multiple values"):
        status.put("Loader", "load", Adapter(FRAME), expt="load")
    with pytest.raises(TypeError, match="twice"):
        status.put("Loader", "load", Adapter(FRAME), experiment_name="load")
    with pytest.raises(TypeError, match="unexpected keyword"):
        status.put("Loader", "load", Adapter(FRAME), experiment_nam="load")


def test_a_module_outside_the_sequence_is_put(status: Status) -> None:
    status.put("Loader", "load", Adapter(FRAME))
    status.put("Describer", "describe", Adapter(FRAME, metadata=False))
    status.put("Describer", "again", Adapter(FRAME, metadata=False))
    snapshot = status.get_snapshots("Describer")[-1]
    assert snapshot.execution_context["sequence_index"] == -1
    assert snapshot.execution_context["input_schema"] is None
    assert list(status.status) == ["Loader", "Describer"]
    assert status.status["Describer"]["expt"] == "again"
    # As upstream: the flow's experiments are those of the sequence.
    assert status.get_full_expt() == {"Loader": "load"}
    pd.testing.assert_frame_equal(status.get_result("Describer"), FRAME)


def test_get_metadata_not_implemented_means_no_metadata(status: Status) -> None:
    status.put("Loader", "load", Adapter(FRAME))
    status.put("Synthesizer", "syn", Adapter(FRAME, metadata=False))
    assert list(status.metadata) == ["Loader"]
    assert status.get_snapshots("Synthesizer")[0].metadata_after is None


def test_the_attributes_petsards_executor_uses(status: Status) -> None:
    status.inferred_schemas["_preprocessor_config"] = {"default": {}}
    assert status.inferred_schemas == {"_preprocessor_config": {"default": {}}}
    assert status.preprocessor_input_schema is None  # no Preprocessor in this sequence
    assert "Loader" not in status.metadata
    status.put("Loader", "load", Adapter(FRAME))
    assert "Loader" in status.metadata


def test_data_by_module_spells_out_dict_results(status: Status) -> None:
    class Splitter(Adapter):
        def get_result(self) -> dict[str, Any]:
            return {"train": FRAME.iloc[:2], "validation": FRAME.iloc[2:], "note": "x"}

    status.put("Loader", "load", Adapter(FRAME))
    status.put("Splitter", "split_[2-1]", Splitter(FRAME))
    data = status.get_data_by_module(["Loader", "Splitter", "Synthesizer"])
    assert list(data) == ["Loader", "Splitter_train", "Splitter_validation"]
    pd.testing.assert_frame_equal(data["Splitter_validation"], FRAME.iloc[2:])


# --- logging and timing -------------------------------------------------------------------


def test_a_status_leaves_the_petsard_logger_level_alone(tmp_path: Path) -> None:
    before = PETSARD_LOGGER.level
    PETSARD_LOGGER.setLevel(logging.WARNING)
    try:
        with Status(CONFIG, tmp_path / "runs.db"):
            assert PETSARD_LOGGER.level == logging.WARNING
        assert PETSARD_LOGGER.level == logging.WARNING
    finally:
        PETSARD_LOGGER.setLevel(before)


def _timing_handlers() -> int:
    return sum(type(h).__name__ == "TimingLogHandler" for h in PETSARD_LOGGER.handlers)


def test_no_handler_outlives_its_status(tmp_path: Path) -> None:
    start = _timing_handlers()
    status = Status(CONFIG, tmp_path / "runs.db")
    assert _timing_handlers() == start + 1
    status.close()
    assert _timing_handlers() == start
    forgotten = Status(CONFIG, tmp_path / "runs.db")
    assert _timing_handlers() == start + 1
    del forgotten
    gc.collect()
    assert _timing_handlers() == start


def _log_run(name: str, start: float) -> None:
    log = logging.getLogger(f"PETsARD.{name}")
    log.debug("TIMING_START|%s|run|%s", name, start)
    log.debug("TIMING_END|%s|run|%s|%s", name, start + 2, 2.0)


def test_log_timings_name_the_module_and_its_experiment(
        status: Status, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="PETsARD")  # the user's choice
    start = dt.datetime(2026, 1, 2, 3, 4, 5).timestamp()
    _log_run("LoaderAdapter", start)
    with status.running("Splitter", "split_[2-2]"):
        _log_run("SplitterAdapter", start)
    frame = status.get_timing_report_data()
    assert list(frame.columns) == ["record_id", "module_name", "experiment_name", "step_name",
                                   "start_time", "end_time", "duration_seconds", "source",
                                   "status"]
    assert list(frame["module_name"]) == ["Loader", "Splitter"]
    # The Loader has one experiment; the Splitter's running one was named.
    assert list(frame["experiment_name"]) == ["load", "split_[2-2]"]
    assert list(frame["source"]) == ["logging"] * 2
    assert list(frame["status"]) == ["completed"] * 2
    assert frame["start_time"][0] == "2026-01-02T03:04:05"
    assert list(frame["duration_seconds"]) == [2.0, 2.0]


def test_an_explicit_timing_wins_over_the_log_protocol(
        status: Status, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="PETsARD")
    status.start_timing("Loader", "load", "run", {"source": "executor"})
    _log_run("LoaderAdapter", dt.datetime.now().timestamp())
    status.end_timing("Loader", "load", "run", {"status": "completed"})
    records = status.get_timing_records()
    assert [(r.module_name, r.context) for r in records] == [
        ("Loader", {"source": "executor", "status": "completed"})]


def test_a_running_status_keeps_the_log_timings_to_itself(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="PETsARD")
    with Status(CONFIG, tmp_path / "a.db") as idle, Status(CONFIG, tmp_path / "b.db") as busy:
        with busy.running("Loader", "load"):
            _log_run("LoaderAdapter", dt.datetime.now().timestamp())
        assert [r.module_name for r in busy.get_timing_records()] == ["Loader"]
        assert idle.get_timing_records() == []
