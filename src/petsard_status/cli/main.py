"""The ``petsard-status`` command: run pipelines and inspect their stored status."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from petsard_status import __version__
from petsard_status.errors import PetsardStatusError

F = TypeVar("F", bound=Callable[..., Any])

DB_HELP = (
    "Database: a SQLAlchemy URL or a SQLite file path "
    "[default: $PETSARD_STATUS_DB, else sqlite:///petsard_status.db]"
)


def db_option(func: F) -> F:
    return click.option("--db", "db", default=None, metavar="URL", help=DB_HELP)(func)


def user_errors(func: F) -> F:
    """Show the package's errors as one clear line and exit 1, never as a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except PetsardStatusError as exc:
            # A checked config has one line per problem: each is an error of its own.
            for line in getattr(exc, "problems", None) or [str(exc)]:
                click.echo(f"Error: {line}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="petsard-status")
def main() -> None:
    """Run data pipelines with a persistent, inspectable, resumable status.

    Every command that reads or writes a store takes --db; without it the store is
    $PETSARD_STATUS_DB, else ./petsard_status.db.
    """


def _register() -> None:
    from petsard_status.cli import results as _results  # noqa: F401
    from petsard_status.cli import run as _run  # noqa: F401
    from petsard_status.cli import validate as _validate  # noqa: F401

    for optional in ("inspect", "db"):
        try:
            __import__(f"petsard_status.cli.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"petsard_status.cli.{optional}":
                raise


_register()
