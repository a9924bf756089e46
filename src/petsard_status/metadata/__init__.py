"""Metadata: the immutable model, its inference from DataFrames, JSON codec and diff."""

from petsard_status.metadata.codec import (
    content_hash,
    dumps_value,
    from_json,
    loads_value,
    to_json,
)
from petsard_status.metadata.diff import FieldChange, MetadataDiff, diff
from petsard_status.metadata.foreign import from_petsard, is_petsard_schema, native, to_petsard
from petsard_status.metadata.infer import Metadater
from petsard_status.metadata.types import (
    DataType,
    FieldMetadata,
    FieldStats,
    LogicalType,
    SchemaMetadata,
    SchemaStats,
)

__all__ = [
    "DataType",
    "FieldChange",
    "FieldMetadata",
    "FieldStats",
    "LogicalType",
    "MetadataDiff",
    "Metadater",
    "SchemaMetadata",
    "SchemaStats",
    "content_hash",
    "diff",
    "dumps_value",
    "from_json",
    "from_petsard",
    "is_petsard_schema",
    "loads_value",
    "native",
    "to_json",
    "to_petsard",
]
