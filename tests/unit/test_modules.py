"""The reference modules: each alone, chained on adult-income, and custom ones."""

from __future__ import annotations

import hashlib
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import cdist
from scipy.stats import ks_2samp

from helpers.modules import MemoryStatus, run_module
from petsard_status.errors import ModuleError, UnexecutedError
from petsard_status.modules import (
    ADAPTERS,
    BaseAdapter,
    GaussianCopula,
    ModuleContext,
    Processor,
    build_adapter,
    get_adapter_class,
)
from petsard_status.modules import loader as loader_module
from petsard_status.modules.evaluator import nearest_distances, total_variation

ADULT_SHA256 = "1f13ee2bf9d7c66098429281ab91fa1b51cbabd3b805cc365b3c6b44491ea2c0"
REPO_CSV = Path(__file__).resolve().parents[2] / "examples" / "data" / "adult-income.csv"
NUMERIC = ["age", "fnlwgt", "educational-num", "capital-gain", "capital-loss", "hours-per-week"]


@pytest.fixture(scope="module")
def adult() -> pd.DataFrame:
    adapter = build_adapter("Loader", {"filepath": "benchmark://adult-income"})
    adapter.run(adapter.set_input(MemoryStatus()))
    return adapter.get_result()


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[MemoryStatus, dict]:
    """Loader -> Splitter -> Preprocessor -> Synthesizer -> Postprocessor -> Evaluator."""
    status = MemoryStatus()
    context = ModuleContext(output_dir=tmp_path_factory.mktemp("out"), seed=11)
    adapters = {}
    for module, expt, params in [
        ("Loader", "adult", {"filepath": "benchmark://adult-income"}),
        ("Splitter", "split_[1-1]", {"num_samples": 1, "sample_index": 1}),
        ("Preprocessor", "pre", {}),
        ("Synthesizer", "copula", {"method": "default"}),
        ("Postprocessor", "post", {}),
        ("Evaluator", "eval", {}),
    ]:
        adapters[module] = run_module(status, module, expt, params, context)
    return status, adapters


def small_frame(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    colour = pd.Series(rng.choice(["red", "green", "blue"], rows), dtype="str")
    colour[rng.random(rows) < 0.1] = np.nan
    weight = rng.normal(70, 10, rows)
    weight[rng.random(rows) < 0.2] = np.nan
    return pd.DataFrame({
        "age": rng.integers(18, 90, rows),
        "weight": weight,
        "colour": colour,
        "size": pd.Categorical(rng.choice(["S", "M", "L"], rows), categories=["S", "M", "L"]),
        "member": rng.random(rows) < 0.3,
        "joined": pd.Timestamp("2020-01-01") + pd.to_timedelta(rng.integers(0, 900, rows), "D"),
    })


# --- Loader ---------------------------------------------------------------------------


def test_benchmark_resolves_to_the_published_bytes(adult: pd.DataFrame) -> None:
    path = loader_module.resolve_benchmark("adult-income")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == ADULT_SHA256
    assert adult.shape == (48842, 15)
    # "?" is the benchmark's missing marker; skipinitialspace strips " Private".
    assert adult["workclass"].isna().sum() > 0
    assert not (adult["workclass"].dropna() == "?").any()
    assert adult["workclass"].dropna().str.startswith(" ").sum() == 0
    assert adult["age"].dtype == np.int64


def test_tampered_benchmark_copy_is_refused(tmp_path: Path, monkeypatch) -> None:
    copy = tmp_path / "adult-income.csv"
    shutil.copyfile(REPO_CSV, copy)
    data = bytearray(copy.read_bytes())
    data[200] = ord("9") if data[200] != ord("9") else ord("8")
    copy.write_bytes(bytes(data))
    monkeypatch.setattr(loader_module, "benchmark_dirs", lambda: [tmp_path])
    with pytest.raises(ModuleError, match="sha256"):
        build_adapter("Loader", {"filepath": "benchmark://adult-income"})


def test_untampered_copy_elsewhere_is_accepted(tmp_path: Path, monkeypatch) -> None:
    shutil.copyfile(REPO_CSV, tmp_path / "adult-income.csv")
    monkeypatch.setattr(loader_module, "benchmark_dirs", lambda: [tmp_path])
    assert loader_module.resolve_benchmark("adult-income") == tmp_path / "adult-income.csv"


def test_missing_or_unknown_benchmark(tmp_path: Path, monkeypatch) -> None:
    with pytest.raises(ModuleError, match="unknown benchmark"):
        build_adapter("Loader", {"filepath": "benchmark://nope"})
    monkeypatch.setattr(loader_module, "benchmark_dirs", lambda: [tmp_path])
    with pytest.raises(ModuleError, match="not found"):
        build_adapter("Loader", {"filepath": "benchmark://adult-income"})


def test_loader_reads_relative_csv_with_types(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text(
        "a, b, c, d\n1, x, 2.5, 2024-01-02\nNA, y, -, 2024-02-03\n3, x, 1.0, 2024-03-04\n"
    )
    adapter = build_adapter(
        "Loader",
        {
            "filepath": "d.csv",
            "na_values": ["NA", "-"],
            "column_types": {"int": ["a"], "category": ["b"], "datetime": ["d"]},
        },
        ModuleContext(base_dir=tmp_path),
    )
    adapter.run(adapter.set_input(MemoryStatus()))
    frame = adapter.get_result()
    assert list(frame.columns) == ["a", "b", "c", "d"]
    assert str(frame["a"].dtype) == "Int64" and frame["a"].isna().sum() == 1
    assert isinstance(frame["b"].dtype, pd.CategoricalDtype)
    assert list(frame["b"].cat.categories) == ["x", "y"]
    assert frame["c"].isna().sum() == 1 and frame["c"].dtype == np.float64
    assert pd.api.types.is_datetime64_any_dtype(frame["d"])
    metadata = adapter.get_metadata()
    assert metadata.schema_id == "loader"
    assert metadata.field_names == ["a", "b", "c", "d"]


def test_loader_header_names_and_errors(tmp_path: Path) -> None:
    (tmp_path / "h.csv").write_text("1,2\n3,4\n")
    context = ModuleContext(base_dir=tmp_path)
    adapter = build_adapter("Loader", {"filepath": "h.csv", "header_names": ["p", "q"]}, context)
    adapter.run({})
    assert adapter.get_result()["q"].tolist() == [2, 4]
    with pytest.raises(ModuleError, match="does not exist"):
        build_adapter("Loader", {"filepath": "absent.csv"}, context)
    with pytest.raises(ModuleError, match="unknown column type"):
        build_adapter("Loader", {"filepath": "h.csv", "column_types": {"money": ["p"]}}, context)
    bad = build_adapter("Loader", {"filepath": "h.csv", "column_types": {"int": ["zz"]}}, context)
    with pytest.raises(ModuleError, match="zz"):
        bad.run({})


# --- Splitter -------------------------------------------------------------------------


def _split(status: MemoryStatus, expt: str, params: dict) -> object:
    return run_module(status, "Splitter", expt, params)


def _status_with(frame: pd.DataFrame, *after: str) -> MemoryStatus:
    """A status whose Loader left ``frame``; ``after`` replaces the modules after it."""
    status = MemoryStatus(["Loader", *after] if after else None)
    loader = build_adapter("Loader", {"filepath": "benchmark://adult-income"})
    loader.data = frame  # a stand-in result; the Loader itself is tested above
    status.put("Loader", "data", loader)
    return status


def test_splitter_ratio_disjoint_and_labels_kept(adult: pd.DataFrame) -> None:
    status = _status_with(adult)
    adapter = _split(status, "s_[1-1]", {"train_split_ratio": 0.7, "random_state": 5})
    train, validation = adapter.get_result()["train"], adapter.get_result()["validation"]
    assert len(train) == int(len(adult) * 0.7)
    assert len(train) + len(validation) == len(adult)
    assert not set(train.index) & set(validation.index)
    pd.testing.assert_frame_equal(train, adult.loc[train.index])
    assert adapter.get_train_indices() == [sorted(train.index)]
    assert status.get_exist_train_indices() == [set(train.index)]
    assert adapter.get_metadata().stats.row_count == len(train)


def test_splitter_samples_differ_and_are_deterministic() -> None:
    frame = small_frame(300)
    status = _status_with(frame)
    trains = [
        frozenset(_split(status, f"s_[3-{k}]", {"num_samples": 1, "sample_index": k})
                  .get_train_indices()[0])
        for k in (1, 2, 3)
    ]
    assert len(set(trains)) == 3
    again = _split(_status_with(frame), "s_[3-2]", {"num_samples": 1, "sample_index": 2})
    assert frozenset(again.get_train_indices()[0]) == trains[1]
    other_seed = _split(_status_with(frame), "s", {"random_state": 99})
    assert frozenset(other_seed.get_train_indices()[0]) != trains[0]


def test_splitter_redraws_a_train_set_already_used() -> None:
    frame = small_frame(50)
    first = _split(_status_with(frame), "s", {})
    status = _status_with(frame)
    status.exist_train_indices.append(set(first.get_train_indices()[0]))
    second = _split(status, "s", {})
    assert second.attempts == 2
    assert set(second.get_train_indices()[0]) != set(first.get_train_indices()[0])


def test_splitter_gives_up_when_every_split_was_used() -> None:
    frame = pd.DataFrame({"x": [1, 2, 3]})
    status = _status_with(frame)
    status.exist_train_indices.extend([{0}, {1}, {2}])
    with pytest.raises(ModuleError, match="repeated"):
        _split(status, "s", {"train_split_ratio": 0.4})


@pytest.mark.parametrize("params", [
    {"train_split_ratio": 1.0}, {"train_split_ratio": "0.5"}, {"sample_index": 0},
    {"random_state": -1}, {"random_state": True},
])
def test_splitter_rejects_bad_parameters(params: dict) -> None:
    with pytest.raises(ModuleError):
        build_adapter("Splitter", params)


# --- Preprocessor and Postprocessor ---------------------------------------------------


def test_processor_inverse_restores_schema_and_values() -> None:
    frame = small_frame()
    processor = Processor(random_state=3).fit(frame)
    encoded = processor.transform(frame)
    assert (encoded.dtypes == np.float64).all()
    assert not encoded.isna().any().any()
    back = processor.inverse_transform(encoded)
    assert list(back.columns) == list(frame.columns)
    assert back.dtypes.equals(frame.dtypes)
    assert list(back["size"].cat.categories) == ["S", "M", "L"]
    for column in frame.columns:
        assert back[column].isna().sum() == frame[column].isna().sum(), column
    complete = frame.notna().all(axis=1) & back.notna().all(axis=1)
    pd.testing.assert_frame_equal(back[complete], frame[complete])


def test_processor_imputes_and_scales() -> None:
    frame = small_frame()
    encoded = Processor(missing="median").fit(frame).transform(frame)
    weight = frame["weight"]
    scaled_median = (weight.median() - weight.mean()) / weight.std(ddof=0)
    assert np.allclose(encoded.loc[weight.isna(), "weight"], scaled_median)
    assert abs(encoded["age"].mean()) < 1e-9 and abs(encoded["age"].std(ddof=0) - 1) < 1e-9
    minmax = Processor(scaling="minmax").fit(frame).transform(frame)
    assert minmax["age"].min() == 0.0 and minmax["age"].max() == 1.0
    # The mode of a categorical column fills its gaps; codes follow sorted categories.
    label = Processor().fit(frame).transform(frame)
    mode_code = sorted(["blue", "green", "red"]).index(frame["colour"].mode()[0])
    assert (label.loc[frame["colour"].isna(), "colour"] == mode_code).all()


def test_processor_onehot_and_drop() -> None:
    frame = small_frame()
    processor = Processor(encoding="onehot", missing={"weight": "drop"}).fit(frame)
    encoded = processor.transform(frame)
    assert {"colour_blue", "colour_green", "colour_red", "size_S"} <= set(encoded.columns)
    assert "colour" not in encoded.columns
    assert len(encoded) == frame["weight"].notna().sum()
    onehot = encoded[["colour_blue", "colour_green", "colour_red"]]
    assert (onehot.sum(axis=1) == 1).all()
    back = processor.inverse_transform(encoded)
    assert back.dtypes.equals(frame.dtypes)
    kept = frame.loc[encoded.index]
    both = kept["colour"].notna() & back["colour"].notna()
    assert (back.loc[both, "size"] == kept.loc[both, "size"]).all()


def test_processor_is_deterministic_and_validates() -> None:
    frame = small_frame()
    first = Processor().fit(frame)
    second = Processor().fit(frame.sample(frac=1.0, random_state=1).loc[frame.index])
    pd.testing.assert_frame_equal(first.transform(frame), second.transform(frame))
    for bad in ({"missing": "zero"}, {"encoding": "binary"}, {"scaling": "log"}):
        with pytest.raises(ModuleError):
            Processor(**bad)
    with pytest.raises(ModuleError, match="categorical"):
        Processor(missing={"colour": "mean"}).fit(frame)
    with pytest.raises(ModuleError, match="before fit"):
        Processor().transform(frame)


def test_chain_postprocessor_returns_original_schema(chain) -> None:
    status, adapters = chain
    train = status.get_result("Splitter")["train"]
    pre = status.get_result("Preprocessor")
    assert (pre.dtypes == np.float64).all() and len(pre) == len(train)
    assert adapters["Preprocessor"].get_metadata().field_names == list(train.columns)
    synthetic = status.get_result("Postprocessor")
    assert list(synthetic.columns) == list(train.columns)
    assert synthetic.dtypes.equals(train.dtypes)
    assert status.get_processor() is adapters["Preprocessor"].processor
    assert status.get_synthesizer() is adapters["Synthesizer"].synthesizer
    # Gaps come back at the training share, in the columns that had them.
    for column in ("workclass", "occupation", "native-country"):
        assert abs(synthetic[column].isna().mean() - train[column].isna().mean()) < 1e-3
    assert set(synthetic["workclass"].dropna()) <= set(train["workclass"].dropna())


def test_preprocessor_onehot_metadata_shows_new_fields(adult: pd.DataFrame) -> None:
    status = _status_with(adult.head(2000), "Preprocessor")
    adapter = run_module(status, "Preprocessor", "pre", {"encoding": "onehot"})
    names = adapter.get_metadata().field_names
    assert "gender_Female" in names and "gender" not in names
    assert adapter.get_metadata().schema_id == "preprocessor"


def test_postprocessor_needs_a_preprocessor(adult: pd.DataFrame) -> None:
    status = _status_with(adult.head(300), "Synthesizer", "Postprocessor")
    run_module(status, "Synthesizer", "syn", {})
    with pytest.raises(UnexecutedError):
        run_module(status, "Postprocessor", "post", {})


# --- Synthesizer ----------------------------------------------------------------------


def test_copula_keeps_marginals_and_dependence(chain) -> None:
    status, _ = chain
    train = status.get_result("Splitter")["train"]
    synthetic = status.get_result("Postprocessor")
    for column in NUMERIC:
        assert ks_2samp(train[column], synthetic[column]).statistic < 0.05, column
    assert np.sign(synthetic["age"].corr(synthetic["hours-per-week"])) == np.sign(
        train["age"].corr(train["hours-per-week"])
    )
    # Rank correlations of columns without heavy ties are what the copula keeps.
    smooth = ["age", "fnlwgt", "educational-num", "hours-per-week"]
    gap = train[smooth].corr("spearman") - synthetic[smooth].corr("spearman")
    assert gap.abs().to_numpy().max() < 0.05
    # Not a copy: few synthetic rows equal a training row.
    merged = synthetic.drop_duplicates().merge(train.drop_duplicates(), how="inner")
    assert len(merged) < 0.05 * len(synthetic)


def test_copula_is_seeded_and_keeps_dtypes() -> None:
    frame = small_frame(400)
    a = GaussianCopula(random_state=4).fit(frame).sample(150)
    b = GaussianCopula(random_state=4).fit(frame).sample(150)
    c = GaussianCopula(random_state=5).fit(frame).sample(150)
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(c)
    assert len(a) == 150 and a.dtypes.equals(frame.dtypes)
    assert set(a["colour"].dropna()) <= {"red", "green", "blue"}
    assert 0 < a["colour"].isna().sum() < 60


def test_copula_follows_a_strong_correlation() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=5000)
    frame = pd.DataFrame({"x": x, "y": np.exp(0.9 * x + 0.3 * rng.normal(size=5000))})
    sample = GaussianCopula(random_state=1).fit(frame).sample(5000)
    assert abs(sample.corr("spearman").loc["x", "y"] - frame.corr("spearman").loc["x", "y"]) < 0.02
    assert ks_2samp(sample["y"], frame["y"]).statistic < 0.05


def test_synthesizer_parameters(adult: pd.DataFrame) -> None:
    status = _status_with(adult.head(500), "Synthesizer")
    adapter = run_module(status, "Synthesizer", "syn", {"sample_num_rows": 42})
    assert len(adapter.get_result()) == 42
    with pytest.raises(ModuleError, match="unknown method"):
        build_adapter("Synthesizer", {"method": "ctgan"})
    with pytest.raises(ModuleError, match="sample_num_rows"):
        build_adapter("Synthesizer", {"sample_num_rows": 0})


CUSTOM_SYNTH = """
import pandas as pd

class Resampler:
    def __init__(self, random_state=0, replace=True):
        self.random_state = random_state
        self.replace = replace

    def fit(self, data):
        self.data = data.reset_index(drop=True)

    def sample(self, n):
        return self.data.sample(n, replace=self.replace, random_state=self.random_state)
"""


def test_custom_synthesizer_from_file(tmp_path: Path, adult: pd.DataFrame) -> None:
    (tmp_path / "synth.py").write_text(CUSTOM_SYNTH)
    status = _status_with(adult.head(300), "Synthesizer")
    params = {"method": "custom", "module_path": "synth.py", "class_name": "Resampler",
              "random_state": 8}
    context = ModuleContext(base_dir=tmp_path)
    assert get_adapter_class("Synthesizer", params, tmp_path) is ADAPTERS["Synthesizer"]
    adapter = run_module(status, "Synthesizer", "mine", params, context)
    assert type(adapter.synthesizer).__name__ == "Resampler"
    assert adapter.synthesizer.random_state == 8
    expected = adult.head(300).reset_index(drop=True).sample(300, replace=True, random_state=8)
    pd.testing.assert_frame_equal(adapter.get_result(), expected)
    with pytest.raises(ModuleError, match="no class"):
        build_adapter("Synthesizer", {**params, "class_name": "Missing"}, context)


# --- Evaluator ------------------------------------------------------------------------


def _evaluate(ori: pd.DataFrame, syn: pd.DataFrame, control=None, **params) -> dict:
    adapter = build_adapter("Evaluator", params)
    adapter.run({"data": {"ori": ori, "syn": syn, "control": control}})
    return adapter.get_result()


def test_distance_helpers_match_direct_computation() -> None:
    rng = np.random.default_rng(2)
    queries, reference = rng.normal(size=(700, 5)), rng.normal(size=(300, 5))
    expected = cdist(queries, reference).min(axis=1)
    assert np.allclose(nearest_distances(queries, reference, chunk=64), expected)
    own = np.arange(0, 300, 7)
    direct = cdist(reference[own], reference)
    direct[np.arange(len(own)), own] = np.inf
    got = nearest_distances(reference[own], reference, exclude=own, chunk=10)
    assert np.allclose(got, direct.min(axis=1))
    a = pd.Series(["x", "x", "y", None])
    b = pd.Series(["x", "y", "y", "z"])
    # |1/2-1/4| + |1/4-1/2| + |1/4-0| + |0-1/4| = 1, halved.
    assert total_variation(a, b) == pytest.approx(0.5)


def test_evaluator_report_shapes(chain) -> None:
    status, _ = chain
    report = status.get_result("Evaluator")
    assert set(report) == {"global", "columnwise", "pairwise"}
    assert len(report["global"]) == 1
    assert {"fidelity_marginal_mean", "fidelity_corr_diff_mean", "privacy_dcr_risk",
            "privacy_dcr_risk_control"} <= set(report["global"].columns)
    assert report["columnwise"]["column"].tolist() == list(status.get_result("Loader").columns)
    assert len(report["pairwise"]) == 15 * 14 // 2
    row = report["global"].iloc[0]
    # A held-out real row falls under the 5th-percentile threshold about 5% of the time.
    assert 0.01 < row["privacy_dcr_risk_control"] < 0.15
    assert row["privacy_dcr_risk"] < row["privacy_dcr_risk_control"]
    assert row["fidelity_marginal_max"] < 0.05


def test_copy_scores_perfect_fidelity_and_full_risk(adult: pd.DataFrame) -> None:
    ori = adult.sample(4000, random_state=1)
    holdout = adult.drop(ori.index).sample(2000, random_state=2)
    shuffled_copy = ori.sample(frac=1.0, random_state=3).reset_index(drop=True)
    copy = _evaluate(ori, shuffled_copy, holdout)
    assert copy["columnwise"]["marginal_distance"].abs().max() < 1e-12
    assert copy["global"].loc[0, "fidelity_corr_diff_mean"] < 1e-12
    assert copy["global"].loc[0, "privacy_dcr_risk"] == 1.0
    rng = np.random.default_rng(4)
    noise = pd.DataFrame({
        column: rng.uniform(ori[column].min(), ori[column].max(), len(ori))
        .astype(ori[column].dtype) if column in NUMERIC
        else pd.Series(rng.choice(ori[column].dropna().unique(), len(ori)), dtype="str")
        for column in ori.columns
    })
    noisy = _evaluate(ori, noise, holdout)
    assert noisy["global"].loc[0, "fidelity_marginal_mean"] > 0.1
    assert noisy["global"].loc[0, "fidelity_corr_diff_mean"] > 0.05
    assert noisy["global"].loc[0, "privacy_dcr_risk"] < 0.05


def test_evaluator_rejects_mismatched_columns() -> None:
    frame = small_frame()
    with pytest.raises(ModuleError, match="Postprocessor"):
        _evaluate(frame, frame.rename(columns={"age": "years"}))
    with pytest.raises(ModuleError):
        build_adapter("Evaluator", {"method": "sdmetrics"})


# --- Reporter -------------------------------------------------------------------------


def _report_all(status: MemoryStatus, out: Path) -> list[Path]:
    context = ModuleContext(output_dir=out)
    written: list[Path] = []
    for expt, params in [
        ("data", {"method": "save_data", "source": ["Splitter", "Postprocessor"]}),
        ("glob", {"method": "save_report", "granularity": "global"}),
        ("cols", {"method": "save_report", "granularity": "columnwise", "output": "run"}),
        ("time", {"method": "save_timing"}),
    ]:
        written += run_module(status, "Reporter", expt, params, context).written_paths
    return written


def test_reporter_writes_deterministic_named_files(chain, tmp_path: Path) -> None:
    status, _ = chain
    first = _report_all(status, tmp_path / "a")
    second = _report_all(status, tmp_path / "b")
    names = sorted(p.name for p in first)
    assert names == sorted([
        "petsard_Loader[adult]_Splitter[split_[1-1]_[train]].csv",
        "petsard_Loader[adult]_Splitter[split_[1-1]_[validation]].csv",
        "petsard_Loader[adult]_Splitter[split_[1-1]]_Preprocessor[pre]_"
        "Synthesizer[copula]_Postprocessor[post].csv",
        "petsard[Report]_[global].csv",
        "run[Report]_[columnwise].csv",
        "petsard[Timing].csv",
    ])
    for a, b in zip(sorted(first), sorted(second)):
        assert a.read_bytes() == b.read_bytes()
        assert b"\r\n" not in a.read_bytes()
    synthetic = pd.read_csv(
        tmp_path / "a" / next(n for n in names if "Postprocessor" in n), na_values=[""]
    )
    assert len(synthetic) == len(status.get_result("Postprocessor"))
    report = status.get_report()
    assert "[global]" in report and "timing_report" in report
    assert report["[global]"]["Evaluator"].tolist() == ["eval"]


def test_save_report_accumulates_branches(chain, tmp_path: Path) -> None:
    status, _ = chain
    context = ModuleContext(output_dir=tmp_path)
    params = {"method": "save_report", "granularity": "global"}
    run_module(status, "Reporter", "r", params, context)
    evaluator = status.status["Evaluator"]["operator"]
    status.put("Evaluator", "eval2", evaluator)  # a second branch of the flow
    run_module(status, "Reporter", "r", params, context)
    run_module(status, "Reporter", "r", params, context)  # a repeat adds no rows
    written = pd.read_csv(tmp_path / "petsard[Report]_[global].csv")
    assert written["Evaluator"].tolist() == ["eval", "eval2"]
    assert written["full_expt_name"].str.endswith("Evaluator[eval2]").tolist() == [False, True]


def test_reporter_parameters(chain, tmp_path: Path) -> None:
    status, _ = chain
    with pytest.raises(ModuleError, match="source"):
        build_adapter("Reporter", {"method": "save_data"})
    with pytest.raises(ModuleError, match="granularity"):
        build_adapter("Reporter", {"method": "save_report", "granularity": "rowwise"})
    with pytest.raises(ModuleError, match="method"):
        build_adapter("Reporter", {"method": "print"})
    with pytest.raises(ModuleError, match="no result"):
        run_module(status, "Reporter", "r", {"method": "save_data", "source": "Describer"},
                   ModuleContext(output_dir=tmp_path))


# --- custom adapters and the registry -------------------------------------------------


CUSTOM_ADAPTER = """
from petsard_status.modules import BaseAdapter

class RowCounter(BaseAdapter):
    module_name = "CustomCounter"

    def set_input(self, status):
        return {"data": status.get_result(status.get_pre_module("CustomCounter"))}

    def run(self, input):
        self.result = {"rows": len(input["data"]), "label": self.config.get("label")}

    def get_result(self):
        return self.result

class NotAnAdapter:
    pass
"""


def test_custom_adapter_module(tmp_path: Path, adult: pd.DataFrame) -> None:
    (tmp_path / "mine.py").write_text(textwrap.dedent(CUSTOM_ADAPTER))
    context = ModuleContext(base_dir=tmp_path)
    params = {"module_path": "mine.py", "class_name": "RowCounter", "label": "hi"}
    cls = get_adapter_class("CustomCounter", params, tmp_path)
    assert issubclass(cls, BaseAdapter) and cls.__name__ == "RowCounter"
    status = _status_with(adult.head(123), "CustomCounter")
    adapter = run_module(status, "CustomCounter", "count", params, context)
    assert adapter.get_result() == {"rows": 123, "label": "hi"}
    # The same class may stand in for a reference module.
    assert get_adapter_class("Evaluator", params, tmp_path) is cls
    with pytest.raises(ModuleError, match="subclass"):
        get_adapter_class("CustomCounter", {**params, "class_name": "NotAnAdapter"}, tmp_path)
    with pytest.raises(ModuleError, match="module_path"):
        get_adapter_class("CustomCounter", {})


def test_custom_file_errors(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('boom')\n")
    with pytest.raises(ModuleError, match="boom"):
        get_adapter_class("CustomX", {"module_path": "broken.py", "class_name": "X"}, tmp_path)
    with pytest.raises(ModuleError, match="does not exist"):
        get_adapter_class("CustomX", {"module_path": "nope.py", "class_name": "X"}, tmp_path)


def test_registry_names() -> None:
    assert get_adapter_class("Loader", {}) is ADAPTERS["Loader"]
    for name, cls in ADAPTERS.items():
        assert cls.module_name == name
    with pytest.raises(ModuleError, match="not available in the reference modules"):
        get_adapter_class("Describer", {})
    with pytest.raises(ModuleError, match="unknown module"):
        get_adapter_class("Mystery", {})
