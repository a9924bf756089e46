"""Result frames as ordinary SQL tables, for people who query rows with SQL tools.

Results are stored as Arrow blobs (exact dtypes, fast); on request a run's
active result frames are also written as plain tables named
``result_<run>_<module>_<experiment>[_<part>]`` and recorded in the
``materialized`` table (listed by ``materialized_view``).  Writing again
replaces them; dropping removes exactly the tables recorded there, nothing else.

A row of ``materialized`` is plain data anyone with SQL access can edit, so it
is never enough to drop or replace a table: the table must also be named
``result_[a-z0-9_]+`` (which no store table is) and hold exactly the columns we
wrote from the result frame the row records.  A row naming ``snapshots``, or
another application's table, is refused before anything is dropped.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass
from typing import Any

import pandas as pd
from sqlalchemy import MetaData, Table, delete, insert, inspect, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from petsard_status.config import Config
from petsard_status.errors import ConfigError, StoreError, UnexecutedError
from petsard_status.formats import RunState
from petsard_status.store import models as m
from petsard_status.store.store import Store
from petsard_status.store.translate import translate

PREFIX = "result_"
MAX_IDENTIFIER = 63  # PostgreSQL's limit (in bytes; our names are ASCII)
_VALID = re.compile(r"^result_[a-z0-9_]{1,56}$")


@dataclass(frozen=True)
class MaterializedTable:
    """One result frame written as a table."""

    table_name: str
    module: str
    experiment: str
    part: str
    snapshot_seq: int
    rows: int
    columns: int


def _short_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=4).hexdigest()


def table_name(run: str, module: str, experiment: str, part: str = "",
               *, hashed: bool = False) -> str:
    """The table for one result frame: lower-case ``[a-z0-9_]``, at most 63 characters.

    Names that had to be shortened (or, with ``hashed``, any name) end in a short
    hash of the full key, so different results never share a table.
    """
    key = "\x1f".join((run, module, experiment, part))
    words = [run, module, experiment, part]
    body = re.sub(r"[^a-z0-9]+", "_", "_".join(w for w in words if w).lower()).strip("_")
    name = PREFIX + (body or "x")
    if hashed or len(name) > MAX_IDENTIFIER:
        name = name[: MAX_IDENTIFIER - 9].rstrip("_") + "_" + _short_hash(key)
    if not _VALID.match(name):  # pragma: no cover - the construction above guarantees it
        raise StoreError(f"cannot build a valid table name for {module}[{experiment}]")
    return name


def _frames(value: Any, part: str = "") -> list[tuple[str, pd.DataFrame]]:
    """Every DataFrame inside a result, with its path of dict keys (``"train"``)."""
    if isinstance(value, pd.DataFrame):
        return [(part, value)]
    if isinstance(value, pd.Series):
        name = value.name if value.name is not None else "value"
        return [(part, value.to_frame(name=name))]
    if isinstance(value, dict):
        out = []
        for key, item in value.items():
            out.extend(_frames(item, f"{part}.{key}" if part else str(key)))
        return out
    return []


def _run_and_state(store: Store, run: str, module: str | None) -> tuple[Any, RunState]:
    row = store.run_row(run)
    state = RunState.from_json(row.head_json)
    if module is not None:
        sequence = Config(store.run_config(row)).sequence
        if module not in sequence:
            raise ConfigError(f"module {module!r} is not in run {run!r}; its modules are "
                              f"{', '.join(sequence)}")
        if module not in state.active_map:
            raise UnexecutedError(f"{module} has no result in run {run!r} (modules with "
                                  f"results: {', '.join(state.active_map) or 'none'})")
    return row, state


def materialize_run(store: Store, run: str, module: str | None = None) -> list[MaterializedTable]:
    """Write the run's active result frames (of ``module`` only, if given) as tables.

    Idempotent: writing again replaces the tables, and tables of results that are
    no longer active (after a restore, say) are dropped.  One transaction.
    """
    row, state = _run_and_state(store, run, module)
    wanted: list[tuple[str, Any, str, pd.DataFrame]] = []
    for name, entry in state.active:
        if module is not None and name != module:
            continue
        for part, frame in _frames(store.load_result(entry.result_ref)):
            wanted.append((name, entry, part, frame))
    now = dt.datetime.now()
    done: list[MaterializedTable] = []

    def work(conn: Connection) -> None:
        done.clear()
        recorded = {r.table_name: r for r in conn.execute(select(m.materialized))}
        mine = {
            (r.module, r.experiment, r.part): r.table_name
            for r in recorded.values()
            if r.run_id == row.id and (module is None or r.module == module)
        }
        existing = set(inspect(conn).get_table_names())
        for record in recorded.values():
            if record.run_id == row.id and (module is None or record.module == module):
                _refuse_foreign(store, conn, record, existing)
        keep: set[str] = set()
        for name, entry, part, frame in wanted:
            key = (name, entry.experiment, part)
            table = mine.get(key) or _free_name(run, key, recorded, existing, keep)
            keep.add(table)
            rows = _write_frame(conn, frame, table, f"{name}[{entry.experiment}] {part}".strip())
            conn.execute(delete(m.materialized).where(m.materialized.c.table_name == table))
            conn.execute(insert(m.materialized).values(
                table_name=table, run_id=row.id, module=name, experiment=entry.experiment,
                snapshot_seq=entry.snapshot_seq, part=part, created_at=now))
            done.append(MaterializedTable(table, name, entry.experiment, part,
                                          entry.snapshot_seq, rows, frame.shape[1]))
        for stale in set(mine.values()) - keep:
            _drop(conn, stale, stale in existing)

    store.write(work)
    return done


def _free_name(run: str, key: tuple[str, str, str], recorded: dict[str, Any],
               existing: set[str], taken: set[str]) -> str:
    for hashed in (False, True):
        name = table_name(run, *key, hashed=hashed)
        if name not in recorded and name not in existing and name not in taken:
            return name
    raise StoreError(
        f"cannot name a table for {key[0]}[{key[1]}] of run {run!r}: {name} already exists "
        "and is not a materialized result; rename or drop that table"
    )


def _written_columns(frame: pd.DataFrame, dialect: str) -> list[str]:
    """The columns ``_write_frame`` creates for ``frame``, as the database names them."""
    names = [str(c) for c in frame.columns]
    if not _default_index(frame):
        names = [str(n) if n is not None else "row_index" for n in frame.index.names] + names
    if dialect == "postgresql":
        # PostgreSQL truncates identifiers to 63 bytes.
        names = [n.encode("utf-8")[:MAX_IDENTIFIER].decode("utf-8", "ignore") for n in names]
    return names


def _recorded_frame(store: Store, conn: Connection, record: Any) -> pd.DataFrame | None:
    """The result frame that ``record`` says was written, from its snapshot's state."""
    s = m.snapshots.c
    state_json = conn.execute(select(s.state_json).where(
        s.run_id == record.run_id, s.seq == record.snapshot_seq)).scalar()
    if state_json is None:
        return None
    entry = RunState.from_json(state_json).active_map.get(record.module)
    if entry is None or entry.experiment != record.experiment or entry.result_ref is None:
        return None
    value = store.load_result(entry.result_ref, conn)
    return dict(_frames(value)).get(record.part)


def _refuse_foreign(store: Store, conn: Connection, record: Any, existing: set[str]) -> None:
    """Refuse a recorded table that ``materialize`` cannot have written; drops nothing."""
    table = record.table_name
    reason = None
    if not _VALID.match(table) or table in m.STORE_TABLES:
        reason = "its name is not one materialize gives"
    elif table in existing:
        frame = _recorded_frame(store, conn, record)
        actual = [c["name"] for c in inspect(conn).get_columns(table)]
        if frame is None:
            reason = "the snapshot it records has no such result frame"
        elif actual != _written_columns(frame, conn.dialect.name):
            reason = "its columns are not those of the result frame it records"
    if reason is not None:
        raise StoreError(
            f"refusing to replace or drop table {table!r}: the materialized row naming it "
            f"({record.module}[{record.experiment}]) was not written by materialize ({reason}); "
            "nothing was dropped. If the table is not a materialized result, delete its row "
            "from the materialized table, then run again"
        )


def _default_index(frame: pd.DataFrame) -> bool:
    index = frame.index
    return isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1


def _write_frame(conn: Connection, frame: pd.DataFrame, table: str, what: str) -> int:
    default_index = _default_index(frame)
    label: Any = None
    if not default_index:
        names = [n if n is not None else "row_index" for n in frame.index.names]
        label = names[0] if len(names) == 1 else names
    try:
        frame.to_sql(table, conn, if_exists="replace", index=not default_index,
                     index_label=label, chunksize=10_000)
    except SQLAlchemyError as exc:
        raise translate(exc, conn.engine) from exc
    except (ValueError, TypeError) as exc:
        raise StoreError(f"cannot write {what} as table {table}: {exc}") from exc
    return len(frame)


def _drop(conn: Connection, table: str, exists: bool = True) -> None:
    if not _VALID.match(table):
        raise StoreError(f"refusing to drop {table!r}: not a materialized result table")
    if exists:
        Table(table, MetaData()).drop(conn, checkfirst=True)
    conn.execute(delete(m.materialized).where(m.materialized.c.table_name == table))


def drop_materialized(store: Store, run: str, module: str | None = None) -> list[str]:
    """Drop the run's materialized tables (of ``module`` only, if given); return their names."""
    row = store.run_row(run)
    if module is not None:
        sequence = Config(store.run_config(row)).sequence
        if module not in sequence:
            raise ConfigError(f"module {module!r} is not in run {run!r}; its modules are "
                              f"{', '.join(sequence)}")
    dropped: list[str] = []

    def work(conn: Connection) -> None:
        dropped.clear()
        c = m.materialized.c
        query = select(m.materialized).where(c.run_id == row.id)
        if module is not None:
            query = query.where(c.module == module)
        existing = set(inspect(conn).get_table_names())
        records = conn.execute(query).all()
        for record in records:
            _refuse_foreign(store, conn, record, existing)
        for record in records:
            _drop(conn, record.table_name, record.table_name in existing)
            dropped.append(record.table_name)

    store.write(work)
    return sorted(dropped)


def list_materialized(store: Store, run: str | None = None) -> list[dict[str, Any]]:
    """Rows of ``materialized``, with the run's name, in table-name order."""
    c = m.materialized.c
    query = (select(m.runs.c.name.label("run"), c.module, c.experiment, c.part, c.table_name,
                    c.snapshot_seq, c.created_at)
             .join_from(m.materialized, m.runs, m.runs.c.id == c.run_id)
             .order_by(c.table_name))
    if run is not None:
        query = query.where(m.runs.c.id == store.run_row(run).id)
    return store.read(lambda conn: [dict(r._mapping) for r in conn.execute(query)])
