"""Reading commands load no frame, array or YAML library, and still print the right things.

Each command runs in a fresh interpreter on the example pipeline's real store;
what it prints is compared with facts of the example itself (its modules and
experiments, the adult data's 48,842 rows and 15 columns, the 80 % split), not
with anything the code under test computed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from helpers.paths import EXAMPLE_RUN

HEAVY = ("alembic", "numpy", "pandas", "pyarrow", "scipy", "yaml")
MARKER = "--- heavy modules: "
SCRIPT = f"""
import json, sys
from petsard_status.cli.main import main
try:
    main(sys.argv[1:], prog_name="petsard-status")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
heavy = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY!r}))
print({MARKER!r} + json.dumps({{"heavy": heavy, "exit": code}}))
"""

STEPS = [("Loader", "adult"), ("Splitter", "split_[1-1]"), ("Preprocessor", "default"),
         ("Synthesizer", "copula"), ("Postprocessor", "inverse"), ("Evaluator", "quality"),
         ("Reporter", "data"), ("Reporter", "report")]
COLUMNS = ["age", "workclass", "fnlwgt", "education", "educational-num", "marital-status",
           "occupation", "relationship", "race", "gender", "capital-gain", "capital-loss",
           "hours-per-week", "native-country", "income"]
ROWS, TRAIN_ROWS = 48842, 39073  # the adult data, and 80 % of it (train_split_ratio 0.8)


def run_fresh(db: Path, *args: str) -> str:
    """``petsard-status ARGS --db DB`` in a new interpreter: its output, heavy modules checked."""
    env = {k: v for k, v in os.environ.items() if k != "PETSARD_STATUS_DB"}
    done = subprocess.run([sys.executable, "-c", SCRIPT, *args, "--db", str(db)],
                          capture_output=True, text=True, timeout=120, env=env)
    out, _, last = done.stdout.rstrip("\n").rpartition("\n")
    assert last.startswith(MARKER), done.stdout + done.stderr
    assert json.loads(last[len(MARKER):]) == {"heavy": [], "exit": 0}, done.stderr
    return out


def table_rows(text: str) -> list[list[str]]:
    """The first table in ``text``: its lines after the ``---`` rule, up to a blank line."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("-"))
    body = []
    for line in lines[rule + 1:]:
        if not line.strip():
            break
        body.append(line.split())
    return body


def test_runs(example_db: Path) -> None:
    out = run_fresh(example_db, "runs")
    [row] = table_rows(out)
    assert row[:2] == [EXAMPLE_RUN, "completed"]
    assert f"{len(STEPS)}/{len(STEPS)}" in row


def test_snapshots(example_db: Path) -> None:
    rows = table_rows(run_fresh(example_db, "snapshots", EXAMPLE_RUN, "--limit", "20"))
    assert [(r[4], r[5]) for r in rows] == STEPS
    assert [r[0] for r in rows] == [str(k) for k in range(1, len(STEPS) + 1)]


def test_snapshots_newest_first_and_as_json(example_db: Path) -> None:
    rows = table_rows(run_fresh(example_db, "snapshots", EXAMPLE_RUN, "--newest-first",
                                "--limit", "2"))
    assert [(r[4], r[5]) for r in rows] == STEPS[::-1][:2]
    doc = json.loads(run_fresh(example_db, "snapshots", EXAMPLE_RUN, "--json"))
    assert [(s["module"], s["experiment"]) for s in doc["snapshots"]] == STEPS


def test_show(example_db: Path) -> None:
    out = run_fresh(example_db, "show", EXAMPLE_RUN, "1")
    assert "Loader[adult]" in out
    assert f"{len(COLUMNS)} fields, {ROWS} rows" in out
    fields = table_rows(out.split("\n\n", 1)[1])
    assert [r[0] for r in fields] == COLUMNS


def test_changes(example_db: Path) -> None:
    rows = table_rows(run_fresh(example_db, "changes", EXAMPLE_RUN, "-m", "Splitter"))
    updated = {r[5] for r in rows if r[3:5] == ["update", "field"]}
    assert updated == set(COLUMNS)
    assert all(f"row_count {ROWS} -> {TRAIN_ROWS}" in " ".join(r) for r in rows
               if r[4] == "field")
    out = run_fresh(example_db, "changes", EXAMPLE_RUN, "--field", "age")
    assert {r[5] for r in table_rows(out)} == {"age"}


def test_timings(example_db: Path) -> None:
    out = run_fresh(example_db, "timings", EXAMPLE_RUN)
    assert sorted((r[0], r[1]) for r in table_rows(out)) == sorted(STEPS)
    assert f"{len(STEPS)} record(s)" in out


def test_diff(example_db: Path) -> None:
    out = run_fresh(example_db, "diff", EXAMPLE_RUN, "1", "3")
    assert "Loader[adult]" in out and "Preprocessor[default]" in out
    age = next(r for r in table_rows(out.split("\n\n", 1)[1]) if r[0] == "age")
    assert "int64 -> float64;" in " ".join(age)

