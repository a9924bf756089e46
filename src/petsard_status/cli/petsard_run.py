"""``run --modules petsard`` and ``resume`` of such a run: PETsARD's own Executor and adapters."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import click

from petsard_status.cli.common import echo_run_summary
from petsard_status.execution import RunInterrupted

MODULES = "petsard"


def _executor_class() -> Any:
    # Imported here: PETsARD is optional, and importing it takes seconds.
    from petsard_status.petsard import Executor

    return Executor


def run_petsard(pipeline: str, db: str | None, run_name: str | None, progress: Any) -> None:
    executor = _executor_class()(pipeline, store=db, run=run_name, progress=progress)
    click.echo(f"run {executor.run_name} (PETsARD's modules): "
               f"{executor.status.config.num_steps} steps, "
               f"database {executor.status.store.location}")
    _execute(executor, progress)


def run_info(run: str, db: str | None) -> dict[str, Any]:
    """The run's info document, read without writing anything."""
    from petsard_status.status import Status

    with Status.open(run, db, read_only=True) as status:
        info = status.run_info()["info"]
    return info if isinstance(info, dict) else {}


def resume_petsard(run_name: str, db: str | None, info: dict[str, Any], progress: Any) -> None:
    # PETsARD reads relative paths from the working directory: resume from the same one.
    working_dir = info.get("working_dir")
    if working_dir and Path(working_dir).is_dir() and Path(working_dir) != Path.cwd():
        db = _absolute(db)
        click.echo(f"working directory {working_dir} (as when the run started)")
        os.chdir(working_dir)
    executor = _executor_class().reopen(run_name, db, progress=progress)
    _execute(executor, progress)


def _absolute(db: str | None) -> str:
    """The store's location, independent of the working directory."""
    value = db or os.environ.get("PETSARD_STATUS_DB") or "petsard_status.db"
    sqlite = "sqlite:///"
    if value.startswith(sqlite) and not value.startswith(sqlite + "/") and ":memory:" not in value:
        return sqlite + str(Path(value[len(sqlite):]).resolve())
    return value if "://" in value else str(Path(value).resolve())


def _execute(executor: Any, progress: Any) -> None:
    with executor:
        try:
            executor.run()
        except RunInterrupted as exc:
            progress.close()
            click.echo(f"Interrupted: {exc}", err=True)
            sys.exit(130)
        except Exception as exc:
            progress.close()
            click.echo(f"Error: run {executor.run_name} failed ({type(exc).__name__}: {exc}); it "
                       f"is marked failed. Fix the cause, then: petsard-status resume "
                       f"{executor.run_name}", err=True)
            sys.exit(1)
        progress.close()
        echo_run_summary(executor, len(executor.get_result()))
