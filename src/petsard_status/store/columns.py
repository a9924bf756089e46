"""Column types that refuse values petsard-status never writes.

A plain column (a timestamp, a sequence number, a change's attribute list)
carries no checksum, and SQLite keeps whatever text is put in any column: a
``seq`` of ``'abc'`` or a ``timestamp`` of ``'garbage'`` would otherwise reach
the code that reads it as a ``ValueError`` deep inside SQLAlchemy or the Status.
These types check each value as it is read and raise :class:`CorruptDataError`
naming the column, so every reader (the API, the CLI, ``db check``) gives one
clear error instead of a traceback.  Writing is unchanged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from sqlalchemy import DateTime, Float, Integer, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

from petsard_status.errors import CorruptDataError
from petsard_status.formats import short_repr, strict_loads

__all__ = ["AttributesText", "CheckedDateTime", "CheckedFloat", "CheckedInteger",
           "column_checker"]

# A change's attributes are a flat list of names: nesting beyond that is not ours.
ATTRIBUTES_DEPTH = 2
ATTRIBUTES_BYTES = 1024 * 1024


def _corrupt(column: str, what: str, value: Any) -> CorruptDataError:
    return CorruptDataError(
        f"the stored {column} {short_repr(value)} is not {what}; the database was edited "
        "outside petsard-status. `petsard-status db check` lists every such row; restore the "
        "database from a backup or correct the value"
    )


class _Checked(TypeDecorator):
    """Base: run the underlying type's result processing, then ``check`` the value."""

    cache_ok = True
    what = "a valid value"

    def __init__(self, column: str = "value", *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.column = column

    def check(self, value: Any) -> bool:
        raise NotImplementedError

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], Any]:
        inner = super().result_processor(dialect, coltype)

        def process(value: Any) -> Any:
            if value is None:
                return None
            try:
                out = inner(value) if inner is not None else value
            except (ValueError, TypeError, OverflowError) as exc:
                raise _corrupt(self.column, self.what, value) from exc
            if not self.check(out):
                raise _corrupt(self.column, self.what, value)
            return out

        return process


class CheckedDateTime(_Checked):
    cache_ok = True
    impl = DateTime
    what = "a date and time"

    def check(self, value: Any) -> bool:
        return isinstance(value, dt.datetime)


class CheckedInteger(_Checked):
    cache_ok = True
    impl = Integer
    what = "an integer"

    def check(self, value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)


class CheckedFloat(_Checked):
    cache_ok = True
    impl = Float
    what = "a number"

    def check(self, value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)


class AttributesText(_Checked):
    """A JSON array of names (``["data_type", "stats"]``), kept as its text."""

    cache_ok = True
    impl = Text
    what = "a JSON list of attribute names"

    def check(self, value: Any) -> bool:
        if not isinstance(value, str) or len(value) > ATTRIBUTES_BYTES:
            return False
        try:
            doc = strict_loads(value, what=self.column, error=ValueError,
                               max_depth=ATTRIBUTES_DEPTH)
        except ValueError:
            return False
        return isinstance(doc, list) and all(isinstance(item, str) for item in doc)


def column_checker(column_type: TypeEngine, dialect: Dialect) -> Callable[[Any], Any] | None:
    """The read check of a column's type (raises CorruptDataError), or None if it has none."""
    if not isinstance(column_type, _Checked):
        return None
    if dialect.name != "sqlite" and not isinstance(column_type, AttributesText):
        return None  # a typed server column holds only values of its type
    return column_type.dialect_impl(dialect).result_processor(dialect, None)
