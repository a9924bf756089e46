"""Metadata: the immutable model, its inference from DataFrames and diff.

The names are imported on first use (PEP 562): ``Metadater`` needs pandas, the
model and the diff do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petsard_status._lazy import lazy_exports

if TYPE_CHECKING:
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

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "DataType": "petsard_status.metadata.types",
    "FieldChange": "petsard_status.metadata.diff",
    "FieldMetadata": "petsard_status.metadata.types",
    "FieldStats": "petsard_status.metadata.types",
    "LogicalType": "petsard_status.metadata.types",
    "MetadataDiff": "petsard_status.metadata.diff",
    "Metadater": "petsard_status.metadata.infer",
    "SchemaMetadata": "petsard_status.metadata.types",
    "SchemaStats": "petsard_status.metadata.types",
    "diff": "petsard_status.metadata.diff",
    "from_petsard": "petsard_status.metadata.foreign",
    "is_petsard_schema": "petsard_status.metadata.foreign",
    "native": "petsard_status.metadata.foreign",
    "to_petsard": "petsard_status.metadata.foreign",
}

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

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
