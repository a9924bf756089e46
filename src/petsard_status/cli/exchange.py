"""``export``, ``import`` and ``materialize``: a run's content out of and into stores."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from petsard_status.cli.common import FIELD_COLUMNS, field_table, open_store
from petsard_status.cli.export_names import export_stem
from petsard_status.cli.options import db_option, json_option, user_errors
from petsard_status.cli.tables import echo_json, echo_table
from petsard_status.formats import read_export, validate_export, write_export, write_file_atomically
from petsard_status.status import Status
from petsard_status.store.exchange import export_run, import_run
from petsard_status.store.materialize import drop_materialized, materialize_run
from petsard_status.store.store import Store


def safe_filename(name: str) -> str:
    """A file name made from a run or snapshot name: no path separators, nothing hidden."""
    cleaned = re.sub(r"[^A-Za-z0-9._\-\[\]]+", "_", name).strip("._") or "run"
    return cleaned[:150]


def export_csv(store: Store, run: str, folder: str | os.PathLike[str]) -> list[Path]:
    """Write run.csv, snapshots.csv, changes.csv, timings.csv and metadata/SNAPSHOT.csv.

    The metadata file of a snapshot holds the field table of its metadata after
    the module ran (or before, when the module recorded none).
    """
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def write(path: Path, header: Iterable[str], rows: Iterable[Iterable[Any]]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer)
        writer.writerow(list(header))
        writer.writerows([_csv_cell(v) for v in row] for row in rows)
        write_file_atomically(path, buffer.getvalue().encode("utf-8"))
        written.append(path)

    with Status.open(run, store) as status:
        info = status.run_info()
        write(target / "run.csv", ("name", "state", "created_at", "finished_at", "error"),
              [(info["name"], info["state"], info["created_at"], info["finished_at"],
                info["error"])])
        snapshots = status.get_snapshots()
        write(target / "snapshots.csv",
              ("snapshot_id", "timestamp", "module", "experiment", "step", "schema_changed",
               "field_changes"),
              [(s.snapshot_id, s.timestamp, s.module_name, s.experiment_name,
                s.execution_context.get("step"), s.execution_context.get("schema_changed"),
                s.execution_context.get("field_changes")) for s in snapshots])
        write(target / "changes.csv",
              ("change_id", "timestamp", "module_context", "change_type", "target_type",
               "target_id", "attributes"),
              [(c.change_id, c.timestamp, c.module_context, c.change_type, c.target_type,
                c.target_id, " ".join(c.attributes)) for c in status.get_change_history()])
        write(target / "timings.csv",
              ("record_id", "module", "experiment", "step", "start_time", "end_time",
               "duration_seconds"),
              [(t.record_id, t.module_name, t.experiment_name, t.step_name, t.start_time,
                t.end_time, t.duration_seconds) for t in status.get_timing_records()])
        for snap in snapshots:
            schema = snap.metadata_after or snap.metadata_before
            if schema is None:
                continue
            rows = field_table(schema)
            write(target / "metadata" / f"{safe_filename(snap.snapshot_id)}.csv", FIELD_COLUMNS,
                  [[row[c] for c in FIELD_COLUMNS] for row in rows])
    return written


def _refuse_overwrite(target: Path, force: bool) -> None:
    exists = target.is_file() or (target.is_dir() and any(target.iterdir()))
    if exists and not force:
        raise click.ClickException(
            f"{target} already exists; give --force to replace it, or -o another folder"
        )


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    return value




@click.command("export")
@click.argument("run", metavar="RUN")
@db_option
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json",
              show_default=True, help="json: one file that `import` reads back; csv: a "
              "folder of tables for people.")
@click.option("--output", "-o", "output", default=None, type=click.Path(file_okay=False),
              help="Folder to write to [default: json: the current folder, csv: ./RUN-csv].")
@click.option("--force", is_flag=True, help="Replace an export of the same name.")
@user_errors
def export_command(run: str, db: str | None, fmt: str, output: str | None,
                   force: bool) -> None:
    """Export RUN: snapshots, changes, timings, metadata (and, in JSON, results).

    The file (RUN.json) or folder (RUN-csv) is named after the run; a name that is
    not a safe file name gets a slug and a short hash. An existing export is never
    replaced without --force.
    """
    with open_store(db) as store:
        try:
            if fmt == "json":
                store.run_row(run)
                target = Path(output or ".") / f"{export_stem(run)}.json"
                _refuse_overwrite(target, force)
                doc = export_run(store, run)
                target.parent.mkdir(parents=True, exist_ok=True)
                path = write_export(doc, target)
                click.echo(f"exported run {run} ({len(doc['snapshots'])} snapshots, "
                           f"{len(doc['changes'])} changes, {len(doc['timings'])} timings, "
                           f"{len(doc['blobs'])} blobs) to {path}")
                return
            store.run_row(run)  # an unknown run is an error before any folder is made
            folder = Path(output or f"{export_stem(run)}-csv")
            _refuse_overwrite(folder, force)
            written = export_csv(store, run, folder)
        except OSError as exc:
            raise click.ClickException(
                f"cannot write the export: {exc.strerror or exc} ({exc.filename or output})"
            ) from exc
        click.echo(f"exported run {run} as {len(written)} CSV files to {folder}")


@click.command("import")
@click.argument("file", metavar="FILE", type=click.Path(exists=True, dir_okay=False))
@db_option
@click.option("--run", "new_name", default=None, metavar="NEW_NAME",
              help="Name for the imported run [default: its name in FILE].")
@user_errors
def import_command(file: str, db: str | None, new_name: str | None) -> None:
    """Import a run from FILE (made by `petsard-status export`) into the store.

    The store may be new (it is created) or hold other runs.
    """
    doc = read_export(file)
    # Checked before any store is opened: a rejected document leaves no new file behind.
    validate_export(doc, new_name)
    with open_store(db, must_exist=False) as store:
        name = import_run(store, doc, new_name)
        click.echo(f"imported run {name} ({len(doc.get('snapshots', []))} snapshots) into "
                   f"{store.location}")


@click.command("materialize")
@click.argument("run", metavar="RUN")
@click.option("--module", "-m", "module", default=None, metavar="MODULE",
              help="Only this module's result.")
@click.option("--drop", is_flag=True, help="Remove the tables instead of writing them.")
@db_option
@json_option
@user_errors
def materialize_command(run: str, module: str | None, drop: bool, db: str | None,
                        as_json: bool) -> None:
    """Write RUN's result frames as ordinary SQL tables (listed in materialized_view).

    Tables are named result_<run>_<module>_<experiment>[_<part>]; running it again
    replaces them, and --drop removes them.
    """
    with open_store(db) as store:
        if drop:
            dropped = drop_materialized(store, run, module)
            if as_json:
                echo_json({"run": run, "dropped": dropped})
            else:
                click.echo(f"dropped {len(dropped)} table(s)" +
                           (": " + ", ".join(dropped) if dropped else ""))
            return
        tables = materialize_run(store, run, module)
        rows = [{"table_name": t.table_name, "module": t.module, "experiment": t.experiment,
                 "part": t.part, "snapshot_seq": t.snapshot_seq, "rows": t.rows,
                 "columns": t.columns} for t in tables]
        if as_json:
            echo_json({"run": run, "tables": rows})
            return
        echo_table(("table", "module", "experiment", "part", "rows", "columns"),
                   [(r["table_name"], r["module"], r["experiment"], r["part"], r["rows"],
                     r["columns"]) for r in rows], right=(4, 5),
                   empty="no result frames to materialize")
