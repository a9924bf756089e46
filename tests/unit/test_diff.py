"""Schema and field level differences between two versions of metadata."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from petsard_status.formats import content_hash, to_json
from petsard_status.metadata import (
    DataType,
    FieldChange,
    FieldMetadata,
    FieldStats,
    LogicalType,
    MetadataDiff,
    Metadater,
    SchemaMetadata,
    diff,
)
from petsard_status.metadata.diff import FIELD_ATTRIBUTES, preserve_unchanged

ADULT = Path(__file__).resolve().parents[2] / "examples" / "data" / "adult-income.csv"
T0 = dt.datetime(2024, 1, 1, 9, 0)
T1 = dt.datetime(2024, 6, 1, 17, 30)


def field(name: str, data_type: DataType = DataType.INT64, *, at: dt.datetime = T0, **kw):
    return FieldMetadata(name=name, data_type=data_type, created_at=at, updated_at=at, **kw)


def schema(*fields: FieldMetadata, at: dt.datetime = T0, **kw) -> SchemaMetadata:
    kw.setdefault("schema_id", "s")
    kw.setdefault("name", "s")
    return SchemaMetadata(fields=fields, created_at=at, updated_at=at, **kw)


def test_equal_schemas_give_an_empty_diff() -> None:
    a = schema(field("a"), field("b", DataType.STRING))
    b = schema(field("a"), field("b", DataType.STRING))
    result = diff(a, b)
    assert result == MetadataDiff(None, (), ())
    assert result.is_empty
    assert diff(a, a).is_empty
    assert diff(None, None).is_empty


def test_timestamps_are_ignored() -> None:
    a = schema(field("a", at=T0), field("b", at=T0), at=T0)
    b = schema(field("a", at=T1), field("b", at=T1), at=T1)
    assert a != b  # they do differ, in timestamps only
    assert diff(a, b).is_empty


def test_reinferred_identical_data_is_not_a_change() -> None:
    df = pd.DataFrame({"x": [1, 2, 3], "y": ["a", "b", None], "z": [0.5, math.nan, 2.0]})
    first = Metadater.create_schema(df, "t")
    second = Metadater.create_schema(df.copy(), "t")
    second = replace(second, updated_at=first.updated_at + dt.timedelta(hours=1))
    assert diff(first, second).is_empty


def test_created_updated_and_deleted_fields() -> None:
    before = schema(field("keep"), field("gone"), field("retype"), field("old_last"))
    after = schema(
        field("new_first", DataType.STRING),
        field("retype", DataType.FLOAT64, nullable=False),
        field("keep"),
        field("new_last"),
    )
    result = diff(before, after)
    assert result.schema_change == "update"
    assert result.schema_attributes == ("fields",)
    summary = [(c.name, c.change_type, c.attributes) for c in result.field_changes]
    assert summary == [
        ("new_first", "create", FIELD_ATTRIBUTES),
        ("retype", "update", ("data_type", "nullable")),
        ("new_last", "create", FIELD_ATTRIBUTES),
        ("gone", "delete", FIELD_ATTRIBUTES),
        ("old_last", "delete", FIELD_ATTRIBUTES),
    ]
    created, updated, _, deleted, _ = result.field_changes
    assert created.before is None and created.after == after.fields[0]
    assert updated.before == before.fields[2] and updated.after == after.fields[1]
    assert deleted.before == before.fields[1] and deleted.after is None
    assert all(isinstance(c, FieldChange) for c in result.field_changes)


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"logical_type": LogicalType.EMAIL}, ("logical_type",)),
        ({"source_dtype": "int32"}, ("source_dtype",)),
        ({"target_dtype": "float64"}, ("target_dtype",)),
        ({"description": "age in years"}, ("description",)),
        ({"cast_error": "raise"}, ("cast_error",)),
        ({"stats": FieldStats(row_count=3)}, ("stats",)),
        ({"properties": {"unit": "year"}}, ("properties",)),
        ({"data_type": DataType.INT8, "description": "x", "properties": {"a": 1}},
         ("data_type", "description", "properties")),
    ],
)
def test_each_field_attribute_is_reported(changes: dict, expected: tuple[str, ...]) -> None:
    before = schema(field("a", source_dtype="int64"))
    after = schema(replace(before.fields[0], updated_at=T1, **changes))
    (change,) = diff(before, after).field_changes
    assert change.change_type == "update"
    assert change.attributes == expected


def test_stats_with_nan_compare_equal() -> None:
    stats = FieldStats(row_count=2, mean_value=math.nan, quantiles={0.5: float("nan")})
    a = schema(field("a", stats=stats))
    b = schema(field("a", at=T1, stats=FieldStats(row_count=2, mean_value=float("nan"),
                                                 quantiles={0.5: float("nan")})))
    assert diff(a, b).is_empty


def test_schema_level_attributes() -> None:
    base = schema(field("a"), field("b"))
    renamed = replace(base, name="renamed", description="now described", updated_at=T1)
    result = diff(base, renamed)
    assert result.schema_change == "update"
    assert result.schema_attributes == ("name", "description")
    assert result.field_changes == ()

    reordered = schema(field("b"), field("a"))
    result = diff(base, reordered)
    assert result.schema_attributes == ("fields",)
    assert result.field_changes == ()

    with_props = replace(base, properties={"source": "x"})
    assert diff(base, with_props).schema_attributes == ("properties",)


def test_create_and_delete_of_whole_schema() -> None:
    s = schema(field("a"), field("b"))
    created = diff(None, s)
    assert created.schema_change == "create"
    assert [(c.name, c.change_type) for c in created.field_changes] == [
        ("a", "create"), ("b", "create")
    ]
    assert "fields" in created.schema_attributes
    deleted = diff(s, None)
    assert deleted.schema_change == "delete"
    assert [(c.name, c.change_type, c.after) for c in deleted.field_changes] == [
        ("a", "delete", None), ("b", "delete", None)
    ]
    assert not created.is_empty and not deleted.is_empty


def test_real_data_change_is_attributed_to_the_right_field() -> None:
    df = pd.read_csv(ADULT, na_values="?", skipinitialspace=True, nrows=3000)
    before = Metadater.create_schema(df, "adult")
    changed = df.assign(workclass=df["workclass"].fillna("Unknown")).drop(columns=["fnlwgt"])
    after = Metadater.create_schema(changed, "adult")
    result = diff(before, after)
    summary = {c.name: (c.change_type, c.attributes) for c in result.field_changes}
    assert summary == {
        "workclass": ("update", ("nullable", "stats")),
        "fnlwgt": ("delete", FIELD_ATTRIBUTES),
    }
    assert result.schema_attributes == ("fields", "stats")


def test_preserve_unchanged_keeps_old_field_objects_and_hashes() -> None:
    before = schema(field("a"), field("b"), field("c"), at=T0)
    after = schema(field("a", at=T1), field("b", DataType.STRING, at=T1), field("d", at=T1),
                   at=T1)
    merged = preserve_unchanged(before, after)
    assert merged.fields[0] is before.fields[0]
    assert merged.fields[1] is after.fields[1]
    assert merged.fields[2] is after.fields[2]
    assert merged.created_at == T0
    assert diff(after, merged).is_empty  # same meaning as after
    shared = {content_hash(to_json(f)) for f in before.fields} & {
        content_hash(to_json(f)) for f in merged.fields
    }
    assert shared == {content_hash(to_json(before.fields[0]))}


def test_preserve_unchanged_returns_before_when_nothing_changed() -> None:
    before = schema(field("a"), at=T0)
    after = schema(field("a", at=T1), at=T1)
    assert preserve_unchanged(before, after) is before
    assert preserve_unchanged(None, after) is after
