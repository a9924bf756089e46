"""A mixed frame, large or small, with every kind of column a result holds."""

from __future__ import annotations

import numpy as np
import pandas as pd


def mixed(rows: int, seed: int = 0) -> pd.DataFrame:
    """Every kind of column a large result holds, with missing values."""
    rng = np.random.default_rng(seed)
    missing = rng.random(rows) < 0.1
    ints = pd.array(rng.integers(-1000, 1000, rows), dtype="Int64")
    ints[missing] = pd.NA
    text = np.array([f"w{i % 97}" for i in range(rows)], dtype=object)
    text[missing] = None
    return pd.DataFrame({
        "id": np.arange(rows, dtype=np.int64),
        "x": rng.normal(size=rows),
        "n": ints,
        "cat": pd.Categorical(rng.choice(["a", "b", "c"], rows), categories=["c", "b", "a"]),
        "s": pd.Series(text, dtype="str"),
        "when": pd.Timestamp("2024-01-01", tz="Asia/Taipei")
        + pd.to_timedelta(rng.integers(0, 10**6, rows), unit="s"),
    })
