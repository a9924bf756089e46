"""Output of the inspection commands: aligned text tables for people, JSON for scripts.

Tables are plain text (no colour, no box drawing) so that they stay readable
and greppable when piped; headers are bold on a terminal only (click strips the
styling when the output is not one).
"""

from __future__ import annotations

import datetime as dt
import decimal
import enum
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import click

from petsard_status import _text

MAX_CELL = 32


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data: ISO times, null for NaN and infinities."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return [jsonable(v) for v in sorted(value, key=repr)]
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    item = getattr(value, "item", None)  # numpy and pandas scalars
    if callable(item):
        try:
            return jsonable(item())
        except (TypeError, ValueError):
            pass
    return str(value)


def echo_json(doc: Any) -> None:
    click.echo(json.dumps(jsonable(doc), indent=2, ensure_ascii=False, allow_nan=False))


def echo_json_stream(head: dict[str, Any], key: str, rows: Iterable[Any]) -> None:
    """``{**head, key: [rows...]}`` written row by row, as the rows come: constant memory."""
    opening = json.dumps(jsonable(head), ensure_ascii=False, allow_nan=False)[:-1]
    click.echo(f"{opening}{', ' if head else ''}{json.dumps(key)}: [", nl=False)
    for i, row in enumerate(rows):
        text = json.dumps(jsonable(row), ensure_ascii=False, allow_nan=False)
        click.echo(("," if i else "") + "\n  " + text, nl=False)
    click.echo("\n]}")


def render(headers: Sequence[str], rows: Iterable[Sequence[Any]],
           right: Iterable[int] = (), cut: Iterable[int] = ()) -> list[str]:
    """Lines of an aligned table.

    Columns whose index is in ``right`` align right; cells of the columns in
    ``cut`` (data values, which can be long) are shortened to ``MAX_CELL``.
    """
    cut_set = set(cut)
    body = [[cell(v, MAX_CELL if i in cut_set else 0) for i, v in enumerate(row)]
            for row in rows]
    widths = [len(h) for h in headers]
    for row in body:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    right_set = set(right)

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.rjust(w) if i in right_set else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths))
        ]
        return "  ".join(parts).rstrip()

    return [line(list(headers)), line(["-" * w for w in widths]), *(line(r) for r in body)]


def echo_table(headers: Sequence[str], rows: Iterable[Sequence[Any]],
               right: Iterable[int] = (), cut: Iterable[int] = (),
               empty: str = "(none)") -> None:
    rows = list(rows)
    if not rows:
        click.echo(empty)
        return
    lines = render(headers, rows, right, cut)
    click.echo(click.style(lines[0], bold=True))
    for text in lines[1:]:
        click.echo(text)


def echo_pairs(pairs: Iterable[tuple[str, Any]]) -> None:
    """``key  value`` lines, keys aligned."""
    pairs = [(k, v) for k, v in pairs]
    width = max((len(k) for k, _ in pairs), default=0)
    for key, value in pairs:
        click.echo(f"{key.ljust(width)}  {cell(value, limit=0)}".rstrip())


def cell(value: Any, limit: int = MAX_CELL) -> str:
    """One table cell: short floats, yes/no, empty for missing, long text cut with '…'."""
    return _text.cell(value, limit)
