"""CLI start-up: ``petsard-status --help`` wall time, and what importing costs.

Each run is a fresh subprocess; the median of ``repeats`` runs is reported.
``python -X importtime -c "import petsard_status.cli"`` lists the modules whose
import (their own and their children's) costs most.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

CLI = str(Path(sys.executable).with_name("petsard-status"))
_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)")


def help_wall_s(repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        subprocess.run([CLI, "--help"], check=True, stdout=subprocess.DEVNULL, timeout=120)
        times.append(time.perf_counter() - t0)
    return times


def import_offenders(top: int = 8) -> list[dict[str, Any]]:
    """The top-level imports (directly under the CLI) by cumulative microseconds."""
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", "import petsard_status.cli"],
                         capture_output=True, text=True, check=True, timeout=120).stderr
    rows = []
    for line in out.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            _, cumulative, indent, name = match.groups()
            rows.append({"module": name, "cumulative_ms": int(cumulative) / 1e3,
                         "depth": len(indent) // 2})
    # A package's cumulative figure includes everything it imported first, so
    # the outermost packages (no dot in the name) are the ones to blame.
    packages = [r for r in rows if "." not in r["module"] and r["module"] != "petsard_status"]
    packages.sort(key=lambda r: r["cumulative_ms"], reverse=True)
    total = max((r["cumulative_ms"] for r in rows if r["module"] == "petsard_status.cli"),
                default=None)
    return [{"module": "petsard_status.cli (total)", "cumulative_ms": total}] + [
        {"module": r["module"], "cumulative_ms": round(r["cumulative_ms"], 1)}
        for r in packages[:top]]


def cli_startup(repeats: int) -> dict[str, Any]:
    times = help_wall_s(repeats)
    return {"cli_help_s_median": round(statistics.median(times), 3),
            "cli_help_runs": repeats, "import_offenders": import_offenders()}
