"""Splitter: draws one train/validation split per (expanded) experiment."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from petsard_status.errors import ModuleError
from petsard_status.modules.base import BaseAdapter, schema_of
from petsard_status.modules.params import INT, NUMBER, RANDOM_STATE, Param, ParamSpec

if TYPE_CHECKING:
    from petsard_status.metadata.types import SchemaMetadata

MAX_DRAWS = 100


def frame_of(result: Any, where: str, part: str = "train") -> pd.DataFrame:
    """The table inside a module result: the frame itself, or ``result[part]``."""
    if isinstance(result, pd.DataFrame):
        return result
    if isinstance(result, dict) and isinstance(result.get(part), pd.DataFrame):
        return result[part]
    raise ModuleError(
        f"{where}: expected a DataFrame (or a dict with a {part!r} DataFrame) as input, "
        f"got {type(result).__name__}"
    )


def previous_frame(status: Any, module: str) -> pd.DataFrame:
    """The data left by the module just before ``module`` in the sequence."""
    pre = status.get_pre_module(module)
    if pre is None:
        raise ModuleError(f"{module} cannot be the first module: it needs input data")
    return frame_of(status.get_result(pre), f"{module} (input from {pre})")


class SplitterAdapter(BaseAdapter):
    """Splits the previous module's table into ``train`` and ``validation``.

    Sample ``k`` (``sample_index``, 1-based, set by the Config when it expands
    ``num_samples``) draws from ``SeedSequence([random_state, k - 1, attempt])``;
    a draw equal to a train set some earlier sample already used
    (``status.get_exist_train_indices()``) is redrawn with the next attempt.
    """

    module_name: ClassVar[str] = "Splitter"
    params: ClassVar[ParamSpec] = ParamSpec((
        Param("train_split_ratio", (NUMBER,), default=0.8, minimum=0, maximum=1, exclusive=True,
              doc="share of rows in the train part"),
        Param("num_samples", (INT,), default=1, minimum=1, doc="how many splits to draw"),
        RANDOM_STATE,
    ), reserved=("sample_index",))

    def __init__(self, config: dict[str, Any], context: Any = None) -> None:
        super().__init__(config, context)
        ratio = self.config.get("train_split_ratio", 0.8)
        if isinstance(ratio, bool) or not isinstance(ratio, int | float) or not 0 < ratio < 1:
            raise ModuleError(
                f"Splitter: train_split_ratio must be a number between 0 and 1, not {ratio!r}"
            )
        self.ratio = float(ratio)
        for key in ("num_samples", "sample_index"):
            value = self.config.get(key, 1)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ModuleError(f"Splitter: {key} must be a positive integer, not {value!r}")
        self.sample_index: int = self.config.get("sample_index", 1)
        self.random_state = self.seed()
        self.result: dict[str, pd.DataFrame] | None = None
        self.train_labels: list[int] = []
        self.attempts = 0
        self._metadata: SchemaMetadata | None = None

    def set_input(self, status: Any) -> dict[str, Any]:
        existing = status.get_exist_train_indices()
        return {
            "data": previous_frame(status, "Splitter"),
            "exist_train_indices": [set(s) for s in existing],
        }

    def run(self, input: dict[str, Any]) -> None:
        data: pd.DataFrame = input["data"]
        existing: list[set[int]] = list(input.get("exist_train_indices") or [])
        if not pd.api.types.is_integer_dtype(data.index.dtype):
            raise ModuleError(
                "Splitter: the input needs integer row labels (reset_index() the data)"
            )
        if not data.index.is_unique:
            raise ModuleError("Splitter: the input's row labels are not unique")
        n = len(data)
        n_train = int(n * self.ratio)
        if n_train < 1 or n_train >= n:
            raise ModuleError(
                f"Splitter: {n} rows with train_split_ratio {self.ratio} leave an empty part"
            )
        labels = data.index.to_numpy()
        for attempt in range(MAX_DRAWS):
            rng = np.random.default_rng(
                np.random.SeedSequence([self.random_state, self.sample_index - 1, attempt])
            )
            positions = np.sort(rng.choice(n, size=n_train, replace=False))
            train = {int(v) for v in labels[positions]}
            if train not in existing:
                break
        else:
            raise ModuleError(
                f"Splitter: every one of {MAX_DRAWS} draws repeated an earlier train set; "
                "the data is too small for this many samples"
            )
        self.attempts = attempt + 1
        mask = np.zeros(n, dtype=bool)
        mask[positions] = True
        self.train_labels = sorted(train)
        self.result = {"train": data.iloc[mask], "validation": data.iloc[~mask]}
        self._metadata = None

    def get_result(self) -> dict[str, pd.DataFrame]:
        if self.result is None:
            raise ModuleError("Splitter: get_result() before run()")
        return self.result

    def get_train_indices(self) -> list[list[int]]:
        """The train row labels of this sample (one sorted list)."""
        return [list(self.train_labels)]

    def get_metadata(self) -> SchemaMetadata:
        if self._metadata is None:
            self._metadata = schema_of(self.get_result()["train"], "splitter")
        return self._metadata
