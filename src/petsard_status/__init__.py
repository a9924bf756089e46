"""petsard-status: a persistent, inspectable, resumable execution status for data pipelines.

The public names below are imported on first use (PEP 562), so that
``import petsard_status`` and the command line start quickly; type checkers
see ordinary imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petsard_status._lazy import lazy_exports
from petsard_status._version import __version__

if TYPE_CHECKING:
    from petsard_status.config import Config, FlowStep
    from petsard_status.errors import (
        ConcurrentWriterError,
        ConfigError,
        CorruptDataError,
        ExecutionError,
        ForeignObjectError,
        InvalidConfigError,
        LiveObjectUnavailableError,
        LockTimeoutError,
        MetadataError,
        ModuleError,
        NotAStoreError,
        PetsardStatusError,
        PutError,
        RunExistsError,
        RunInUseError,
        RunNotFoundError,
        SchemaVersionError,
        SerializationError,
        SnapshotError,
        StatusError,
        StoreConnectionError,
        StoreError,
        StoreFullError,
        StoreReadOnlyError,
        UnexecutedError,
        UnknownFormatError,
    )
    from petsard_status.metadata import (
        DataType,
        FieldMetadata,
        FieldStats,
        LogicalType,
        Metadater,
        SchemaMetadata,
        SchemaStats,
    )
    from petsard_status.modules.base import BaseAdapter, ModuleContext
    from petsard_status.status import ExecutionSnapshot, MetadataChange, Status, TimingRecord
    from petsard_status.store import Store

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "BaseAdapter": "petsard_status.modules.base",
    "ConcurrentWriterError": "petsard_status.errors",
    "Config": "petsard_status.config",
    "ConfigError": "petsard_status.errors",
    "CorruptDataError": "petsard_status.errors",
    "DataType": "petsard_status.metadata",
    "ExecutionError": "petsard_status.errors",
    "ForeignObjectError": "petsard_status.errors",
    "ExecutionSnapshot": "petsard_status.status",
    "FieldMetadata": "petsard_status.metadata",
    "FieldStats": "petsard_status.metadata",
    "FlowStep": "petsard_status.config",
    "InvalidConfigError": "petsard_status.errors",
    "LiveObjectUnavailableError": "petsard_status.errors",
    "LockTimeoutError": "petsard_status.errors",
    "LogicalType": "petsard_status.metadata",
    "MetadataChange": "petsard_status.status",
    "MetadataError": "petsard_status.errors",
    "Metadater": "petsard_status.metadata",
    "ModuleContext": "petsard_status.modules.base",
    "ModuleError": "petsard_status.errors",
    "NotAStoreError": "petsard_status.errors",
    "PetsardStatusError": "petsard_status.errors",
    "PutError": "petsard_status.errors",
    "RunExistsError": "petsard_status.errors",
    "RunInUseError": "petsard_status.errors",
    "RunNotFoundError": "petsard_status.errors",
    "SchemaMetadata": "petsard_status.metadata",
    "SchemaStats": "petsard_status.metadata",
    "SchemaVersionError": "petsard_status.errors",
    "SerializationError": "petsard_status.errors",
    "SnapshotError": "petsard_status.errors",
    "Status": "petsard_status.status",
    "StatusError": "petsard_status.errors",
    "Store": "petsard_status.store",
    "StoreConnectionError": "petsard_status.errors",
    "StoreError": "petsard_status.errors",
    "StoreFullError": "petsard_status.errors",
    "StoreReadOnlyError": "petsard_status.errors",
    "TimingRecord": "petsard_status.status",
    "UnexecutedError": "petsard_status.errors",
    "UnknownFormatError": "petsard_status.errors",
}

__all__ = [
    "BaseAdapter",
    "ConcurrentWriterError",
    "Config",
    "ConfigError",
    "CorruptDataError",
    "DataType",
    "ExecutionError",
    "ExecutionSnapshot",
    "FieldMetadata",
    "FieldStats",
    "FlowStep",
    "ForeignObjectError",
    "InvalidConfigError",
    "LiveObjectUnavailableError",
    "LockTimeoutError",
    "LogicalType",
    "MetadataChange",
    "MetadataError",
    "Metadater",
    "ModuleContext",
    "ModuleError",
    "NotAStoreError",
    "PetsardStatusError",
    "PutError",
    "RunExistsError",
    "RunInUseError",
    "RunNotFoundError",
    "SchemaMetadata",
    "SchemaStats",
    "SchemaVersionError",
    "SerializationError",
    "SnapshotError",
    "Status",
    "StatusError",
    "Store",
    "StoreConnectionError",
    "StoreError",
    "StoreFullError",
    "StoreReadOnlyError",
    "TimingRecord",
    "UnexecutedError",
    "UnknownFormatError",
    "__version__",
]


if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
