"""Export and import of runs: nothing lost, nothing trusted.

A run exported from one store and imported into another must answer every
``Status`` method as the original does.  An export file is untrusted input:
altered or malformed documents are refused with the package's errors and leave
the target store as it was.
"""

from __future__ import annotations

import base64
import copy
import csv
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner, Result

from helpers.paths import EXAMPLE_RUN, copy_sqlite
from petsard_status import Metadater, Status, Store
from petsard_status.cli.db import check_store
from petsard_status.cli.main import main
from petsard_status.errors import (
    CorruptDataError,
    LiveObjectUnavailableError,
    PetsardStatusError,
    RunExistsError,
    UnknownFormatError,
)
from petsard_status.formats import EXPORT_FORMAT, read_export
from petsard_status.store.exchange import export_run, import_run

RUN = EXAMPLE_RUN


def invoke(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


# --- comparing two runs through the API ------------------------------------------------------


def same_value(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b)
    elif isinstance(a, pd.Series):
        pd.testing.assert_series_equal(a, b)
    elif isinstance(a, dict):
        assert isinstance(b, dict) and list(a) == list(b)
        for key in a:
            same_value(a[key], b[key])
    else:
        assert a == b


def assert_same_run(original: Status, copy_: Status, *, renamed: bool) -> None:
    """Every read of the Status API gives the same answer for both runs."""
    assert original.config == copy_.config and original.sequence == copy_.sequence
    assert original.get_snapshots() == copy_.get_snapshots()
    for module in original.sequence:
        assert original.get_snapshots(module) == copy_.get_snapshots(module)
        assert original.get_change_history(module) == copy_.get_change_history(module)
        assert original.get_metadata_evolution(module) == copy_.get_metadata_evolution(module)
    for snap in original.get_snapshots():
        assert copy_.get_snapshot_by_id(snap.snapshot_id) == snap
    assert original.get_change_history() == copy_.get_change_history()
    assert list(original.metadata) == list(copy_.metadata)
    for module in original.metadata:
        assert original.get_metadata(module) == copy_.get_metadata(module)
    assert original.get_preprocessor_input_schema() == copy_.get_preprocessor_input_schema()
    assert list(original.status) == list(copy_.status)
    assert original.get_full_expt() == copy_.get_full_expt()
    for module in original.status:
        same_value(original.get_result(module), copy_.get_result(module))
    same_value(original.get_data_by_module(list(original.status)),
               copy_.get_data_by_module(list(copy_.status)))
    same_value(original.get_report(), copy_.get_report())
    assert original.get_exist_train_indices() == copy_.get_exist_train_indices()
    assert original.get_validation_result() == copy_.get_validation_result()
    assert original.get_timing_records() == copy_.get_timing_records()
    pd.testing.assert_frame_equal(original.get_timing_report_data(),
                                  copy_.get_timing_report_data())
    summary_a, summary_b = original.get_status_summary(), copy_.get_status_summary()
    info_a, info_b = original.run_info(), copy_.run_info()
    if renamed:
        assert summary_b.pop("run") == copy_.run != summary_a.pop("run")
        assert info_b.pop("name") != info_a.pop("name")
    assert summary_a == summary_b
    assert info_a == info_b
    for getter in (original.get_synthesizer, copy_.get_synthesizer):
        if "Synthesizer" in original.status:
            with pytest.raises(LiveObjectUnavailableError):
                getter()


# --- round trips of the example run ----------------------------------------------------------


def test_export_import_into_an_empty_store(example_db: Path, tmp_path: Path) -> None:
    with Store(example_db) as source:
        doc = export_run(source, RUN)
    assert doc["format"] == EXPORT_FORMAT and doc["version"] == 1
    target_db = tmp_path / "empty.db"
    with Store(target_db) as target:
        assert import_run(target, json.loads(json.dumps(doc))) == RUN
        assert target.run_names() == [RUN]
    with Status.open(RUN, example_db) as original, Status.open(RUN, target_db) as imported:
        assert_same_run(original, imported, renamed=False)
    with Store(target_db) as target:
        assert check_store(target.engine)["problems"] == []


def test_cli_round_trip_with_restores_under_a_new_name(example_db: Path, tmp_path: Path) -> None:
    db = copy_sqlite(example_db, tmp_path / "source.db")
    with Status.open(RUN, db) as status:
        assert status.restore_from_snapshot(status.get_snapshots("Preprocessor")[0].snapshot_id)
        status.put_validation_result("Loader", {"valid": True, "rows": 48842})
    result = invoke("export", RUN, "--db", str(db), "--output", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    exported = tmp_path / "out" / f"{RUN}.json"
    assert str(exported) in result.output
    target_db = tmp_path / "target.db"
    result = invoke("import", str(exported), "--db", str(target_db), "--run", "copied")
    assert result.exit_code == 0, result.output
    assert "imported run copied" in result.output
    with Status.open(RUN, db) as original, Status.open("copied", target_db) as imported:
        assert list(imported.status) == ["Loader", "Splitter", "Preprocessor"]
        assert imported.get_validation_result("Loader") == {"valid": True, "rows": 48842}
        assert_same_run(original, imported, renamed=True)
    doc = read_export(exported)
    assert len(doc["restores"]) == 1


def test_import_next_to_other_runs_and_refuse_a_taken_name(example_db: Path,
                                                            tmp_path: Path) -> None:
    db = copy_sqlite(example_db, tmp_path / "both.db")
    assert invoke("export", RUN, "--db", str(db), "--output", str(tmp_path)).exit_code == 0
    exported = tmp_path / f"{RUN}.json"
    refused = invoke("import", str(exported), "--db", str(db))
    assert refused.exit_code == 1 and "Traceback" not in refused.output
    assert f"a run named '{RUN}' is already in" in refused.output
    assert "--run NEW_NAME" in refused.output
    result = invoke("import", str(exported), "--db", str(db), "--run", "second")
    assert result.exit_code == 0, result.output
    with Store(db) as store:
        assert store.run_names() == [RUN, "second"]
    with Status.open(RUN, db) as original, Status.open("second", db) as imported:
        assert_same_run(original, imported, renamed=True)


@pytest.mark.postgres
def test_sqlite_export_imports_into_postgresql(example_db: Path, pg_url: str) -> None:
    with Store(example_db) as source:
        doc = export_run(source, RUN)
    with Store(pg_url) as target:
        import_run(target, doc)
        with Status.open(RUN, example_db) as original, Status.open(RUN, target) as imported:
            assert_same_run(original, imported, renamed=False)
        assert check_store(target.engine)["problems"] == []


# --- CSV -------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_csv_export(example_db: Path, tmp_path: Path) -> None:
    folder = tmp_path / "csv"
    result = invoke("export", RUN, "--db", str(example_db), "--format", "csv",
                    "--output", str(folder))
    assert result.exit_code == 0, result.output
    with Status.open(RUN, example_db) as status:
        snapshots = status.get_snapshots()
        assert [r["snapshot_id"] for r in read_csv(folder / "snapshots.csv")] == [
            s.snapshot_id for s in snapshots]
        assert [r["module"] for r in read_csv(folder / "snapshots.csv")] == [
            s.module_name for s in snapshots]
        assert [(r["change_id"], r["target_id"]) for r in read_csv(folder / "changes.csv")] == [
            (c.change_id, c.target_id) for c in status.get_change_history()]
        assert sorted(r["record_id"] for r in read_csv(folder / "timings.csv")) == sorted(
            t.record_id for t in status.get_timing_records())
        assert read_csv(folder / "run.csv")[0]["state"] == status.run_info()["state"]
        with_metadata = [s for s in snapshots if s.metadata_after or s.metadata_before]
        assert sorted(p.stem for p in (folder / "metadata").glob("*.csv")) == sorted(
            s.snapshot_id for s in with_metadata)
        for snap in with_metadata:
            rows = read_csv(folder / "metadata" / f"{snap.snapshot_id}.csv")
            schema = snap.metadata_after or snap.metadata_before
            assert [(r["name"], r["data_type"], r["na_count"]) for r in rows] == [
                (f.name, f.data_type.value, str(f.stats.na_count)) for f in schema.fields]


# --- untrusted documents ---------------------------------------------------------------------


class Stub:
    def __init__(self, result: Any, metadata: Any = None, train: Any = None) -> None:
        self.result, self.metadata, self.train = result, metadata, train

    def get_result(self) -> Any:
        return self.result

    def get_metadata(self) -> Any:
        return self.metadata

    def get_train_indices(self) -> Any:
        return self.train


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict]]:
    """A small run made through the API: frames, metadata, indices, report, timings, restore."""
    db = tmp_path_factory.mktemp("small") / "small.db"
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "x": rng.normal(size=12), "k": pd.Categorical(list("abcabcabcabc")),
        "when": pd.date_range("2026-01-01", periods=12, freq="h"),
        "n": pd.array([1, None, 3] * 4, dtype="Int64"),
    })
    config = {"Loader": {"l": {"filepath": "x.csv"}}, "Splitter": {"s": {}},
              "Synthesizer": {"g": {"method": "gaussian_copula"}}, "Reporter": {"r": {}}}
    with Status(config, db, run="small") as status:
        status.put("Loader", "l", Stub(frame, Metadater.create_schema(frame, "loader")))
        train, valid = frame.iloc[:8], frame.iloc[8:]
        status.put("Splitter", "s_[1-1]",
                   Stub({"train": train, "validation": valid},
                        Metadater.create_schema(train, "splitter"), [list(range(8))]))
        with status.timing("Synthesizer", "g", "fit"):
            status.put("Synthesizer", "g", Stub(frame.sample(5, random_state=1)))
        status.put("Reporter", "r", Stub({"[global]": pd.DataFrame({"score": [0.5]})}))
        status.restore_from_snapshot(status.get_snapshots()[1].snapshot_id)
    # Exported once closed: closing settles the run's state (completed).
    with Store(db) as store:
        doc = export_run(store, "small")
    yield db, doc


def fresh_store(tmp_path: Path) -> Store:
    return Store(tmp_path / "target.db")


def refused_import(store: Store, doc: Any, error: type = CorruptDataError) -> str:
    before = store.run_names()
    with pytest.raises(error) as info:
        import_run(store, doc)
    assert store.run_names() == before
    return str(info.value)


def test_small_run_round_trip(small: tuple[Path, dict], tmp_path: Path) -> None:
    db, doc = small
    with fresh_store(tmp_path) as store:
        import_run(store, doc)
    with Status.open("small", db) as original, Status.open("small", tmp_path / "target.db") as new:
        assert_same_run(original, new, renamed=False)


def test_wrong_format_or_version(small: tuple[Path, dict], tmp_path: Path) -> None:
    _, doc = small
    with fresh_store(tmp_path) as store:
        assert "not a petsard-status export" in refused_import(
            store, {**doc, "format": "something/else"}, UnknownFormatError)
        assert "version 2" in refused_import(store, {**doc, "version": 2}, UnknownFormatError)
        assert "expected a JSON object" in refused_import(store, [doc])


def test_altered_blob_is_refused(small: tuple[Path, dict], tmp_path: Path) -> None:
    _, doc = small
    bad = copy.deepcopy(doc)
    digest, blob = next((h, b) for h, b in bad["blobs"].items() if b["kind"] == "frame")
    data = bytearray(base64.b64decode(blob["data"]))
    data[-1] ^= 1
    blob["data"] = base64.b64encode(bytes(data)).decode()
    with fresh_store(tmp_path) as store:
        message = refused_import(store, bad)
    assert f"blobs[{digest}]" in message and "do not hash" in message


def test_altered_metadata_document_is_refused(small: tuple[Path, dict], tmp_path: Path) -> None:
    _, doc = small
    bad = copy.deepcopy(doc)
    digest = next(iter(bad["fields"]))
    original = bad["fields"][digest]["doc"]
    bad["fields"][digest]["doc"] = original.replace('"name":"', '"name":"renamed ', 1)
    assert bad["fields"][digest]["doc"] != original
    with fresh_store(tmp_path) as store:
        assert "does not hash to its address" in refused_import(store, bad)


def test_missing_referenced_blob_is_refused(small: tuple[Path, dict], tmp_path: Path) -> None:
    _, doc = small
    bad = copy.deepcopy(doc)
    digest = next(h for h, b in bad["blobs"].items() if b["kind"] == "indices")
    del bad["blobs"][digest]
    with fresh_store(tmp_path) as store:
        message = refused_import(store, bad)
    assert f"blob {digest}, which is not in the document" in message


def test_wrong_shapes_are_refused(small: tuple[Path, dict], tmp_path: Path) -> None:
    _, doc = small
    cases = {
        "lacks snapshots": lambda d: d.pop("snapshots"),
        "unexpected keys": lambda d: d.update(extra=1),
        "seq 1 twice": lambda d: d["snapshots"].append(dict(d["snapshots"][0])),
        "must be a positive integer": lambda d: d["snapshots"][0].update(seq=-1),
        "1 to 200 characters": lambda d: d["run"].update(name="x" * 201),
        "must be one of running": lambda d: d["run"].update(state="exploded"),
        "ISO 8601": lambda d: d["timings"][0].update(start_time="yesterday"),
        "not valid base64": lambda d: next(iter(d["blobs"].values())).update(data="@@@"),
        "not a content hash": lambda d: d["fields"].update({"../etc": {"doc": "x"}}),
    }
    with fresh_store(tmp_path) as store:
        for expected, mutate in cases.items():
            bad = copy.deepcopy(doc)
            mutate(bad)
            assert expected in refused_import(store, bad), expected


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _paths(item, (*path, i))


def _mutate(doc: Any, path: tuple, rng: random.Random) -> None:
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    current = parent[key]
    choice = rng.randrange(6)
    if choice == 0 and isinstance(parent, dict):
        del parent[key]
    elif choice == 1:
        parent[key] = None
    elif choice == 2:
        parent[key] = rng.choice([0, -5, 1.5, True, "x", [], {}])
    elif choice == 3 and isinstance(current, str) and current:
        i = rng.randrange(len(current))
        parent[key] = current[:i] + rng.choice("0a{}\"[],:x") + current[i + 1:]
    elif choice == 4 and isinstance(current, list) and current:
        current.append(copy.deepcopy(rng.choice(current)))
    else:
        parent[key] = {"nested": current}


def test_random_damage_gives_package_errors_or_a_sound_import(small: tuple[Path, dict],
                                                               tmp_path: Path) -> None:
    _, doc = small
    paths = [p for p in _paths(doc) if p]
    rng = random.Random(20261129)
    imported = refused = 0
    with fresh_store(tmp_path) as store:
        for i in range(300):
            bad = copy.deepcopy(doc)
            _mutate(bad, rng.choice(paths), rng)
            try:
                import_run(store, bad, name=f"m{i}")
                imported += 1
            except PetsardStatusError:
                refused += 1
        # Whatever got in (a changed free-text field, say) left the store consistent.
        assert check_store(store.engine)["problems"] == []
        for name in store.run_names():
            with Status.open(name, store) as status:
                status.get_snapshots()
                status.get_change_history()
    assert refused > 200, (imported, refused)


def test_cli_refuses_files_that_are_not_exports(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    garbage = tmp_path / "garbage.json"
    garbage.write_text("{not json")
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": "someone/else", "rows": []}))
    for path, expected in ((garbage, "not valid JSON"), (other, "not a petsard-status export")):
        result = invoke("import", str(path), "--db", db)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert expected in result.output


def test_export_of_an_unknown_run(example_db: Path, tmp_path: Path) -> None:
    result = invoke("export", "nope", "--db", str(example_db), "--output", str(tmp_path))
    assert result.exit_code == 1 and "no run named 'nope'" in result.output
    assert not list(tmp_path.iterdir())


def test_import_refuses_an_existing_name(small: tuple[Path, dict], tmp_path: Path) -> None:
    _, doc = small
    with fresh_store(tmp_path) as store:
        import_run(store, doc)
        assert "already in" in refused_import(store, doc, RunExistsError)
        assert import_run(store, doc, name="small-2") == "small-2"


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_to_a_folder_that_cannot_be_made(fmt: str, example_db: Path,
                                                tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    result = invoke("export", RUN, "--db", str(example_db), "--format", fmt,
                    "--output", str(blocker / "out"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "Error: cannot write the export" in result.output
