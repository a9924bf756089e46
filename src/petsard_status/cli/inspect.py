"""Inspecting stored runs: ``runs``, ``snapshots``, ``show``, ``changes``, ``diff``,
``timings`` and ``restore``.

Each command reads through the same ``Status`` API a pipeline uses, so what it
prints is what ``Status.open(run).get_...()`` returns; ``--json`` prints the same
content with stable keys for scripts.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import click

from petsard_status import formats as codec
from petsard_status._text import duration as seconds
from petsard_status.cli.common import (
    field_table,
    find_snapshot,
    open_status,
    open_store,
    snapshot_schema,
)
from petsard_status.cli.options import db_option, json_option, module_option, user_errors
from petsard_status.cli.tables import (
    cell,
    echo_json,
    echo_json_stream,
    echo_pairs,
    echo_table,
)
from petsard_status.errors import ConfigError, SnapshotError
from petsard_status.metadata.diff import FIELD_ATTRIBUTES, diff
from petsard_status.metadata.types import FieldMetadata, SchemaMetadata
from petsard_status.modules.params import suggest
from petsard_status.status import Status
from petsard_status.store.overview import run_overview, seed_and_output


def _check_module(status: Status, module: str | None) -> None:
    if module is not None and module not in status.sequence:
        raise ConfigError(f"module {module!r} is not in run {status.run!r}; its modules are "
                          f"{', '.join(status.sequence)}")


def _check_field(status: Status, field: str | None) -> None:
    if field is None:
        return
    names = sorted({c.target_id for c in status.get_change_history() if c.target_type == "field"}
                   | {f.name for schema in status.metadata.values() for f in schema.fields})
    if field not in names:
        shown = ", ".join(names[:30]) + (", ..." if len(names) > 30 else "")
        raise ConfigError(f"field {field!r} is not in the metadata of run {status.run!r}"
                          f"{suggest(field, names)}; its fields are {shown or 'none'}")


# --- runs ------------------------------------------------------------------------------


@click.command("runs")
@click.option("--state", "states", multiple=True,
              type=click.Choice(["running", "stale", "completed", "failed", "interrupted"]),
              help="Only runs in this state (repeatable).")
@click.option("--sort", type=click.Choice(["started", "name", "duration"]), default="started",
              show_default=True, help="Order of the list.")
@click.option("--newest-first", is_flag=True, help="Reverse the order (latest first).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most this many runs.")
@db_option
@json_option
@user_errors
def runs_command(states: tuple[str, ...], sort: str, newest_first: bool, limit: int | None,
                 db: str | None, as_json: bool) -> None:
    """List the runs in the store: state, start, duration, steps done and seed.

    A running run whose writer stopped sending heartbeats shows as stale. Each
    run's output folder is in --json (output_dir) and in `show`.
    """
    with open_store(db) as store:
        overview = select_runs(run_overview(store), states, sort, newest_first, limit)
        if as_json:
            echo_json({"database": store.location, "runs": overview})
            return
        click.echo(f"database  {store.location}")
        echo_table(
            ("run", "state", "started", "duration", "steps", "seed"),
            [(r["name"], r["state"], r["started"], seconds(r["duration_seconds"]),
              f"{r['steps_done']}/{r['steps_total'] if r['steps_total'] is not None else '?'}",
              r["seed"])
             for r in overview],
            right=(3, 4, 5),
            empty="no runs yet; start one with: petsard-status run PIPELINE.yaml",
        )


def select_runs(overview: list[dict[str, Any]], states: tuple[str, ...], sort: str,
                newest_first: bool, limit: int | None) -> list[dict[str, Any]]:
    keys = {"started": lambda r: r["started"], "name": lambda r: r["name"],
            "duration": lambda r: r["duration_seconds"]}
    chosen = [r for r in overview if not states or r["state"] in states]
    chosen.sort(key=keys[sort], reverse=newest_first)
    return chosen[:limit] if limit is not None else chosen


# --- snapshots ---------------------------------------------------------------------------


PAGE = 1000


def snapshot_rows(status: Status, module: str | None = None, *, offset: int = 0,
                  limit: int | None = None, newest_first: bool = False) -> list[dict[str, Any]]:
    """One listing row per snapshot, read as a page (no metadata is decoded)."""
    out = []
    for row in status.repository.snapshot_page(module, offset, limit, newest_first):
        context = codec.loads_value(row.context_json)
        changed = row.schema_after is not None and row.schema_after != row.schema_before
        out.append({
            "seq": row.seq, "snapshot_id": row.snapshot_id, "timestamp": row.timestamp,
            "module": row.module, "experiment": row.experiment, "schema_changed": changed,
            "field_changes": context.get("field_changes", 0),
            "schema_before": row.schema_before, "schema_after": row.schema_after,
            "step": context.get("step"),
        })
    return out


@click.command("snapshots")
@click.argument("run", metavar="RUN")
@module_option
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="At most this many snapshots.")
@click.option("--offset", type=click.IntRange(min=0), default=0,
              help="Skip this many snapshots first.")
@click.option("--newest-first", is_flag=True, help="The latest snapshots first.")
@db_option
@json_option
@user_errors
def snapshots_command(run: str, module: str | None, limit: int | None, offset: int,
                      newest_first: bool, db: str | None, as_json: bool) -> None:
    """List RUN's snapshots: one per module execution, oldest first."""
    with open_store(db) as store, open_status(store, run) as status:
        _check_module(status, module)
        if as_json:
            echo_json_stream({"run": status.run, "module": module}, "snapshots",
                             _paged_rows(status, module, offset, limit, newest_first))
            return
        rows = snapshot_rows(status, module, offset=offset, limit=limit,
                             newest_first=newest_first)
        echo_table(
            ("#", "snapshot", "time", "module", "experiment", "schema changed", "field changes"),
            [(r["seq"], r["snapshot_id"], r["timestamp"], r["module"], r["experiment"],
              r["schema_changed"], r["field_changes"]) for r in rows],
            right=(0, 6), empty="no snapshots",
        )


def _paged_rows(status: Status, module: str | None, offset: int, limit: int | None,
                newest_first: bool) -> Iterator[dict[str, Any]]:
    """The listing's rows, read a page at a time: a long run is never held whole."""
    left = limit
    while left is None or left > 0:
        size = PAGE if left is None else min(PAGE, left)
        page = snapshot_rows(status, module, offset=offset, limit=size,
                             newest_first=newest_first)
        yield from page
        if len(page) < size:
            return
        offset += size
        left = None if left is None else left - size


# --- show --------------------------------------------------------------------------------


def _schema_label(schema: SchemaMetadata | None, which: str) -> str:
    if schema is None:
        return "none: this module records no metadata of its own"
    rows = schema.stats.row_count if schema.stats else None
    size = f"{len(schema.fields)} fields" + (f", {rows} rows" if rows is not None else "")
    meaning = {"after": "after the module ran", "before": "before the module ran",
               "input": "the module's input (it records no metadata of its own)"}[which]
    return f"{schema.schema_id} ({size}): {meaning}"


@click.command("show")
@click.argument("run", metavar="RUN")
@click.argument("snapshot_id", metavar="SNAPSHOT_ID")
@db_option
@json_option
@user_errors
def show_command(run: str, snapshot_id: str, db: str | None, as_json: bool) -> None:
    """Show one snapshot of RUN: its context and its metadata, field by field.

    SNAPSHOT_ID is a snapshot's id or its number in the run (3 or #3).
    """
    with open_store(db) as store, open_status(store, run) as status:
        snap = find_snapshot(status, snapshot_id)
        schema, which = snapshot_schema(status, snap)
        fields = field_table(schema) if schema is not None else []
        if as_json:
            echo_json({
                "run": status.run, "snapshot_id": snap.snapshot_id, "module": snap.module_name,
                "experiment": snap.experiment_name, "timestamp": snap.timestamp,
                "context": snap.execution_context, "metadata": which if schema else None,
                "schema": None if schema is None else {
                    "schema_id": schema.schema_id, "name": schema.name,
                    "row_count": schema.stats.row_count if schema.stats else None,
                    "field_count": len(schema.fields)},
                "fields": fields, **seed_and_output(status.run_info()["info"]),
            })
            return
        context = snap.execution_context
        run_extra = seed_and_output(status.run_info()["info"])
        echo_pairs([
            ("run", status.run),
            ("seed", run_extra["seed"]),
            ("outputs", run_extra["output_dir"]),
            ("snapshot", snap.snapshot_id),
            ("module", f"{snap.module_name}[{snap.experiment_name}]"),
            ("time", snap.timestamp),
            *((str(k), context[k]) for k in sorted(context)),
            ("metadata", _schema_label(schema, which)),
        ])
        if fields:
            click.echo("")
            echo_table(
                ("field", "data type", "logical type", "nullable", "NA", "distinct", "min",
                 "max"),
                [(f["name"], f["data_type"], f["logical_type"], f["nullable"], f["na_count"],
                  f["distinct_count"], f["min_value"], f["max_value"]) for f in fields],
                right=(4, 5), cut=(6, 7),
            )


# --- changes -----------------------------------------------------------------------------

_SIMPLE_ATTRIBUTES = [a for a in FIELD_ATTRIBUTES if a not in ("stats", "properties")]
_STATS = ("row_count", "na_count", "distinct_count", "min_value", "max_value")


def _word(value: Any) -> str:
    return "none" if value is None else cell(value, 20)


def field_detail(before: FieldMetadata | None, after: FieldMetadata | None,
                 attributes: tuple[str, ...] | list[str]) -> str:
    """What changed in a field, in words: ``data_type int64 -> float64; na_count 0 -> 3``."""
    if before is None and after is not None:
        return f"new {after.data_type.value}"
    if after is None and before is not None:
        return f"removed (was {before.data_type.value})"
    if before is None or after is None:
        return ""
    parts = []
    for name in attributes:
        if name in _SIMPLE_ATTRIBUTES:
            parts.append(f"{name} {_word(getattr(before, name))} -> "
                         f"{_word(getattr(after, name))}")
        elif name == "stats" and before.stats and after.stats:
            for stat in _STATS:
                old, new = getattr(before.stats, stat), getattr(after.stats, stat)
                if old != new:
                    parts.append(f"{stat} {cell(old, 16)} -> {cell(new, 16)}")
        elif name == "properties":
            parts.append("properties")
    return "; ".join(parts)


def change_rows(status: Status, module: str | None, field: str | None) -> list[dict[str, Any]]:
    out = []
    for change in status.get_change_history(module):
        if field is not None and (change.target_type != "field" or change.target_id != field):
            continue
        is_field = change.target_type == "field"
        module_name, _, rest = change.module_context.partition("[")
        out.append({
            "change_id": change.change_id, "timestamp": change.timestamp,
            "module": module_name, "experiment": rest[:-1] if rest.endswith("]") else rest,
            "change_type": change.change_type, "target_type": change.target_type,
            "target_id": change.target_id, "attributes": list(change.attributes),
            "detail": field_detail(change.before_state, change.after_state, change.attributes)
            if is_field else "",
        })
    return out


@click.command("changes")
@click.argument("run", metavar="RUN")
@module_option
@click.option("--field", "-f", "field", default=None, metavar="FIELD",
              help="Only the changes of this field.")
@db_option
@json_option
@user_errors
def changes_command(run: str, module: str | None, field: str | None, db: str | None,
                    as_json: bool) -> None:
    """List RUN's metadata changes: schemas and fields created, updated or deleted."""
    with open_store(db) as store, open_status(store, run) as status:
        _check_module(status, module)
        _check_field(status, field)
        rows = change_rows(status, module, field)
        if as_json:
            echo_json({"run": status.run, "module": module, "field": field, "changes": rows})
            return
        echo_table(
            ("change", "module", "experiment", "type", "target", "name", "attributes",
             "detail"),
            [(r["change_id"], r["module"], r["experiment"], r["change_type"],
              r["target_type"], r["target_id"], r["attributes"], r["detail"])
             for r in rows],
            empty="no changes" + (f" of field {field!r}" if field else ""),
        )


# --- diff --------------------------------------------------------------------------------


@click.command("diff")
@click.argument("run", metavar="RUN")
@click.argument("snapshot_a", metavar="SNAPSHOT_A")
@click.argument("snapshot_b", metavar="SNAPSHOT_B")
@db_option
@json_option
@user_errors
def diff_command(run: str, snapshot_a: str, snapshot_b: str, db: str | None,
                 as_json: bool) -> None:
    """Compare the metadata of two snapshots of RUN, field by field.

    Each snapshot's metadata after its module ran is used (before, when it has
    none; for modules that record none, the metadata they received).
    """
    with open_store(db) as store, open_status(store, run) as status:
        sides = []
        for ident in (snapshot_a, snapshot_b):
            snap = find_snapshot(status, ident)
            schema, which = snapshot_schema(status, snap)
            if schema is None:
                raise SnapshotError(f"snapshot {snap.snapshot_id} of run {run!r} has no "
                                    "metadata to compare")
            sides.append((snap, schema, which))
        (snap_a, schema_a, which_a), (snap_b, schema_b, which_b) = sides
        result = diff(schema_a, schema_b)
        changed = {c.name for c in result.field_changes}
        unchanged = [f.name for f in schema_b.fields if f.name not in changed]
        fields = [{
            "name": c.name, "change_type": c.change_type, "attributes": list(c.attributes),
            "detail": field_detail(c.before, c.after, c.attributes),
        } for c in result.field_changes]
        if as_json:
            echo_json({
                "run": status.run,
                "a": {"snapshot_id": snap_a.snapshot_id, "metadata": which_a,
                      "schema_id": schema_a.schema_id},
                "b": {"snapshot_id": snap_b.snapshot_id, "metadata": which_b,
                      "schema_id": schema_b.schema_id},
                "schema_change": result.schema_change,
                "schema_attributes": list(result.schema_attributes),
                "fields": fields, "unchanged_fields": unchanged,
            })
            return
        for label, snap, schema, which in (("A", snap_a, schema_a, which_a),
                                           ("B", snap_b, schema_b, which_b)):
            click.echo(f"{label}  {snap.snapshot_id}  {snap.module_name}"
                       f"[{snap.experiment_name}]  {_schema_label(schema, which)}")
        if result.is_empty:
            click.echo("the metadata is the same")
            return
        click.echo(f"schema: {', '.join(result.schema_attributes)} changed")
        click.echo("")
        echo_table(("field", "change", "attributes", "detail"),
                   [(f["name"], f["change_type"], f["attributes"], f["detail"])
                    for f in fields], empty="no field changed")
        click.echo("")
        click.echo(f"{len(unchanged)} field(s) unchanged")


# --- timings -----------------------------------------------------------------------------


@click.command("timings")
@click.argument("run", metavar="RUN")
@module_option
@db_option
@json_option
@user_errors
def timings_command(run: str, module: str | None, db: str | None, as_json: bool) -> None:
    """List RUN's timing records, slowest first."""
    with open_store(db) as store, open_status(store, run) as status:
        _check_module(status, module)
        records = sorted(status.get_timing_records(module),
                         key=lambda t: (t.duration_seconds is None, -(t.duration_seconds or 0),
                                        t.record_id))
        rows: list[dict[str, Any]] = [{
            "record_id": t.record_id, "module": t.module_name, "experiment": t.experiment_name,
            "step": t.step_name, "start_time": t.start_time, "end_time": t.end_time,
            "duration_seconds": t.duration_seconds, "context": t.context,
        } for t in records]
        if as_json:
            echo_json({"run": status.run, "module": module, "timings": rows})
            return
        echo_table(
            ("module", "experiment", "step", "duration", "started", "record"),
            [(r["module"], r["experiment"], r["step"], seconds(r["duration_seconds"]),
              r["start_time"], r["record_id"]) for r in rows],
            right=(3,), empty="no timing records",
        )
        total = sum(r["duration_seconds"] or 0 for r in rows)
        if rows:
            click.echo("")
            click.echo(f"{len(rows)} record(s), {seconds(total)} in all")


# --- restore -----------------------------------------------------------------------------


def active_rows(status: Status) -> list[dict[str, Any]]:
    metadata = status.metadata
    return [{
        "module": module, "experiment": experiment,
        "schema_id": metadata[module].schema_id if module in metadata else None,
    } for module, experiment in status.get_full_expt().items()]


@click.command("restore")
@click.argument("run", metavar="RUN")
@click.argument("snapshot_id", metavar="SNAPSHOT_ID")
@db_option
@json_option
@user_errors
def restore_command(run: str, snapshot_id: str, db: str | None, as_json: bool) -> None:
    """Set RUN's state back to right after SNAPSHOT_ID (recorded; history is kept).

    SNAPSHOT_ID is a snapshot's id or its number in the run (3 or #3).
    """
    with open_store(db) as store, open_status(store, run, read_only=False) as status:
        snap = find_snapshot(status, snapshot_id)
        if not status.restore_from_snapshot(snap.snapshot_id):  # pragma: no cover - found above
            raise SnapshotError(f"snapshot {snap.snapshot_id} vanished from run {run!r}")
        rows = active_rows(status)
        if as_json:
            echo_json({"run": status.run, "restored_to": snap.snapshot_id, "active": rows})
            return
        click.echo(f"restored run {status.run} to {snap.snapshot_id} "
                   f"({snap.module_name}[{snap.experiment_name}])")
        click.echo("")
        echo_table(("module", "experiment", "metadata"),
                   [(r["module"], r["experiment"], r["schema_id"]) for r in rows],
                   empty="no active modules")
