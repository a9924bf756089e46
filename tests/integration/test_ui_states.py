"""The web view's read model shows a running run whose writer died as stale."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd

from petsard_status import Status
from petsard_status.store.browse import Browser

WRITER = textwrap.dedent('''
    import sys
    from petsard_status import Status
    from petsard_status.store import leases

    status = Status({"Loader": {"a": {"filepath": "x.csv"}}}, sys.argv[1], run="r")
    leases.acquire(status.store, status.run_id, "r", leases.new_owner())
    # exits holding the lease, its run still running: as a killed writer leaves it
    import os
    os._exit(0)
''')


def test_a_running_run_whose_writer_died_shows_stale(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    done = subprocess.run([sys.executable, str(script), str(db)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with Status({"Loader": {"b": {"filepath": "y.csv"}}}, db, run="alive") as alive:
        alive.put("Loader", "b", _Frame())
        browser = Browser(str(db))
        try:
            rows, _ = browser.runs(None, 0, 10)
            shown = {row.name: browser.shown_state(row) for row in rows}
            # The state filter goes by the state shown, not the column.
            filtered = {state: ([row.name for row in page], total) for state in
                        ("stale", "running", "completed")
                        for page, total in [browser.runs(state, 0, 10)]}
        finally:
            browser.close()
    assert shown == {"r": "stale", "alive": "running"}
    assert filtered == {"stale": (["r"], 1), "running": (["alive"], 1), "completed": ([], 0)}


class _Frame:
    def get_result(self) -> pd.DataFrame:
        return pd.DataFrame({"x": [1]})
