"""Running the ``petsard-status`` command in a subprocess, on small copies of the example."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ADULT_CSV = REPO / "examples" / "data" / "adult-income.csv"
EXAMPLE_YAML = REPO / "examples" / "adult-income.yaml"


def cli(args: list[str], cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``petsard-status ARGS`` in ``cwd``; $PETSARD_STATUS_DB unset unless ``env`` sets it."""
    environ = {k: v for k, v in os.environ.items() if k != "PETSARD_STATUS_DB"}
    environ.update(env or {})
    return subprocess.run([sys.executable, "-m", "petsard_status.cli", *args], cwd=cwd,
                          env=environ, capture_output=True, text=True, timeout=timeout)


def adult_sample(folder: Path, rows: int) -> Path:
    """The header and first ``rows`` rows of the bundled adult file, as ``adult.csv``."""
    path = folder / "adult.csv"
    with ADULT_CSV.open(encoding="utf-8") as source:
        path.write_text("".join(next(source) for _ in range(rows + 1)), encoding="utf-8")
    return path


def example_on_sample(folder: Path, rows: int = 2000) -> Path:
    """The example pipeline, its Loader reading the first ``rows`` rows: ``pipeline.yaml``."""
    adult_sample(folder, rows)
    text = EXAMPLE_YAML.read_text(encoding="utf-8")
    assert "filepath: benchmark://adult-income" in text
    text = text.replace("filepath: benchmark://adult-income",
                        'filepath: adult.csv\n    na_values: "?"')
    path = folder / "pipeline.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    """1-based number of the only line of ``text`` holding ``fragment``."""
    found = [i for i, line in enumerate(text.splitlines(), 1) if fragment in line]
    assert len(found) == 1, (fragment, found)
    return found[0]
