"""docs/architecture.md names files and folders: each one must exist."""

from __future__ import annotations

import re

from helpers.paths import REPO

DOC = REPO / "docs" / "architecture.md"
PATH = re.compile(r"`((?:src|tests|migrations|docs|benchmarks)/[\w./-]*|store/[\w.]+)`")


def test_every_path_the_architecture_page_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    named = sorted(set(PATH.findall(text)))
    assert len(named) > 25
    missing = []
    for path in named:
        candidate = REPO / path if not path.startswith("store/") else (
            REPO / "src" / "petsard_status" / path)
        if not candidate.exists():
            missing.append(path)
    assert missing == []


def test_the_layers_named_are_the_contract() -> None:
    text = DOC.read_text(encoding="utf-8")
    contract = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    first_contract = contract.split("[[tool.importlinter.contracts]]")[1]
    layers = re.findall(r'^    "(petsard_status\.\w+)",$', first_contract, re.MULTILINE)
    assert layers[0] == "petsard_status.cli"
    for layer in layers:
        folder = layer.split(".")[1]
        assert f"src/petsard_status/{folder}" in text
