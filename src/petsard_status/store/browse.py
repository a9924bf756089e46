"""The read model of the web view: every query its pages run, each reading only what a page shows.

A :class:`Browser` opens a store for reading only: a SQLite file through a
read-only connection (``mode=ro`` and ``PRAGMA query_only``), a PostgreSQL
database in read-only transactions, and in both cases without creating or
migrating anything.  Each method answers one page's question with bound
parameters and a ``LIMIT`` where a run can be long, so a run of 100,000
snapshots costs the page the rows it shows, not the run's history.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, create_engine, event, func, select
from sqlalchemy.engine import URL, Engine, Row

from petsard_status.errors import (
    CorruptDataError,
    NotAStoreError,
    RunNotFoundError,
    SnapshotError,
    StoreConnectionError,
)
from petsard_status.formats import loads_value
from petsard_status.store import models as m
from petsard_status.store.engine import resolve_url, sqlite_path
from petsard_status.store.leases import Lease, leases_of
from petsard_status.store.overview import liveness
from petsard_status.store.store import Store

__all__ = ["Browser", "context_of"]

READ_ONLY_PG = "-c default_transaction_read_only=on"


def _read_only_url(db: str | os.PathLike[str] | URL | None) -> URL:
    url = resolve_url(db)
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(url)
        if path is None:
            raise StoreConnectionError(
                "an in-memory database holds no runs to browse; give a SQLite file or a URL"
            )
        if not path.is_file():
            raise StoreConnectionError(
                f"no database at {path}; give an existing store with --db PATH_OR_URL "
                "(`petsard-status run PIPELINE.yaml --db PATH` creates one)"
            )
        return URL.create("sqlite", database=f"file:{path.resolve()}",
                          query={"mode": "ro", "uri": "true"})
    if url.get_backend_name() == "postgresql":
        options = url.query.get("options")
        if isinstance(options, tuple):
            options = " ".join(options)
        merged = f"{options} {READ_ONLY_PG}" if options else READ_ONLY_PG
        return url.update_query_dict({"options": merged})
    return url


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    # Refuse writes on the connection itself, whatever a statement asks for.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA query_only = ON")


class Browser:
    """Read-only access to a store for the web view's pages."""

    def __init__(self, db: str | os.PathLike[str] | URL | None = None) -> None:
        url = _read_only_url(db)
        self.engine: Engine = create_engine(url)
        event.listen(self.engine, "connect", _query_only)
        try:
            self.store = Store(self.engine, upgrade=False)
        except BaseException:
            self.engine.dispose()
            raise
        if not self.store.revision:
            self.engine.dispose()
            raise NotAStoreError(
                f"{self.store.location} holds no petsard-status store; point --db at a "
                "database written by petsard-status"
            )

    @property
    def location(self) -> str:
        return self.store.location

    def close(self) -> None:
        self.store.close()
        self.engine.dispose()

    def _all(self, query: Any) -> list[Row]:
        return self.store.read(lambda conn: list(conn.execute(query).all()))

    def _one(self, query: Any) -> Any:
        return self.store.read(lambda conn: conn.execute(query).scalar())

    # --- runs --------------------------------------------------------------------------

    def runs(self, state: str | None, offset: int, limit: int) -> tuple[list[Row], int]:
        """A page of runs, newest first, with their snapshot counts; and how many match."""
        r, s = m.runs.c, m.snapshots.c
        steps = (select(func.count()).where(s.run_id == r.id)
                 .correlate(m.runs).scalar_subquery().label("steps_done"))
        query = select(r.id, r.name, r.state, r.created_at, r.updated_at, r.finished_at,
                       r.error, r.failed_step, r.info_json, steps)
        count = select(func.count()).select_from(m.runs)
        if state in ("running", "stale"):
            # Which running runs are stale is decided from their leases, not a column:
            # there are few running runs, so they are told apart here.
            running = self._all(query.where(r.state == "running").order_by(r.id.desc()))
            held = leases_of(self.store)
            shown = [row for row in running if self.shown_state(row, held) == state]
            return shown[offset:offset + limit], len(shown)
        if state:
            query = query.where(r.state == state)
            count = count.where(r.state == state)
        query = query.order_by(r.id.desc()).offset(offset).limit(limit)
        return self._all(query), int(self._one(count) or 0)

    def shown_state(self, row: Any, held: dict[int, Lease] | None = None) -> str:
        """The run's state as people should see it: a running run nobody keeps alive is stale.

        ``held`` is the store's leases, when the caller has read them already.
        """
        if row.state != "running":
            return str(row.state)
        lease = (leases_of(self.store) if held is None else held).get(row.id)
        return liveness(row.state, row.updated_at, lease, dt.datetime.now())[0]

    def states(self) -> list[str]:
        return [row[0] for row in self._all(
            select(m.runs.c.state).distinct().order_by(m.runs.c.state))]

    def run(self, name: str) -> Row:
        row = self.store.read(
            lambda conn: conn.execute(select(m.runs).where(m.runs.c.name == name)).first())
        if row is None:
            raise RunNotFoundError(f"no run named {name!r} in {self.location}; the runs page "
                                   "lists the runs there")
        return row

    def run_config(self, row: Row) -> dict[str, Any]:
        return self.store.run_config(row)

    def progress(self, run_id: int) -> dict[str, Any]:
        """What a running run's page polls: its state and how far it got."""
        s, r = m.snapshots.c, m.runs.c
        query = select(r.state, r.updated_at,
                       select(func.max(s.seq)).where(s.run_id == run_id).scalar_subquery(),
                       select(func.max(m.timings.c.seq))
                       .where(m.timings.c.run_id == run_id).scalar_subquery()
                       ).where(r.id == run_id)
        row = self.store.read(lambda conn: conn.execute(query).first())
        if row is None:
            raise RunNotFoundError(f"run {run_id} is no longer in {self.location}")
        return {"state": row[0], "updated": row[1].isoformat() if row[1] else None,
                "snapshots": int(row[2] or 0), "timings": int(row[3] or 0)}

    # --- steps and timings -------------------------------------------------------------

    def step_count(self, run_id: int) -> int:
        return int(self._one(select(func.count()).where(m.snapshots.c.run_id == run_id)) or 0)

    def latest_steps(self, run_id: int, offset: int, limit: int) -> list[Row]:
        """A page of the run's snapshots, newest first (context included, no state)."""
        s = m.snapshots.c
        return self._all(
            select(s.seq, s.snapshot_id, s.module, s.experiment, s.timestamp, s.schema_before,
                   s.schema_after, s.context_json)
            .where(s.run_id == run_id).order_by(s.seq.desc()).offset(offset).limit(limit))

    def step_groups(self, run_id: int) -> list[dict[str, Any]]:
        """Per module: how many puts, the first and the last, and the last one's experiment.

        Grouped by module alone so that the ``(run_id, module, seq)`` index answers
        it without reading the snapshot rows (20 ms at 100,000 snapshots).
        """
        s = m.snapshots.c
        groups = self._all(
            select(s.module, func.count().label("puts"), func.min(s.seq).label("first_seq"),
                   func.max(s.seq).label("last_seq"))
            .where(s.run_id == run_id).group_by(s.module).order_by(func.min(s.seq)))
        last = {row.seq: row for row in self._all(
            select(s.seq, s.experiment, s.timestamp)
            .where(and_(s.run_id == run_id, s.seq.in_([g.last_seq for g in groups]))))}
        return [{"module": g.module, "puts": g.puts, "first_seq": g.first_seq,
                 "last_seq": g.last_seq, "last_experiment": last[g.last_seq].experiment,
                 "last_time": last[g.last_seq].timestamp} for g in groups]

    def latest_timings(self, run_id: int, limit: int) -> list[Row]:
        """The run's latest finished timing records, oldest of them first."""
        t = m.timings.c
        rows = self._all(
            select(t.seq, t.record_id, t.module, t.experiment, t.step, t.start_time,
                   t.end_time, t.duration_seconds, t.context_json)
            .where(t.run_id == run_id).order_by(t.seq.desc()).limit(limit))
        return rows[::-1]

    # --- snapshots and fields ----------------------------------------------------------

    def snapshot(self, run_id: int, seq: int) -> Row:
        s = m.snapshots.c
        row = self.store.read(lambda conn: conn.execute(
            select(m.snapshots).where(and_(s.run_id == run_id, s.seq == seq))).first())
        if row is None:
            raise SnapshotError(f"the run has no snapshot #{seq}; its run page lists them")
        return row

    def previous_snapshot(self, run_id: int, seq: int) -> int | None:
        s = m.snapshots.c
        value = self._one(select(func.max(s.seq)).where(and_(s.run_id == run_id, s.seq < seq)))
        return None if value is None else int(value)

    def snapshot_changes(self, run_id: int, seq: int, limit: int) -> list[Row]:
        """The change records a put made, in order."""
        c = m.changes.c
        return self._all(
            select(c.seq, c.change_id, c.change_type, c.target_type, c.target_id, c.attributes,
                   c.before_field, c.after_field)
            .where(and_(c.run_id == run_id, c.snapshot_seq == seq)).order_by(c.seq).limit(limit))

    def field_changes(self, run_id: int, name: str, limit: int) -> list[Row]:
        """One field's change records across the run, oldest first."""
        c, s = m.changes.c, m.snapshots.c
        return self._all(
            select(c.seq, c.change_id, c.snapshot_seq, c.change_type, c.module, c.experiment,
                   c.module_context, c.timestamp, c.before_field, c.after_field, c.attributes,
                   s.snapshot_id)
            .join(m.snapshots, and_(s.run_id == c.run_id, s.seq == c.snapshot_seq),
                  isouter=True)
            .where(and_(c.run_id == run_id, c.target_type == "field", c.target_id == name))
            .order_by(c.seq).limit(limit))

    def load_schema(self, digest: str) -> Any:
        return self.store.load_schema(digest)

    def load_field(self, digest: str) -> Any:
        return self.store.load_field(digest)

    # --- results -----------------------------------------------------------------------

    def evaluator_steps(self, run_id: int, limit: int) -> list[Row]:
        s = m.snapshots.c
        return self._all(
            select(s.seq, s.experiment, s.context_json)
            .where(and_(s.run_id == run_id, s.module == "Evaluator"))
            .order_by(s.seq.desc()).limit(limit))

    def result_ref(self, run_id: int, seq: int) -> str | None:
        """The result tree a snapshot's put stored (from the state the put left)."""
        s = m.snapshots.c
        text = self._one(select(s.state_json).where(and_(s.run_id == run_id, s.seq == seq)))
        if text is None:
            raise SnapshotError(f"the run has no snapshot #{seq}; its run page lists them")
        return _active_result(text, seq)

    def load_result(self, ref: str | None) -> Any:
        return self.store.load_result(ref)

    def report_refs(self, row: Row) -> list[tuple[str, str]]:
        """The run's reports (name, result tree hash), from its live state."""
        state = _state(row.head_json)
        return [(str(p[0]), str(p[1])) for p in state.get("report") or ()
                if isinstance(p, Sequence) and len(p) == 2]


def _state(text: str) -> dict[str, Any]:
    try:
        state = json.loads(text)
    except ValueError as exc:
        raise CorruptDataError(f"a stored run state is unreadable: {exc}") from exc
    if not isinstance(state, dict):
        raise CorruptDataError("a stored run state is not a mapping")
    return state


def _active_result(state_json: str, seq: int) -> str | None:
    for entry in _state(state_json).get("active") or ():
        if isinstance(entry, list) and len(entry) >= 4 and entry[2] == seq:
            return entry[3] if isinstance(entry[3], str) else None
    return None


def context_of(row: Row) -> dict[str, Any]:
    """A snapshot's execution context as a dict (empty when it is not one)."""
    value = loads_value(row.context_json)
    return value if isinstance(value, dict) else {}
