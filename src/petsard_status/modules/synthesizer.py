"""Synthesizer: a Gaussian copula, or a user's class with ``fit`` and ``sample``."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from petsard_status.errors import ModuleError
from petsard_status.modules.base import BaseAdapter
from petsard_status.modules.custom import load_class
from petsard_status.modules.params import INT, RANDOM_STATE, STRING, Param, ParamSpec
from petsard_status.modules.splitter import previous_frame

COPULA_METHODS = ("default", "gaussian_copula")
CUSTOM_METHODS = ("custom", "custom_method")
_RESERVED = ("method", "module_path", "class_name", "sample_num_rows")


class GaussianCopula:
    """Gaussian copula with empirical marginals.

    ``fit`` turns each column into normal scores through its empirical CDF
    (average ranks for ties, missing values ranked last as a group), and keeps
    the correlation of those scores, repaired to be positive semi-definite.
    ``sample`` draws correlated normal rows and maps each coordinate back
    through the column's empirical quantile function, so every value sampled
    was seen in ``fit`` and each marginal is reproduced up to sampling noise.
    Non-numeric columns use their sorted category codes.
    """

    def __init__(self, random_state: int = 0) -> None:
        self.random_state = random_state
        self.columns: list[str] = []
        self.dtypes: dict[str, Any] = {}
        self.correlation: np.ndarray | None = None
        self._sorted: list[np.ndarray] = []
        self._categories: dict[str, np.ndarray] = {}
        self._factor: np.ndarray | None = None

    def fit(self, data: pd.DataFrame) -> GaussianCopula:
        if data.shape[0] < 2 or data.shape[1] < 1:
            raise ModuleError("Synthesizer: the copula needs at least 2 rows and 1 column")
        self.columns = [str(c) for c in data.columns]
        self.dtypes = {str(c): data[c].dtype for c in data.columns}
        self._categories = {}
        values = np.empty(data.shape, dtype="float64")
        for j, column in enumerate(data.columns):
            series = data[column]
            if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(
                series.dtype
            ):
                values[:, j] = series.to_numpy("float64", na_value=np.nan)
            else:
                try:
                    codes, uniques = pd.factorize(series, sort=True)
                except TypeError:  # unorderable mixed values: first-seen order
                    codes, uniques = pd.factorize(series)
                # The gap code sits after every category, like NaN in np.sort.
                codes = np.where(codes < 0, len(uniques), codes)
                values[:, j] = codes
                self._categories[str(column)] = np.append(
                    np.asarray(uniques, dtype=object), np.array([None], dtype=object)
                )
        n = values.shape[0]
        self._sorted = [np.sort(values[:, j]) for j in range(values.shape[1])]
        ranked = np.where(np.isnan(values), np.inf, values)
        from scipy.stats import rankdata  # deferred: scipy.stats is slow to import

        scores = ndtri(rankdata(ranked, method="average", axis=0) / (n + 1))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = np.corrcoef(scores, rowvar=False) if scores.shape[1] > 1 else np.ones((1, 1))
        # Constant columns have no correlation; treat them as independent.
        corr = np.nan_to_num(np.atleast_2d(corr), nan=0.0)
        np.fill_diagonal(corr, 1.0)
        eigenvalues, vectors = np.linalg.eigh(corr)
        root = vectors * np.sqrt(np.clip(eigenvalues, 1e-10, None))
        scale = np.sqrt(np.sum(root**2, axis=1))
        self._factor = root / scale[:, None]
        self.correlation = self._factor @ self._factor.T
        return self

    def sample(self, num_rows: int) -> pd.DataFrame:
        if self._factor is None:
            raise ModuleError("Synthesizer: sample() before fit()")
        rng = np.random.default_rng(self.random_state)
        normal = rng.standard_normal((num_rows, len(self.columns))) @ self._factor.T
        uniform = ndtr(normal)
        out: dict[str, pd.Series] = {}
        for j, column in enumerate(self.columns):
            reference = self._sorted[j]
            index = (uniform[:, j] * len(reference)).astype(np.int64)
            index = np.clip(index, 0, len(reference) - 1)
            drawn = reference[index]
            if column in self._categories:
                series = pd.Series(self._categories[column][drawn.astype(np.int64)], dtype=object)
            else:
                series = pd.Series(drawn)
            out[column] = series.astype(self.dtypes[column])
        return pd.DataFrame(out, columns=self.columns)


class SynthesizerAdapter(BaseAdapter):
    """Fits a synthesizer on its input and samples a synthetic table.

    Input: the previous module's table (the Preprocessor's output when it ran
    just before, else the Splitter's ``train`` part or the Loader's data).
    The fitted object is ``self.synthesizer`` (``status.get_synthesizer()``).
    """

    module_name: ClassVar[str] = "Synthesizer"
    # Further parameters of method custom go to the user's class, unchecked.
    params: ClassVar[ParamSpec] = ParamSpec((
        Param("method", (STRING,), default="default", choices=COPULA_METHODS + CUSTOM_METHODS),
        Param("sample_num_rows", (INT,), minimum=1,
              doc="rows to synthesize [default: as many as the input]"),
        Param("module_path", (STRING,), required=CUSTOM_METHODS, methods=CUSTOM_METHODS,
              doc="the .py file of the custom synthesizer"),
        Param("class_name", (STRING,), required=CUSTOM_METHODS, methods=CUSTOM_METHODS,
              doc="its class, with fit() and sample()"),
        RANDOM_STATE,
    ), open_methods=CUSTOM_METHODS)

    def __init__(self, config: dict[str, Any], context: Any = None) -> None:
        super().__init__(config, context)
        self.method = self.config.get("method", "default")
        rows = self.config.get("sample_num_rows")
        if rows is not None and (isinstance(rows, bool) or not isinstance(rows, int) or rows < 1):
            raise ModuleError(
                f"Synthesizer: sample_num_rows must be a positive integer, not {rows!r}"
            )
        self.sample_num_rows: int | None = rows
        if self.method in COPULA_METHODS:
            self.synthesizer: Any = GaussianCopula(random_state=self.seed())
        elif self.method in CUSTOM_METHODS:
            self.synthesizer = self._build_custom()
        else:
            raise ModuleError(
                f"Synthesizer: unknown method {self.method!r}; use one of "
                f"{', '.join(COPULA_METHODS + CUSTOM_METHODS)}"
            )
        self.result: pd.DataFrame | None = None

    def _build_custom(self) -> Any:
        cls = load_class(
            self.config.get("module_path"),
            self.config.get("class_name"),
            self.context.base_dir,
            "Synthesizer",
        )
        for name in ("fit", "sample"):
            if not callable(getattr(cls, name, None)):
                raise ModuleError(f"Synthesizer: custom class {cls.__name__} has no {name}()")
        kwargs = {k: v for k, v in self.config.items() if k not in _RESERVED}
        try:
            accepted: Mapping[str, inspect.Parameter] = inspect.signature(cls).parameters
        except (TypeError, ValueError):
            accepted = {}
        takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
        if "random_state" not in kwargs and ("random_state" in accepted or takes_any):
            kwargs["random_state"] = self.seed()
        try:
            return cls(**kwargs)
        except TypeError as exc:
            raise ModuleError(f"Synthesizer: cannot create {cls.__name__}: {exc}") from exc

    def set_input(self, status: Any) -> dict[str, Any]:
        return {"data": previous_frame(status, "Synthesizer")}

    def run(self, input: dict[str, Any]) -> None:
        data: pd.DataFrame = input["data"]
        rows = self.sample_num_rows or len(data)
        self.synthesizer.fit(data)
        synthetic = self.synthesizer.sample(rows)
        if not isinstance(synthetic, pd.DataFrame):
            raise ModuleError(
                f"Synthesizer: sample() returned {type(synthetic).__name__}, not a DataFrame"
            )
        self.result = synthetic

    def get_result(self) -> pd.DataFrame:
        if self.result is None:
            raise ModuleError("Synthesizer: get_result() before run()")
        return self.result
