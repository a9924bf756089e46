"""The canonical JSON codec: exact round trips, stable bytes, strict decoding."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from petsard_status.errors import PetsardStatusError, SerializationError, UnknownFormatError
from petsard_status.formats import (
    content_hash,
    dumps_value,
    from_json,
    loads_value,
    schema_from_shell,
    schema_shell_to_json,
    shell_field_refs,
    to_json,
)
from petsard_status.metadata import (
    DataType,
    FieldMetadata,
    FieldStats,
    LogicalType,
    SchemaMetadata,
    SchemaStats,
)

# --- strategies ---------------------------------------------------------------------------

# Offsets strictly inside (-24h, 24h), down to the microsecond, as datetime allows.
fixed_offsets = st.timedeltas(
    min_value=-dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
    max_value=dt.timedelta(hours=23, minutes=59, seconds=59, microseconds=999999),
).map(dt.timezone)
timezones = st.none() | fixed_offsets | st.just(dt.UTC)
datetimes = st.datetimes(timezones=timezones)
times = st.times(timezones=timezones)

numpy_scalars = st.one_of(
    st.integers(-(2**63), 2**63 - 1).map(np.int64),
    st.integers(0, 255).map(np.uint8),
    st.floats(width=32).map(np.float32),
    st.floats().map(np.float64),
    st.booleans().map(np.bool_),
)

hashable_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(max_size=8),
    st.binary(max_size=8),
    st.decimals(allow_nan=False),
    st.dates(),
    datetimes,
    times,
    st.timedeltas(),
)
scalars = hashable_scalars | numpy_scalars | st.sampled_from([*DataType, *LogicalType])
keys = st.one_of(
    st.text(max_size=6),
    st.sampled_from(["$t", "v", "dict", "map"]),
    st.integers(),
    st.floats(),
    st.tuples(st.integers(), st.text(max_size=3)),
    st.dates(),
)
plain_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.tuples(children, children),
        st.dictionaries(keys, children, max_size=3),
        st.dictionaries(st.sampled_from(["$t", "v", "a"]), children, max_size=3),
    ),
    max_leaves=8,
)
properties = st.dictionaries(st.text(max_size=6) | st.just("$t"), plain_values, max_size=3)
numbers = st.integers(-(10**6), 10**6) | st.floats()

field_stats = st.builds(
    FieldStats,
    row_count=st.integers(0, 10**9),
    na_count=st.integers(0, 10**9) | st.integers(0, 10**6).map(np.int64),
    na_percentage=numbers,
    distinct_count=st.integers(0, 10**9),
    min_value=scalars,
    max_value=scalars,
    mean_value=st.none() | numbers | st.floats().map(np.float64),
    std_value=st.none() | numbers,
    quantiles=st.none() | st.dictionaries(st.floats(0, 1), st.none() | numbers, max_size=4),
    most_frequent=st.none()
    | st.lists(st.tuples(scalars, st.integers(0, 10**6)), max_size=5).map(tuple),
)
schema_stats = st.builds(
    SchemaStats,
    row_count=st.integers(0, 10**9),
    field_count=st.integers(0, 1000),
    na_count=st.integers(0, 10**9),
    na_percentage=numbers,
)
optional_text = st.none() | st.text(max_size=10)
field_metadata = st.builds(
    FieldMetadata,
    name=st.text(max_size=12),
    data_type=st.sampled_from(DataType),
    nullable=st.booleans() | st.booleans().map(np.bool_),
    source_dtype=optional_text,
    target_dtype=optional_text,
    logical_type=st.none() | st.sampled_from(LogicalType),
    description=optional_text,
    cast_error=st.sampled_from(["coerce", "raise", "ignore"]) | st.text(max_size=5),
    stats=st.none() | field_stats,
    properties=properties,
    created_at=datetimes,
    updated_at=datetimes,
)
schema_metadata = st.builds(
    SchemaMetadata,
    schema_id=st.text(max_size=12),
    name=st.text(max_size=12),
    description=optional_text,
    fields=st.lists(field_metadata, max_size=4).map(tuple),
    stats=st.none() | schema_stats,
    properties=properties,
    created_at=datetimes,
    updated_at=datetimes,
)
models = st.one_of(schema_metadata, field_metadata, field_stats, schema_stats)


def strict_loads(text: str) -> object:
    """json.loads that refuses the NaN / Infinity extensions, like PostgreSQL does."""

    def refuse(name: str) -> object:
        raise ValueError(f"bare {name}")

    return json.loads(text, parse_constant=refuse)


# --- round trips ----------------------------------------------------------------------------


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_metadata)
def test_schema_round_trip_is_exact_and_bytes_are_stable(schema: SchemaMetadata) -> None:
    text = to_json(schema)
    back = from_json(text, SchemaMetadata)
    assert back == schema
    assert to_json(back) == text
    # Canonical form: what the strict standard parser reads and re-dumps canonically.
    assert json.dumps(
        strict_loads(text), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ) == text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models)
def test_every_model_kind_round_trips(obj: object) -> None:
    text = to_json(obj)  # type: ignore[arg-type]
    back = from_json(text, type(obj))
    assert type(back) is type(obj)
    assert back == obj
    assert to_json(back) == text  # type: ignore[arg-type]


@settings(max_examples=300, deadline=None)
@given(plain_values)
def test_plain_values_round_trip(value: object) -> None:
    text = dumps_value(value)
    strict_loads(text)
    back = loads_value(text)
    assert dumps_value(back) == text
    # The model normalises numpy scalars the same way the codec does, so the two
    # must agree wherever the value has no lists (which the model turns into tuples).
    assert back == _python_equivalent(value)


def _python_equivalent(value: object) -> object:
    """What a value reads back as: numpy scalars as Python ones, NaN as math.nan."""
    from petsard_status.metadata.types import normalize_value

    if isinstance(value, list):
        return [_python_equivalent(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_python_equivalent(v) for v in value)
    if isinstance(value, dict):
        return {_python_equivalent(k): _python_equivalent(v) for k, v in value.items()}
    if isinstance(value, dt.datetime | dt.time) and value.tzinfo is not None:
        return value  # fixed offsets compare equal to their decoded timezone
    return normalize_value(value)


def test_quantile_float_keys_tuples_and_nan_survive() -> None:
    stats = FieldStats(
        row_count=10,
        na_count=1,
        na_percentage=10.0,
        distinct_count=3,
        min_value=math.nan,
        max_value=math.inf,
        mean_value=-math.inf,
        std_value=math.nan,
        quantiles={0.25: 1.5, 0.5: math.nan, 0.75: 2.0},
        most_frequent=(("a", 5), ((1, 2), 3), (math.nan, 1)),
    )
    back = from_json(to_json(stats), FieldStats)
    assert back == stats
    assert list(back.quantiles) == [0.25, 0.5, 0.75]
    assert all(type(k) is float for k in back.quantiles)
    assert back.most_frequent[1][0] == (1, 2)
    assert type(back.most_frequent[1][0]) is tuple
    assert math.isnan(back.min_value) and back.max_value == math.inf


def test_json_has_no_bare_nan_or_infinity() -> None:
    field = FieldMetadata(
        name="x",
        data_type=DataType.FLOAT64,
        stats=FieldStats(mean_value=math.nan, std_value=math.inf, min_value=-math.inf),
        properties={"weights": (math.nan, 1.0, -math.inf)},
    )
    text = to_json(field)
    assert "NaN" not in text and "Infinity" not in text
    doc = strict_loads(text)
    assert doc["value"]["stats"]["mean_value"] == {"$t": "float", "v": "nan"}
    assert doc["value"]["stats"]["std_value"] == {"$t": "float", "v": "inf"}


def test_datetimes_keep_microseconds_and_offsets() -> None:
    naive = dt.datetime(2024, 12, 24, 21, 0, 0, 123456)
    aware = dt.datetime(2024, 12, 24, 21, 0, 0, 1, tzinfo=dt.timezone(dt.timedelta(hours=5.5)))
    value = {"naive": naive, "aware": aware}
    text = dumps_value(value)
    assert '"2024-12-24T21:00:00.123456"' in text
    assert '"2024-12-24T21:00:00.000001+05:30"' in text
    back = loads_value(text)
    assert back["naive"] == naive and back["naive"].tzinfo is None
    assert back["aware"] == aware and back["aware"].utcoffset() == dt.timedelta(hours=5.5)


def test_named_zone_becomes_its_fixed_offset() -> None:
    summer = dt.datetime(2024, 7, 1, 12, tzinfo=ZoneInfo("Europe/Berlin"))
    winter = dt.datetime(2024, 1, 1, 12, tzinfo=ZoneInfo("Europe/Berlin"))
    back = loads_value(dumps_value([summer, winter]))
    assert back == [summer, winter]  # the same instants
    assert back[0].utcoffset() == dt.timedelta(hours=2)
    assert back[1].utcoffset() == dt.timedelta(hours=1)
    assert all(type(v.tzinfo) is dt.timezone for v in back)


def test_pandas_and_numpy_scalars_become_python_values() -> None:
    value = [np.int64(7), np.float32(0.5), np.bool_(True), pd.Timestamp("2020-01-02 03:04:05"),
             pd.Timedelta(seconds=3), pd.NA, pd.NaT, np.datetime64("2021-01-01")]
    back = loads_value(dumps_value(value))
    assert back == [7, 0.5, True, dt.datetime(2020, 1, 2, 3, 4, 5), dt.timedelta(seconds=3),
                    None, None, dt.datetime(2021, 1, 1)]
    assert [type(v) for v in back[:3]] == [int, float, bool]


def test_lists_stay_lists_and_tuples_stay_tuples() -> None:
    value = {"l": [1, [2]], "t": (1, (2,)), "d": Decimal("1.10"), "b": b"\x00\xff"}
    back = loads_value(dumps_value(value))
    assert back == value
    assert type(back["l"]) is list and type(back["t"]) is tuple and type(back["t"][1]) is tuple
    assert str(back["d"]) == "1.10"


def test_user_dict_with_tag_key_is_not_mistaken_for_a_tag() -> None:
    sneaky = {"$t": "float", "v": "nan"}
    back = loads_value(dumps_value(sneaky))
    assert back == sneaky
    assert type(back) is dict
    nested = {"x": [{"$t": "bytes", "v": "AA=="}], 1: {"$t": "tuple", "v": []}}
    assert loads_value(dumps_value(nested)) == nested


def test_map_entries_are_sorted_so_insertion_order_does_not_matter() -> None:
    a = {3: "c", 1: "a", 2.5: "b", (1, "x"): "t"}
    b = dict(reversed(list(a.items())))
    assert dumps_value(a) == dumps_value(b)
    props_a = FieldMetadata(name="f", data_type=DataType.STRING, properties={"z": 1, "a": 2},
                            created_at=dt.datetime(2020, 1, 1), updated_at=dt.datetime(2020, 1, 1))
    props_b = FieldMetadata(name="f", data_type=DataType.STRING, properties={"a": 2, "z": 1},
                            created_at=dt.datetime(2020, 1, 1), updated_at=dt.datetime(2020, 1, 1))
    assert to_json(props_a) == to_json(props_b)
    assert content_hash(to_json(props_a)) == content_hash(to_json(props_b))


def test_floats_use_shortest_repr_and_ints_stay_ints() -> None:
    doc = strict_loads(dumps_value([0.1, 1e16, 1.0, 3, True, 2**70]))
    assert doc["value"] == [0.1, 1e16, 1.0, 3, True, 2**70]
    assert [type(v) for v in doc["value"]] == [float, float, float, int, bool, int]
    assert dumps_value([0.1]).endswith('"value":[0.1],"version":1}')


# --- encoding errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "where", "what"),
    [
        ({"a": {1, 2}}, "value['a']", "set"),
        ({"a": [1, object()]}, "value['a'][1]", "object"),
        ([len], "value[0]", "builtin_function_or_method"),
        ({"k": (1, 2j)}, "value['k'][1]", "complex"),
    ],
)
def test_unencodable_values_name_path_and_type(value: object, where: str, what: str) -> None:
    with pytest.raises(SerializationError) as info:
        dumps_value(value)
    assert where in str(info.value)
    assert what in str(info.value)


def test_unencodable_value_inside_schema_names_field_path() -> None:
    bad = FieldMetadata(name="b", data_type=DataType.OBJECT,
                        stats=FieldStats(quantiles={0.5: frozenset({1})}))
    schema = SchemaMetadata(schema_id="s", name="s",
                            fields=(FieldMetadata(name="a", data_type=DataType.INT8), bad))
    with pytest.raises(SerializationError, match=r"value\.fields\[1\]\.stats\.quantiles"):
        to_json(schema)


def test_to_json_refuses_non_model_and_wrong_typed_fields() -> None:
    with pytest.raises(SerializationError, match="dumps_value"):
        to_json({"a": 1})  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match=r"value\.row_count"):
        to_json(FieldStats(row_count="ten"))  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match=r"value\.created_at"):
        to_json(FieldMetadata(name="x", data_type=DataType.INT8, created_at="yesterday"))


def test_cyclic_value_is_a_serialization_error() -> None:
    loop: list[object] = []
    loop.append(loop)
    with pytest.raises(SerializationError):
        dumps_value(loop)


def test_max_bytes_is_enforced_both_ways() -> None:
    text = dumps_value("x" * 1000)
    with pytest.raises(SerializationError, match="limit"):
        loads_value(text, max_bytes=500)
    with pytest.raises(SerializationError, match="limit"):
        dumps_value("x" * 1000, max_bytes=500)
    with pytest.raises(SerializationError, match="limit"):
        loads_value(text.encode(), max_bytes=500)
    assert loads_value(text, max_bytes=len(text)) == "x" * 1000


# --- decoding errors --------------------------------------------------------------------------


def _valid_field_doc() -> dict:
    field = FieldMetadata(
        name="a",
        data_type=DataType.FLOAT64,
        stats=FieldStats(row_count=3, quantiles={0.5: 1.0}, most_frequent=((1.0, 2),)),
        created_at=dt.datetime(2024, 1, 1),
        updated_at=dt.datetime(2024, 1, 1),
    )
    return json.loads(to_json(field))


def _dump(doc: object) -> str:
    return json.dumps(doc)


def test_unknown_version_format_and_kind() -> None:
    doc = _valid_field_doc()
    for key, value in (("version", 2), ("version", "1"), ("version", True),
                       ("format", "something-else"), ("kind", "table")):
        bad = dict(doc, **{key: value})
        with pytest.raises(UnknownFormatError):
            from_json(_dump(bad))
    missing_format = {k: v for k, v in doc.items() if k != "format"}
    with pytest.raises(UnknownFormatError):
        from_json(_dump(missing_format))
    with pytest.raises(UnknownFormatError):
        from_json("[1, 2]")


def test_wrong_shapes_name_where() -> None:
    doc = _valid_field_doc()
    cases = []
    extra = json.loads(_dump(doc))
    extra["value"]["colour"] = "red"
    cases.append((extra, "value: unexpected key"))
    missing = json.loads(_dump(doc))
    del missing["value"]["stats"]["row_count"]
    cases.append((missing, "value.stats: missing key"))
    wrong_type = json.loads(_dump(doc))
    wrong_type["value"]["nullable"] = "yes"
    cases.append((wrong_type, "value.nullable"))
    bad_enum = json.loads(_dump(doc))
    bad_enum["value"]["data_type"] = "int128"
    cases.append((bad_enum, "value.data_type: unknown data_type"))
    bad_quantiles = json.loads(_dump(doc))
    bad_quantiles["value"]["stats"]["quantiles"] = [1, 2]
    cases.append((bad_quantiles, "value.stats.quantiles"))
    bad_iso = json.loads(_dump(doc))
    bad_iso["value"]["created_at"] = "2024-13-45T99:00:00"
    cases.append((bad_iso, "value.created_at: bad ISO 8601"))
    bad_pair = json.loads(_dump(doc))
    bad_pair["value"]["stats"]["most_frequent"] = [[1.0, 2, 3]]
    cases.append((bad_pair, "value.stats.most_frequent[0]"))
    envelope_extra = dict(doc, extra=1)
    cases.append((envelope_extra, "document: unexpected key"))
    for bad, message in cases:
        with pytest.raises(SerializationError) as info:
            from_json(_dump(bad))
        assert not isinstance(info.value, UnknownFormatError)
        assert message in str(info.value), (message, str(info.value))


def test_unknown_tag_and_malformed_tags() -> None:
    doc = _valid_field_doc()
    for tagged, where in (
        ({"$t": "complex", "v": [1, 2]}, "unknown tag"),
        ({"$t": "float", "v": "1.5"}, "value.stats.min_value.v"),
        ({"$t": "float", "v": "nan", "extra": 1}, "exactly the keys"),
        ({"$t": "bytes", "v": "!!!"}, "bad base64"),
        ({"$t": "decimal", "v": "one"}, "bad decimal"),
        ({"$t": "timedelta", "v": [1, 2]}, "three integers"),
        ({"$t": "map", "v": [[[1], 2]]}, "hashable"),
        ({"$t": "map", "v": [[1, 2], [1, 3]]}, "duplicate map key"),
        ({"$t": 5, "v": 1}, "unknown tag"),
    ):
        bad = json.loads(_dump(doc))
        bad["value"]["stats"]["min_value"] = tagged
        with pytest.raises(SerializationError, match=r"value\.stats\.min_value") as info:
            from_json(_dump(bad))
        assert where in str(info.value)


def test_truncated_non_json_and_non_text_inputs() -> None:
    text = to_json(FieldMetadata(name="a", data_type=DataType.INT8))
    for bad in (text[:-1], text[: len(text) // 2], "", "not json", "{", b"\xff\xfe", "NaN"):
        with pytest.raises(SerializationError):
            from_json(bad)
    with pytest.raises(SerializationError):
        from_json(None)  # type: ignore[arg-type]
    with pytest.raises(SerializationError, match="bare NaN"):
        loads_value('{"format":"petsard-status/metadata","kind":"value","value":NaN,"version":1}')
    with pytest.raises(SerializationError, match="duplicate key"):
        loads_value('{"format":"petsard-status/metadata","kind":"value","value":1,'
                    '"value":2,"version":1}')
    with pytest.raises(SerializationError, match="float"):
        loads_value('{"format":"petsard-status/metadata","kind":"value","value":1e999,'
                    '"version":1}')


def test_expected_kind_is_checked() -> None:
    text = to_json(FieldStats())
    with pytest.raises(SerializationError, match="expected a SchemaMetadata"):
        from_json(text, SchemaMetadata)
    with pytest.raises(SerializationError, match="loads_value"):
        from_json(dumps_value(1))
    with pytest.raises(SerializationError, match="from_json"):
        loads_value(text)


def test_deep_nesting_is_a_serialization_error() -> None:
    deep = '{"format":"petsard-status/metadata","kind":"value","value":' + "[" * 100000
    with pytest.raises(SerializationError):
        loads_value(deep + "]" * 100000 + ',"version":1}')


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(SerializationError, match="surrogate"):
        dumps_value("a\ud800b")
    with pytest.raises(SerializationError, match="surrogate"):
        loads_value('{"format":"petsard-status/metadata","kind":"value",'
                    '"value":"\\ud800","version":1}')
    # A proper escaped pair is fine.
    assert loads_value('{"format":"petsard-status/metadata","kind":"value",'
                       '"value":"\\ud83d\\ude00","version":1}') == "\U0001f600"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=4) | st.sampled_from(["$t", "v"]), children, max_size=4),
    max_leaves=15,
)
kinds = st.sampled_from(["schema", "field", "field_stats", "schema_stats", "schema_shell", "value",
                         "other"])


def _decode_everything(text: str | bytes) -> None:
    # Anything but the package's own errors propagates and fails the test.
    for decode in (from_json, loads_value, shell_field_refs):
        with contextlib.suppress(PetsardStatusError):
            decode(text)  # type: ignore[operator]
    with contextlib.suppress(PetsardStatusError):
        schema_from_shell(text, [])


@settings(max_examples=300, deadline=None)
@given(json_values, kinds)
def test_arbitrary_json_only_raises_package_errors(value: object, kind: str) -> None:
    _decode_everything(json.dumps(value))
    envelope = {"format": "petsard-status/metadata", "version": 1, "kind": kind, "value": value}
    _decode_everything(json.dumps(envelope))


@settings(max_examples=300, deadline=None)
@given(st.text() | st.binary())
def test_arbitrary_text_only_raises_package_errors(text: str | bytes) -> None:
    _decode_everything(text)


def _paths(node: object, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_metadata, st.data())
def test_mutated_documents_only_raise_package_errors(schema: SchemaMetadata, data) -> None:
    doc = json.loads(to_json(schema))
    paths = _paths(doc)
    path = data.draw(st.sampled_from(paths[1:]))
    replacement = data.draw(json_values)
    node = doc
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = replacement
    try:
        back = from_json(json.dumps(doc))
    except PetsardStatusError:
        return
    # Whatever is accepted must itself be encodable and stable from then on.
    assert to_json(from_json(to_json(back))) == to_json(back)  # type: ignore[arg-type]


# --- structural sharing -----------------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_metadata)
def test_shell_and_fields_split_and_join(schema: SchemaMetadata) -> None:
    docs = [to_json(f) for f in schema.fields]
    refs = [content_hash(d) for d in docs]
    shell = schema_shell_to_json(schema, refs)
    assert json.loads(shell)["kind"] == "schema_shell"
    assert "fields" not in json.loads(shell)["value"]
    assert shell_field_refs(shell) == refs
    by_ref = {r: from_json(d, FieldMetadata) for r, d in zip(refs, docs)}
    joined = schema_from_shell(shell, [by_ref[r] for r in shell_field_refs(shell)])
    assert joined == schema
    assert to_json(joined) == to_json(schema)


def test_shell_rejects_mismatched_fields() -> None:
    schema = SchemaMetadata(schema_id="s", name="s",
                            fields=(FieldMetadata(name="a", data_type=DataType.INT8),))
    with pytest.raises(SerializationError, match="1 fields but 0"):
        schema_shell_to_json(schema, [])
    shell = schema_shell_to_json(schema, ["r1"])
    with pytest.raises(SerializationError, match="refers to 1 fields"):
        schema_from_shell(shell, [])
    with pytest.raises(SerializationError, match="schema_shell"):
        shell_field_refs(to_json(schema))


def test_content_hash_is_blake2b_128_of_utf8() -> None:
    import hashlib

    text = to_json(FieldMetadata(name="naïve ✓", data_type=DataType.STRING))
    assert content_hash(text) == hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()
    assert len(content_hash(text)) == 32
    assert "naïve ✓" in text  # written as UTF-8, not \u escapes


def test_one_changed_field_changes_one_field_document() -> None:
    stamp = dt.datetime(2024, 1, 1)
    fields = [FieldMetadata(name=f"f{i}", data_type=DataType.INT64, created_at=stamp,
                            updated_at=stamp) for i in range(10)]
    changed = list(fields)
    changed[3] = FieldMetadata(name="f3", data_type=DataType.FLOAT64, created_at=stamp,
                               updated_at=stamp)
    before = {content_hash(to_json(f)) for f in fields}
    after = {content_hash(to_json(f)) for f in changed}
    assert len(after - before) == 1
