"""Without PETsARD installed, asking for its modules says in one line how to install it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# Asked in a child process: in this one, the folder tests/petsard is on sys.path.
_FIND = "import importlib.util as u; s = u.find_spec('petsard'); print(bool(s and s.origin))"
_INSTALLED = subprocess.run([sys.executable, "-c", _FIND], capture_output=True, text=True,
                            cwd=REPO / "src").stdout.strip() == "True"
pytestmark = pytest.mark.skipif(_INSTALLED, reason="PETsARD is installed here")


def test_run_with_petsard_modules_says_how_to_install(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "petsard_status.cli", "run",
         str(REPO / "examples" / "petsard-adult.yaml"), "--modules", "petsard",
         "--db", str(tmp_path / "runs.db")],
        capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "Error: PETsARD is not installed; install it with: pip install torch==2.13.0 && "
        "pip install 'petsard-status[petsard]'"]
    assert not (tmp_path / "runs.db").exists()


def test_importing_the_integration_says_how_to_install() -> None:
    code = ("import petsard_status.petsard\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO / "src", timeout=120)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1].startswith(
        "petsard_status.errors.PetsardNotInstalledError: PETsARD is not installed")
