"""``petsard-status db upgrade | current | check | vacuum``: the store's schema and its health.

A SQLite store's large result frames are files in ``<database>.frames/`` beside
it; ``upgrade``'s automatic backup copies the database file only (an upgrade
never changes the frame files), so a copy of a store is the database file
*and* that folder.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from typing import Any

import click

from petsard_status.cli.common import open_store, require_database
from petsard_status.cli.options import db_option, json_option, user_errors
from petsard_status.cli.tables import echo_json, echo_pairs
from petsard_status.store.integrity import check_store, database_engine, store_revision
from petsard_status.store.migrate import ensure_schema, head_revision, known_revisions
from petsard_status.store.removal import sweep_frame_files
from petsard_status.store.translate import describe


@click.group("db")
def db_group() -> None:
    """The store's schema: upgrade, show, check or vacuum it."""


def _revision_note(revision: str | None) -> str:
    head = head_revision()
    if revision is None:
        return "none: this database holds no petsard-status store"
    if revision == head:
        return f"{revision} (head)"
    if revision in known_revisions():
        return f"{revision} (head is {head}: run `petsard-status db upgrade`)"
    return f"{revision} (unknown: written by a newer petsard-status than this one)"


@contextlib.contextmanager
def _engine(db: str | os.PathLike[str] | None, *, must_exist: bool = True) -> Iterator[Any]:
    if must_exist:
        require_database(db)
    with database_engine(db, existing=must_exist) as engine:
        yield engine


@db_group.command("upgrade")
@db_option
@user_errors
def upgrade_command(db: str | None) -> None:
    """Create the store, or upgrade it to this version's schema (SQLite: backup first)."""
    with _engine(db, must_exist=False) as engine:
        before = store_revision(engine)
        after = ensure_schema(engine, upgrade=True)
        click.echo(f"database  {describe(engine)}")
        if before == after:
            click.echo(f"revision  {after} (already at head)")
        else:
            click.echo(f"revision  {before or 'none'} -> {after}")


@db_group.command("current")
@db_option
@json_option
@user_errors
def current_command(db: str | None, as_json: bool) -> None:
    """Show the store's schema revision and this version's newest (head)."""
    with _engine(db) as engine:
        revision = store_revision(engine)
        if as_json:
            echo_json({"database": describe(engine), "revision": revision,
                       "head": head_revision(), "up_to_date": revision == head_revision()})
            return
        echo_pairs([("database", describe(engine)), ("revision", _revision_note(revision)),
                    ("head", head_revision())])


@db_group.command("check")
@db_option
@json_option
@user_errors
def check_command(db: str | None, as_json: bool) -> None:
    """Check the store: its objects, SQLite integrity, the revision, every reference.

    Reads only; exits with status 1 if any problem is found.
    """
    with _engine(db) as engine:
        report = check_store(engine)
    problems = report["problems"]
    if as_json:
        echo_json({**report, "ok": not problems})
    else:
        counts = report["counts"]
        echo_pairs([
            ("database", report["database"]),
            ("revision", _revision_note(report["revision"])),
            ("integrity", report["integrity"]),
            ("rows", ", ".join(f"{k} {n}" for k, n in counts.items())),
            ("objects", "ok" if not any(p.startswith("foreign object") for p in problems)
             else "foreign or altered objects: not read further"),
            ("references", "ok" if not problems else f"{len(problems)} problem(s)"),
        ])
        for problem in problems:
            click.echo(f"  {problem}")
    if problems:
        sys.exit(1)


@db_group.command("vacuum")
@db_option
@user_errors
def vacuum_command(db: str | None) -> None:
    """Delete frame files the store no longer names, then give free pages back (SQLite).

    Removes ``*.partial`` files and unreferenced ``<hash>.arrows`` files left in
    ``<database>.frames/`` by an interrupted write; a file a running put holds is kept.
    """
    with open_store(db) as store:
        removed = sweep_frame_files(store)
        store.vacuum()
        click.echo(f"database  {store.location}")
        click.echo(f"removed   {len(removed)} unreferenced frame file(s)")
        for path in removed:
            click.echo(f"  {path}")
