"""``petsard-status results``: what a pipeline found, its scores and its reports.

Evaluations come from every Evaluator step of the run (each with the flow
path it belongs to), reports from ``Status.get_report()``: the tables the
Reporter wrote (``save_report``), listed with the data files it saved.
"""

from __future__ import annotations

import re
from typing import Any

import click
import pandas as pd

from petsard_status.cli.common import open_status, open_store
from petsard_status.cli.options import db_option, user_errors
from petsard_status.cli.tables import echo_json, echo_pairs, echo_table
from petsard_status.errors import UnexecutedError
from petsard_status.execution.revisions import current_config
from petsard_status.status import Status
from petsard_status.store.results import step_results

EVALUATION_MODULES = ("Evaluator", "Describer")
LABEL_COLUMNS = ("full_expt_name",)
# Parts of an evaluation shown without --all: the rest can be long (one row per pair).
SHOWN_PARTS = ("global", "columnwise")
_GRANULARITY = re.compile(r"\[(\w+)\]$")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _path(config: Any, key: str) -> list[list[str]] | None:
    for step in config.flow():
        if step.key == key:
            return [list(pair) for pair in step.path]
    return None


def evaluations(status: Status) -> list[dict[str, Any]]:
    """Each evaluation step: its experiment, flow path and tables (one per granularity)."""
    config = current_config(status, status.run_info()["info"])
    out = []
    for module in EVALUATION_MODULES:
        if module not in status.sequence:
            continue
        for experiment, key, result in step_results(status.store, status.run_id, module):
            parts = result if isinstance(result, dict) else {"result": result}
            out.append({
                "module": module, "experiment": experiment, "step": key,
                "path": _path(config, key),
                "tables": {str(name): _records(frame) for name, frame in parts.items()
                           if isinstance(frame, pd.DataFrame)},
            })
    return out


def reports(status: Status) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The Reporter's score reports (with their rows) and the data it saved (sizes only)."""
    try:
        report = status.get_report()
    except UnexecutedError:
        report = {}
    tables, data = [], []
    for name, frame in report.items():
        if not isinstance(frame, pd.DataFrame):
            continue
        match = _GRANULARITY.search(name)
        if "full_expt_name" in frame.columns and match:
            tables.append({"name": name, "granularity": match.group(1), "rows": _records(frame)})
        else:
            data.append({"name": name, "rows": len(frame), "columns": len(frame.columns)})
    return tables, data


@click.command("results")
@click.argument("run", metavar="RUN")
@db_option
@click.option("--all", "show_all", is_flag=True,
              help="Also show the long tables (an Evaluator's pairwise scores).")
@click.option("--json", "as_json", is_flag=True,
              help="Print JSON (stable keys) instead of tables.")
@user_errors
def results_command(run: str, db: str | None, show_all: bool, as_json: bool) -> None:
    """Show what RUN found: each Evaluator's scores and each Reporter's reports."""
    with open_store(db) as store, open_status(store, run) as status:
        info = status.run_info()
        found = evaluations(status)
        tables, data = reports(status)
        if as_json:
            echo_json({"run": status.run, "state": info["state"],
                       "output_dir": info["info"].get("output_dir"),
                       "evaluations": found, "reports": tables, "data": data})
            return
        echo_pairs([("run", f"{status.run} ({info['state']})"),
                    ("outputs", info["info"].get("output_dir") or "")])
        if not found and not tables:
            click.echo("")
            click.echo("no evaluations or reports in this run (a pipeline needs an Evaluator, "
                       "and a Reporter with method save_report, for them)")
        for evaluation in found:
            _echo_evaluation(evaluation, show_all)
        for table in tables:
            _echo_report(table)
        if data:
            click.echo("")
            click.echo(click.style("data saved by the Reporter", bold=True))
            echo_table(("name", "rows", "columns"),
                       [(d["name"], d["rows"], d["columns"]) for d in data], right=(1, 2))


def _path_text(evaluation: dict[str, Any]) -> str:
    path = evaluation["path"]
    if not path:
        return evaluation["step"]
    return " > ".join(f"{module}[{experiment}]" for module, experiment in path)


def _echo_evaluation(evaluation: dict[str, Any], show_all: bool) -> None:
    click.echo("")
    click.echo(click.style(f"{evaluation['module']}[{evaluation['experiment']}]", bold=True))
    click.echo(f"path  {_path_text(evaluation)}")
    for name, rows in evaluation["tables"].items():
        click.echo("")
        if len(rows) == 1:
            click.echo(f"{name}:")
            echo_pairs([(f"  {k}", v) for k, v in rows[0].items()])
        elif show_all or name in SHOWN_PARTS or not rows:
            click.echo(f"{name}:")
            _echo_rows(rows)
        else:
            click.echo(f"{name}: {len(rows)} rows (--all shows them, --json has them)")


def _echo_report(table: dict[str, Any]) -> None:
    click.echo("")
    click.echo(click.style(f"report {table['name']}", bold=True))
    rows = table["rows"]
    by_path: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_path.setdefault(str(row.get("full_expt_name")), []).append(row)
    for path, group in by_path.items():
        labels = set(LABEL_COLUMNS) | {m for m in _modules(path)}
        values = [{k: v for k, v in row.items() if k not in labels} for row in group]
        click.echo(f"path  {path}")
        if len(values) == 1:
            echo_pairs([(f"  {k}", v) for k, v in values[0].items()])
        else:
            _echo_rows(values)


def _modules(full_expt_name: str) -> list[str]:
    # "Loader[a]_Splitter[b_[1-1]]" -> Loader, Splitter: the label columns of a report row.
    return re.findall(r"(?:^|_)([A-Z][A-Za-z0-9_]*?)\[", full_expt_name)


def _echo_rows(rows: list[dict[str, Any]]) -> None:
    headers = list(dict.fromkeys(k for row in rows for k in row))
    echo_table(headers, [[row.get(h) for h in headers] for row in rows])
