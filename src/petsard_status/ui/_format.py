"""Turning stored values into the short texts the pages show, and frames into page-sized tables."""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any

import pandas as pd

__all__ = ["cell", "duration", "frame_page", "when"]

MAX_CELL = 80


def when(value: dt.datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value else ""


def duration(value: float | None) -> str:
    """A duration for people: ``0.054s``, ``12.3s``, ``2m 05s``, ``1h 02m``."""
    if value is None or not math.isfinite(value):
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


def cell(value: Any, limit: int = MAX_CELL) -> str:
    """One table cell as text; escaping is the template's job, not this one's."""
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
    if limit and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def frame_page(df: pd.DataFrame, offset: int, limit: int, max_columns: int = 60) -> dict[str, Any]:
    """Rows ``offset`` to ``offset + limit`` of a frame, as text, with its dtypes."""
    shown = df.iloc[offset : offset + limit, :max_columns]
    columns = [(cell(name), str(dtype)) for name, dtype in shown.dtypes.items()]
    rows = [
        [cell(index), *(cell(v) for v in values)]
        for index, values in zip(shown.index, shown.itertuples(index=False, name=None))
    ]
    return {
        "columns": columns,
        "rows": rows,
        "total_rows": len(df),
        "total_columns": df.shape[1],
        "offset": offset,
        "limit": limit,
    }
