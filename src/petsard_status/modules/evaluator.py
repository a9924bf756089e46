"""Evaluator: fidelity (marginals, correlations) and a distance-to-closest-record check."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from petsard_status.errors import ModuleError
from petsard_status.modules.base import BaseAdapter
from petsard_status.modules.numeric import as_float
from petsard_status.modules.params import INT, NUMBER, RANDOM_STATE, STRING, Param, ParamSpec
from petsard_status.modules.splitter import frame_of, previous_frame

METHODS = ("default",)
MAX_ONEHOT_CATEGORIES = 50
_GAP = "\x00<missing>"  # stands for a missing value when counting categories


def _is_numeric(series: pd.Series) -> bool:
    dtype = series.dtype
    return (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    ) or pd.api.types.is_datetime64_any_dtype(dtype)


def _floats(series: pd.Series) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(series.dtype):
        # Nullable integer and float columns: NA becomes NaN here, not an error.
        return series.to_numpy("float64", na_value=np.nan)
    return as_float(series).to_numpy("float64", na_value=np.nan)


def _labels(series: pd.Series) -> pd.Series:
    return series.astype(object).where(series.notna(), _GAP)


def total_variation(a: pd.Series, b: pd.Series) -> float:
    """Half the L1 distance of two category frequency tables (a missing value is a category)."""
    p = _labels(a).value_counts(normalize=True)
    q = _labels(b).value_counts(normalize=True)
    return float(0.5 * p.sub(q, fill_value=0.0).abs().sum())


def _codes(ori: pd.Series, syn: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Shared label codes (sorted categories of ``ori``, then unseen ones of ``syn``)."""
    seen = list(pd.unique(ori.dropna()))
    try:
        seen = sorted(seen)
    except TypeError:
        seen = sorted(seen, key=repr)
    known = set(seen)
    extra = [v for v in pd.unique(syn.dropna()) if v not in known]
    categories = seen + extra
    out = []
    for series in (ori, syn):
        codes = pd.Index(categories, dtype=object).get_indexer(series.astype(object))
        out.append(np.where(codes < 0, np.nan, codes).astype("float64"))
    return out[0], out[1]


def _correlation(matrix: np.ndarray) -> np.ndarray:
    if not np.isnan(matrix).any():
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.atleast_2d(np.corrcoef(matrix, rowvar=False))
    return pd.DataFrame(matrix).corr().to_numpy()


def nearest_distances(
    queries: np.ndarray, reference: np.ndarray, exclude: np.ndarray | None = None,
    chunk: int = 512,
) -> np.ndarray:
    """Euclidean distance from each query row to its nearest reference row.

    ``exclude[i]`` is a reference position query ``i`` must not match (itself).
    Computed as |q|^2 + |r|^2 - 2 q.r in chunks, so memory stays at
    ``chunk x len(reference)`` floats.
    """
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    out = np.empty(len(queries))
    for start in range(0, len(queries), chunk):
        block = queries[start:start + chunk]
        d2 = np.einsum("ij,ij->i", block, block)[:, None] + ref_sq[None, :] - 2.0 * (
            block @ reference.T
        )
        if exclude is not None:
            d2[np.arange(len(block)), exclude[start:start + chunk]] = np.inf
        # Rounding leaves tiny positive values for identical rows; they are 0.
        out[start:start + len(block)] = np.sqrt(np.where(d2 < 1e-9, 0.0, d2).min(axis=1))
    return out


class _Encoder:
    """Standardised numeric columns and one-hot categories, learnt from ``ori``."""

    def __init__(self, ori: pd.DataFrame, others: list[pd.DataFrame]) -> None:
        self.steps: list[tuple[str, str, Any]] = []
        for column in ori.columns:
            series = ori[column]
            if _is_numeric(series):
                values = _floats(series)
                present = values[~np.isnan(values)]
                center = float(present.mean()) if present.size else 0.0
                std = float(present.std()) if present.size else 0.0
                self.steps.append(("numeric", column, (center, std if std > 0 else 1.0)))
                if any(frame[column].isna().any() for frame in [ori, *others]):
                    self.steps.append(("gap", column, None))
            else:
                counts = _labels(series).value_counts()
                ranked = sorted(counts.items(), key=lambda item: (-item[1], repr(item[0])))
                kept = [value for value, _ in ranked[:MAX_ONEHOT_CATEGORIES]]
                self.steps.append(("onehot", column, kept))

    def __call__(self, frame: pd.DataFrame) -> np.ndarray:
        parts: list[np.ndarray] = []
        for kind, column, extra in self.steps:
            series = frame[column]
            if kind == "numeric":
                center, scale = extra
                parts.append(np.nan_to_num((_floats(series) - center) / scale)[:, None])
            elif kind == "gap":
                parts.append(series.isna().to_numpy("float64")[:, None])
            else:
                codes = pd.Index(extra, dtype=object).get_indexer(_labels(series))
                # One extra slot for categories too rare to get their own column.
                onehot = np.zeros((len(series), len(extra) + 1))
                onehot[np.arange(len(series)), np.where(codes < 0, len(extra), codes)] = 1.0
                parts.append(onehot)
        return np.hstack(parts) if parts else np.zeros((len(frame), 0))


class EvaluatorAdapter(BaseAdapter):
    """Compares synthetic data with the data it was made from.

    Input: ``ori`` (the Splitter's ``train`` part, else the Loader's data),
    ``syn`` (the previous module's table) and ``control`` (the Splitter's
    ``validation`` part, if a Splitter ran).  Result: ``{"global": 1-row
    frame, "columnwise": one row per column, "pairwise": one row per column
    pair}``.
    """

    module_name: ClassVar[str] = "Evaluator"
    params: ClassVar[ParamSpec] = ParamSpec((
        Param("method", (STRING,), default="default", choices=METHODS),
        Param("max_rows", (INT,), default=2000, minimum=2,
              doc="rows sampled for the distance checks"),
        Param("max_reference_rows", (INT,), default=50_000, minimum=2,
              doc="original rows searched for nearest records"),
        Param("dcr_percentile", (NUMBER,), default=5, minimum=0, maximum=100, exclusive=True,
              doc="percentile of the train-to-train distances taken as the risk threshold"),
        RANDOM_STATE,
    ))

    def __init__(self, config: dict[str, Any], context: Any = None) -> None:
        super().__init__(config, context)
        method = self.config.get("method", "default")
        if method not in METHODS:
            raise ModuleError(
                f"Evaluator: unknown method {method!r}; the reference evaluator offers "
                f"{', '.join(METHODS)} (plug in a custom adapter for others)"
            )
        self.max_rows = self._positive("max_rows", 2000)
        self.max_reference_rows = self._positive("max_reference_rows", 50_000)
        percentile = self.config.get("dcr_percentile", 5)
        if isinstance(percentile, bool) or not isinstance(percentile, int | float) or not (
            0 < percentile < 100
        ):
            raise ModuleError("Evaluator: dcr_percentile must be a number between 0 and 100")
        self.percentile = float(percentile)
        self.random_state = self.seed()
        self.result: dict[str, pd.DataFrame] | None = None

    def _positive(self, key: str, default: int) -> int:
        value = self.config.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or value < 2:
            raise ModuleError(f"Evaluator: {key} must be an integer of at least 2, not {value!r}")
        return value

    def set_input(self, status: Any) -> dict[str, Any]:
        data: dict[str, Any] = {"syn": previous_frame(status, "Evaluator"), "control": None}
        if "Splitter" in status.status:
            split = status.get_result("Splitter")
            data["ori"] = frame_of(split, "Evaluator (Splitter)", "train")
            data["control"] = frame_of(split, "Evaluator (Splitter)", "validation")
        elif "Loader" in status.status:
            data["ori"] = frame_of(status.get_result("Loader"), "Evaluator (Loader)")
        else:
            raise ModuleError("Evaluator: needs a Loader or Splitter result to compare with")
        return {"data": data}

    def run(self, input: dict[str, Any]) -> None:
        data = input["data"]
        ori, syn, control = data["ori"], data["syn"], data.get("control")
        if set(map(str, ori.columns)) != set(map(str, syn.columns)):
            raise ModuleError(
                "Evaluator: the synthetic data's columns differ from the original's "
                f"(only in original: {sorted(set(ori.columns) - set(syn.columns))}, only in "
                f"synthetic: {sorted(set(syn.columns) - set(ori.columns))}); "
                "add a Postprocessor before the Evaluator"
            )
        if len(ori) < 2 or len(syn) < 1:
            raise ModuleError("Evaluator: needs at least 2 original rows and 1 synthetic row")
        syn = syn[list(ori.columns)]
        columnwise = self._columnwise(ori, syn)
        pairwise = self._pairwise(ori, syn)
        privacy = self._privacy(ori, syn, control)
        summary = {
            "fidelity_marginal_mean": float(columnwise["marginal_distance"].mean()),
            "fidelity_marginal_max": float(columnwise["marginal_distance"].max()),
            "fidelity_corr_diff_mean": float(pairwise["abs_diff"].mean())
            if pairwise["abs_diff"].notna().any() else np.nan,
            **privacy,
            "ori_rows": len(ori),
            "syn_rows": len(syn),
        }
        self.result = {
            "global": pd.DataFrame([summary]),
            "columnwise": columnwise,
            "pairwise": pairwise,
        }

    @staticmethod
    def _columnwise(ori: pd.DataFrame, syn: pd.DataFrame) -> pd.DataFrame:
        rows = []
        # scipy.stats costs ~0.4 s to import; only evaluations pay for it.
        from scipy.stats import ks_2samp

        for column in ori.columns:
            a, b = ori[column], syn[column]
            if _is_numeric(a) and _is_numeric(b):
                x, y = _floats(a), _floats(b)
                x, y = x[~np.isnan(x)], y[~np.isnan(y)]
                distance = float(ks_2samp(x, y).statistic) if x.size and y.size else np.nan
                kind, metric = "numerical", "ks"
            else:
                distance, kind, metric = total_variation(a, b), "categorical", "tvd"
            rows.append({
                "column": str(column), "type": kind, "metric": metric,
                "marginal_distance": distance,
                "ori_missing_share": float(a.isna().mean()),
                "syn_missing_share": float(b.isna().mean()),
            })
        return pd.DataFrame(rows)

    @staticmethod
    def _pairwise(ori: pd.DataFrame, syn: pd.DataFrame) -> pd.DataFrame:
        columns = list(ori.columns)
        ori_m = np.empty((len(ori), len(columns)))
        syn_m = np.empty((len(syn), len(columns)))
        for j, column in enumerate(columns):
            a, b = ori[column], syn[column]
            if _is_numeric(a) and _is_numeric(b):
                ori_m[:, j], syn_m[:, j] = _floats(a), _floats(b)
            else:
                ori_m[:, j], syn_m[:, j] = _codes(a, b)
        ori_c, syn_c = _correlation(ori_m), _correlation(syn_m)
        rows = []
        for i in range(len(columns)):
            for j in range(i + 1, len(columns)):
                rows.append({
                    "column1": str(columns[i]), "column2": str(columns[j]),
                    "ori_corr": float(ori_c[i, j]), "syn_corr": float(syn_c[i, j]),
                    "abs_diff": float(abs(ori_c[i, j] - syn_c[i, j])),
                })
        return pd.DataFrame(
            rows, columns=["column1", "column2", "ori_corr", "syn_corr", "abs_diff"]
        )

    def _privacy(
        self, ori: pd.DataFrame, syn: pd.DataFrame, control: pd.DataFrame | None
    ) -> dict[str, float]:
        rng = np.random.default_rng(self.random_state)

        def pick(n: int, limit: int) -> np.ndarray:
            return np.sort(rng.choice(n, size=limit, replace=False)) if n > limit else np.arange(n)

        others = [syn] if control is None else [syn, control[list(ori.columns)]]
        encode = _Encoder(ori, others)
        ref_rows = pick(len(ori), self.max_reference_rows)
        reference = encode(ori.iloc[ref_rows])
        own = pick(len(ref_rows), self.max_rows)
        train_dcr = nearest_distances(reference[own], reference, exclude=own)
        threshold = float(np.percentile(train_dcr, self.percentile))
        syn_dcr = nearest_distances(encode(syn.iloc[pick(len(syn), self.max_rows)]), reference)
        out = {
            "privacy_dcr_threshold": threshold,
            "privacy_dcr_risk": float(np.mean(syn_dcr <= threshold)),
            "privacy_dcr_median_syn": float(np.median(syn_dcr)),
            "privacy_dcr_risk_control": np.nan,
            "privacy_dcr_median_control": np.nan,
        }
        if control is not None and len(control):
            held = encode(others[1].iloc[pick(len(control), self.max_rows)])
            control_dcr = nearest_distances(held, reference)
            out["privacy_dcr_risk_control"] = float(np.mean(control_dcr <= threshold))
            out["privacy_dcr_median_control"] = float(np.median(control_dcr))
        return out

    def get_result(self) -> dict[str, pd.DataFrame]:
        if self.result is None:
            raise ModuleError("Evaluator: get_result() before run()")
        return self.result
