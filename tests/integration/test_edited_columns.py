"""Hand-edited plain columns give one ``Error:`` line, never a traceback; ``db check`` names them.

Each case edits one column of a real store the way someone with the ``sqlite3``
shell could, then runs the command that reads it, and ``db check``, as
subprocesses.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from helpers.stores import cli, make_run, one_error_line
from petsard_status import CorruptDataError, PetsardStatusError, Status

DEEP = "[" * 100_000 + "]" * 100_000
CASES = {
    # name: (statement, command that reads the column, what the messages name)
    "deep config_json": (f"UPDATE runs SET config_json = '{DEEP}'", ["resume", "r"],
                         "config"),
    "attributes not JSON": ("UPDATE changes SET attributes = 'not json'", ["changes", "r"],
                            "changes.attributes"),
    "attributes '5'": ("UPDATE changes SET attributes = '5'", ["changes", "r"],
                       "changes.attributes"),
    "garbage snapshot timestamp": ("UPDATE snapshots SET timestamp = 'garbage'",
                                   ["snapshots", "r"], "snapshots.timestamp"),
    "garbage change timestamp": ("UPDATE changes SET timestamp = 'x'", ["changes", "r"],
                                 "changes.timestamp"),
    "garbage created_at": ("UPDATE runs SET created_at = 'yesterday-ish'", ["runs"],
                           "runs.created_at"),
    "text seq": ("UPDATE snapshots SET seq = 'abc' WHERE seq = 2", ["snapshots", "r"],
                 "snapshots.seq"),
}


@pytest.fixture(scope="module")
def base_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("base") / "runs.db"
    make_run(db, "r", puts=2)
    return db


def _edited(base: Path, folder: Path, statement: str) -> Path:
    db = folder / "edited.db"
    shutil.copy(base, db)
    with sqlite3.connect(db) as conn:
        conn.execute(statement)
    conn.close()
    return db


@pytest.mark.parametrize("case", sorted(CASES))
def test_edited_column_gives_one_error_line(base_store: Path, tmp_path: Path, case: str) -> None:
    statement, command, named = CASES[case]
    db = _edited(base_store, tmp_path, statement)
    line = one_error_line(cli(*command, "--db", str(db)))
    assert named in line
    check = cli("db", "check", "--db", str(db), "--json")
    assert check.returncode == 1 and "Traceback" not in check.stderr, check.stderr
    problems = json.loads(check.stdout)["problems"]
    assert any(named.split(".")[-1] in p for p in problems), problems


def test_deep_config_from_python(base_store: Path, tmp_path: Path) -> None:
    db = _edited(base_store, tmp_path, CASES["deep config_json"][0])
    with pytest.raises(CorruptDataError, match="nested deeper than"):
        Status.open("r", db)


def test_edited_columns_from_python_are_package_errors(base_store: Path, tmp_path: Path) -> None:
    db = _edited(base_store, tmp_path, CASES["text seq"][0])
    with pytest.raises(PetsardStatusError, match=r"snapshots\.seq"), Status.open("r", db) as status:
        status.get_snapshots()


def test_deeply_nested_export_is_refused_on_import(tmp_path: Path) -> None:
    crafted = tmp_path / "deep.json"
    crafted.write_text('{"format": "petsard-status/export", "run": ' + DEEP + "}",
                       encoding="utf-8")
    line = one_error_line(cli("import", str(crafted), "--db", str(tmp_path / "new.db")))
    assert "nested deeper than" in line
