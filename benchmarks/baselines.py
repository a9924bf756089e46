"""The two baselines a put is compared with: the physical floor and the naive store.

Both use Python's ``sqlite3`` with the store's own pragmas (WAL,
``synchronous=FULL``, busy timeout) and one ``BEGIN IMMEDIATE`` transaction
per put, so the durability bought is the same as ours.

- :class:`PhysicalFloor` inserts a payload encoded beforehand, of the size our
  put writes: what one durable commit of that many bytes costs on this disk,
  with no encoding at all.  Nothing can put faster.
- :class:`NaiveStore` is the least work a sensible store would do: per put it
  encodes only the metadata *after* the module ran, as full canonical JSON (no
  deduplication), and the result frame through Arrow IPC
  (``pyarrow.Table.from_pandas`` and an IPC stream, pandas' own metadata
  included, so it round-trips), and writes both with a snapshot row.  It
  never pickles and never deduplicates.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc

from petsard_status import formats as codec

PRAGMAS = ("busy_timeout = 60000", "journal_mode = WAL", "synchronous = FULL")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    for pragma in PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn


def arrow_ipc(frame: pd.DataFrame) -> bytes:
    """A frame as one Arrow IPC stream, the way a naive store would write it."""
    table = pa.Table.from_pandas(frame)
    sink = pa.BufferOutputStream()
    with ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def result_frames(result: Any) -> list[pd.DataFrame]:
    if isinstance(result, pd.DataFrame):
        return [result]
    if isinstance(result, dict):
        return [frame for value in result.values() for frame in result_frames(value)]
    return []


class PhysicalFloor:
    """One durable commit per put of ``payload_bytes`` bytes made beforehand."""

    def __init__(self, path: Path, payload_bytes: int) -> None:
        self.conn = _connect(path)
        self.conn.execute("CREATE TABLE IF NOT EXISTS payloads (id INTEGER PRIMARY KEY, "
                          "data BLOB NOT NULL)")
        # Random bytes: SQLite does not compress, but nothing downstream should either.
        self.payload = os.urandom(max(1, payload_bytes))

    def put(self) -> None:
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO payloads (data) VALUES (?)", (self.payload,))
        conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()


class NaiveStore:
    """Full JSON of the metadata after, the result through Arrow IPC, one transaction."""

    def __init__(self, path: Path) -> None:
        self.conn = _connect(path)
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS snapshots (id INTEGER PRIMARY KEY, snapshot_id TEXT, "
            "module TEXT, experiment TEXT, timestamp TEXT, metadata_after TEXT, context TEXT)"
        )
        self.conn.execute(
            "CREATE TABLE IF NOT EXISTS results (snapshot INTEGER NOT NULL, "
            "position INTEGER NOT NULL, data BLOB NOT NULL)"
        )
        self.count = 0

    def put(self, module: str, expt: str, adapter: Any) -> None:
        get_metadata = getattr(adapter, "get_metadata", None)
        after = get_metadata() if callable(get_metadata) else None
        after_json = codec.to_json(after) if after is not None else None
        frames = [arrow_ipc(f) for f in result_frames(adapter.get_result())]
        self.count += 1
        now = dt.datetime.now()
        context = json.dumps({"module": module, "experiment": expt, "seq": self.count},
                             separators=(",", ":"))
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        cursor = conn.execute(
            "INSERT INTO snapshots (snapshot_id, module, experiment, timestamp, "
            "metadata_after, context) VALUES (?, ?, ?, ?, ?, ?)",
            (f"snapshot_{self.count:06d}_{now:%Y%m%d_%H%M%S}", module, expt, now.isoformat(),
             after_json, context),
        )
        conn.executemany("INSERT INTO results (snapshot, position, data) VALUES (?, ?, ?)",
                         [(cursor.lastrowid, i, data) for i, data in enumerate(frames)])
        conn.execute("COMMIT")

    def close(self) -> None:
        self.conn.close()
