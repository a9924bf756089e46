"""How ``run`` and ``resume`` report a failed or interrupted run: one line, on stderr.

A failing step is named by its flow key; an exception raised in a user's
code is shown as ``file:line: ExceptionType: message`` at the innermost frame
of that code (``--traceback`` prints the whole trace too); the hint to
continue names the CLI command with the same ``--db``.
"""

from __future__ import annotations

import os
import shlex
import sysconfig
import traceback
from pathlib import Path

import click

from petsard_status.errors import PetsardStatusError
from petsard_status.store.engine import ENV_VAR

__all__ = ["db_flag", "describe_exception", "report_failure", "resume_hint"]

_PACKAGE = Path(__file__).resolve().parents[1]


def db_flag(db: str | None) -> str:
    """`` --db VALUE`` as the user gave it (option or environment), or ``""`` for the default."""
    value = db if db is not None else os.environ.get(ENV_VAR) or None
    return f" --db {shlex.quote(value)}" if value else ""


def resume_hint(run: str, db: str | None) -> str:
    return f"petsard-status resume {shlex.quote(run)}{db_flag(db)}"


def _library_file(filename: str) -> bool:
    path = Path(filename).resolve()
    roots = [_PACKAGE, *(Path(sysconfig.get_paths()[k]).resolve()
                         for k in ("stdlib", "platstdlib", "purelib", "platlib"))]
    return filename.startswith("<") or any(path.is_relative_to(root) for root in roots)


def _root_cause(exc: BaseException) -> BaseException:
    # Our errors wrap a user's exception (``raise ModuleError(...) from exc``).
    seen = {id(exc)}
    while exc.__cause__ is not None and id(exc.__cause__) not in seen:
        exc = exc.__cause__
        seen.add(id(exc))
    return exc


def describe_exception(exc: BaseException) -> str:
    """``file:line: Type: message`` for an error in a user's code, else our message."""
    root = _root_cause(exc)
    if isinstance(root, SyntaxError) and root.filename and not _library_file(root.filename):
        return f"{root.filename}:{root.lineno}: SyntaxError: {root.msg}"
    frames = [f for f in traceback.extract_tb(root.__traceback__)
              if not _library_file(f.filename)]
    if frames:
        frame = frames[-1]
        return f"{frame.filename}:{frame.lineno}: {type(root).__name__}: {root}"
    if isinstance(exc, PetsardStatusError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def report_failure(exc: BaseException, run: str, step: str | None, db: str | None,
                   show_traceback: bool) -> None:
    """Print a failed step as one line on stderr (after the trace, with ``--traceback``)."""
    if show_traceback:
        click.echo("".join(traceback.format_exception(exc)).rstrip(), err=True)
    where = f"step {step} failed: " if step else ""
    hint = (f"; when it is fixed, continue with: {resume_hint(run, db)} "
            "(add --config FILE to continue with a corrected pipeline file)")
    more = "" if show_traceback else " [--traceback shows the whole trace]"
    click.echo(f"Error: run {run}: {where}{describe_exception(exc)}{hint}{more}", err=True)
