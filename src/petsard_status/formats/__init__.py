"""Every on-disk format of the store, in one place.

- metadata and plain values: canonical, versioned JSON (``to_json``, ``dumps_value``);
- result trees: a JSON tree whose leaves name frame blobs (``encode_result``);
- frames: Arrow IPC streams with a validated manifest (``encode_frame``);
- run state and train-index sets (``RunState``, ``encode_indices``);
- the export document that moves a run between stores (``validate_export``).

All of them read strictly through the helpers of ``_common``: one JSON parser
that refuses duplicate keys, bare constants and runaway nesting, one content
hash, one envelope check.

The names below are imported on first use (PEP 562): the frame codec needs pandas
and pyarrow, and a command that only lists a run's history should not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petsard_status._lazy import lazy_exports

if TYPE_CHECKING:
    from petsard_status.formats._common import (
        MAX_JSON_DEPTH,
        check_envelope,
        hash_bytes,
        record_id,
        short_repr,
        strict_loads,
        write_file_atomically,
    )
    from petsard_status.formats._export import (
        BLOB_KINDS,
        CHANGE_COLUMNS,
        EXPORT_FORMAT,
        EXPORT_VERSION,
        RESTORE_COLUMNS,
        RUN_COLUMNS,
        RUN_STATES,
        SNAPSHOT_COLUMNS,
        TIMING_COLUMNS,
        decode_config,
        encode_blob,
        export_document,
        read_export,
        validate_export,
        write_export,
    )
    from petsard_status.formats._frame_stream import read_frame, write_frame
    from petsard_status.formats._frames import (
        FRAME_FORMAT,
        FRAME_VERSION,
        FRAME_VERSION_BATCHED,
        MANIFEST_KEY,
        Compression,
        decode_frame,
        encode_frame,
        frame_cells,
    )
    from petsard_status.formats._metadata import (
        DEFAULT_MAX_BYTES,
        FORMAT,
        VERSION,
        content_hash,
        dumps_value,
        from_json,
        loads_value,
        schema_from_shell,
        schema_shell_to_json,
        shell_field_refs,
        to_json,
    )
    from petsard_status.formats._results import (
        TREE_FORMAT,
        TREE_VERSION,
        EncodedResult,
        FrameWriter,
        PendingFrame,
        decode_result,
        encode_result,
        finish_result,
        frame_compression,
        tree_frame_refs,
    )
    from petsard_status.formats._state import ActiveEntry, RunState, decode_indices, encode_indices

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "ActiveEntry": "petsard_status.formats._state",
    "BLOB_KINDS": "petsard_status.formats._export",
    "CHANGE_COLUMNS": "petsard_status.formats._export",
    "Compression": "petsard_status.formats._frames",
    "DEFAULT_MAX_BYTES": "petsard_status.formats._metadata",
    "EXPORT_FORMAT": "petsard_status.formats._export",
    "EXPORT_VERSION": "petsard_status.formats._export",
    "EncodedResult": "petsard_status.formats._results",
    "FORMAT": "petsard_status.formats._metadata",
    "FRAME_FORMAT": "petsard_status.formats._frames",
    "FRAME_VERSION": "petsard_status.formats._frames",
    "FRAME_VERSION_BATCHED": "petsard_status.formats._frames",
    "FrameWriter": "petsard_status.formats._results",
    "MANIFEST_KEY": "petsard_status.formats._frames",
    "MAX_JSON_DEPTH": "petsard_status.formats._common",
    "PendingFrame": "petsard_status.formats._results",
    "RESTORE_COLUMNS": "petsard_status.formats._export",
    "RUN_COLUMNS": "petsard_status.formats._export",
    "RUN_STATES": "petsard_status.formats._export",
    "RunState": "petsard_status.formats._state",
    "SNAPSHOT_COLUMNS": "petsard_status.formats._export",
    "TIMING_COLUMNS": "petsard_status.formats._export",
    "TREE_FORMAT": "petsard_status.formats._results",
    "TREE_VERSION": "petsard_status.formats._results",
    "VERSION": "petsard_status.formats._metadata",
    "check_envelope": "petsard_status.formats._common",
    "content_hash": "petsard_status.formats._metadata",
    "decode_config": "petsard_status.formats._export",
    "decode_frame": "petsard_status.formats._frames",
    "decode_indices": "petsard_status.formats._state",
    "decode_result": "petsard_status.formats._results",
    "dumps_value": "petsard_status.formats._metadata",
    "encode_blob": "petsard_status.formats._export",
    "encode_frame": "petsard_status.formats._frames",
    "encode_indices": "petsard_status.formats._state",
    "encode_result": "petsard_status.formats._results",
    "export_document": "petsard_status.formats._export",
    "finish_result": "petsard_status.formats._results",
    "frame_cells": "petsard_status.formats._frames",
    "frame_compression": "petsard_status.formats._results",
    "from_json": "petsard_status.formats._metadata",
    "hash_bytes": "petsard_status.formats._common",
    "loads_value": "petsard_status.formats._metadata",
    "read_export": "petsard_status.formats._export",
    "read_frame": "petsard_status.formats._frame_stream",
    "record_id": "petsard_status.formats._common",
    "schema_from_shell": "petsard_status.formats._metadata",
    "schema_shell_to_json": "petsard_status.formats._metadata",
    "shell_field_refs": "petsard_status.formats._metadata",
    "short_repr": "petsard_status.formats._common",
    "strict_loads": "petsard_status.formats._common",
    "to_json": "petsard_status.formats._metadata",
    "tree_frame_refs": "petsard_status.formats._results",
    "validate_export": "petsard_status.formats._export",
    "write_export": "petsard_status.formats._export",
    "write_file_atomically": "petsard_status.formats._common",
    "write_frame": "petsard_status.formats._frame_stream",
}

__all__ = [
    "BLOB_KINDS",
    "CHANGE_COLUMNS",
    "DEFAULT_MAX_BYTES",
    "EXPORT_FORMAT",
    "EXPORT_VERSION",
    "FORMAT",
    "FRAME_FORMAT",
    "FRAME_VERSION",
    "FRAME_VERSION_BATCHED",
    "MANIFEST_KEY",
    "MAX_JSON_DEPTH",
    "RESTORE_COLUMNS",
    "RUN_COLUMNS",
    "RUN_STATES",
    "SNAPSHOT_COLUMNS",
    "TIMING_COLUMNS",
    "TREE_FORMAT",
    "TREE_VERSION",
    "VERSION",
    "ActiveEntry",
    "Compression",
    "EncodedResult",
    "FrameWriter",
    "PendingFrame",
    "RunState",
    "check_envelope",
    "content_hash",
    "decode_config",
    "decode_frame",
    "decode_indices",
    "decode_result",
    "dumps_value",
    "encode_blob",
    "encode_frame",
    "encode_indices",
    "encode_result",
    "export_document",
    "finish_result",
    "frame_cells",
    "frame_compression",
    "from_json",
    "hash_bytes",
    "loads_value",
    "read_export",
    "read_frame",
    "record_id",
    "schema_from_shell",
    "schema_shell_to_json",
    "shell_field_refs",
    "short_repr",
    "strict_loads",
    "to_json",
    "tree_frame_refs",
    "validate_export",
    "write_export",
    "write_file_atomically",
    "write_frame",
]


if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
