"""Preprocessor: imputes, encodes and scales a table into an all-float64 frame.

The fitted :class:`Processor` is the live object a later Postprocessor uses to
turn synthetic rows back into the original schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from petsard_status.errors import ModuleError
from petsard_status.modules.base import BaseAdapter, schema_of
from petsard_status.modules.numeric import as_float
from petsard_status.modules.params import MAPPING, RANDOM_STATE, STRING, Param, ParamSpec
from petsard_status.modules.splitter import previous_frame

if TYPE_CHECKING:
    from petsard_status.metadata.types import SchemaMetadata

MISSING_METHODS = ("mean", "median", "mode", "drop")
ENCODINGS = ("label", "onehot")
SCALINGS = ("standard", "minmax", "none")


@dataclass
class ColumnPlan:
    """What was learnt about one input column during ``fit``."""

    name: str
    kind: str  # "numeric", "datetime" or "categorical"
    dtype: Any
    missing: str
    fill: Any = None
    na_share: float = 0.0
    categories: list[Any] = field(default_factory=list)
    frequencies: list[float] = field(default_factory=list)
    center: float = 0.0
    scale: float = 1.0
    outputs: list[str] = field(default_factory=list)


def _kind(series: pd.Series) -> str:
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(dtype):
        return "numeric"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    return "categorical"


def _sorted(values: list[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # mixed types in an object column
        return sorted(values, key=repr)


def _mode(values: pd.Series) -> Any:
    counts = values.value_counts(sort=False)
    top = counts.max()
    # Ties go to the smallest value so that fit does not depend on row order.
    return _sorted([v for v, c in counts.items() if c == top])[0]


class Processor:
    """Invertible missing-value handling, categorical encoding and scaling.

    ``missing``: ``mean`` (default), ``median``, ``mode`` or ``drop``, or a
    mapping ``{column: method}`` (unlisted columns keep the default).  A single
    method applies to numeric and datetime columns; categorical columns are
    imputed with their mode unless the method is ``drop`` or a mapping says
    otherwise.  ``drop`` removes the rows with a gap in that column.

    ``inverse_transform`` restores column names, order, categories and dtypes.
    Imputation cannot be undone row by row, so it re-inserts missing values
    in each column that had gaps, as many as the share of gaps seen in ``fit``:
    first in rows holding the imputed value (which is where a synthesizer that
    learnt the imputed table puts that extra mass), then in rows picked by a
    random order seeded by ``random_state`` and shared by all columns.  With
    ``drop`` the rows are picked by the random order alone.
    """

    def __init__(
        self,
        missing: str | dict[str, str] = "mean",
        encoding: str = "label",
        scaling: str = "standard",
        random_state: int = 0,
    ) -> None:
        if isinstance(missing, str):
            default, per_column = missing, {}
        elif isinstance(missing, dict):
            default, per_column = "mean", dict(missing)
        else:
            raise ModuleError("Preprocessor: missing must be a method name or a mapping")
        for method in [default, *per_column.values()]:
            if method not in MISSING_METHODS:
                raise ModuleError(
                    f"Preprocessor: unknown missing method {method!r}; use one of "
                    f"{', '.join(MISSING_METHODS)}"
                )
        if encoding not in ENCODINGS:
            raise ModuleError(f"Preprocessor: encoding must be one of {', '.join(ENCODINGS)}")
        if scaling not in SCALINGS:
            raise ModuleError(f"Preprocessor: scaling must be one of {', '.join(SCALINGS)}")
        self.missing_default = default
        self.missing_columns = per_column
        self.encoding = encoding
        self.scaling = scaling
        self.random_state = random_state
        self.plans: list[ColumnPlan] = []

    @property
    def fitted(self) -> bool:
        return bool(self.plans)

    @property
    def output_columns(self) -> list[str]:
        return [name for plan in self.plans for name in plan.outputs]

    def fit(self, data: pd.DataFrame) -> Processor:
        unknown = sorted(set(self.missing_columns) - set(map(str, data.columns)))
        if unknown:
            raise ModuleError(f"Preprocessor: missing names unknown columns {unknown}")
        plans = [self._fit_column(data[column]) for column in data.columns]
        outputs = [name for plan in plans for name in plan.outputs]
        if len(set(outputs)) != len(outputs):
            raise ModuleError(
                "Preprocessor: one-hot column names collide with existing columns; "
                "rename the columns or use encoding: label"
            )
        self.plans = plans
        return self

    def _fit_column(self, series: pd.Series) -> ColumnPlan:
        name = str(series.name)
        kind = _kind(series)
        method = self.missing_columns.get(name, self.missing_default)
        if kind == "categorical" and method in ("mean", "median"):
            if name in self.missing_columns:
                raise ModuleError(
                    f"Preprocessor: column {name!r} is categorical; impute it with mode or drop"
                )
            method = "mode"
        plan = ColumnPlan(name, kind, series.dtype, method, na_share=float(series.isna().mean()))
        present = series.dropna()
        if present.empty:
            raise ModuleError(f"Preprocessor: column {name!r} has no values to learn from")
        if kind == "categorical":
            if isinstance(series.dtype, pd.CategoricalDtype):
                plan.categories = list(series.dtype.categories)
            else:
                plan.categories = _sorted(list(present.unique()))
            plan.fill = _mode(present)
            counts = present.value_counts()
            plan.frequencies = [float(counts.get(c, 0)) / len(present) for c in plan.categories]
            plan.outputs = (
                [f"{name}_{c}" for c in plan.categories] if self.encoding == "onehot" else [name]
            )
            return plan
        values = as_float(present)
        plan.fill = {"mean": values.mean(), "median": values.median()}.get(method)
        if plan.fill is None:
            plan.fill = _mode(values)
        if self.scaling == "standard":
            std = float(values.std(ddof=0))
            plan.center, plan.scale = float(values.mean()), (std if std > 0 else 1.0)
        elif self.scaling == "minmax":
            span = float(values.max() - values.min())
            plan.center, plan.scale = float(values.min()), (span if span > 0 else 1.0)
        plan.outputs = [name]
        return plan

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise ModuleError("Preprocessor: the processor is used before fit()")

    def transform(self, data: pd.DataFrame) -> pd.DataFrame:
        self._require_fitted()
        absent = [p.name for p in self.plans if p.name not in data.columns]
        if absent:
            raise ModuleError(f"Preprocessor: columns {absent} are missing from the data")
        drop = [p.name for p in self.plans if p.missing == "drop"]
        if drop:
            data = data.loc[data[drop].notna().all(axis=1)]
        parts: dict[str, np.ndarray] = {}
        for plan in self.plans:
            series = data[plan.name]
            if plan.kind == "categorical":
                codes = pd.Index(plan.categories, dtype=object).get_indexer(
                    series.astype(object)
                ).astype("float64")
                # Unseen categories and gaps (code -1) become the mode's code.
                codes[codes < 0] = plan.categories.index(plan.fill)
                if self.encoding == "onehot":
                    onehot = np.zeros((len(codes), len(plan.categories)))
                    onehot[np.arange(len(codes)), codes.astype(int)] = 1.0
                    for j, out in enumerate(plan.outputs):
                        parts[out] = onehot[:, j]
                else:
                    parts[plan.name] = codes
                continue
            values = as_float(series).fillna(plan.fill).to_numpy("float64")
            parts[plan.name] = (values - plan.center) / plan.scale
        return pd.DataFrame(parts, index=data.index, columns=self.output_columns)

    @staticmethod
    def _decode_onehot(
        values: np.ndarray, plan: ColumnPlan, rng: np.random.Generator
    ) -> np.ndarray:
        """The category of each row: its largest indicator.

        A synthesizer that draws indicators separately leaves rows with no or
        several 1s; always taking the first would pile them on one category,
        so ties go to a category drawn in proportion to its training share.
        """
        values = np.nan_to_num(values, nan=-np.inf)
        tied = values >= values.max(axis=1, keepdims=True) - 1e-9
        with np.errstate(divide="ignore"):
            weight = np.log(np.asarray(plan.frequencies))
        key = np.where(tied, weight + rng.gumbel(size=values.shape), -np.inf)
        return np.argmax(key, axis=1)

    def inverse_transform(self, data: pd.DataFrame) -> pd.DataFrame:
        self._require_fitted()
        absent = [c for c in self.output_columns if c not in data.columns]
        if absent:
            raise ModuleError(f"Preprocessor: columns {absent} are missing from the data")
        columns: dict[str, pd.Series] = {}
        # One shared priority order for every column: rows whose values were
        # imputed together in several columns get their gaps back together.
        rng = np.random.default_rng(self.random_state)
        priority = rng.permutation(len(data))
        for plan in self.plans:
            values = data[plan.outputs].to_numpy("float64")
            if plan.kind == "categorical":
                if self.encoding == "onehot":
                    codes = self._decode_onehot(values, plan, rng)
                else:
                    codes = np.rint(np.nan_to_num(values[:, 0]))
                    codes = np.clip(codes, 0, len(plan.categories) - 1)
                codes = codes.astype(int)
                holds_fill = codes == plan.categories.index(plan.fill)
                picked = np.asarray(plan.categories, dtype=object)[codes]
                series = pd.Series(picked, index=data.index, dtype=object)
            else:
                scaled_fill = (np.float64(plan.fill) - plan.center) / plan.scale
                holds_fill = np.isclose(values[:, 0], scaled_fill, rtol=1e-12, atol=1e-12)
                raw = values[:, 0] * plan.scale + plan.center
                if plan.kind == "datetime":
                    series = pd.Series(pd.to_datetime(raw, unit="s"), index=data.index)
                    tz = getattr(plan.dtype, "tz", None)
                    if tz is not None:
                        series = series.dt.tz_localize("UTC").dt.tz_convert(tz)
                else:
                    if pd.api.types.is_integer_dtype(plan.dtype):
                        raw = np.rint(raw)
                    series = pd.Series(raw, index=data.index)
            if plan.na_share > 0:
                if plan.missing == "drop":
                    holds_fill = np.zeros(len(series), dtype=bool)
                gaps = np.zeros(len(series), dtype=bool)
                # Imputed-value rows first, then the shared random order.
                order = np.lexsort((priority, ~holds_fill))
                gaps[order[: round(plan.na_share * len(series))]] = True
                series = series.astype(object).where(~gaps, None)
            try:
                columns[plan.name] = series.astype(plan.dtype)
            except (ValueError, TypeError) as exc:
                raise ModuleError(
                    f"Preprocessor: column {plan.name!r} cannot be restored to {plan.dtype}: {exc}"
                ) from exc
        return pd.DataFrame(columns, index=data.index)


class PreprocessorAdapter(BaseAdapter):
    """Fits a :class:`Processor` on its input and returns the transformed frame.

    Input: the previous module's table (the Splitter's ``train`` part).  The
    fitted processor is ``self.processor`` (what ``status.get_processor()``
    returns).
    """

    module_name: ClassVar[str] = "Preprocessor"
    params: ClassVar[ParamSpec] = ParamSpec((
        Param("method", (STRING,), choices=("default",)),
        Param("missing", (STRING, MAPPING), default="mean", choices=MISSING_METHODS,
              item_choices=MISSING_METHODS,
              doc=f"{', '.join(MISSING_METHODS)}, or {{column: method}}"),
        Param("encoding", (STRING,), default="label", choices=ENCODINGS),
        Param("scaling", (STRING,), default="standard", choices=SCALINGS),
        RANDOM_STATE,
    ))

    def __init__(self, config: dict[str, Any], context: Any = None) -> None:
        super().__init__(config, context)
        self.processor = Processor(
            missing=self.config.get("missing", "mean"),
            encoding=self.config.get("encoding", "label"),
            scaling=self.config.get("scaling", "standard"),
            random_state=self.seed(),
        )
        self.result: pd.DataFrame | None = None
        self._metadata: SchemaMetadata | None = None

    def set_input(self, status: Any) -> dict[str, Any]:
        return {"data": previous_frame(status, "Preprocessor")}

    def run(self, input: dict[str, Any]) -> None:
        data: pd.DataFrame = input["data"]
        self.result = self.processor.fit(data).transform(data)
        self._metadata = None

    def get_result(self) -> pd.DataFrame:
        if self.result is None:
            raise ModuleError("Preprocessor: get_result() before run()")
        return self.result

    def get_metadata(self) -> SchemaMetadata:
        if self._metadata is None:
            self._metadata = schema_of(self.get_result(), "preprocessor")
        return self._metadata
