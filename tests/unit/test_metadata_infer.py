"""Metadata inference, checked against the bundled adult-income data and small frames.

Expected values are computed independently of pandas where practical (the csv
module, collections.Counter, statistics) so that a mistake in the inference
cannot also be in the expectation.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import statistics
import time
import uuid
from collections import Counter
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from petsard_status.errors import MetadataError
from petsard_status.formats import from_json, to_json
from petsard_status.metadata import (
    DataType,
    LogicalType,
    Metadater,
    SchemaMetadata,
)

ADULT = Path(__file__).resolve().parents[2] / "examples" / "data" / "adult-income.csv"
INTEGER_COLUMNS = (
    "age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week"
)
INTEGER_TYPES = {DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64}


def load_adult() -> pd.DataFrame:
    return pd.read_csv(ADULT, na_values="?", skipinitialspace=True)


@pytest.fixture(scope="module")
def adult_raw() -> dict[str, list[str | None]]:
    """The CSV read with the csv module alone: column -> values, None for '?'."""
    with ADULT.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, skipinitialspace=True))
    header, body = rows[0], rows[1:]
    return {
        name: [None if row[i].strip() == "?" else row[i].strip() for row in body]
        for i, name in enumerate(header)
    }


@pytest.fixture(scope="module")
def adult_schema() -> SchemaMetadata:
    return Metadater.create_schema(load_adult(), "adult-income", name="Adult income")


def test_adult_has_15_fields_in_file_order(adult_schema, adult_raw) -> None:
    assert adult_schema.field_names == list(adult_raw)
    assert len(adult_schema.fields) == 15
    assert adult_schema.stats.field_count == 15
    assert adult_schema.stats.row_count == 48842 == len(adult_raw["age"])
    assert adult_schema.schema_id == "adult-income"
    assert adult_schema.name == "Adult income"


def test_adult_integer_columns(adult_schema) -> None:
    for name in INTEGER_COLUMNS:
        field = adult_schema.get_field(name)
        assert field.data_type in INTEGER_TYPES, name
        assert field.nullable is False
        assert field.stats.na_count == 0


def test_adult_na_counts_match_the_file(adult_schema, adult_raw) -> None:
    for name, values in adult_raw.items():
        expected = sum(v is None for v in values)
        stats = adult_schema.get_field(name).stats
        assert stats.na_count == expected, name
        assert stats.na_percentage == pytest.approx(expected / len(values) * 100, abs=1e-4)
        assert adult_schema.get_field(name).nullable is (expected > 0)
    # Known facts of this dataset.
    assert adult_schema.get_field("workclass").stats.na_count == 2799
    assert adult_schema.get_field("occupation").stats.na_count == 2809
    assert adult_schema.get_field("native-country").stats.na_count == 857
    total = sum(sum(v is None for v in values) for values in adult_raw.values())
    assert adult_schema.stats.na_count == total == 2799 + 2809 + 857
    assert adult_schema.stats.na_percentage == pytest.approx(total / (48842 * 15) * 100, abs=1e-4)


def test_adult_categorical_strings(adult_schema) -> None:
    for name in ("workclass", "occupation", "education", "gender", "income", "native-country"):
        field = adult_schema.get_field(name)
        assert field.data_type is DataType.STRING, name
        assert field.logical_type is LogicalType.CATEGORICAL, name
    assert adult_schema.get_field("fnlwgt").logical_type is None


def _expected_top(values: list[object]) -> tuple[tuple[object, int], ...]:
    counts = Counter(v for v in values if v is not None)
    return tuple(sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:5])


def test_adult_numeric_stats_match_independent_computation(adult_schema, adult_raw) -> None:
    for name in INTEGER_COLUMNS:
        values = [int(v) for v in adult_raw[name]]
        stats = adult_schema.get_field(name).stats
        assert stats.min_value == min(values) and type(stats.min_value) is int
        assert stats.max_value == max(values)
        assert stats.distinct_count == len(set(values))
        assert stats.mean_value == pytest.approx(statistics.fmean(values), rel=1e-12)
        assert stats.std_value == pytest.approx(statistics.stdev(values), rel=1e-9)
        q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
        assert stats.quantiles == pytest.approx({0.25: q1, 0.5: q2, 0.75: q3})
        assert list(stats.quantiles) == [0.25, 0.5, 0.75]
        assert stats.most_frequent == _expected_top(values)
    # Cross-check one column against pandas too.
    age = load_adult()["age"]
    assert adult_schema.get_field("age").stats.std_value == pytest.approx(age.std())


def test_adult_string_stats(adult_schema, adult_raw) -> None:
    for name in ("workclass", "occupation", "native-country", "income"):
        present = [v for v in adult_raw[name] if v is not None]
        stats = adult_schema.get_field(name).stats
        assert stats.distinct_count == len(set(present))
        assert stats.most_frequent == _expected_top(adult_raw[name])
        # Strings: lexicographic (code point) order.
        assert stats.min_value == min(present)
        assert stats.max_value == max(present)
        assert stats.mean_value is None and stats.quantiles is None


def test_adult_metadata_round_trips_through_json(adult_schema) -> None:
    text = to_json(adult_schema)
    assert from_json(text, SchemaMetadata) == adult_schema


def test_adult_inference_is_fast() -> None:
    df = load_adult()
    Metadater.create_schema(df, "warm-up")
    best = math.inf
    for _ in range(3):
        start = time.perf_counter()
        Metadater.create_schema(df, "adult")
        best = min(best, time.perf_counter() - start)
    assert best < 1.0, f"{best:.3f} s for 48,842 x 15"


def test_one_timestamp_per_call(adult_schema) -> None:
    stamps = {adult_schema.created_at, adult_schema.updated_at}
    for field in adult_schema.fields:
        stamps |= {field.created_at, field.updated_at}
    assert len(stamps) == 1


# --- dtype coverage ---------------------------------------------------------------------------


def infer(series: pd.Series, name: str = "x"):
    return Metadater.create_field(series, name)


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [
        ("int8", DataType.INT8),
        ("int16", DataType.INT16),
        ("int32", DataType.INT32),
        ("int64", DataType.INT64),
        ("uint8", DataType.INT16),
        ("uint16", DataType.INT32),
        ("uint32", DataType.INT64),
        ("uint64", DataType.INT64),
        ("Int8", DataType.INT8),
        ("Int32", DataType.INT32),
        ("UInt8", DataType.INT16),
        ("float32", DataType.FLOAT32),
        ("float64", DataType.FLOAT64),
        ("Float32", DataType.FLOAT32),
        ("Float64", DataType.FLOAT64),
        ("int64[pyarrow]", DataType.INT64),
    ],
)
def test_numeric_dtypes(dtype: str, expected: DataType) -> None:
    field = infer(pd.Series([3, 1, 2, 2], dtype=dtype))
    assert field.data_type is expected
    assert field.source_dtype == str(pd.Series([1], dtype=dtype).dtype)
    assert field.stats.min_value == 1 and field.stats.max_value == 3
    assert field.stats.mean_value == pytest.approx(2.0)
    assert field.stats.most_frequent[0] == (2, 2)


def test_nullable_integers_with_na() -> None:
    series = pd.Series([1, None, 3, None, 5], dtype="Int16")
    field = infer(series)
    assert field.data_type is DataType.INT16
    assert field.nullable is True
    assert field.stats.na_count == 2
    assert field.stats.na_percentage == 40.0
    assert field.stats.distinct_count == 3
    assert field.stats.mean_value == pytest.approx(3.0)
    assert field.stats.std_value == pytest.approx(statistics.stdev([1, 3, 5]))
    assert field.stats.quantiles == {0.25: 2.0, 0.5: 3.0, 0.75: 4.0}
    assert type(field.stats.min_value) is int


def test_booleans_with_and_without_na() -> None:
    plain = infer(pd.Series([True, False, True]))
    assert plain.data_type is DataType.BOOLEAN and plain.nullable is False
    assert plain.stats.mean_value is None and plain.stats.quantiles is None
    assert plain.stats.most_frequent == ((True, 2), (False, 1))
    masked = infer(pd.Series([True, None, False, False], dtype="boolean"))
    assert masked.data_type is DataType.BOOLEAN
    assert masked.nullable is True and masked.stats.na_count == 1
    assert masked.stats.min_value is False and masked.stats.max_value is True
    assert masked.stats.most_frequent == ((False, 2), (True, 1))


def test_ordered_category_uses_category_order() -> None:
    order = pd.CategoricalDtype(["low", "medium", "high"], ordered=True)
    series = pd.Series(["medium", "high", "low", None, "medium"], dtype=order)
    field = infer(series, "level")
    assert field.data_type is DataType.STRING
    assert field.logical_type is LogicalType.CATEGORICAL
    assert field.source_dtype == "category"
    assert field.properties == {"ordered": True}
    # Lexicographic order would say min "high", max "medium".
    assert field.stats.min_value == "low"
    assert field.stats.max_value == "high"
    assert field.stats.distinct_count == 3
    assert field.stats.na_count == 1


def test_unordered_category_of_integers() -> None:
    series = pd.Series([3, 1, 3, 2], dtype="category")
    field = infer(series)
    assert field.data_type is DataType.INT64
    assert field.logical_type is LogicalType.CATEGORICAL
    assert field.properties == {"ordered": False}
    assert (field.stats.min_value, field.stats.max_value) == (1, 3)
    assert field.stats.most_frequent == ((3, 2), (1, 1), (2, 1))


def test_unused_categories_are_not_counted() -> None:
    series = pd.Series(["a", "a"], dtype=pd.CategoricalDtype(["a", "b", "c"]))
    field = infer(series)
    assert field.stats.distinct_count == 1
    assert field.stats.most_frequent == (("a", 2),)


def test_datetimes_naive_and_aware() -> None:
    naive = pd.Series(
        pd.to_datetime(["2024-01-02 03:04:05.000006", None, "2023-05-06 00:00:00.000000"])
    )
    field = infer(naive)
    assert field.data_type is DataType.TIMESTAMP
    assert field.stats.min_value == dt.datetime(2023, 5, 6)
    assert field.stats.max_value == dt.datetime(2024, 1, 2, 3, 4, 5, 6)
    assert field.stats.na_count == 1
    assert field.stats.mean_value is None

    aware = naive.dt.tz_localize("Asia/Taipei")
    field = infer(aware)
    assert field.data_type is DataType.TIMESTAMP_TZ
    assert field.source_dtype == str(aware.dtype)
    assert field.stats.max_value == dt.datetime(
        2024, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=8))
    )
    assert field.stats.max_value.utcoffset() == dt.timedelta(hours=8)
    assert from_json(to_json(field)) == field


@pytest.mark.parametrize("dtype", ["str", "string[python]", "string[pyarrow]", object])
def test_string_dtypes(dtype) -> None:
    series = pd.Series(["b", "a", None, "b"], dtype=dtype)
    field = infer(series)
    assert field.data_type is DataType.STRING
    assert field.source_dtype == str(series.dtype)
    assert field.nullable is True and field.stats.na_count == 1
    assert field.stats.most_frequent == (("b", 2), ("a", 1))
    assert (field.stats.min_value, field.stats.max_value) == ("a", "b")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["a", 1, 2.5], DataType.OBJECT),
        ([b"ab", b"cd", None], DataType.BINARY),
        ([Decimal("1.5"), Decimal("2"), None], DataType.DECIMAL),
        ([dt.date(2020, 1, 1), dt.date(2021, 6, 1), None], DataType.DATE),
        ([dt.time(1, 2), dt.time(3, 4)], DataType.TIME),
    ],
)
def test_object_columns(values: list[object], expected: DataType) -> None:
    series = pd.Series(values, dtype=object)
    field = infer(series)
    assert field.data_type is expected
    assert field.source_dtype == "object"
    from_json(to_json(field))  # whatever the stats hold must be encodable


def test_mixed_object_column_has_no_order_but_counts() -> None:
    field = infer(pd.Series(["a", 1, "a", 2.5], dtype=object))
    assert field.stats.min_value is None and field.stats.max_value is None
    assert field.stats.distinct_count == 3
    assert field.stats.most_frequent[0] == ("a", 2)


def test_interval_categories_stay_encodable() -> None:
    series = pd.Series(pd.cut(np.arange(20), 4))
    field = infer(series, "bucket")
    assert field.logical_type is LogicalType.CATEGORICAL
    assert isinstance(field.stats.most_frequent[0][0], str)
    assert from_json(to_json(field)) == field


def test_most_frequent_breaks_ties_by_value() -> None:
    series = pd.Series([5, 4, 3, 2, 1, 6, 7, 7, 9, 8])
    assert infer(series).stats.most_frequent == ((7, 2), (1, 1), (2, 1), (3, 1), (4, 1))
    words = pd.Series(["pear", "fig", "apple", "kiwi", "date", "plum", "lime"])
    assert [v for v, _ in infer(words).stats.most_frequent] == sorted(words)[:5]
    # Fewer than five distinct values: ties still ordered by value, not by appearance.
    assert infer(pd.Series(["b", "c", "a", "c", "z", "y"])).stats.most_frequent == (
        ("c", 2), ("a", 1), ("b", 1), ("y", 1), ("z", 1)
    )
    assert infer(pd.Series([9, 3, 5, 3])).stats.most_frequent == ((3, 2), (5, 1), (9, 1))


def test_empty_and_all_na_columns() -> None:
    schema = Metadater.create_schema(pd.DataFrame({"a": pd.Series([], dtype="int64")}), "e")
    field = schema.fields[0]
    assert field.stats.row_count == 0 and field.stats.distinct_count == 0
    assert field.stats.min_value is None and field.stats.most_frequent is None
    assert schema.stats.na_percentage == 0.0
    all_na = infer(pd.Series([None, None], dtype="float64"))
    assert all_na.stats.na_count == 2 and all_na.stats.na_percentage == 100.0
    assert all_na.stats.mean_value is None and all_na.stats.quantiles is None


def test_single_value_has_no_std_and_inf_is_reported() -> None:
    assert infer(pd.Series([4.0])).stats.std_value is None
    stats = infer(pd.Series([1.0, math.inf])).stats
    assert stats.max_value == math.inf and stats.mean_value == math.inf
    assert from_json(to_json(stats)) == stats


# --- logical types ----------------------------------------------------------------------------


def _ids(n: int) -> list[str]:
    return [str(uuid.UUID(int=i * 7919 + 1)) for i in range(n)]


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("contact", [f"user{i}@example.com" for i in range(30)], LogicalType.EMAIL),
        ("token", _ids(30), LogicalType.UUID),
        ("homepage", [f"https://example.org/p/{i}?q=1" for i in range(30)], LogicalType.URL),
        ("addr", [f"10.0.{i}.1" for i in range(30)] + ["::1", "2001:db8::2"],
         LogicalType.IP_ADDRESS),
    ],
)
def test_pattern_logical_types(name: str, values: list[str], expected: LogicalType) -> None:
    field = infer(pd.Series([*values, None]), name)
    assert field.data_type is DataType.STRING
    assert field.logical_type is expected


@pytest.mark.parametrize(
    ("name", "values"),
    [
        ("contact", [*(f"user{i}@example.com" for i in range(30)), "user@localhost"]),
        ("token", [*_ids(30), _ids(1)[0][:-1] + "g"]),
        ("homepage", [f"https://example.org/{i}" for i in range(30)] + ["example.org/x"]),
        ("addr", [f"10.0.{i}.1" for i in range(30)] + ["256.1.1.1"]),
    ],
)
def test_near_misses_are_not_detected(name: str, values: list[str]) -> None:
    # One value out of pattern is enough to withhold the logical type.
    assert infer(pd.Series(values), name).logical_type is None


def test_primary_keys() -> None:
    assert infer(pd.Series([f"c{i}" for i in range(10)]), "customer_id").logical_type is (
        LogicalType.PRIMARY_KEY
    )
    assert infer(pd.Series([10, 11, 12, 13, 14]), "row").logical_type is LogicalType.PRIMARY_KEY
    assert infer(pd.Series([7, 3, 99, 12]), "userId").logical_type is LogicalType.PRIMARY_KEY
    # Unique measurements in a small table are not a key.
    assert infer(pd.Series([7, 3, 99, 12]), "weight").logical_type is None
    # Duplicates or missing values rule a key out, whatever the name.
    assert infer(pd.Series([1, 2, 2]), "id").logical_type is None
    assert infer(pd.Series([1.0, 2.0, None]), "id").logical_type is None
    # "paid" ends in "id" but is not an identifier.
    assert infer(pd.Series([3, 1, 40]), "paid").logical_type is None


def test_categorical_needs_few_distinct_values_relative_to_rows() -> None:
    many_rows = pd.Series(["red", "green", "blue"] * 40)
    assert infer(many_rows, "colour").logical_type is LogicalType.CATEGORICAL
    few_rows = pd.Series(["red", "green", "blue", "red"])
    assert infer(few_rows, "colour").logical_type is None


def test_range_hints_need_name_and_range() -> None:
    assert infer(pd.Series([25.0, 24.1, -33.9]), "lat").logical_type is LogicalType.LATITUDE
    assert infer(pd.Series([121.5, -70.6]), "pickup_longitude").logical_type is (
        LogicalType.LONGITUDE
    )
    assert infer(pd.Series([0, 55.5, 100]), "pct_done").logical_type is LogicalType.PERCENTAGE
    assert infer(pd.Series([0, 55.5, 100]), "score").logical_type is None
    assert infer(pd.Series([25.0, 120.0]), "lat").logical_type is None
    assert infer(pd.Series([0, 155]), "percent").logical_type is None


# --- schema-level behaviour --------------------------------------------------------------------


def test_duplicate_column_names_are_refused() -> None:
    df = pd.DataFrame([[1, 2]], columns=["a", "a"])
    with pytest.raises(MetadataError, match="duplicate"):
        Metadater.create_schema(df, "dupes")


def test_non_string_column_names_become_strings() -> None:
    schema = Metadater.create_schema(pd.DataFrame({0: [1], 1: ["x"]}), "ints")
    assert schema.field_names == ["0", "1"]


def test_schema_arguments_are_kept() -> None:
    df = pd.DataFrame({"a": [1, 2]})
    schema = Metadater.create_schema(df, "s1", description="d", properties={"source": "test"})
    assert schema.name == "s1"  # defaults to the id
    assert schema.description == "d"
    assert schema.properties == {"source": "test"}


def test_reinference_is_deterministic_apart_from_timestamps() -> None:
    df = load_adult().head(2000)
    first = Metadater.create_schema(df, "a")
    second = Metadater.create_schema(df.copy(), "a")
    assert [f.stats for f in first.fields] == [f.stats for f in second.fields]
    assert [(f.data_type, f.logical_type) for f in first.fields] == [
        (f.data_type, f.logical_type) for f in second.fields
    ]
