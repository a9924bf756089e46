"""Helpers of the PETsARD suite: the pipeline of the example, with absolute paths.

These tests run real PETsARD.  Without it they skip with the reason, except
under ``CI=true``, where a missing PETsARD is a failure.
"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "petsard-adult.yaml"
ADULT_CSV = REPO / "examples" / "data" / "adult-income.csv"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
ROWS = 1200


def require_petsard() -> None:
    """Skip the calling test module without PETsARD (fail under CI=true)."""
    try:
        if importlib.import_module("petsard").__file__ is None:
            # This folder itself, found on sys.path as a namespace package.
            raise ImportError("only a namespace package named petsard is importable")
    except ImportError as exc:
        reason = (f"PETsARD is not importable ({exc}); install it in .venv-petsard, see "
                  "docs/petsard.md")
        if IN_CI:
            pytest.fail(f"CI=true requires PETsARD: {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


def pipeline(folder: Path, *, log_level: str = "INFO", rows: int = ROWS,
             modules: list[str] | None = None) -> dict[str, Any]:
    """The example pipeline, writing into ``folder``; optionally only some modules."""
    config = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    config["Executor"].update(log_level=log_level, log_dir=str(folder / "logs"))
    config["Loader"]["adult"].update(filepath=str(ADULT_CSV), nrows=rows)
    (folder / "out").mkdir(parents=True, exist_ok=True)  # PETsARD's Reporter makes no folder
    for params in config["Reporter"].values():
        params["output"] = str(folder / "out" / "petsard-adult")
    if modules is not None:
        config = {name: value for name, value in config.items()
                  if name == "Executor" or name in modules}
    return config


def write_pipeline(folder: Path, config: dict[str, Any], name: str = "pipeline.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def seed_everything(seed: int = 7) -> None:
    """PETsARD's default synthesizer draws from torch and numpy: fix both."""
    import random

    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def run_python(code: str, *args: str, timeout: float = 300, **kwargs: Any
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code), *args],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def cli(*args: str, timeout: float = 300, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "petsard_status.cli", *args],
                          capture_output=True, text=True, timeout=timeout, **kwargs)


# A child process that runs the pipeline and holds the Synthesizer at its start (a log
# handler on PETsARD's own start message: no PETsARD code is changed) until killed.
HOLD_SYNTHESIZER = '''
import logging, sys, time, warnings
from pathlib import Path
warnings.simplefilter("ignore")
from petsard_status.petsard import Executor

config, store, run, marker = sys.argv[1:5]

class Hold(logging.Handler):
    def emit(self, record):
        if record.getMessage().startswith("Starting SynthesizerAdapter"):
            Path(marker).touch()
            while True:
                time.sleep(0.05)

executor = Executor(config, store=store, run=run)
logging.getLogger("PETsARD.SynthesizerAdapter").addHandler(Hold())
executor.run()
'''
