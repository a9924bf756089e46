"""docs/petsard.md: its python and shell examples run, and print what the page says."""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from petsard_support import ADULT_CSV, EXAMPLE, REPO, require_petsard

require_petsard()

DOC = REPO / "docs" / "petsard.md"
BLOCK = re.compile(r"```(python|shell)\n(.*?)```", re.S)


def _blocks(kind: str) -> list[str]:
    return [code for lang, code in BLOCK.findall(DOC.read_text(encoding="utf-8"))
            if lang == kind]


def _expected(code: str) -> list[str]:
    """The ``# shown`` comments of the lines that print."""
    return [line.split("#", 1)[1].strip() for line in code.splitlines()
            if line.startswith("print(") and "#" in line]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "examples" / "data").mkdir(parents=True)
    shutil.copy(EXAMPLE, tmp_path / "examples" / EXAMPLE.name)
    shutil.copy(ADULT_CSV, tmp_path / "examples" / "data" / ADULT_CSV.name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_the_pages_examples_run(workdir: Path) -> None:
    python, shell = _blocks("python"), _blocks("shell")
    assert len(python) == 2 and len(shell) == 2
    namespace: dict = {}
    for code in python:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, str(DOC), "exec"), namespace)
        # PETsARD's evaluator prints progress bars of its own among the example's lines.
        shown = [line.strip() for line in out.getvalue().splitlines()]
        expected = _expected(code)
        found = [line for line in shown if line in expected]
        assert found == expected, out.getvalue()[-2000:]
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for code in shell:
        done = subprocess.run(["bash", "-euc", code], cwd=workdir, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "run       adult-cli (completed)" in done.stdout
