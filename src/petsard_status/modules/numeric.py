"""Columns as plain floats, the one conversion the Preprocessor and the Evaluator share."""

from __future__ import annotations

import pandas as pd

__all__ = ["as_float"]

_EPOCH = pd.Timestamp("1970-01-01")


def as_float(series: pd.Series) -> pd.Series:
    """Numbers as float64; date-times as seconds since 1970 (aware ones taken in UTC)."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        if getattr(series.dt, "tz", None) is not None:
            series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return (series - _EPOCH) / pd.Timedelta(seconds=1)
    return series.astype("float64")
