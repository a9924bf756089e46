"""Reading commands never create or change a database: a 0-byte file, another
application's PostgreSQL database, a rejected import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

READERS = [["runs"], ["snapshots", "some-run"], ["timings", "some-run"],
           ["changes", "some-run"]]
# `db current` answers "no store here" without failing; it must not write either.
LOOKERS = [*READERS, ["db", "current"]]


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "petsard_status.cli", *args],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


@pytest.mark.parametrize("command", LOOKERS, ids=lambda c: c[0])
def test_reading_an_empty_file_changes_nothing(tmp_path: Path, command: list[str]) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    done = cli(*command, "--db", str(empty), cwd=tmp_path)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith("Error:") and "Traceback" not in done.stderr
    assert empty.read_bytes() == b""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]


@pytest.mark.postgres
def test_reading_another_applications_database_changes_nothing(pg_url: str,
                                                               tmp_path: Path) -> None:
    engine = create_engine(pg_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id int PRIMARY KEY, total numeric)"))
        conn.execute(text("INSERT INTO invoices VALUES (1, 9.5)"))
    for command in LOOKERS:
        done = cli(*command, "--db", pg_url, cwd=tmp_path)
        assert done.returncode == (1 if command in READERS else 0), (command, done.stdout)
        assert "Traceback" not in done.stderr
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == ["invoices"]
        assert conn.execute(text("SELECT total FROM invoices")).scalar() == 9.5
    engine.dispose()


def test_a_rejected_import_leaves_no_new_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "petsard-status/export", "version": 1, "run": {}}')
    done = cli("import", str(bad), "--db", str(tmp_path / "new.db"), cwd=tmp_path)
    assert done.returncode == 1
    assert "invalid" in done.stderr
    assert not (tmp_path / "new.db").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]
