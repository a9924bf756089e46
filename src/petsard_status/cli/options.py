"""Options and error handling that every command shares, defined once."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import click

from petsard_status.errors import PetsardStatusError

F = TypeVar("F", bound=Callable[..., Any])

DB_HELP = (
    "Database: a SQLAlchemy URL or a SQLite file path "
    "[default: $PETSARD_STATUS_DB, else sqlite:///petsard_status.db]"
)


def db_option(func: F) -> F:
    return click.option("--db", "db", default=None, metavar="URL", help=DB_HELP)(func)


json_option = click.option("--json", "as_json", is_flag=True,
                           help="Print JSON (stable keys) instead of a table.")
module_option = click.option("--module", "-m", "module", default=None, metavar="MODULE",
                             help="Only this module (Loader, Splitter, ...).")


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
