"""Real PETsARD 1.10.1 pipelines through petsard_status.petsard.Executor."""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from petsard_support import pipeline, require_petsard, run_python, seed_everything, write_pipeline

require_petsard()

import petsard  # noqa: E402
from petsard_status import Status  # noqa: E402
from petsard_status.formats import from_json, to_json  # noqa: E402
from petsard_status.metadata import from_petsard, native  # noqa: E402
from petsard_status.petsard import Executor, petsard_version  # noqa: E402

warnings.filterwarnings("ignore", category=FutureWarning)
SEQUENCE = ["Loader", "Splitter", "Preprocessor", "Synthesizer", "Postprocessor", "Evaluator",
            "Reporter"]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("petsard")


@pytest.fixture(scope="module")
def both(folder: Path) -> Iterator[tuple[Any, Executor]]:
    """Upstream's Executor and ours on one config: the example, at log_level INFO."""
    path = write_pipeline(folder / "info", pipeline(folder / "info"))
    # The same but for its log folder, so that each log file is one executor's.
    theirs = pipeline(folder / "info")
    theirs["Executor"]["log_dir"] = str(folder / "info" / "upstream-logs")
    seed_everything()
    with pytest.MonkeyPatch.context() as patch:
        # Upstream's Executor leaves an empty default log file in the working directory.
        patch.chdir(folder)
        upstream = petsard.Executor(str(write_pipeline(folder / "info", theirs, "upstream.yaml")))
        upstream.run()
    seed_everything()
    mine = Executor(str(path), store=folder / "runs.db", run="adult")
    mine.run()
    yield upstream, mine
    mine.close()


@pytest.fixture(scope="module")
def ours(both: tuple[Any, Executor]) -> Executor:
    return both[1]


# Upstream's timing report (petsard/status.py: get_timing_report_data and the context of
# its TimingLogHandler).  Its own handler never sees PETsARD's DEBUG timing messages, so
# upstream 1.10.1 returns an empty frame; ours records every step.
UPSTREAM_TIMING_COLUMNS = ["record_id", "module_name", "experiment_name", "step_name",
                           "start_time", "end_time", "duration_seconds", "source", "status"]


def _frames(value: Any, prefix: str = "") -> dict[str, pd.DataFrame]:
    if isinstance(value, pd.DataFrame):
        return {prefix: value}
    if isinstance(value, dict):
        out: dict[str, pd.DataFrame] = {}
        for key, item in value.items():
            out.update(_frames(item, f"{prefix}/{key}"))
        return out
    return {}


# --- the same pipeline as upstream -------------------------------------------------------


def test_completes_with_upstreams_result_keys_columns_and_dtypes(
        both: tuple[Any, Executor]) -> None:
    upstream, mine = both
    assert mine.is_execution_completed() and upstream.is_execution_completed()
    assert mine.status.run_info()["state"] == "completed"
    theirs, ours_ = upstream.get_result(), mine.get_result()
    assert list(ours_) == list(theirs)
    assert len(theirs) == 3  # one flow path per Reporter experiment
    their_frames, our_frames = _frames(theirs), _frames(ours_)
    timing_key = next(k for k in our_frames if k.endswith("Reporter[timing]/timing_report"))
    assert sorted(our_frames) == sorted([*their_frames, timing_key])
    for key, frame in their_frames.items():
        assert list(our_frames[key].columns) == list(frame.columns), key
        assert dict(our_frames[key].dtypes) == dict(frame.dtypes), key
    assert upstream.get_timing().empty
    assert list(our_frames[timing_key].columns) == UPSTREAM_TIMING_COLUMNS


def test_equal_values_where_petsard_is_seeded(both: tuple[Any, Executor]) -> None:
    # The Loader reads a file and the Splitter takes random_state; later modules draw from
    # generators PETsARD does not seed.
    upstream, mine = both
    pd.testing.assert_frame_equal(mine.status.get_result("Loader"),
                                  upstream.status.get_result("Loader"))
    for part in ("train", "validation"):
        pd.testing.assert_frame_equal(mine.status.get_result("Splitter")[part],
                                      upstream.status.get_result("Splitter")[part])
    assert mine.status.get_exist_train_indices() == upstream.status.get_exist_train_indices()


def test_metadata_is_petsards_and_equal_to_upstreams(both: tuple[Any, Executor]) -> None:
    upstream, mine = both
    for module in ("Loader", "Splitter", "Preprocessor"):
        got = mine.status.get_metadata(module)
        assert type(got) is petsard.metadater.metadata.Schema
        expected = upstream.status.get_metadata(module)
        assert list(got.attributes) == list(expected.attributes)
        for name, attribute in expected.attributes.items():
            assert (got.attributes[name].type, got.attributes[name].type_attr) == (
                attribute.type, attribute.type_attr), (module, name)


def test_timing_has_upstreams_columns_with_module_names_and_experiments(
        ours: Executor) -> None:
    timing = ours.get_timing()
    assert list(timing.columns) == UPSTREAM_TIMING_COLUMNS
    steps = list(zip(timing["module_name"], timing["experiment_name"]))
    assert steps == [("Loader", "adult"), ("Splitter", "split_[1-1]"),
                     ("Preprocessor", "default"), ("Synthesizer", "default"),
                     ("Postprocessor", "default"), ("Evaluator", "default"),
                     ("Reporter", "data"), ("Reporter", "report"), ("Reporter", "timing")]
    assert set(timing["status"]) == {"completed"}
    assert set(timing["source"]) == {"executor"}
    assert (timing["duration_seconds"] >= 0).all()


def test_info_log_file_has_no_debug_line(ours: Executor, folder: Path) -> None:
    logs = list((folder / "info" / "logs").glob("*.log"))
    assert len(logs) == 1
    lines = logs[0].read_text(encoding="utf-8").splitlines()
    assert sum("Starting PETsARD execution workflow" in line for line in lines) == 1
    assert any("Status updated" in line or "Completed SynthesizerAdapter" in line
               for line in lines)
    assert any(" - INFO     - " in line for line in lines)
    assert [line for line in lines if " - DEBUG    - " in line] == []
    assert logging.getLogger("PETsARD").level == logging.INFO


def test_run_info_records_petsard(ours: Executor) -> None:
    info = ours.status.run_info()["info"]
    assert info["modules"] == "petsard"
    assert info["petsard_version"] == petsard_version() == "1.10.1"
    assert info["petsard_executor"]["log_level"] == "INFO"


def test_field_changes_say_what_each_module_did(ours: Executor) -> None:
    changes = ours.status.get_change_history("Preprocessor")
    fields = [c for c in changes if c.target_type == "field"]
    assert fields, "the Preprocessor changed no field"
    # The default Preprocessor encodes the text columns as numbers.
    encoded = {c.target_id for c in fields if "data_type" in c.attributes}
    assert "workclass" in encoded
    change = next(c for c in fields if c.target_id == "workclass")
    assert change.before_state.data_type.value == "string"
    assert change.after_state.data_type.value.startswith("float")


# --- reopened in another process ---------------------------------------------------------


REOPEN = '''
import json, sys, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from petsard_status import Status
from petsard_status.formats import to_json
from petsard_status.metadata import from_petsard

store, run, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
out.mkdir()
with Status.open(run, store) as status:
    seen = {"metadata": {}, "metadata_type": {}, "frames": []}
    for module in status.status:
        result = status.get_result(module)
        parts = result.items() if isinstance(result, dict) else [("", result)]
        for key, frame in parts:
            if hasattr(frame, "to_parquet"):
                name = f"{module}-{key}.parquet"
                frame.to_parquet(out / name)
                seen["frames"].append(name)
    for module in status.metadata:
        schema = status.get_metadata(module)
        seen["metadata_type"][module] = type(schema).__module__ + "." + type(schema).__name__
        seen["metadata"][module] = to_json(from_petsard(schema))
    seen["fresh"] = status.get_metadata("Loader") is not status.get_metadata("Loader")
    seen["snapshots"] = [[s.snapshot_id, s.module_name, type(s.metadata_after).__name__]
                         for s in status.get_snapshots()]
    seen["changes"] = [[c.change_id, c.change_type, c.target_type, c.target_id,
                        list(c.attributes)] for c in status.get_change_history()]
    seen["timings"] = [r.record_id for r in status.get_timing_records()]
    seen["timing_columns"] = list(status.get_timing_report_data().columns)
    seen["report"] = sorted(status.get_report())
    for name, value in status.get_report().items():
        for key, frame in (value.items() if isinstance(value, dict) else []):
            if hasattr(frame, "to_parquet"):
                frame.to_parquet(out / f"report-{name}-{key}.parquet")
    seen["train_indices"] = [sorted(s) for s in status.get_exist_train_indices()]
(out / "seen.json").write_text(json.dumps(seen))
'''


def test_second_process_sees_everything(ours: Executor, folder: Path) -> None:
    out = folder / "reopened"
    done = run_python(REOPEN, str(folder / "runs.db"), "adult", str(out))
    assert done.returncode == 0, done.stderr
    seen = json.loads((out / "seen.json").read_text())
    status = ours.status
    for name in seen["frames"]:
        module, _, key = name.removesuffix(".parquet").partition("-")
        expected = status.get_result(module)
        expected = expected[key] if key else expected
        pd.testing.assert_frame_equal(pd.read_parquet(out / name), expected, obj=name)
    assert len(seen["frames"]) >= 6
    for module in ("Loader", "Splitter", "Preprocessor"):
        assert seen["metadata_type"][module] == "petsard.metadater.metadata.Schema"
        # What the module's adapter gave, exactly (timestamps too).
        put = status.status[module]["operator"].get_metadata()
        assert native(from_json(seen["metadata"][module])) == put
    assert seen["fresh"] is True
    assert seen["snapshots"] == [[s.snapshot_id, s.module_name, type(s.metadata_after).__name__]
                                 for s in status.get_snapshots()]
    assert [s[1] for s in seen["snapshots"]] == [*SEQUENCE, "Reporter", "Reporter"]
    assert [s[2] for s in seen["snapshots"][:3]] == ["Schema"] * 3
    assert seen["changes"] == [[c.change_id, c.change_type, c.target_type, c.target_id,
                                list(c.attributes)] for c in status.get_change_history()]
    assert any(c[2] == "field" for c in seen["changes"])
    assert seen["timings"] == [r.record_id for r in status.get_timing_records()]
    assert len(seen["timings"]) == 9
    assert seen["timing_columns"] == list(ours.get_timing().columns)
    assert seen["report"] == sorted(status.get_report()) != []
    assert seen["train_indices"] == [sorted(s) for s in status.get_exist_train_indices()]
    assert len(seen["train_indices"]) == 1


def test_metadata_is_a_fresh_mutable_object(ours: Executor) -> None:
    first = ours.status.get_metadata("Splitter")
    first.attributes["age"].description = "changed by the caller"
    again = ours.status.get_metadata("Splitter")
    assert again.attributes["age"].description is None
    assert to_json(from_petsard(again)) == to_json(from_petsard(ours.status.get_metadata(
        "Splitter")))


def test_status_takes_petsards_config(folder: Path) -> None:
    config = petsard.config.Config(
        {"Loader": {"a": {"filepath": "x.csv"}}, "Splitter": {"s": {"num_samples": 2}}})
    with Status(config, folder / "config.db") as status:
        assert status.sequence == ["Loader", "Splitter"]
        assert status.config.experiments("Splitter") == ["s_[2-1]", "s_[2-2]"]
        assert status.config.experiments("Splitter") == list(config.yaml["Splitter"])
