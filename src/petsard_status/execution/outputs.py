"""Where a run's Reporter writes its files: one folder per run."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

__all__ = ["DEFAULT_OUTPUT_ROOT", "run_output_dir"]

DEFAULT_OUTPUT_ROOT = Path("petsard-output")

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def run_output_dir(run: str, root: str | Path = DEFAULT_OUTPUT_ROOT) -> Path:
    """``root/RUN``, the run name made safe as one folder name.

    A name that had to be changed (``a/b``, ``..``) gets a short hash of the
    original, so that two runs never share a folder.
    """
    safe = _UNSAFE.sub("_", run).strip("._") or "run"
    if safe != run:
        safe = f"{safe[:80]}-{hashlib.sha256(run.encode()).hexdigest()[:8]}"
    return Path(root) / safe
