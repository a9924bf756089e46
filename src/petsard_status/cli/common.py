"""What the inspection commands share: opening the store and finding runs and snapshots."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from petsard_status.errors import SnapshotError, StoreConnectionError
from petsard_status.metadata.types import SchemaMetadata
from petsard_status.status import ExecutionSnapshot, Status
from petsard_status.store.engine import ENV_VAR, SQLITE_HEADER, is_sqlite, resolve_url, sqlite_path
from petsard_status.store.results import recorded_schema
from petsard_status.store.store import Store

SHOWN_IDS = 10


def sqlite_files(folder: Path, limit: int = 20) -> list[str]:
    """Names of the SQLite database files in ``folder`` (by their header), sorted."""
    found = []
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return []
    for entry in entries[:500]:
        try:
            if entry.is_file() and entry.stat().st_size >= len(SQLITE_HEADER):
                with entry.open("rb") as handle:
                    if handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER:
                        found.append(entry.name)
        except OSError:
            continue
        if len(found) >= limit:
            break
    return found


def missing_database(path: Path) -> StoreConnectionError:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        where = f"the folder {folder} does not exist"
    else:
        files = sqlite_files(folder)
        where = (f"SQLite databases in {folder}: {', '.join(files)}" if files
                 else f"there is no SQLite database in {folder}")
    return StoreConnectionError(
        f"no database at {path} ({where}); give one with --db PATH_OR_URL or set "
        f"${ENV_VAR} (`petsard-status run` creates a new one)"
    )


def require_database(db: str | os.PathLike[str] | None) -> None:
    """Refuse a SQLite ``--db`` that does not exist (reading commands never create one)."""
    url = resolve_url(db)
    path = sqlite_path(url) if is_sqlite(url) else None
    if path is not None and not path.exists():
        raise missing_database(path)


@contextlib.contextmanager
def open_store(db: str | os.PathLike[str] | None, *, must_exist: bool = True) -> Iterator[Store]:
    """The store behind ``--db``; a SQLite file that does not exist is an error, not created."""
    if must_exist:
        require_database(db)
    # A reading command never turns a database into a store: no store there is an error.
    store = Store(resolve_url(db), create=not must_exist)
    try:
        yield store
    finally:
        store.close()


@contextlib.contextmanager
def open_status(store: Store, run: str, *, read_only: bool = True) -> Iterator[Status]:
    """The run, opened to read unless asked otherwise: it then writes nothing, ever."""
    status = Status.open(run, store, read_only=read_only)
    try:
        yield status
    finally:
        status.close()


def find_snapshot(status: Status, ident: str) -> ExecutionSnapshot:
    """A snapshot by its id, or by its number in the run (``3`` or ``#3``)."""
    snapshot = status.get_snapshot_by_id(ident)
    if snapshot is not None:
        return snapshot
    ids = status.snapshot_ids()
    number = ident.lstrip("#")
    if number.isdigit():
        for seq, snapshot_id in ids:
            if seq == int(number):
                found = status.get_snapshot_by_id(snapshot_id)
                if found is not None:
                    return found
    if not ids:
        known = "it has no snapshots yet"
    else:
        names = [sid for _, sid in ids]
        if len(names) > SHOWN_IDS:
            half = SHOWN_IDS // 2
            names = [*names[:half], "...", *names[-half:]]
        known = f"its {len(ids)} snapshots: {', '.join(names)}"
    raise SnapshotError(
        f"no snapshot {ident!r} in run {status.run!r} ({known}); "
        f"`petsard-status snapshots {status.run}` lists them"
    )


def snapshot_schema(status: Status, snapshot: ExecutionSnapshot) -> tuple[SchemaMetadata | None,
                                                                          str]:
    """The metadata to show for a snapshot, and which it is: after, before, or input.

    Modules that do not change the data's shape (Synthesizer, Evaluator, ...)
    record no metadata of their own; for them the metadata they received is
    shown, but only when the module just before them recorded it: an
    Evaluator's input comes from the Postprocessor, which records none, and
    the last metadata recorded (the Preprocessor's) describes other data.
    """
    if snapshot.metadata_after is not None:
        return snapshot.metadata_after, "after"
    if snapshot.metadata_before is not None:
        return snapshot.metadata_before, "before"
    context = snapshot.execution_context
    digest, index = context.get("input_schema"), context.get("sequence_index")
    if isinstance(digest, str) and digest and isinstance(index, int) and index > 0:
        previous = status.sequence[index - 1]
        if recorded_schema(status.store, status.run_id, previous, digest):
            return status.store.load_schema(digest), "input"
    return None, "none"


FIELD_COLUMNS = ("name", "data_type", "logical_type", "nullable", "na_count", "distinct_count",
                 "min_value", "max_value")


def field_table(schema: SchemaMetadata) -> list[dict[str, Any]]:
    """One row per field: the columns ``petsard-status show`` prints."""
    rows = []
    for f in schema.fields:
        stats = f.stats
        rows.append({
            "name": f.name,
            "data_type": f.data_type.value,
            "logical_type": f.logical_type.value if f.logical_type else None,
            "nullable": f.nullable,
            "na_count": stats.na_count if stats else None,
            "distinct_count": stats.distinct_count if stats else None,
            "min_value": stats.min_value if stats else None,
            "max_value": stats.max_value if stats else None,
        })
    return rows


def echo_run_summary(executor: Any, paths: int, outputs: Path | None = None) -> None:
    """What `run` and `resume` print at the end, whichever modules ran the steps."""
    status = executor.status
    summary = status.get_status_summary()
    db = status.store.location
    click.echo("")
    click.echo(f"run       {executor.run_name} ({summary['state']})")
    click.echo(f"database  {db}")
    click.echo(f"snapshots {summary['total_snapshots']}, changes {summary['total_changes']}")
    if outputs is not None:
        click.echo(f"outputs   {outputs}")
    click.echo(f"results   {paths} flow path(s)")
    if executor.reruns:
        click.echo(f"re-ran for live objects: {', '.join(executor.reruns)}")
    click.echo("inspect   petsard-status snapshots " + executor.run_name + f" --db {db}")
