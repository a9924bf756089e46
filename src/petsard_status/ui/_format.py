"""Turning stored values into the short texts the pages show, and frames into page-sized tables."""

from __future__ import annotations

from typing import Any

import pandas as pd

from petsard_status import _text
from petsard_status._text import duration, when

__all__ = ["cell", "duration", "frame_page", "when"]

MAX_CELL = 80


def cell(value: Any, limit: int = MAX_CELL) -> str:
    """One table cell as text; escaping is the template's job, not this one's."""
    return _text.cell(value, limit)


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
