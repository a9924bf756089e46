"""The whole config is checked before any step runs: ``validate``, and ``run`` first."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.cli import EXAMPLE_YAML, cli, example_on_sample, line_of

# One misspelt or wrong parameter per built-in module: (module, written, expected message).
MISSPELT = [
    ("Loader", "na_value", "did you mean 'na_values'?"),
    ("Splitter", "train_split_ration", "did you mean 'train_split_ratio'?"),
    ("Preprocessor", "encodng", "did you mean 'encoding'?"),
    ("Synthesizer", "sample_num_row", "did you mean 'sample_num_rows'?"),
    ("Postprocessor", "methd", "did you mean 'method'?"),
    ("Evaluator", "max_row", "did you mean 'max_rows'?"),
    ("Reporter", "granularty", "did you mean 'granularity'?"),
]

GOOD_PARAMS = {
    "Loader": "filepath: adult.csv",
    "Splitter": "train_split_ratio: 0.8",
    "Preprocessor": "encoding: label",
    "Synthesizer": "method: default",
    "Postprocessor": "method: default",
    "Evaluator": "method: default",
    "Reporter": "method: save_report",
}


def pipeline(folder: Path, extra: dict[str, str]) -> Path:
    """A seven-module pipeline, with ``extra[module]`` added to its one experiment."""
    lines = []
    for module, param in GOOD_PARAMS.items():
        lines += [f"{module}:", "  one:", f"    {param}"]
        if module == "Reporter":
            lines.append("    granularity: global")
        if module in extra:
            lines.append(f"    {extra[module]}")
    path = folder / "pipeline.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "adult.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    return path


def assert_nothing_ran(folder: Path) -> None:
    assert not list(folder.glob("*.db")), "a database was created"
    assert not (folder / "petsard-output").exists(), "the Reporter wrote files"


def test_validate_prints_the_flow_of_the_example(tmp_path: Path) -> None:
    done = cli(["validate", str(EXAMPLE_YAML)], tmp_path)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "steps     8 (2 flow path(s))" in out
    for step in ("Loader[adult]", "Splitter[split_[1-1]]", "Preprocessor[default]",
                 "Synthesizer[copula]", "Postprocessor[inverse]", "Evaluator[quality]",
                 "Reporter[data]", "Reporter[report]"):
        assert step in out
    assert "no problems found" in out
    assert done.stderr == ""
    assert_nothing_ran(tmp_path)


def test_a_misspelt_parameter_of_each_module_fails_before_any_step(tmp_path: Path) -> None:
    path = pipeline(tmp_path, {module: f"{name}: 1" for module, name, _ in MISSPELT})
    text = path.read_text(encoding="utf-8")
    done = cli(["run", str(path), "--db", str(tmp_path / "runs.db"), "--plain"], tmp_path)
    assert done.returncode == 1
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == len(MISSPELT), done.stderr
    for (module, name, hint), line in zip(MISSPELT, lines):
        expected_at = f"{path}:{line_of(text, name + ':')}: {module}[one]: "
        assert line.startswith("Error: " + expected_at), line
        assert f"unknown parameter {name!r}" in line and hint in line
    assert_nothing_ran(tmp_path)


def test_validate_lists_every_problem_and_exits_1(tmp_path: Path) -> None:
    path = pipeline(tmp_path, {module: f"{name}: 1" for module, name, _ in MISSPELT})
    done = cli(["validate", str(path)], tmp_path)
    assert done.returncode == 1
    assert len([e for e in done.stderr.splitlines() if e.startswith("Error: ")]) == 7


@pytest.mark.parametrize(("module", "param", "value", "message"), [
    ("Reporter", "granularity", "globall",
     "granularity is 'globall', which is not allowed (did you mean 'global'?); use one of "
     "global, columnwise, pairwise"),
    ("Splitter", "train_split_ratio", "1.5",
     "train_split_ratio is 1.5; it must be a number strictly between 0 and 1"),
    ("Synthesizer", "sample_num_rows", "0",
     "sample_num_rows is 0; it must be an integer of at least 1"),
    ("Preprocessor", "missing", "modee",
     "missing is 'modee', which is not allowed (did you mean 'mode'?)"),
    ("Evaluator", "random_state", "-1", "random_state is -1; it must be an integer of at least 0"),
    ("Splitter", "random_state", "yes", "random_state is boolean True; it must be an integer"),
])
def test_a_bad_value_fails_before_any_step(tmp_path: Path, module: str, param: str,
                                           value: str, message: str) -> None:
    path = pipeline(tmp_path, {})
    text = path.read_text(encoding="utf-8")
    # Replace the module's own value where it has one, else add the parameter.
    if f"    {param}:" in text:
        head, _, rest = text.partition(f"    {param}:")
        text = head + f"    {param}: {value}" + rest[rest.index("\n"):]
    else:
        text = text.replace(f"{module}:\n  one:\n", f"{module}:\n  one:\n    {param}: {value}\n")
    path.write_text(text, encoding="utf-8")
    done = cli(["run", str(path), "--db", str(tmp_path / "runs.db"), "--plain"], tmp_path)
    assert done.returncode == 1
    expected = f"Error: {path}:{line_of(text, f'{param}: {value}')}: {module}[one]: {message}"
    assert done.stderr.splitlines()[0].startswith(expected), done.stderr
    assert_nothing_ran(tmp_path)


def test_a_reporter_source_must_name_an_earlier_module(tmp_path: Path) -> None:
    path = pipeline(tmp_path, {})
    text = path.read_text(encoding="utf-8").replace(
        "method: save_report\n    granularity: global",
        "method: save_data\n    source: Postprocesor")
    path.write_text(text, encoding="utf-8")
    done = cli(["validate", str(path)], tmp_path)
    assert done.returncode == 1
    assert "source 'Postprocesor' is not a module before the Reporter (did you mean " \
           "'Postprocessor'?)" in done.stderr


def test_a_negative_seed_fails_before_any_step(tmp_path: Path) -> None:
    path = example_on_sample(tmp_path, 50)
    done = cli(["run", str(path), "--db", str(tmp_path / "runs.db"), "--seed", "-5"], tmp_path)
    assert done.returncode == 2
    assert "--seed" in done.stderr and "-5" in done.stderr
    assert_nothing_ran(tmp_path)


def test_yaml_syntax_errors_name_file_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("Loader:\n  one:\n    filepath: [adult.csv\nSplitter: {}\n", encoding="utf-8")
    done = cli(["validate", str(path)], tmp_path)
    assert done.returncode == 1
    assert "<unicode string>" not in done.stderr
    line = done.stderr.strip()
    assert line.startswith(f"Error: {path}:4:"), line
    assert len(done.stderr.splitlines()) == 1


def test_a_custom_adapter_declares_its_parameters(tmp_path: Path) -> None:
    (tmp_path / "keep.py").write_text(
        "from petsard_status.modules import BaseAdapter\n"
        "from petsard_status.modules.params import INT, Param, ParamSpec\n\n\n"
        "class Keep(BaseAdapter):\n"
        "    params = ParamSpec((Param('rows', (INT,), required=True, minimum=1),))\n\n"
        "    def set_input(self, status):\n"
        "        return {'data': status.get_result('Loader')}\n\n"
        "    def run(self, input):\n"
        "        self.result = input['data'].head(self.config['rows'])\n\n"
        "    def get_result(self):\n"
        "        return self.result\n",
        encoding="utf-8")
    (tmp_path / "adult.csv").write_text("a,b\n1,2\n3,4\n", encoding="utf-8")
    path = tmp_path / "pipeline.yaml"
    path.write_text("Loader:\n  one:\n    filepath: adult.csv\nCustomKeep:\n  k:\n"
                    "    module_path: keep.py\n    class_name: Keep\n    row: 1\n",
                    encoding="utf-8")
    done = cli(["validate", str(path)], tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert len(lines) == 2, done.stderr
    assert lines[0].startswith(f"Error: {path}:8: CustomKeep[k]: unknown parameter 'row' "
                               "(did you mean 'rows'?)")
    assert lines[1].startswith(f"Error: {path}:5: CustomKeep[k]: parameter 'rows' is required")
    path.write_text(path.read_text(encoding="utf-8").replace("row: 1", "rows: 1"),
                    encoding="utf-8")
    done = cli(["validate", str(path)], tmp_path)
    assert done.returncode == 0, done.stderr
    assert "CustomKeep[k]" in done.stdout
