"""Metadata: the immutable model, its inference from DataFrames and diff."""

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
    "diff",
    "from_petsard",
    "is_petsard_schema",
    "native",
    "to_petsard",
]
