"""Metadata: the immutable model, its inference from DataFrames and diff.

``Metadater`` is imported on first use (PEP 562): it needs pandas, the model and
the diff do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petsard_status._lazy import lazy_exports
from petsard_status.metadata.diff import FieldChange, MetadataDiff, diff
from petsard_status.metadata.foreign import from_petsard, is_petsard_schema, native, to_petsard
from petsard_status.metadata.types import (
    DataType,
    FieldMetadata,
    FieldStats,
    LogicalType,
    SchemaMetadata,
    SchemaStats,
)

if TYPE_CHECKING:
    from petsard_status.metadata.infer import Metadater

# Only inference needs pandas; the model, the diff and PETsARD's schemas are imported above.
_EXPORTS = {"Metadater": "petsard_status.metadata.infer"}

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
