"""Bad input: it either works exactly, or ``put`` raises one clear error and the run carries on.

A refused put must name the module, the experiment and the offending value,
store nothing (every table keeps its row count), and leave the run usable: the
next put gets the next number, with no gap.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import func, select

from petsard_status import (
    Config,
    ConfigError,
    DataType,
    FieldMetadata,
    Metadater,
    PetsardStatusError,
    PutError,
    SchemaMetadata,
    Status,
    StatusError,
)
from petsard_status.store import models as m

CONFIG = {"Loader": {"load": {}}, "Preprocessor": {"prep": {}}, "Reporter": {"rep": {}}}
TABLES = (m.runs, m.snapshots, m.changes, m.blobs, m.schemas, m.fields)


class Adapter:
    def __init__(self, result: Any = None, metadata: Any = None) -> None:
        self.result, self.metadata = result, metadata

    def get_result(self) -> Any:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result

    def get_metadata(self) -> Any:
        return self.metadata


def good_frame(k: int) -> pd.DataFrame:
    return pd.DataFrame({"k": [k, k + 1, k + 2], "name": ["a", "b", "c"]})


def good(k: int) -> Adapter:
    frame = good_frame(k)
    return Adapter(frame, Metadater.create_schema(frame, schema_id="data"))


@pytest.fixture
def status(store_url: str) -> Iterator[Status]:
    with Status(CONFIG, store_url, run="bad-input") as status:
        status.put("Loader", "load", good(0))
        yield status


def counts(status: Status) -> dict[str, int]:
    return status.store.read(lambda conn: {
        t.name: conn.execute(select(func.count()).select_from(t)).scalar() for t in TABLES
    })


def numbers(status: Status) -> list[int]:
    return [int(s.snapshot_id.split("_")[1]) for s in status.get_snapshots()]


def refused_then_usable(status: Status, put: Callable[[], Any], error: type[Exception],
                        *words: str) -> str:
    """``put`` raises ``error`` naming ``words``, stores nothing, and the run carries on."""
    before, seqs = counts(status), numbers(status)
    head = status.store.run_row(status.run).head_json
    with pytest.raises(error) as info:
        put()
    message = str(info.value)
    for word in words:
        assert word in message, (word, message)
    assert counts(status) == before
    assert status.store.run_row(status.run).head_json == head
    k = len(seqs) + 1
    status.put("Loader", "load", good(k))
    assert numbers(status) == [*seqs, seqs[-1] + 1]
    pd.testing.assert_frame_equal(status.get_result("Loader"), good_frame(k))
    return message


def reopened(status: Status) -> Status:
    return Status.open(status.run, status.store)


# --- configs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "words"),
    [
        ({}, "no module"),
        ({"Loader": {}}, "has no experiments"),
        ({"Loader": {3: {}}}, "experiment name 3"),
        ({"Loader": {"a": {"p": {"q": object()}}}}, "'p.q' of Loader[a]"),
        ({"Loadr": {"a": {}}}, "Loader"),
        ({"Evaluator": {"e_[1]": {}}}, "reserved"),
        ({"CustomÜbersetzer": {"e": {"module_path": "x.py", "class_name": "X"}}},
         "CustomÜbersetzer"),
    ],
)
def test_bad_config_creates_nothing(tmp_path: Path, config: dict, words: str) -> None:
    path = tmp_path / "runs.db"
    with pytest.raises(ConfigError) as info:
        Status(config, path)
    assert words in str(info.value)
    assert not path.exists()


def test_yaml_that_would_build_objects_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "pipeline.yaml"
    path.write_text("Loader:\n  load: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError):
        Status(Config.from_yaml(path), tmp_path / "runs.db")
    assert not (tmp_path / "runs.db").exists()


# --- results that cannot be stored --------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "words"),
    [
        ({3, 1, 2}, ["{1, 2, 3}", "set"]),
        (object(), ["<object object at", "object"]),
        ({"train": good_frame(1), "extra": {1, 2}}, ["result['extra']", "{1, 2}"]),
        (pd.DataFrame({"when": [object(), 1]}), ["column 'when'", "object"]),
        (pd.DataFrame({"s": pd.Series(["ok", "x\ud800"], dtype=object)}),
         ["column 's'", "surrogate"]),
        (RuntimeError("the module crashed"), ["get_result() failed", "the module crashed"]),
    ],
    ids=["set", "object", "dict-with-a-set", "object-column", "surrogate-value", "raises"],
)
def test_unstorable_result(status: Status, result: Any, words: list[str]) -> None:
    refused_then_usable(status, lambda: status.put("Preprocessor", "prep", Adapter(result)),
                        PutError, "Preprocessor[prep]", *words)


def test_reporter_result_must_be_a_dict(status: Status) -> None:
    refused_then_usable(status, lambda: status.put("Reporter", "rep", Adapter(good_frame(1))),
                        PutError, "Reporter[rep]", "dict", "DataFrame")


def test_plain_values_round_trip(status: Status) -> None:
    """A result that is neither frame nor dict but is plain data is kept, exactly."""
    value = [1, "two", 3.5, None, (4, 5)]
    status.put("Preprocessor", "prep", Adapter(value))
    with reopened(status) as again:
        assert again.get_result("Preprocessor") == value


# --- metadata that cannot be stored --------------------------------------------------------


def with_property(owner: str, value: Any) -> SchemaMetadata:
    schema = Metadater.create_schema(good_frame(1), schema_id="data")
    if owner == "schema":
        return dataclasses.replace(schema, properties={"tags": value})
    first = dataclasses.replace(schema.fields[0], properties={"tags": value})
    return dataclasses.replace(schema, fields=(first, *schema.fields[1:]))


@pytest.mark.parametrize(
    ("owner", "value", "words"),
    [
        ("schema", {"b", "a"}, ["schema 'data' property 'tags'", "set"]),
        ("field", object(), ["field 'k' property 'tags'", "<object object at"]),
        ("field", lambda: None, ["field 'k' property 'tags'", "function"]),
    ],
    ids=["schema-set", "field-object", "field-function"],
)
def test_unstorable_metadata_property(status: Status, owner: str, value: Any,
                                      words: list[str]) -> None:
    adapter = Adapter(good_frame(1), with_property(owner, value))
    refused_then_usable(status, lambda: status.put("Preprocessor", "prep", adapter),
                        PutError, "Preprocessor[prep]", *words)


def test_metadata_of_the_wrong_type(status: Status) -> None:
    adapter = Adapter(good_frame(1), {"fields": ["k"]})
    refused_then_usable(status, lambda: status.put("Preprocessor", "prep", adapter),
                        PutError, "Preprocessor[prep]", "dict", "SchemaMetadata")


@pytest.mark.parametrize("name", ["a\x00b", "b\ud800"], ids=["nul", "surrogate"])
def test_unstorable_field_name(status: Status, name: str) -> None:
    schema = SchemaMetadata("data", "data", fields=(FieldMetadata(name, DataType.INT64),))
    adapter = Adapter(good_frame(1), schema)
    refused_then_usable(status, lambda: status.put("Preprocessor", "prep", adapter),
                        PutError, "Preprocessor[prep]", repr(name))


# --- names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("experiment", "words"),
    [
        (None, ["None", "not a string"]),
        (7, ["7", "not a string"]),
        ("  ", ["empty"]),
        ("a\x00b", ["'a\\x00b'", "NUL"]),
        ("e\udc80", ["'e\\udc80'", "surrogate"]),
    ],
    ids=["none", "int", "blank", "nul", "surrogate"],
)
def test_unstorable_experiment_name(status: Status, experiment: Any, words: list[str]) -> None:
    refused_then_usable(status, lambda: status.put("Preprocessor", experiment, good(1)),
                        PutError, "Preprocessor", *words)


@pytest.mark.parametrize("run", ["r\x00n", "r\ud800", "x" * 201], ids=["nul", "surrogate", "long"])
def test_unstorable_run_name(store_url: str, run: str) -> None:
    with pytest.raises(StatusError) as info:
        Status(CONFIG, store_url, run=run)
    assert repr(run)[:20] in str(info.value)
    with Status(CONFIG, store_url, run="fine") as status:
        assert status.store.run_names() == ["fine"]


# --- awkward but valid: these must work, exactly ------------------------------------------------


@pytest.mark.parametrize(
    "columns",
    [
        ["select", "from", "table", "drop table runs;--", '"quoted"', "'single'", "a b"],
        ["", "not empty"],
        ["x" * 1000, "y" * 1000 + "z"],
    ],
    ids=["sql-keywords", "empty-name", "1000-characters"],
)
def test_awkward_column_names_round_trip(status: Status, columns: list[str]) -> None:
    frame = pd.DataFrame([[i * 10 + j for j in range(len(columns))] for i in range(4)],
                         columns=columns)
    schema = Metadater.create_schema(frame, schema_id="awkward")
    status.put("Preprocessor", "prep", Adapter(frame, schema))
    with reopened(status) as again:
        pd.testing.assert_frame_equal(again.get_result("Preprocessor"), frame)
        stored = again.get_metadata("Preprocessor")
        # A schema keeps the created_at of the version it replaces; the rest is as given.
        assert dataclasses.replace(stored, created_at=schema.created_at) == schema
        assert stored.field_names == columns
        changed = {c.target_id for c in again.get_change_history("Preprocessor")}
        assert set(columns) <= changed  # every column is a field change from the Loader's


def test_duplicated_column_names(status: Status) -> None:
    """The frame codec keeps duplicated labels; metadata cannot describe them and says so."""
    frame = pd.DataFrame([[1, 2.5, "x"]], columns=["a", "a", "b"])
    status.put("Preprocessor", "prep", Adapter(frame))
    with reopened(status) as again:
        pd.testing.assert_frame_equal(again.get_result("Preprocessor"), frame)
    with pytest.raises(PetsardStatusError, match=r"duplicate column names \['a'\]"):
        Metadater.create_schema(frame, schema_id="dupes")


def test_unicode_everywhere(store_url: str) -> None:
    config = {"Loader": {"読み込み ü 🙂": {}}, "Preprocessor": {"נתונים‏ é": {}}}
    run = "ラン-Zoë-🙂"
    frame = pd.DataFrame({
        "名前": ["José", "Zoë", "🙂", "e\u0301", "שלום"],
        "ç": [1, 2, 3, 4, 5],
        "🙂 emoji": ["∑", "∞", "—", "\u200b", "\x00 nul"],
    })
    schema = Metadater.create_schema(frame, schema_id="データ", name="表 ü",
                                     description="説明 🙂", properties={"ключ": "значение"})
    with Status(config, store_url, run=run) as status:
        status.put("Loader", "読み込み ü 🙂", Adapter(frame, schema))
        status.put("Preprocessor", "נתונים‏ é", Adapter(frame.iloc[::-1], None))
    with Status.open(run, store_url) as again:
        assert again.run == run
        pd.testing.assert_frame_equal(again.get_result("Loader"), frame)
        pd.testing.assert_frame_equal(again.get_result("Preprocessor"), frame.iloc[::-1])
        assert again.get_metadata("Loader") == schema
        assert [s.experiment_name for s in again.get_snapshots()] == ["読み込み ü 🙂", "נתונים‏ é"]
        assert again.get_full_expt() == {"Loader": "読み込み ü 🙂", "Preprocessor": "נתונים‏ é"}
        assert again.store.run_names() == [run]


@pytest.mark.slow
def test_ten_thousand_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    columns = [f"column_{i:05d}" for i in range(10_000)]
    frame = pd.DataFrame(rng.random((20, len(columns))), columns=columns)
    frame["label"] = [f"row {i}" for i in range(20)]
    # Built directly: inference on 10,000 columns is not what this test measures.
    schema = SchemaMetadata("wide", "wide", fields=tuple(
        FieldMetadata(name, DataType.FLOAT64, properties={"i": i})
        for i, name in enumerate(columns)
    ))
    path = tmp_path / "wide.db"
    started = time.perf_counter()
    with Status(CONFIG, path, run="wide") as status:
        status.put("Loader", "load", Adapter(frame, schema))
    put_s = time.perf_counter() - started
    started = time.perf_counter()
    with Status.open("wide", path) as again:
        pd.testing.assert_frame_equal(again.get_result("Loader"), frame)
        assert again.get_metadata("Loader") == schema
    read_s = time.perf_counter() - started
    print(f"10,000 x 20 frame with 10,000-field metadata: put {put_s:.2f} s, "
          f"open + get_result + get_metadata {read_s:.2f} s")
