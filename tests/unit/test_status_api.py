"""The Status API on real stores: put semantics, change records, ids, opening, timing.

Modules are the reference adapters on the first rows of the adult data, so every
put carries real inferred metadata; each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import Counter
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import create_engine, event, text

from helpers.paths import adult_head
from petsard_status import (
    ConfigError,
    LiveObjectUnavailableError,
    Metadater,
    PutError,
    RunExistsError,
    RunNotFoundError,
    SchemaMetadata,
    Status,
    StatusError,
    UnexecutedError,
)
from petsard_status.modules import ModuleContext, build_adapter
from petsard_status.status.timing import TimingLogHandler

SMALL_ROWS = 300
ID_PATTERN = r"^{kind}_(\d{{6}})_(\d{{8}})_(\d{{6}})$"
# Attributes that say what a field is; timestamps say when it was described.
FIELD_ATTRIBUTES = ("data_type", "logical_type", "nullable", "source_dtype", "target_dtype",
                    "description", "cast_error", "stats", "properties")


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return adult_head(tmp_path_factory.mktemp("data"), SMALL_ROWS)


def pipeline(csv: Path) -> dict[str, Any]:
    return {
        "Loader": {"small": {"filepath": str(csv), "na_values": "?"}},
        "Splitter": {"split": {"train_split_ratio": 0.8, "num_samples": 2, "random_state": 7}},
        "Preprocessor": {"onehot": {"missing": "mode", "encoding": "onehot"}},
        "Synthesizer": {"copula": {"method": "gaussian_copula", "random_state": 3,
                                   "sample_num_rows": 40}},
        "Reporter": {"data": {"method": "save_data", "source": "Synthesizer"}},
    }


@pytest.fixture
def config(small_csv: Path) -> dict[str, Any]:
    return pipeline(small_csv)


@pytest.fixture
def ctx(tmp_path: Path) -> ModuleContext:
    return ModuleContext(output_dir=tmp_path / "out", base_dir=tmp_path)


def step(status: Status, module: str, experiment: str, ctx: ModuleContext) -> Any:
    """Build, feed, run and put one reference module, as the executor does."""
    adapter = build_adapter(module, status.config.params(module, experiment), ctx)
    adapter.run(adapter.set_input(status))
    status.put(module, experiment, adapter)
    return adapter


def branch(status: Status, ctx: ModuleContext, sample: int, upto: str = "Reporter") -> dict:
    """Loader (once) then one Splitter sample and the modules after it, up to ``upto``."""
    experiments = {"Loader": "small", "Splitter": f"split_[2-{sample}]",
                   "Preprocessor": "onehot", "Synthesizer": "copula", "Reporter": "data"}
    adapters = {}
    for module in status.sequence:
        if module == "Loader" and "Loader" in status.status:
            continue
        adapters[module] = step(status, module, experiments[module], ctx)
        if module == upto:
            break
    return adapters


class FrameAdapter:
    """A minimal adapter: a fixed frame and the metadata inferred from it."""

    def __init__(self, frame: pd.DataFrame, schema_id: str = "loader") -> None:
        self.frame = frame
        self.metadata = Metadater.create_schema(frame, schema_id=schema_id)

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self) -> SchemaMetadata:
        return self.metadata


EPOCH = dt.datetime(2000, 1, 1)


def untimed(metadata: Any) -> Any:
    """Metadata with its timestamps blanked: the store keeps the time a field last
    changed, so a re-inferred schema equals the stored one in everything else."""
    if metadata is None:
        return None
    if isinstance(metadata, SchemaMetadata):
        return replace(metadata, created_at=EPOCH, updated_at=EPOCH,
                       fields=tuple(untimed(f) for f in metadata.fields))
    return replace(metadata, created_at=EPOCH, updated_at=EPOCH)


def changed_attributes(before: Any, after: Any) -> tuple[str, ...]:
    return tuple(a for a in FIELD_ATTRIBUTES if getattr(before, a) != getattr(after, a))


# --- put semantics --------------------------------------------------------------------


def test_reput_drops_later_modules(store_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        branch(status, ctx, 1, upto="Synthesizer")
        assert list(status.status) == ["Loader", "Splitter", "Preprocessor", "Synthesizer"]
        assert "Synthesizer" in status.status
        splitter = step(status, "Splitter", "split_[2-2]", ctx)

        assert list(status.status) == ["Loader", "Splitter"]
        assert "Synthesizer" not in status.status
        assert status.get_full_expt() == {"Loader": "small", "Splitter": "split_[2-2]"}
        assert status.status["Splitter"]["expt"] == "split_[2-2]"
        assert status.status["Splitter"]["operator"] is splitter
        with pytest.raises(UnexecutedError):
            status.get_result("Preprocessor")
        with pytest.raises(UnexecutedError):
            status.get_synthesizer()
        # Metadata of a dropped module stays readable, as in PETsARD.
        assert "Preprocessor" in status.metadata
        run = status.run
    with Status.open(run, store_url) as reopened:
        assert list(reopened.status) == ["Loader", "Splitter"]
        assert reopened.get_full_expt() == {"Loader": "small", "Splitter": "split_[2-2]"}


def test_full_expt_up_to_module(store_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        branch(status, ctx, 1, upto="Preprocessor")
        assert status.get_full_expt("Splitter") == {"Loader": "small",
                                                     "Splitter": "split_[2-1]"}
        assert status.get_full_expt("Reporter") == status.get_full_expt()
        with pytest.raises(ConfigError):
            status.get_full_expt("Describer")


def test_splitter_train_sets_accumulate(store_url: str, config: dict,
                                        ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        assert status.get_exist_train_indices() == []
        first = branch(status, ctx, 1, upto="Splitter")["Splitter"]
        second = step(status, "Splitter", "split_[2-2]", ctx)
        expected = [set(first.train_labels), set(second.train_labels)]
        assert expected[0] != expected[1]
        assert status.get_exist_train_indices() == expected
        # What the Splitter's train part holds is what was recorded.
        assert set(status.get_result("Splitter")["train"].index) == expected[1]
        status.update_exist_train_indices([[0, 1, 2]])
        expected.append({0, 1, 2})
        assert status.get_exist_train_indices() == expected
        run = status.run
    with Status.open(run, store_url) as reopened:
        assert reopened.get_exist_train_indices() == expected


def test_reporter_reports_merge(store_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        first = branch(status, ctx, 1)["Reporter"].get_result()
        second = branch(status, ctx, 2)["Reporter"].get_result()
        assert set(first).isdisjoint(second)
        report = status.get_report()
        assert list(report) == [*first, *second]
        for name, frame in {**first, **second}.items():
            pd.testing.assert_frame_equal(report[name], frame)
        extra = pd.DataFrame({"score": [0.5, 0.25]})
        status.set_report({next(iter(first)): extra, "extra": extra})
        report = status.get_report()
        assert list(report) == [*first, *second, "extra"]
        pd.testing.assert_frame_equal(report[next(iter(first))], extra)
        run = status.run
    with Status.open(run, store_url) as reopened:
        reread = reopened.get_report()
        assert list(reread) == list(report)
        for name in report:
            pd.testing.assert_frame_equal(reread[name], report[name])


# --- change records --------------------------------------------------------------------


def test_first_loader_put_gives_one_change(store_url: str, config: dict,
                                           ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        loader = step(status, "Loader", "small", ctx)
        changes = status.get_change_history()
        assert len(changes) == 1
        (change,) = changes
        assert (change.change_type, change.target_type) == ("create", "schema")
        assert change.target_id == loader.get_metadata().schema_id
        assert change.before_state is None
        # The first metadata of a run is stored exactly as the adapter gave it.
        assert change.after_state == loader.get_metadata()
        assert change.module_context == "Loader[small]"
        assert re.match(ID_PATTERN.format(kind="change"), change.change_id)
        assert status.get_metadata("Loader") == loader.get_metadata()


def test_preprocessor_field_changes(store_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        adapters = branch(status, ctx, 1, upto="Preprocessor")
        before = {f.name: f for f in adapters["Splitter"].get_metadata().fields}
        after = {f.name: f for f in adapters["Preprocessor"].get_metadata().fields}
        records = [c for c in status.get_change_history("Preprocessor")
                   if c.target_type == "field"]

        by_type: dict[str, dict[str, Any]] = {"create": {}, "update": {}, "delete": {}}
        for change in records:
            assert change.target_id not in by_type[change.change_type]
            by_type[change.change_type][change.target_id] = change
        # One-hot encoding removes each categorical column and creates one per category.
        assert set(by_type["delete"]) == set(before) - set(after)
        assert set(by_type["create"]) == set(after) - set(before)
        assert "gender" in by_type["delete"]
        assert {"gender_Female", "gender_Male"} <= set(by_type["create"])
        for name, change in by_type["delete"].items():
            assert untimed(change.before_state) == untimed(before[name])
            assert change.after_state is None
        for name, change in by_type["create"].items():
            assert change.before_state is None
            assert untimed(change.after_state) == untimed(after[name])
        kept = {n for n in set(before) & set(after)
                if changed_attributes(before[n], after[n])}
        assert set(by_type["update"]) == kept
        for name, change in by_type["update"].items():
            assert untimed(change.before_state) == untimed(before[name])
            assert untimed(change.after_state) == untimed(after[name])
            assert change.attributes == changed_attributes(before[name], after[name])
        # "age" is an int64 column scaled into float64.
        assert "data_type" in by_type["update"]["age"].attributes
        summary = status.get_status_summary()
        assert summary["target_types"]["field"] == sum(
            1 for c in status.get_change_history() if c.target_type == "field")


def test_schema_create_then_update(store_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        first = branch(status, ctx, 1, upto="Splitter")["Splitter"]
        second = step(status, "Splitter", "split_[2-2]", ctx)
        schema_changes = [c for c in status.get_change_history("Splitter")
                          if c.target_type == "schema"]
        assert [(c.change_type, c.target_id) for c in schema_changes] == [
            ("create", "splitter"), ("update", "splitter")]
        assert schema_changes[0].before_state is None
        assert untimed(schema_changes[0].after_state) == untimed(first.get_metadata())
        assert schema_changes[1].before_state == schema_changes[0].after_state
        assert untimed(schema_changes[1].after_state) == untimed(second.get_metadata())
        assert status.get_metadata("Splitter") == schema_changes[1].after_state
        modules = {c.module_context for c in status.get_change_history("Splitter")}
        assert modules == {"Splitter[split_[2-1]]", "Splitter[split_[2-2]]"}
        assert all(c.module_context.startswith("Loader")
                   for c in status.get_change_history("Loader"))


def test_metadata_evolution_lists_each_version_once(store_url: str, config: dict,
                                                    ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        first = branch(status, ctx, 1, upto="Splitter")["Splitter"]
        second = step(status, "Splitter", "split_[2-2]", ctx)
        status.put("Splitter", "split_[2-1]", first)  # the first version again
        status.set_metadata("Splitter", second.get_metadata())
        evolution = status.get_metadata_evolution("Splitter")
        assert [untimed(m) for m in evolution] == [untimed(first.get_metadata()),
                                                   untimed(second.get_metadata())]
        after = [s.metadata_after for s in status.get_snapshots("Splitter")]
        assert evolution == [after[0], after[1]]
        assert after[2] == after[0]
        assert status.get_metadata("Splitter") == evolution[1]
        expected = evolution
        assert status.get_metadata_evolution("Loader") == [status.get_metadata("Loader")]
        assert status.get_metadata_evolution("Synthesizer") == []
        run = status.run
    with Status.open(run, store_url) as reopened:
        assert reopened.get_metadata_evolution("Splitter") == expected


def test_snapshot_records(store_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        adapters = branch(status, ctx, 1)
        snapshots = status.get_snapshots()
        assert [s.module_name for s in snapshots] == status.sequence
        loader, splitter = snapshots[0], snapshots[1]
        assert loader.metadata_before is None
        assert loader.metadata_after == adapters["Loader"].get_metadata()
        assert untimed(splitter.metadata_after) == untimed(adapters["Splitter"].get_metadata())
        assert splitter.metadata_after == status.get_metadata("Splitter")
        synth = snapshots[3]
        assert (synth.metadata_before, synth.metadata_after) == (None, None)
        assert synth.execution_context["adapter_type"] == "SynthesizerAdapter"
        assert synth.context is synth.execution_context
        assert synth.execution_context["sequence_index"] == 3
        assert status.get_snapshots("Splitter") == [splitter]
        assert status.get_snapshot_by_id(synth.snapshot_id) == synth
        assert status.get_snapshot_by_id("snapshot_999999_20000101_000000") is None
        summary = status.get_status_summary()
        changes = status.get_change_history()
        assert summary["total_snapshots"] == len(snapshots)
        assert summary["total_changes"] == len(changes)
        assert summary["last_snapshot"] == snapshots[-1].snapshot_id
        assert summary["last_change"] == changes[-1].change_id
        assert summary["change_types"] == dict(Counter(c.change_type for c in changes))
        assert summary["target_types"] == dict(Counter(c.target_type for c in changes))
        assert summary["sequence"] == status.sequence
        assert summary["active_modules"] == list(status.status)
        assert summary["metadata_modules"] == ["Loader", "Splitter", "Preprocessor"]
        assert (summary["run"], summary["state"]) == (status.run, "running")


# --- ids, runs and stores ---------------------------------------------------------------


def test_ids_count_per_run_and_continue_after_open(store_url: str, config: dict,
                                                   ctx: ModuleContext) -> None:
    with Status(config, store_url, run="ids") as status:
        branch(status, ctx, 1, upto="Splitter")
        status.start_timing("Loader", "small", "load")
        status.end_timing("Loader", "small", "load")
    with Status(config, store_url, run="other") as other:
        step(other, "Loader", "small", ctx)
        assert other.get_snapshots()[0].snapshot_id.startswith("snapshot_000001_")
    with Status.open("ids", store_url) as status:
        step(status, "Splitter", "split_[2-2]", ctx)
        timing = status.start_timing("Loader", "small", "again")
        ids = [s.snapshot_id for s in status.get_snapshots()]
        change_ids = [c.change_id for c in status.get_change_history()]
    for kind, values in (("snapshot", ids), ("change", change_ids)):
        numbers = []
        for value in values:
            match = re.match(ID_PATTERN.format(kind=kind), value)
            assert match, value
            numbers.append(int(match.group(1)))
            dt.datetime.strptime(match.group(2) + match.group(3), "%Y%m%d%H%M%S")
        assert numbers == list(range(1, len(values) + 1))
    assert len(ids) == 3
    assert re.match(ID_PATTERN.format(kind="timing"), timing)
    assert timing.startswith("timing_000002_")


def test_run_name_in_store_is_refused(store_url: str, config: dict) -> None:
    with Status(config, store_url, run="taken"):
        pass
    with pytest.raises(RunExistsError, match="taken"):
        Status(config, store_url, run="taken")
    with Status(config, store_url) as generated:
        assert generated.run and generated.run != "taken"


def test_open_missing_run_lists_existing(store_url: str, config: dict) -> None:
    with Status(config, store_url, run="alpha"), Status(config, store_url, run="beta"):
        pass
    with pytest.raises(RunNotFoundError) as info:
        Status.open("missing", store_url)
    message = str(info.value)
    assert "missing" in message and "alpha" in message and "beta" in message
    assert isinstance(info.value, LookupError)


def test_default_store_is_env_var_else_cwd(tmp_path: Path, config: dict,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PETSARD_STATUS_DB", raising=False)
    with Status(config, run="here") as status:
        assert Path(status.store.url.database).resolve() == tmp_path / "petsard_status.db"
    assert (tmp_path / "petsard_status.db").is_file()
    elsewhere = tmp_path / "sub" / "env.db"
    elsewhere.parent.mkdir()
    monkeypatch.setenv("PETSARD_STATUS_DB", f"sqlite:///{elsewhere}")
    with Status(config, run="there"):
        pass
    assert elsewhere.is_file()
    with Status.open("there") as reopened:
        assert reopened.run == "there"
    with pytest.raises(RunNotFoundError):
        Status.open("here")  # the env var wins over the working folder
    monkeypatch.delenv("PETSARD_STATUS_DB")
    with Status.open("here") as reopened:
        assert reopened.run == "here"


@pytest.mark.parametrize("form", ["path", "url", "engine"])
def test_store_forms(tmp_path: Path, config: dict, ctx: ModuleContext, form: str) -> None:
    db = tmp_path / "forms.db"
    engine = create_engine(f"sqlite:///{db}")
    given = {"path": db, "url": f"sqlite:///{db}", "engine": engine}[form]
    disposed: list[object] = []
    status = Status(config, given, run="forms")
    event.listen(status.store.engine, "engine_disposed", lambda e: disposed.append(e))
    step(status, "Loader", "small", ctx)
    status.close()
    status.close()  # closing twice is harmless
    if form == "engine":
        assert disposed == []  # the caller's engine stays the caller's
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM snapshots")).scalar() == 1
    else:
        assert disposed == [status.store.engine]
    engine.dispose()
    for other in (db, str(db), f"sqlite:///{db}"):
        with Status.open("forms", other) as reopened:
            assert list(reopened.status) == ["Loader"]


def test_close_removes_handler(sqlite_url: str, config: dict) -> None:
    logger = logging.getLogger("PETsARD")

    def ours() -> int:
        return sum(isinstance(h, TimingLogHandler) for h in logger.handlers)

    baseline, level = ours(), logger.level
    statuses = [Status(config, sqlite_url) for _ in range(20)]
    assert logger.level == level  # the application's logger keeps its level
    assert ours() == baseline + 20
    for status in statuses:
        status.close()
    assert ours() == baseline
    for _ in range(20):
        with Status(config, sqlite_url):
            pass
        with Status.open(statuses[0].run, sqlite_url):
            pass
    assert ours() == baseline


def test_context_manager_closes(sqlite_url: str, config: dict, ctx: ModuleContext) -> None:
    with pytest.raises(ValueError, match="inside"), Status(config, sqlite_url) as status:
        raise ValueError("inside")
    with pytest.raises(StatusError, match="closed"):
        step(status, "Loader", "small", ctx)
    with Status.open(status.run, sqlite_url) as reopened:
        assert reopened.get_snapshots() == []


# --- timing ----------------------------------------------------------------------------


def test_timing_records(store_url: str, config: dict, caplog: pytest.LogCaptureFixture) -> None:
    # The PETsARD logger's level is its user's to set (a Status never changes it).
    caplog.set_level(logging.INFO, logger="PETsARD")
    with Status(config, store_url) as status:
        record_id = status.start_timing("Loader", "small", "load", {"rows": 3})
        done = status.end_timing("Loader", "small", "load", {"note": "ok"})
        assert done.record_id == record_id
        assert done.end_time >= done.start_time
        assert done.duration_seconds == pytest.approx(
            (done.end_time - done.start_time).total_seconds(), abs=1e-6)
        assert done.context == {"rows": 3, "note": "ok"}
        assert status.end_timing("Loader", "small", "never-started") is None

        with pytest.raises(KeyError), status.timing("Preprocessor", "onehot", "fit"):
            raise KeyError("boom")
        with status.timing("Preprocessor", "onehot", "transform", {"part": "train"}):
            pass

        log = logging.getLogger("PETsARD.Synthesizer")
        start = dt.datetime(2026, 1, 2, 3, 4, 5).timestamp()
        log.info("TIMING_START|Synthesizer|fit|%s", start)
        log.info("TIMING_END|Synthesizer|fit|%s|%s", start + 1.5, 1.5)
        log.info("TIMING_START|Synthesizer|sample|%s", start + 2)
        log.info("TIMING_ERROR|Synthesizer|sample|%s|0.25|ValueError: bad|input", start + 2.25)
        log.info("TIMING_START|not|enough")  # not the protocol: ignored

        records = status.get_timing_records()
        assert [(r.module_name, r.step_name) for r in records] == [
            ("Loader", "load"), ("Preprocessor", "fit"), ("Preprocessor", "transform"),
            ("Synthesizer", "fit"), ("Synthesizer", "sample")]
        assert records[0] == done
        assert records[1].context["error"].startswith("KeyError")
        assert records[2].context == {"part": "train"}
        fit, sample = records[3], records[4]
        assert fit.start_time == dt.datetime.fromtimestamp(start)
        assert fit.end_time == dt.datetime.fromtimestamp(start + 1.5)
        assert fit.duration_seconds == 1.5
        assert "error" not in fit.context
        assert sample.context["error"] == "ValueError: bad|input"
        assert sample.duration_seconds == 0.25
        assert status.get_timing_records("Synthesizer") == [fit, sample]

        frame = status.get_timing_report_data()
        assert list(frame["record_id"]) == [r.record_id for r in records]
        assert list(frame["duration_seconds"]) == [r.duration_seconds for r in records]
        run = status.run
    with Status.open(run, store_url) as reopened:
        assert reopened.get_timing_records() == records
        pd.testing.assert_frame_equal(reopened.get_timing_report_data(), frame)


# --- other getters ------------------------------------------------------------------------


def test_live_objects_and_getters(store_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, store_url) as status:
        adapters = branch(status, ctx, 1)
        assert status.get_processor() is adapters["Preprocessor"].processor
        assert status.get_synthesizer() is adapters["Synthesizer"].synthesizer
        assert status.get_pre_module("Loader") is None
        assert status.get_pre_module("Synthesizer") == "Preprocessor"
        assert status.get_preprocessor_input_schema() == status.get_metadata("Splitter")
        data = status.get_data_by_module(["Loader", "Synthesizer", "Evaluator"])
        assert list(data) == ["Loader", "Synthesizer"]
        pd.testing.assert_frame_equal(data["Synthesizer"], adapters["Synthesizer"].get_result())
        status.put_validation_result("Synthesizer", {"valid": True, "rows": 40,
                                                     "ratio": float("nan")})
        assert status.get_validation_result("Synthesizer")["rows"] == 40
        assert status.get_validation_result("Loader") is None
        assert dict(status.metadata) == {m: status.get_metadata(m)
                                         for m in ("Loader", "Splitter", "Preprocessor")}
        assert status.config.to_dict() == config
        run = status.run
    with Status.open(run, store_url) as reopened:
        for getter, module in ((reopened.get_processor, "Preprocessor"),
                               (reopened.get_synthesizer, "Synthesizer")):
            with pytest.raises(LiveObjectUnavailableError, match="again") as info:
                getter()
            assert info.value.module == module
            assert isinstance(info.value, UnexecutedError)
        for module, adapter in adapters.items():
            result = reopened.get_result(module)
            if isinstance(result, pd.DataFrame):
                pd.testing.assert_frame_equal(result, adapter.get_result())
            else:
                assert list(result) == list(adapter.get_result())
                for key, frame in result.items():
                    pd.testing.assert_frame_equal(frame, adapter.get_result()[key])
        validation = reopened.get_validation_result("Synthesizer")
        assert validation["valid"] is True and validation["ratio"] != validation["ratio"]
        assert reopened.config.to_dict() == config
        assert reopened.sequence == list(config)


def test_failed_put_stores_nothing(store_url: str, config: dict, ctx: ModuleContext) -> None:
    class Unstorable(FrameAdapter):
        def get_result(self) -> Any:
            return {"thing": object()}

    with Status(config, store_url) as status:
        step(status, "Loader", "small", ctx)
        before = status.get_status_summary()
        with pytest.raises(PutError, match="thing"):
            status.put("Splitter", "split_[2-1]", Unstorable(pd.DataFrame({"a": [1]})))
        assert status.get_status_summary() == before
        assert list(status.status) == ["Loader"]
        step(status, "Splitter", "split_[2-1]", ctx)
        assert status.get_snapshots()[-1].snapshot_id.startswith("snapshot_000002_")


# --- lazy opening -------------------------------------------------------------------------


def test_open_decodes_no_metadata(store_url: str) -> None:
    config = {"Loader": {"frames": {"filepath": "unused.csv"}}}
    with Status(config, store_url, run="many") as status:
        for i in range(40):
            frame = pd.DataFrame({"value": list(range(i + 2)), "label": ["x"] * (i + 2)})
            status.put("Loader", "frames", FrameAdapter(frame))
        last = status.get_metadata("Loader")

    engine = create_engine(store_url)
    statements: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    def metadata_reads() -> int:
        return sum(bool(re.search(r"\bFROM (schemas|fields)\b", s)) for s in statements)

    try:
        with Status.open("many", engine) as reopened:
            assert len(reopened.store._schemas) == 0
            summary = reopened.get_status_summary()
            assert summary["total_snapshots"] == 40
            assert summary["metadata_modules"] == ["Loader"]
            assert list(reopened.status) == ["Loader"]
            assert metadata_reads() == 0
            assert len(reopened.store._schemas) == 0
            # The listener does see metadata reads when one is asked for.
            assert reopened.get_metadata("Loader") == last
            assert metadata_reads() >= 1
    finally:
        engine.dispose()


def test_dataclasses_are_frozen(sqlite_url: str, config: dict, ctx: ModuleContext) -> None:
    with Status(config, sqlite_url) as status:
        step(status, "Loader", "small", ctx)
        snapshot = status.get_snapshots()[0]
        change = status.get_change_history()[0]
    names = [f.name for f in dataclass_fields(snapshot)]
    assert names == ["snapshot_id", "module_name", "experiment_name", "timestamp",
                     "metadata_before", "metadata_after", "execution_context"]
    assert [f.name for f in dataclass_fields(change)][:8] == [
        "change_id", "change_type", "target_type", "target_id", "before_state",
        "after_state", "timestamp", "module_context"]
    with pytest.raises(AttributeError):
        snapshot.module_name = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        change.change_type = "x"  # type: ignore[misc]


def test_failed_open_releases_the_engine(sqlite_url: str, config: dict) -> None:
    from sqlalchemy.engine import Engine

    from petsard_status import CorruptDataError

    with Status(config, sqlite_url, run="broken"):
        pass
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE runs SET head_json = '{\"v\": 99}' WHERE name = 'broken'"))
    engine.dispose()
    disposed: list[object] = []

    def on_dispose(e: object) -> None:
        disposed.append(e)

    event.listen(Engine, "engine_disposed", on_dispose)
    try:
        with pytest.raises(CorruptDataError, match="version"):
            Status.open("broken", sqlite_url)
    finally:
        event.remove(Engine, "engine_disposed", on_dispose)
    assert len(disposed) == 1


def test_live_adapters_do_not_accumulate_over_a_long_run(sqlite_url: str) -> None:
    """Every put's adapter holds a frame; only active and a few recent ones stay alive."""
    import gc
    import weakref

    frame = pd.DataFrame({"x": [1, 2, 3]})
    refs = []
    with Status({"Loader": {"a": {}}}, sqlite_url) as status:
        for _ in range(40):
            adapter = FrameAdapter(frame)
            refs.append(weakref.ref(adapter))
            status.put("Loader", "a", adapter)
            del adapter
        gc.collect()
        alive = sum(1 for ref in refs if ref() is not None)
        assert 1 <= alive <= 9
        assert refs[-1]() is not None  # the active Loader's adapter
        assert status.get_result("Loader").equals(frame)


def _timing_rows(url: str) -> list[tuple[str, str]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT record_id, step FROM timings ORDER BY seq")).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_deferred_timing_is_stored_with_the_next_put_or_on_close(sqlite_url: str) -> None:
    frame = pd.DataFrame({"x": [1, 2, 3]})
    status = Status({"Loader": {"a": {}}}, sqlite_url)
    status.start_timing("Loader", "a", "run")
    record = status.end_timing("Loader", "a", "run", defer=True)
    assert record is not None and record.duration_seconds is not None
    assert _timing_rows(sqlite_url) == []  # not yet: it waits for the put
    status.put("Loader", "a", FrameAdapter(frame))
    assert _timing_rows(sqlite_url) == [(record.record_id, "run")]

    status.start_timing("Loader", "a", "report")
    late = status.end_timing("Loader", "a", "report", defer=True)
    status.close()  # no put follows: closing stores it
    assert _timing_rows(sqlite_url)[-1] == (late.record_id, "report")
    with Status.open(status.run, sqlite_url) as reopened:
        assert [r.record_id for r in reopened.get_timing_records()] == [
            record.record_id, late.record_id]
