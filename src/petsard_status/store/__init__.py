"""The database behind a Status: engine set-up, tables, migrations, runs, documents."""

from petsard_status.store.engine import default_store, resolve_url
from petsard_status.store.frame_files import FRAME_FILE_KIND, FrameWrites
from petsard_status.store.runs import (
    ChangeEntry,
    ChangeRow,
    PutRecord,
    RunRepository,
    SnapshotRow,
    TimingRow,
)
from petsard_status.store.store import DocumentWriter, EncodedSchema, Store, StoreArg

__all__ = [
    "FRAME_FILE_KIND",
    "ChangeEntry",
    "ChangeRow",
    "DocumentWriter",
    "EncodedSchema",
    "FrameWrites",
    "PutRecord",
    "RunRepository",
    "SnapshotRow",
    "Store",
    "StoreArg",
    "TimingRow",
    "default_store",
    "resolve_url",
]
