"""``petsard-status run`` and ``resume``: the pipeline with a progress display."""

from __future__ import annotations

import sys
from typing import Any

import click
from rich.markup import escape

from petsard_status.cli import petsard_run
from petsard_status.cli.common import echo_run_summary
from petsard_status.cli.failures import report_failure, resume_hint
from petsard_status.cli.options import db_option, user_errors
from petsard_status.errors import RunExistsError
from petsard_status.execution import Executor, RunInterrupted, StepEvent

traceback_option = click.option(
    "--traceback", "show_traceback", is_flag=True,
    help="On a failed step, print the whole Python trace too.")


class _PlainProgress:
    """One line per event: for logs, pipes and CI."""

    def __call__(self, event: StepEvent) -> None:
        clock = f"[{event.elapsed:7.1f}s]"
        if event.kind == "start":
            click.echo(f"{clock} {event.done}/{event.total} steps already done")
        elif event.kind == "step" and event.step is not None:
            click.echo(f"{clock} {event.done + 1}/{event.total} {event.step.module}"
                       f"[{event.step.experiment}] ...")
        elif event.kind == "done" and event.step is not None:
            click.echo(f"{clock} {event.done}/{event.total} {event.step.module}"
                       f"[{event.step.experiment}] done")
        elif event.kind == "rerun" and event.message:
            click.echo(f"{clock} {event.message}")
        elif event.kind == "finished" and event.message:
            click.echo(event.message)

    def close(self) -> None:
        pass


class _RichProgress:
    """A live bar with the current module, for a terminal."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        self._task: Any = None

    def __call__(self, event: StepEvent) -> None:
        if event.kind == "start":
            self._progress.start()
            self._task = self._progress.add_task("starting", total=event.total,
                                                 completed=event.done)
        elif self._task is None:
            if event.message:
                click.echo(event.message)
        elif event.kind == "step" and event.step is not None:
            # Square brackets are rich markup: escape the experiment's name.
            label = escape(f"{event.step.module}[{event.step.experiment}]")
            self._progress.update(self._task, description=label)
        elif event.kind == "done":
            self._progress.update(self._task, completed=event.done)
        elif event.kind == "rerun" and event.message:
            self._progress.console.print(escape(event.message))
        elif event.kind == "finished":
            self._progress.update(self._task, description="finished", completed=event.done)

    def close(self) -> None:
        self._progress.stop()


def _progress(plain: bool) -> Any:
    return _RichProgress() if sys.stdout.isatty() and not plain else _PlainProgress()


def _execute(executor: Executor, progress: Any, db: str | None, show_traceback: bool) -> None:
    with executor:
        try:
            results = executor.run()
        except RunInterrupted:
            progress.close()
            step = executor.status.run_info()["failed_step"] or "?"
            click.echo(f"Interrupted: run {executor.run_name} was interrupted at {step}; "
                       f"continue it with: {resume_hint(executor.run_name, db)}", err=True)
            sys.exit(130)
        except Exception as exc:
            progress.close()
            report_failure(exc, executor.run_name, executor.status.run_info()["failed_step"],
                           db, show_traceback)
            sys.exit(1)
        progress.close()
        echo_run_summary(executor, len(results), executor.output_dir)


@click.command("run")
@click.argument("pipeline", type=click.Path(exists=True, dir_okay=False))
@db_option
@click.option("--run", "run_name", default=None, help="Name of the run [default: generated].")
@click.option("--output", "output", default=None, type=click.Path(file_okay=False),
              help="Folder for the Reporter's files [default: petsard-output/RUN].")
@click.option("--seed", type=click.IntRange(0, 2**63 - 1), default=None,
              help="Seed (0 or more) for every module without its own "
                   "[default: random, recorded].")
@click.option("--plain", is_flag=True, help="Plain line log even on a terminal.")
@click.option("--modules", type=click.Choice(["builtin", "petsard"]), default="builtin",
              show_default=True,
              help="Whose modules run the steps: ours, or PETsARD's own (needs PETsARD).")
@traceback_option
@user_errors
def run_command(pipeline: str, db: str | None, run_name: str | None, output: str | None,
                seed: int | None, plain: bool, modules: str, show_traceback: bool) -> None:
    """Run the pipeline in PIPELINE (a YAML file), recording every step.

    Every parameter is checked first (as `petsard-status validate` does); on a
    problem nothing runs and no run is recorded.
    """
    progress = _progress(plain)
    if modules == "petsard":
        if seed is not None:
            raise click.UsageError("PETsARD's modules take their seeds from the YAML "
                                   "(random_state), not from --seed")
        petsard_run.run_petsard(pipeline, db, run_name, progress)
        return
    try:
        executor = Executor(pipeline, db, run_name, output_dir=output, seed=seed,
                            progress=progress)
    except RunExistsError:
        raise RunExistsError(
            f"a run named {run_name!r} is already in the database; continue it with: "
            f"{resume_hint(run_name or '', db)}, or give another --run name"
        ) from None
    click.echo(f"run {executor.run_name}: {executor.config.num_steps} steps, "
               f"database {executor.status.store.location}")
    _execute(executor, executor.progress, db, show_traceback)


@click.command("resume")
@click.argument("run_name", metavar="RUN")
@db_option
@click.option("--output", "output", default=None, type=click.Path(file_okay=False),
              help="Folder for the Reporter's files [default: the run's own].")
@click.option("--config", "config", default=None, type=click.Path(dir_okay=False),
              help="A corrected pipeline file to continue with; the steps already finished "
                   "must be configured identically in it.")
@click.option("--plain", is_flag=True, help="Plain line log even on a terminal.")
@traceback_option
@user_errors
def resume_command(run_name: str, db: str | None, output: str | None, config: str | None,
                   plain: bool, show_traceback: bool) -> None:
    """Finish RUN where it stopped, without redoing finished steps.

    With --config, continue with a corrected pipeline file, recorded as a revision
    of the run's config.
    """
    progress = _progress(plain)
    info = petsard_run.run_info(run_name, db)
    if info.get("modules") == petsard_run.MODULES:
        petsard_run.resume_petsard(run_name, db, info, progress)
        return
    executor = Executor.reopen(run_name, db, output_dir=output, progress=progress,
                               config=config)
    _execute(executor, executor.progress, db, show_traceback)
