"""Every on-disk format of the store, in one place.

- metadata and plain values: canonical, versioned JSON (``to_json``, ``dumps_value``);
- result trees: a JSON tree whose leaves name frame blobs (``encode_result``);
- frames: Arrow IPC streams with a validated manifest (``encode_frame``);
- run state and train-index sets (``RunState``, ``encode_indices``);
- the export document that moves a run between stores (``validate_export``).

All of them read strictly through the helpers of ``_common``: one JSON parser
that refuses duplicate keys, bare constants and runaway nesting, one content
hash, one envelope check.
"""

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
