"""``petsard-status rm`` and ``compare``: managing the runs a store holds."""

from __future__ import annotations

import os
from typing import Any

import click

from petsard_status.cli.common import open_status, open_store
from petsard_status.cli.options import db_option, json_option, user_errors
from petsard_status.cli.results import evaluations
from petsard_status.cli.tables import echo_json, echo_table
from petsard_status.metadata.diff import diff
from petsard_status.status import Status
from petsard_status.store.engine import is_sqlite, sqlite_path
from petsard_status.store.removal import remove_run


def _file_size(url: Any) -> int | None:
    path = sqlite_path(url) if is_sqlite(url) else None
    return os.path.getsize(path) if path is not None and path.exists() else None


@click.command("rm")
@click.argument("runs", metavar="RUN...", nargs=-1, required=True)
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
@db_option
@user_errors
def rm_command(runs: tuple[str, ...], yes: bool, db: str | None) -> None:
    """Remove RUN...: their history and the documents no other run uses (logged in the store)."""
    with open_store(db) as store:
        for name in runs:
            store.run_row(name)  # every name must exist before anything is removed
        if not yes:
            click.confirm(f"Remove {len(runs)} run(s) from {store.location}: "
                          f"{', '.join(runs)}?", abort=True, err=True)
        before = _file_size(store.url)
        for name in runs:
            removal = remove_run(store, name)
            files = (f"; {removal.files_removed} frame files deleted"
                     if removal.files_removed else "")
            click.echo(f"removed run {removal.run} ({removal.snapshots} snapshots; "
                       f"{removal.documents_freed} documents no other run used{files})")
        after = _file_size(store.url)
        if before is not None and after is not None:
            click.echo(f"database  {store.location}: {before:,} -> {after:,} bytes")


def _params(status: Status) -> dict[str, Any]:
    return {f"{module}[{expt}]": params for module, experiments in status.config.to_dict().items()
            for expt, params in experiments.items()}


def _config_differences(a: Status, b: Status) -> list[dict[str, Any]]:
    left, right = _params(a), _params(b)
    out = []
    for key in sorted(set(left) | set(right)):
        pa, pb = left.get(key), right.get(key)
        if pa == pb:
            continue
        if pa is None or pb is None:
            out.append({"experiment": key, "parameter": None, "a": pa, "b": pb})
            continue
        for name in sorted(set(pa) | set(pb)):
            if pa.get(name) != pb.get(name):
                out.append({"experiment": key, "parameter": name, "a": pa.get(name),
                            "b": pb.get(name)})
    return out


def _step_metadata(status: Status) -> dict[str, Any]:
    """Flow step -> the metadata its module recorded, for steps of modules that record any."""
    out = {}
    for snapshot in status.get_snapshots():
        step = snapshot.execution_context.get("step")
        if step and snapshot.metadata_after is not None:
            out[step] = snapshot.metadata_after
    return out


def _metadata_differences(a: Status, b: Status) -> list[dict[str, Any]]:
    left, right = _step_metadata(a), _step_metadata(b)
    out = []
    for step in [s for s in left if s in right]:
        for change in diff(left[step], right[step]).field_changes:
            out.append({"step": step, "field": change.name, "change": change.change_type,
                        "attributes": list(change.attributes or ())})
    return out


def _scores(status: Status) -> dict[tuple[str, str, str], Any]:
    """(evaluation step, table, metric) -> value, from each evaluation's global table."""
    out = {}
    for evaluation in evaluations(status):
        for table, rows in evaluation["tables"].items():
            if "global" not in table or not rows:
                continue
            for metric, value in rows[0].items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    out[(evaluation["step"], table, metric)] = value
    return out


@click.command("compare")
@click.argument("run_a", metavar="RUN_A")
@click.argument("run_b", metavar="RUN_B")
@db_option
@json_option
@user_errors
def compare_command(run_a: str, run_b: str, db: str | None, as_json: bool) -> None:
    """Compare two runs: config differences, per-step metadata, evaluator scores side by side."""
    with open_store(db) as store, open_status(store, run_a) as a, open_status(store, run_b) as b:
        config = _config_differences(a, b)
        metadata = _metadata_differences(a, b)
        scores_a, scores_b = _scores(a), _scores(b)
        scores = [{"step": step, "table": table, "metric": metric, "a": scores_a.get(key),
                   "b": scores_b.get(key)}
                  for key in sorted(set(scores_a) | set(scores_b))
                  for step, table, metric in [key]]
        if as_json:
            echo_json({"a": run_a, "b": run_b, "config": config, "metadata": metadata,
                       "scores": scores})
            return
        click.echo(f"config differences ({run_a} vs {run_b})")
        echo_table(("experiment", "parameter", "a", "b"),
                   [(d["experiment"], d["parameter"] or "(whole experiment)", d["a"], d["b"])
                    for d in config], empty="  none: the same config")
        click.echo("")
        click.echo("metadata differences per step")
        echo_table(("step", "field", "change", "attributes"),
                   [(d["step"], d["field"], d["change"], ", ".join(d["attributes"]))
                    for d in metadata], empty="  none")
        click.echo("")
        click.echo("evaluator scores")
        echo_table(("step", "table", "metric", run_a, run_b),
                   [(s["step"], s["table"], s["metric"], s["a"], s["b"]) for s in scores],
                   right=(3, 4), empty="  none recorded")
