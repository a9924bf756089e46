"""``petsard-status validate``: check a pipeline file and show the flow it would run."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import click

from petsard_status.cli.options import user_errors
from petsard_status.cli.tables import echo_json
from petsard_status.config import Config
from petsard_status.errors import InvalidConfigError
from petsard_status.execution.validate import config_problems


def flow_rows(config: Config) -> list[dict[str, Any]]:
    """One entry per step of the flow, in execution order."""
    return [{"index": step.index + 1, "module": step.module, "experiment": step.experiment,
             "depth": step.depth, "step": step.key} for step in config.flow()]


@click.command("validate")
@click.argument("pipeline", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True,
              help="Print the flow as JSON (stable keys) instead of a tree.")
@user_errors
def validate_command(pipeline: str, as_json: bool) -> None:
    """Check every parameter of PIPELINE (a YAML file) and print the flow it would run.

    Nothing runs and no database is opened. Each problem is printed on its own
    line, with the file and line it is written on; the exit status is then 1.
    """
    config = Config.from_yaml(pipeline)
    problems = config_problems(config, Path(pipeline).resolve().parent)
    if problems:
        raise InvalidConfigError([str(p) for p in problems], f" {pipeline!r}")
    rows = flow_rows(config)
    if as_json:
        echo_json({"pipeline": pipeline, "modules": config.sequence,
                   "experiments": {m: config.experiments(m) for m in config.sequence},
                   "paths": len(config.paths()), "steps": rows})
        return
    click.echo(f"pipeline  {pipeline}")
    click.echo(f"modules   {' -> '.join(config.sequence)}")
    click.echo(f"steps     {len(rows)} ({len(config.paths())} flow path(s))")
    click.echo("")
    width = len(str(len(rows)))
    for row in rows:
        click.echo(f"{row['index']:>{width}}  {'  ' * row['depth']}"
                   f"{row['module']}[{row['experiment']}]")
    click.echo("")
    click.echo(f"no problems found; run it with: petsard-status run {shlex.quote(pipeline)}")
