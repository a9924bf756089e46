"""Upgrade backups appear whole or not at all; a read-only open of an old store writes nothing."""

from __future__ import annotations

import hashlib
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers.stores import FIRST_REVISION, cli, one_error_line, store_at_first_revision
from helpers.tmpfs import fill, small_tmpfs
from petsard_status import SchemaVersionError, Status, Store, StoreError


def _listing(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _revision(path: Path) -> str:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_read_only_open_of_an_older_store_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "shelf"
    folder.mkdir()
    path = store_at_first_revision(folder / "runs.db")
    before = _listing(folder)
    url = f"sqlite:///file:{path}?mode=ro&uri=true"
    with pytest.raises(SchemaVersionError) as caught:
        Status.open("r", url)
    message = str(caught.value)
    assert "read-only" in message and "petsard-status db upgrade --db" in message
    line = one_error_line(cli("runs", "--db", url))
    assert "db upgrade" in line
    # SQLite itself may add its empty lock companions beside a WAL store; nothing else.
    after = _listing(folder)
    companions = {name for name in after if name in ("runs.db-wal", "runs.db-shm")}
    assert {k: v for k, v in after.items() if k not in companions} == before
    assert not (folder / "runs.db-wal").exists() or (folder / "runs.db-wal").stat().st_size == 0
    assert _revision(path) == FIRST_REVISION


def test_backup_on_a_full_disk_leaves_no_file(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "small", "4m") as folder:
        path = store_at_first_revision(folder / "runs.db", blob_mb=1)
        fill(folder, leave=256 * 1024)
        before = hashlib.sha256(path.read_bytes()).hexdigest()
        with pytest.raises(StoreError, match="could not back up"):
            Store(path)
        assert not [p.name for p in folder.iterdir() if "backup" in p.name]
        assert hashlib.sha256(path.read_bytes()).hexdigest() == before
        (folder / "filler").unlink()
        with Store(path) as store:
            assert store.revision != FIRST_REVISION
        backups = [p for p in folder.iterdir() if ".backup-" in p.name]
        assert len(backups) == 1 and _revision(backups[0]) == FIRST_REVISION


OPEN = "import sys; from petsard_status import Store; Store(sys.argv[1]).close()"


def test_sigkill_mid_backup_leaves_no_partial_file_under_a_final_name(tmp_path: Path) -> None:
    path = store_at_first_revision(tmp_path / "runs.db", blob_mb=48)
    killed_mid_copy = 0
    for _ in range(3):
        child = subprocess.Popen([sys.executable, "-c", OPEN, str(path)])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if any(p.name.endswith(".part") for p in tmp_path.iterdir()):
                child.send_signal(signal.SIGKILL)
                killed_mid_copy += 1
                break
            time.sleep(0.002)
        child.wait(timeout=60)
        for backup in tmp_path.glob("runs.db.backup-*"):
            if backup.name.endswith(".part"):
                continue
            # A backup under its final name is a whole copy of the store as it was.
            with sqlite3.connect(f"file:{backup}?mode=ro", uri=True) as conn:
                assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
                assert conn.execute("SELECT COUNT(*) FROM blobs").fetchone() == (48,)
            assert _revision(backup) == FIRST_REVISION
        assert _revision(path) == FIRST_REVISION
    assert killed_mid_copy >= 1
