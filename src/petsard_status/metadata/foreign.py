"""PETsARD's own metadata classes, stored as this package's model and given back as themselves.

PETsARD 1.10 describes a table with ``petsard.metadater.metadata.Schema`` (a
mutable dataclass: ``id``, ``attributes: dict[str, Attribute]``, ``stats``).
:func:`from_petsard` turns one into a :class:`SchemaMetadata` holding one
:class:`FieldMetadata` per attribute, so that it is stored like any other
schema: at field level, content-addressed, as canonical JSON (no pickle).

Each field carries two things:

- the model's own attributes, read from the PETsARD attribute (``data_type``
  from ``type``, ``nullable`` from ``type_attr``, ``stats`` from its stats, the
  timestamps), which is what the field-level change records compare, so they
  say what a PETsARD module did to each field (``data_type``, ``stats`` ...);
- ``properties["petsard"]``: every other value of the PETsARD attribute,
  exactly, from which :func:`to_petsard` rebuilds it.

The schema keeps its own PETsARD values (``stage``, ``primary_key``, table
stats ...) in ``properties["petsard"]`` the same way, with ``"class"`` naming
the class it came from.  :func:`native` gives back a new PETsARD object for a
schema that came from one (a fresh, mutable object on every call, equal to the
one stored) and any other schema unchanged.

PETsARD is recognised by type, through ``sys.modules``: an object can only be a
PETsARD schema if PETsARD is already imported, so this module never imports it
to look.  Rebuilding imports it lazily; where PETsARD is not installed the
stored :class:`SchemaMetadata` is returned as it is.
"""

from __future__ import annotations

import dataclasses
import importlib
import sys
from typing import Any

from petsard_status.errors import MetadataError
from petsard_status.metadata.types import (
    DataType,
    FieldMetadata,
    FieldStats,
    LogicalType,
    SchemaMetadata,
    SchemaStats,
)

__all__ = ["from_petsard", "is_petsard_schema", "native", "to_petsard"]

PETSARD_KEY = "petsard"
_METADATA_MODULE = "petsard.metadater.metadata"
_STATS_MODULE = "petsard.metadater.stats"
_SCHEMA_CLASS = f"{_METADATA_MODULE}.Schema"

# Mapped onto the model's own attributes (see the module docstring); everything else of
# an Attribute or a Schema goes into properties["petsard"].
_ATTRIBUTE_MAPPED = ("name", "description", "cast_errors", "created_at", "updated_at")
# Init-only sugar that Attribute.__post_init__ moves into type_attr and deletes.
_ATTRIBUTE_SUGAR = ("category", "nullable", "precision")
_SCHEMA_MAPPED = ("id", "description", "attributes", "created_at", "updated_at")

_DATA_TYPES = {t.value: t for t in DataType}
_PANDAS_TYPES = {
    "bool": DataType.BOOLEAN, "str": DataType.STRING, "category": DataType.STRING,
    "datetime64[ns]": DataType.TIMESTAMP, "datetime": DataType.TIMESTAMP,
    "float": DataType.FLOAT64, "int": DataType.INT64,
}
_LOGICAL_TYPES = {t.value: t for t in LogicalType}
# The only classes a stored document may name: it is untrusted input.
_STATS_CLASSES = frozenset({"FieldStats", "TableStats", "DatasetsStats"})


def is_petsard_schema(value: Any) -> bool:
    """True if ``value`` is a PETsARD ``Schema`` (without importing PETsARD)."""
    module = sys.modules.get(_METADATA_MODULE)
    return module is not None and isinstance(value, module.Schema)


def from_petsard(schema: Any) -> SchemaMetadata:
    """A PETsARD ``Schema`` as a :class:`SchemaMetadata`, one field per attribute."""
    if not is_petsard_schema(schema):
        raise MetadataError(f"expected a PETsARD Schema, got {type(schema).__name__}")
    fields = tuple(_field(name, attr) for name, attr in schema.attributes.items())
    extra = {f.name: _plain(getattr(schema, f.name)) for f in dataclasses.fields(schema)
             if f.name not in _SCHEMA_MAPPED}
    extra["class"] = _SCHEMA_CLASS
    extra["keys"] = list(schema.attributes)
    return SchemaMetadata(
        schema_id=schema.id,
        name=schema.name if schema.name is not None else schema.id,
        description=schema.description,
        fields=fields,
        stats=_schema_stats(schema.stats),
        properties={PETSARD_KEY: extra},
        created_at=schema.created_at,
        updated_at=schema.updated_at,
    )


def _field(key: str, attr: Any) -> FieldMetadata:
    if key != attr.name:
        # The stored field is named by the attribute; a different key would be lost.
        raise MetadataError(f"PETsARD Schema attribute key {key!r} differs from its "
                            f"name {attr.name!r}; make them equal")
    type_attr = attr.type_attr or {}
    extra = {f.name: _plain(getattr(attr, f.name)) for f in dataclasses.fields(attr)
             if f.name not in _ATTRIBUTE_MAPPED and f.name not in _ATTRIBUTE_SUGAR}
    return FieldMetadata(
        name=attr.name,
        data_type=_data_type(attr.type),
        nullable=bool(type_attr.get("nullable", True)),
        source_dtype=attr.type,
        logical_type=_LOGICAL_TYPES.get(str(attr.logical_type).lower()),
        description=attr.description,
        cast_error=attr.cast_errors,
        stats=_field_stats(attr.stats),
        properties={PETSARD_KEY: extra},
        created_at=attr.created_at,
        updated_at=attr.updated_at,
    )


def _data_type(petsard_type: str | None) -> DataType:
    if petsard_type is None:
        return DataType.OBJECT
    text = petsard_type.lower()
    if text in _DATA_TYPES:
        return _DATA_TYPES[text]
    if text in _PANDAS_TYPES:
        return _PANDAS_TYPES[text]
    if text.startswith("datetime64[") and "," in text:
        return DataType.TIMESTAMP_TZ
    return DataType.OBJECT


def _field_stats(stats: Any) -> FieldStats | None:
    if stats is None:
        return None
    quartiles = {0.25: stats.q1, 0.5: stats.median, 0.75: stats.q3}
    has_mode = stats.mode is not None and stats.mode_frequency is not None
    return FieldStats(
        row_count=stats.row_count, na_count=stats.na_count,
        na_percentage=stats.na_percentage, distinct_count=stats.unique_count,
        min_value=stats.min, max_value=stats.max, mean_value=stats.mean,
        std_value=stats.std,
        quantiles=quartiles if any(v is not None for v in quartiles.values()) else None,
        most_frequent=((stats.mode, stats.mode_frequency),) if has_mode else None,
    )


def _schema_stats(stats: Any) -> SchemaStats | None:
    if stats is None:
        return None
    return SchemaStats(row_count=stats.row_count, field_count=stats.column_count,
                       na_count=stats.total_na_count, na_percentage=stats.total_na_percentage)


def _plain(value: Any) -> Any:
    """PETsARD's values as plain data; its frozen stats dataclasses as tagged dicts."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"$class": type(value).__name__,
                **{f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# --- back ---------------------------------------------------------------------------


def native(schema: SchemaMetadata | None) -> Any:
    """The PETsARD object ``schema`` was made from (a new one per call), else ``schema``."""
    if schema is None or not _is_from_petsard(schema):
        return schema
    try:
        return to_petsard(schema)
    except ImportError:
        # Opened where PETsARD is not installed: the stored model is all there is.
        return schema


def _is_from_petsard(schema: SchemaMetadata) -> bool:
    extra = schema.properties.get(PETSARD_KEY)
    return isinstance(extra, dict) and extra.get("class") == _SCHEMA_CLASS


def to_petsard(schema: SchemaMetadata) -> Any:
    """Rebuild the PETsARD ``Schema`` that :func:`from_petsard` stored as ``schema``."""
    if not _is_from_petsard(schema):
        raise MetadataError(f"schema {schema.schema_id!r} was not made from a PETsARD Schema")
    classes = importlib.import_module(_METADATA_MODULE)
    extra = _unplain(schema.properties[PETSARD_KEY])
    extra.pop("class")
    keys = extra.pop("keys")
    by_name = {f.name: f for f in schema.fields}
    attributes = {key: _attribute(classes.Attribute, by_name[key]) for key in keys}
    return classes.Schema(
        id=schema.schema_id, description=schema.description, attributes=attributes,
        created_at=schema.created_at, updated_at=schema.updated_at, **extra,
    )


def _attribute(attribute_class: type, f: FieldMetadata) -> Any:
    return attribute_class(
        name=f.name, description=f.description, cast_errors=f.cast_error,
        created_at=f.created_at, updated_at=f.updated_at,
        **_unplain(f.properties[PETSARD_KEY]),
    )


def _unplain(value: Any) -> Any:
    """Inverse of :func:`_plain`; the model holds lists as tuples, PETsARD as lists."""
    if isinstance(value, dict):
        if "$class" in value:
            if value["$class"] not in _STATS_CLASSES:
                raise MetadataError(f"a stored PETsARD schema names an unknown class "
                                    f"{value['$class']!r}; the store is damaged or foreign")
            stats = importlib.import_module(_STATS_MODULE)
            fields = {k: _unplain(v) for k, v in value.items() if k != "$class"}
            return getattr(stats, value["$class"])(**fields)
        return {k: _unplain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_unplain(v) for v in value]
    return value
