"""Stored values as the short texts people read: the terminal's tables and the web pages.

A module of the package's top level, below every layer, so that the command line and
the web view share it.  Escaping is the caller's job (the web view's templates).
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any

__all__ = ["cell", "duration", "when"]


def when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def duration(value: float | None) -> str:
    """A duration for people: ``0.054s``, ``12.3s``, ``2m 05s``, ``1h 02m``."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return ""
    if value < 1:
        return f"{value:.3f}s"
    if value < 60:
        return f"{value:.1f}s"
    minutes, secs = divmod(round(value), 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


def cell(value: Any, limit: int) -> str:
    """One table cell: short floats, yes/no, empty for missing, long text cut with '…'."""
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, float):
        text = "" if math.isnan(value) else f"{value:.6g}"
    elif isinstance(value, dt.datetime):
        text = when(value)
    elif isinstance(value, enum.Enum):
        text = str(value.value)
    elif isinstance(value, list | tuple):
        text = ", ".join(cell(v, limit) for v in value)
    else:
        item = getattr(value, "item", None)  # numpy scalars
        if callable(item) and not isinstance(value, str):
            try:
                return cell(item(), limit)
            except (TypeError, ValueError):
                pass
        text = str(value)
    text = text.replace("\n", " ")
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text
