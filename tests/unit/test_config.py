"""Tests of Config: validation, Splitter expansion, the flow and round-tripping."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from petsard_status.config import Config, FlowStep
from petsard_status.errors import ConfigError

SEED_EXAMPLE = {
    "Loader": {"data": {"filepath": "benchmark://adult-income"}},
    "Synthesizer": {"demo": {"method": "default"}},
    "Reporter": {"output": {"method": "save_data", "source": "Synthesizer"}},
}

ALL_MODULES = [
    "Loader",
    "Splitter",
    "Preprocessor",
    "Synthesizer",
    "Postprocessor",
    "Constrainer",
    "Evaluator",
    "Describer",
    "Reporter",
]


def write(tmp_path: Path, text: str, name: str = "pipeline.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the basics ----------------------------------------------------------------------


def test_seed_example_sequence_and_flow() -> None:
    config = Config(SEED_EXAMPLE)
    assert config.sequence == ["Loader", "Synthesizer", "Reporter"]
    assert config.num_steps == 3
    flow = config.flow()
    assert [(s.module, s.experiment) for s in flow] == [
        ("Loader", "data"),
        ("Synthesizer", "demo"),
        ("Reporter", "output"),
    ]
    assert [s.index for s in flow] == [0, 1, 2]
    assert flow[2].path == (("Loader", "data"), ("Synthesizer", "demo"), ("Reporter", "output"))
    assert flow[2].key == "Loader[data]_Synthesizer[demo]_Reporter[output]"
    assert flow[1].params == {"method": "default"}
    assert config.paths() == [flow[2].path]


def test_sequence_follows_mapping_order_not_a_canonical_order() -> None:
    config = Config({"Reporter": {"r": {}}, "Loader": {"l": {}}})
    assert config.sequence == ["Reporter", "Loader"]


def test_two_loaders_three_synthesizers_one_reporter_gives_fourteen_steps() -> None:
    config = Config(
        {
            "Loader": {"L1": {}, "L2": {}},
            "Synthesizer": {"S1": {}, "S2": {}, "S3": {}},
            "Reporter": {"R": {}},
        }
    )
    expected = [
        "Loader[L1]",
        "Loader[L1]_Synthesizer[S1]",
        "Loader[L1]_Synthesizer[S1]_Reporter[R]",
        "Loader[L1]_Synthesizer[S2]",
        "Loader[L1]_Synthesizer[S2]_Reporter[R]",
        "Loader[L1]_Synthesizer[S3]",
        "Loader[L1]_Synthesizer[S3]_Reporter[R]",
        "Loader[L2]",
        "Loader[L2]_Synthesizer[S1]",
        "Loader[L2]_Synthesizer[S1]_Reporter[R]",
        "Loader[L2]_Synthesizer[S2]",
        "Loader[L2]_Synthesizer[S2]_Reporter[R]",
        "Loader[L2]_Synthesizer[S3]",
        "Loader[L2]_Synthesizer[S3]_Reporter[R]",
    ]
    flow = config.flow()
    assert config.num_steps == 14
    assert [step.key for step in flow] == expected
    assert [step.index for step in flow] == list(range(14))
    assert flow[4].path == (("Loader", "L1"), ("Synthesizer", "S2"), ("Reporter", "R"))
    assert flow[4].module == "Reporter" and flow[4].experiment == "R"
    assert config.paths() == [
        (("Loader", "L1"), ("Synthesizer", "S1"), ("Reporter", "R")),
        (("Loader", "L1"), ("Synthesizer", "S2"), ("Reporter", "R")),
        (("Loader", "L1"), ("Synthesizer", "S3"), ("Reporter", "R")),
        (("Loader", "L2"), ("Synthesizer", "S1"), ("Reporter", "R")),
        (("Loader", "L2"), ("Synthesizer", "S2"), ("Reporter", "R")),
        (("Loader", "L2"), ("Synthesizer", "S3"), ("Reporter", "R")),
    ]


def test_step_by_path_accepts_lists_and_rejects_unknown_paths() -> None:
    config = Config({"Loader": {"a": {"x": 1}, "b": {}}, "Synthesizer": {"s": {}}})
    step = config.step_by_path([["Loader", "b"], ["Synthesizer", "s"]])
    assert step == FlowStep(
        module="Synthesizer",
        experiment="s",
        params={},
        path=(("Loader", "b"), ("Synthesizer", "s")),
        index=3,
        key="Loader[b]_Synthesizer[s]",
    )
    assert config.step_by_path((("Loader", "a"),)).params == {"x": 1}
    with pytest.raises(ConfigError, match=r"Loader\[c\]"):
        config.step_by_path([("Loader", "c")])
    with pytest.raises(ConfigError, match="Synthesizer"):
        config.step_by_path([("Synthesizer", "s")])


def test_experiments_and_params() -> None:
    config = Config(SEED_EXAMPLE)
    assert config.experiments("Synthesizer") == ["demo"]
    assert config.params("Reporter", "output") == {"method": "save_data", "source": "Synthesizer"}
    with pytest.raises(ConfigError, match=r"'Synthesiser'.*did you mean 'Synthesizer'"):
        config.experiments("Synthesiser")
    with pytest.raises(ConfigError, match="'nope'"):
        config.params("Loader", "nope")


def test_returned_params_are_copies() -> None:
    source = {"Loader": {"a": {"opts": {"x": [1, 2]}}}}
    config = Config(source)
    source["Loader"]["a"]["opts"]["x"].append(3)
    config.flow()[0].params["opts"]["x"].append(4)
    config.params("Loader", "a")["opts"]["x"].append(5)
    config.to_dict()["Loader"]["a"]["opts"]["x"].append(6)
    config.config["Loader"]["a"]["opts"]["x"].append(7)
    assert config.params("Loader", "a") == {"opts": {"x": [1, 2]}}


def test_none_params_mean_empty() -> None:
    config = Config({"Loader": {"a": None}})
    assert config.params("Loader", "a") == {}
    assert config == Config({"Loader": {"a": {}}})


# --- Splitter expansion --------------------------------------------------------------


def test_splitter_num_samples_three() -> None:
    config = Config(
        {
            "Loader": {"data": {}},
            "Splitter": {"split": {"num_samples": 3, "train_split_ratio": 0.8}},
        }
    )
    assert config.experiments("Splitter") == ["split_[3-1]", "split_[3-2]", "split_[3-3]"]
    assert config.params("Splitter", "split_[3-2]") == {
        "num_samples": 1,
        "train_split_ratio": 0.8,
        "sample_index": 2,
    }
    assert [s.key for s in config.flow()] == [
        "Loader[data]",
        "Loader[data]_Splitter[split_[3-1]]",
        "Loader[data]_Splitter[split_[3-2]]",
        "Loader[data]_Splitter[split_[3-3]]",
    ]
    assert config.yaml == config.config
    assert list(config.config["Splitter"]) == ["split_[3-1]", "split_[3-2]", "split_[3-3]"]
    # The user's config is kept unexpanded.
    assert config.to_dict()["Splitter"] == {"split": {"num_samples": 3, "train_split_ratio": 0.8}}
    with pytest.raises(ConfigError, match=r"split_\[3-1\]"):
        config.params("Splitter", "split")


def test_splitter_num_samples_twelve_is_zero_padded() -> None:
    config = Config({"Splitter": {"split": {"num_samples": 12}}})
    names = config.experiments("Splitter")
    assert len(names) == 12
    assert names[0] == "split_[12-01]"
    assert names[8] == "split_[12-09]"
    assert names[9] == "split_[12-10]"
    assert names[11] == "split_[12-12]"
    assert [config.params("Splitter", n)["sample_index"] for n in names] == list(range(1, 13))


def test_splitter_without_num_samples_expands_to_one_sample() -> None:
    config = Config({"Splitter": {"s": {}, "t": {"num_samples": 1}}})
    assert config.experiments("Splitter") == ["s_[1-1]", "t_[1-1]"]
    assert config.params("Splitter", "s_[1-1]") == {"num_samples": 1, "sample_index": 1}


@pytest.mark.parametrize("bad", [0, -2, True, 1.5, "3", None])
def test_splitter_num_samples_must_be_positive_int(bad: object) -> None:
    with pytest.raises(ConfigError, match=r"num_samples of Splitter\[split\]"):
        Config({"Splitter": {"split": {"num_samples": bad}}})


def test_splitter_sample_index_is_reserved() -> None:
    with pytest.raises(ConfigError, match="sample_index"):
        Config({"Splitter": {"split": {"num_samples": 2, "sample_index": 1}}})


# --- validation of dict configs ----------------------------------------------------


@pytest.mark.parametrize(
    ("config", "match"),
    [
        ([], "not a list"),
        ({}, "no module"),
        ({"Loader": {}}, r"'Loader'.* has no experiments"),
        ({"Loader": None}, r"'Loader'.* has no experiments"),
        ({"Loader": ["a"]}, "'Loader' must map"),
        ({"Loader": {"": {}}}, "non-empty string"),
        ({"Loader": {"  ": {}}}, "non-empty string"),
        ({"Loader": {3: {}}}, "experiment name 3 of module 'Loader'"),
        ({"Loader": {"a": "x"}}, r"params of Loader\[a\]"),
        ({"Loader": {"a": {1: "x"}}}, r"parameter name 1 in Loader\[a\]"),
        ({"Loader": {"a": {"p": {"q": object()}}}}, r"'p\.q' of Loader\[a\]"),
        ({"Custom": {"a": {}}}, "custom module name 'Custom'"),
        ({7: {"a": {}}}, "unknown module 7"),
        ({"Evaluator": {"e_[]": {}}}, "reserved"),
    ],
)
def test_invalid_dict_configs(config: object, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Config(config)  # type: ignore[arg-type]


def test_unknown_module_lists_known_and_suggests_closest() -> None:
    with pytest.raises(ConfigError) as info:
        Config({"Loader": {"a": {}}, "Evaluater": {"e": {}}})
    message = str(info.value)
    assert "'Evaluater'" in message
    assert "did you mean 'Evaluator'" in message
    for known in ALL_MODULES:
        assert known in message


def test_unknown_module_without_close_match_has_no_suggestion() -> None:
    with pytest.raises(ConfigError) as info:
        Config({"Zzzzzz": {"a": {}}})
    assert "did you mean" not in str(info.value)


def test_custom_module() -> None:
    params = {"module_path": "cleaners/outliers.py", "class_name": "OutlierCleaner", "k": 3}
    config = Config({"Loader": {"a": {}}, "CustomCleaner": {"clean": params}})
    assert config.sequence == ["Loader", "CustomCleaner"]
    assert config.params("CustomCleaner", "clean") == params
    with pytest.raises(ConfigError, match=r"CustomCleaner\[clean\].*module_path"):
        Config({"CustomCleaner": {"clean": {"class_name": "X"}}})
    with pytest.raises(ConfigError, match=r"CustomCleaner\[clean\].*module_path"):
        Config({"CustomCleaner": {"clean": {"module_path": "x.txt", "class_name": "X"}}})
    with pytest.raises(ConfigError, match=r"CustomCleaner\[clean\].*class_name"):
        Config({"CustomCleaner": {"clean": {"module_path": "x.py"}}})
    with pytest.raises(ConfigError, match=r"CustomCleaner\[b\].*module_path"):
        Config({"CustomCleaner": {"a": params, "b": None}})


# --- from_yaml -----------------------------------------------------------------------


def test_from_yaml_valid(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
Loader:
  data:
    filepath: benchmark://adult-income
Splitter:
  split:
    num_samples: 2
Synthesizer:
  demo:
    method: default
  none-params:
Reporter:
  output:
    method: save_data
    source: Synthesizer
""",
    )
    config = Config.from_yaml(path)
    assert config.sequence == ["Loader", "Splitter", "Synthesizer", "Reporter"]
    assert config.experiments("Splitter") == ["split_[2-1]", "split_[2-2]"]
    assert config.params("Synthesizer", "none-params") == {}
    # 1 loader, 2 splits, 2 synthesizers, 1 reporter: 1 + 2 + 4 + 4
    assert config.num_steps == 11
    assert config.source_path == path
    assert config == Config(config.to_dict())


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("Loader: {data: [unclosed\n", "not valid YAML"),
        ("Loader:\n  a: {}\n  a: {x: 1}\n", "duplicate key 'a'"),
        ("", "is empty"),
        ("# only a comment\n", "is empty"),
        ("- Loader\n- Synthesizer\n", "mapping .* not a list"),
        ("Loader:\n", r"'Loader'.* has no experiments"),
        ("Loader: {}\n", r"'Loader'.* has no experiments"),
        ("Loader:\n  data:\n    - filepath\n", r"params of Loader\[data\].*not a list"),
        ("Loader:\n  a: {}\nSynthesiser:\n  s: {}\n", "'Synthesiser'.*'Synthesizer'"),
        ("Loader:\n  data_[1-1]: {}\n", r"data_\[1-1\].*reserved"),
        ("CustomX:\n  a:\n    class_name: X\n", r"CustomX\[a\].*module_path"),
        ("Loader:\n  a:\n    when: 2024-01-01\n", r"'when' of Loader\[a\].*date"),
        ("Loader:\n  2024: {}\n", "experiment name 2024"),
        ("Loader:\n  a: &x [*x]\n", r"Loader\[a\]"),
    ],
)
def test_from_yaml_errors(tmp_path: Path, text: str, match: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError, match=match) as info:
        Config.from_yaml(path)
    assert "pipeline.yaml" in str(info.value)


def test_from_yaml_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.yaml.*does not exist"):
        Config.from_yaml(tmp_path / "nowhere.yaml")


def test_from_yaml_folder_and_binary(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="folder"):
        Config.from_yaml(tmp_path)
    binary = tmp_path / "data.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match=r"data\.yaml"):
        Config.from_yaml(binary)


def test_from_yaml_does_not_construct_python_objects(tmp_path: Path) -> None:
    path = write(tmp_path, "Loader:\n  a:\n    x: !!python/object/apply:os.getcwd []\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Config.from_yaml(path)


# --- round trip and equality ---------------------------------------------------------


def test_to_dict_round_trip_and_json() -> None:
    config = Config(
        {
            "Loader": {"a": {"filepath": "x.csv", "na_values": ("?", "NA")}, "b": None},
            "Splitter": {"s": {"num_samples": 3, "ratio": 0.75}},
            "CustomStep": {"c": {"module_path": "m.py", "class_name": "C", "on": True}},
        }
    )
    data = config.to_dict()
    text = json.dumps(data)
    assert Config(json.loads(text)) == config
    assert Config(data) == config
    assert data["Loader"]["a"]["na_values"] == ["?", "NA"]
    assert data["Splitter"] == {"s": {"num_samples": 3, "ratio": 0.75}}


def test_equality_depends_on_module_and_experiment_order() -> None:
    a = Config({"Loader": {"x": {}, "y": {}}, "Reporter": {"r": {}}})
    assert a == Config({"Loader": {"x": {}, "y": {}}, "Reporter": {"r": {}}})
    assert a != Config({"Reporter": {"r": {}}, "Loader": {"x": {}, "y": {}}})
    assert a != Config({"Loader": {"y": {}, "x": {}}, "Reporter": {"r": {}}})
    assert a != Config({"Loader": {"x": {"p": 1}, "y": {}}, "Reporter": {"r": {}}})
    # Parameter order does not change what runs.
    assert Config({"Loader": {"x": {"p": 1, "q": 2}}}) == Config(
        {"Loader": {"x": {"q": 2, "p": 1}}}
    )
    assert a != "not a config"


# --- properties of the flow ----------------------------------------------------------

experiment_names = st.text(alphabet="abcxyz-0123", min_size=1, max_size=6)


@st.composite
def random_configs(draw: st.DrawFn) -> tuple[dict, list[int]]:
    """A random config and, independently, how many experiments each module expands to."""
    modules = draw(st.permutations(ALL_MODULES))[: draw(st.integers(1, 4))]
    config: dict = {}
    counts: list[int] = []
    for module in modules:
        names = draw(st.lists(experiment_names, min_size=1, max_size=3, unique=True))
        experiments: dict = {}
        count = 0
        for name in names:
            if module == "Splitter":
                n = draw(st.integers(1, 3))
                experiments[name] = {"num_samples": n}
                count += n
            else:
                experiments[name] = draw(st.none() | st.just({"p": name}))
                count += 1
        config[module] = experiments
        counts.append(count)
    return config, counts


@settings(max_examples=200, deadline=None)
@given(random_configs())
def test_flow_properties(drawn: tuple[dict, list[int]]) -> None:
    raw, counts = drawn
    config = Config(raw)
    flow = config.flow()
    sequence = list(raw)

    expected_steps = sum(math.prod(counts[: k + 1]) for k in range(len(counts)))
    assert len(flow) == expected_steps == config.num_steps
    assert [step.index for step in flow] == list(range(len(flow)))

    last_path_at_depth: dict[int, tuple] = {}
    for step in flow:
        depth = len(step.path) - 1
        assert step.module == sequence[depth]
        assert step.path[-1] == (step.module, step.experiment)
        if depth > 0:
            # Depth-first: the step feeding this one is the latest of the module before.
            assert step.path[:-1] == last_path_at_depth[depth - 1]
        last_path_at_depth[depth] = step.path
        assert step.key == "_".join(f"{m}[{e}]" for m, e in step.path)
        assert config.step_by_path(step.path) == step

    leaves = config.paths()
    assert len(leaves) == len(set(leaves)) == math.prod(counts)
    assert all(len(leaf) == len(sequence) for leaf in leaves)
    assert Config(json.loads(json.dumps(config.to_dict()))) == config
