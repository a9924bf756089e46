"""Configs that would blow up or crash later are refused before the run starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers.stores import cli, one_error_line
from petsard_status import Config, ConfigError

# Nine levels of nine aliases each: 9**9 (387 million) lists in about 1.5 KB of text,
# inside an experiment's parameters, where the config's own checks do not look.
LAUGHS = "Loader:\n  data:\n    filepath: x.csv\n    a0: &a0 [x, x, x, x, x, x, x, x, x]\n" + (
    "").join(
    f"    a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * 9)}]\n" for k in range(1, 10)
)


def test_billion_laughs_yaml_fails_fast_with_config_error(tmp_path: Path) -> None:
    pipeline = tmp_path / "laughs.yaml"
    pipeline.write_text(LAUGHS, encoding="utf-8")
    assert len(pipeline.read_bytes()) < 2000
    with pytest.raises(ConfigError, match="through its aliases"):
        Config.from_yaml(pipeline)
    # A subprocess with a timeout: before the fix this ran past 30 s and gigabytes.
    line = one_error_line(cli("run", str(pipeline), "--db", str(tmp_path / "runs.db"),
                              timeout=60))
    assert "expands to more than" in line
    assert not (tmp_path / "runs.db").exists()


def test_self_referring_alias_is_a_config_error(tmp_path: Path) -> None:
    pipeline = tmp_path / "loop.yaml"
    pipeline.write_text("Loader:\n  data: &d {filepath: x.csv, me: *d}\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        Config.from_yaml(pipeline)


def test_ordinary_aliases_still_work(tmp_path: Path) -> None:
    pipeline = tmp_path / "ok.yaml"
    pipeline.write_text("Loader:\n  a: &p {filepath: x.csv}\n  b: *p\n", encoding="utf-8")
    assert Config.from_yaml(pipeline).params("Loader", "b") == {"filepath": "x.csv"}


def test_experiment_name_too_long_for_a_file_name_fails_before_the_run(tmp_path: Path) -> None:
    csv = tmp_path / "data.csv"
    csv.write_text("a,b\n1,x\n2,y\n", encoding="utf-8")
    long_name = "e" * 300
    pipeline = tmp_path / "long.yaml"
    pipeline.write_text(
        f"Loader:\n  {long_name}:\n    filepath: {csv}\n"
        "Reporter:\n  out:\n    method: save_data\n    source: Loader\n", encoding="utf-8")
    db = tmp_path / "runs.db"
    result = cli("run", str(pipeline), "--db", str(db), "--output", str(tmp_path / "out"))
    line = one_error_line(result)
    assert "Reporter[out] would write a file named" in line and "shorten" in line
    assert not db.exists()
    assert not (tmp_path / "out").exists()
