"""Opening what is not a healthy store: one clear package error, and the file left as it was.

Every case checks the error's type and that its message names the problem and
what to do; and, for files, that their bytes and modification time did not
change and that no ``-wal`` / ``-shm`` files were left beside a file that is
not a store.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import os
import random
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from petsard_status import (
    CorruptDataError,
    NotAStoreError,
    PetsardStatusError,
    SchemaVersionError,
    Status,
    Store,
    StoreConnectionError,
    StoreReadOnlyError,
)
from petsard_status.formats import RunState
from petsard_status.metadata.infer import Metadater
from petsard_status.store import models as m
from petsard_status.store.migrate import alembic_config, head_revision

CONFIG = {"Loader": {"load": {}}, "Preprocessor": {"prep": {}}}
MARKER = "MARKER-"
PAGE = 4096


class Adapter:
    def __init__(self, frame: pd.DataFrame, schema: Any = None) -> None:
        self.frame, self.schema = frame, schema

    def get_result(self) -> pd.DataFrame:
        return self.frame

    def get_metadata(self) -> Any:
        return self.schema


def frame_for(k: int, rows: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(k)
    return pd.DataFrame({
        "id": np.arange(rows) + 1000 * k,
        "score": rng.normal(size=rows),
        "tag": [f"{MARKER}{k:03d}-{i:04d}" for i in range(rows)],
    })


def make_store(path: Path, puts: int = 6) -> Path:
    """A real store: Loader and Preprocessor puts with inferred metadata and frames."""
    with Status(CONFIG, path, run="r") as status:
        for k in range(1, puts + 1):
            frame = frame_for(k)
            module, experiment = ("Loader", "load") if k % 2 else ("Preprocessor", "prep")
            schema = Metadater.create_schema(frame.iloc[: 10 + k], schema_id=module.lower())
            status.put(module, experiment, Adapter(frame, schema))
    return path


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("pristine") / "store.db")


def copy_of(pristine: Path, tmp_path: Path, name: str = "store.db") -> Path:
    target = tmp_path / name
    shutil.copyfile(pristine, target)
    return target


def read_everything(store: Any) -> list[Any]:
    """All a user can read back: snapshots, changes, and every snapshot's result."""
    with Status.open("r", store) as status:
        out: list[Any] = []
        for snap in status.get_snapshots():
            out.append((snap.snapshot_id, snap.module_name, snap.metadata_before,
                        snap.metadata_after, snap.execution_context))
        for change in status.get_change_history():
            out.append((change.change_id, change.target_id, change.before_state,
                        change.after_state))
        states = status.store.read(lambda conn: conn.execute(
            select(m.snapshots.c.seq, m.snapshots.c.state_json).order_by(m.snapshots.c.seq)
        ).all())
        for seq, state_json in states:
            for module, entry in RunState.from_json(state_json).active:
                out.append((seq, module, status.store.load_result(entry.result_ref)))
        out.append(status.get_result("Loader"))
        return out


def assert_same_reads(got: list[Any], want: list[Any]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        if isinstance(b, pd.DataFrame):
            pd.testing.assert_frame_equal(a, b)
        elif isinstance(b, tuple) and isinstance(b[-1], pd.DataFrame):
            assert a[:-1] == b[:-1]
            pd.testing.assert_frame_equal(a[-1], b[-1])
        else:
            assert a == b


def fingerprint(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.st_mtime_ns, stat.st_size


def companions(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.glob(f"{path.name}-*"))


@contextlib.contextmanager
def untouched(path: Path, *, allow_companions: bool = False) -> Iterator[None]:
    """The file's bytes and mtime are the same afterwards (and no -wal/-shm appeared)."""
    before = fingerprint(path)
    had = companions(path)
    yield
    assert fingerprint(path) == before, f"{path.name} was modified"
    if not allow_companions and companions(path) != had:
        # A failed read's traceback can keep a statement, and so the connection,
        # alive; SQLite removes -wal/-shm when the last connection really closes.
        gc.collect()
        assert companions(path) == had, f"files left beside {path.name}"


def failure(action: Callable[[], Any], error: type[Exception]) -> str:
    """The message of the ``error`` that ``action`` raises (the traceback is not kept)."""
    with pytest.raises(error) as info:
        action()
    return str(info.value)


def refused(store: Any, error: type[Exception], *words: str) -> list[str]:
    """Both ways in (a new run, reopening a run) raise ``error`` naming ``words``."""
    messages = []
    for attempt in (lambda: Status(CONFIG, store, run="new"), lambda: Status.open("r", store)):
        with pytest.raises(error) as info:
            attempt().close()
        message = str(info.value)
        for word in words:
            assert word.lower() in message.lower(), (word, message)
        messages.append(message)
    return messages


# --- files that are not (healthy) stores ----------------------------------------------


def test_text_file(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    with untouched(path):
        refused(path, NotAStoreError, "not a SQLite database", str(path), "new file")


def test_truncated_store(pristine: Path, tmp_path: Path) -> None:
    path = tmp_path / "half.db"
    data = pristine.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with untouched(path):
        refused(path, NotAStoreError, "malformed", "corrupt", "backup")


def test_bytes_overwritten_inside_a_stored_result(pristine: Path, tmp_path: Path) -> None:
    """Plausible-looking bytes in the middle of a frame: caught by the content hash."""
    path = copy_of(pristine, tmp_path)
    data = bytearray(path.read_bytes())
    hits = []
    start = data.find(MARKER.encode())
    while start != -1:
        hits.append(start)
        start = data.find(MARKER.encode(), start + 1)
    middle = min(hits, key=lambda offset: abs(offset - len(data) // 2))
    data[middle : middle + 16] = b"X" * 16  # still valid UTF-8, still a valid Arrow file
    path.write_bytes(bytes(data))
    with untouched(path):
        message = failure(lambda: read_everything(path), CorruptDataError)
    assert "does not match its content hash" in message and "backup" in message


def test_every_page_overwritten_in_turn(pristine: Path, tmp_path: Path) -> None:
    """Garbage over any one page: a package error, or (where the page held nothing
    that is read back) exactly the data that was stored; never something else."""
    want = read_everything(pristine)
    data = pristine.read_bytes()
    rng = random.Random(5)
    outcomes: dict[str, int] = {}
    for page in range(len(data) // PAGE):
        damaged = bytearray(data)
        damaged[page * PAGE : (page + 1) * PAGE] = rng.randbytes(PAGE)
        path = tmp_path / f"page-{page}.db"
        path.write_bytes(bytes(damaged))
        before = fingerprint(path)
        try:
            got = read_everything(path)
        except PetsardStatusError as exc:
            kind = type(exc).__name__
        else:
            assert_same_reads(got, want)
            kind = "read intact"
        assert fingerprint(path) == before, f"page {page}: the file was modified"
        outcomes[kind] = outcomes.get(kind, 0) + 1
    gc.collect()
    assert sorted(p.suffix for p in tmp_path.iterdir()) == [".db"] * (len(data) // PAGE)
    print(f"{len(data) // PAGE} pages overwritten one at a time: {outcomes}")
    assert set(outcomes) - {"read intact"} <= {"NotAStoreError", "CorruptDataError"}
    assert outcomes.get("read intact", 0) < len(data) // PAGE / 2


@pytest.mark.parametrize(
    ("tables", "named"),
    [
        (["CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT)",
          "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)"], "runs"),
        (["CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
          "CREATE TABLE orders (id INTEGER PRIMARY KEY, total REAL)"], "orders"),
        (["CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)",
          "INSERT INTO alembic_version VALUES ('ae1027a6acf')",
          "CREATE TABLE users (id INTEGER PRIMARY KEY)"], "ae1027a6acf"),
    ],
    ids=["clashing-names", "unrelated-tables", "own-alembic"],
)
def test_database_of_another_application(tmp_path: Path, tables: list[str], named: str) -> None:
    path = tmp_path / "app.db"
    with contextlib.closing(sqlite3.connect(path)) as conn:
        for statement in tables:
            conn.execute(statement)
        conn.commit()
    with untouched(path):
        refused(path, NotAStoreError, "another application", named, "new database")
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"


@pytest.mark.postgres
def test_postgresql_schema_of_another_application(pg_url: str) -> None:
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            conn.execute(text("CREATE TABLE runs (id INTEGER PRIMARY KEY, started TEXT)"))
            conn.execute(text("CREATE TABLE users (id INTEGER PRIMARY KEY)"))
        refused(pg_url, NotAStoreError, "another application", "runs")
        with engine.connect() as conn:
            names = conn.execute(text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = current_schema() ORDER BY table_name"
            )).scalars().all()
        assert names == ["runs", "users"]
    finally:
        engine.dispose()


def test_newer_unknown_revision(pristine: Path, tmp_path: Path) -> None:
    path = copy_of(pristine, tmp_path)
    with contextlib.closing(sqlite3.connect(path)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        conn.commit()
    with untouched(path):
        refused(path, SchemaVersionError, "9999_from_the_future", head_revision(),
                "pip install -U petsard-status")
    assert list(tmp_path.glob("store.db.backup-*")) == []


# --- places and URLs -------------------------------------------------------------------


def test_path_in_a_missing_folder(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "runs.db"
    refused(path, StoreConnectionError, str(path.parent), "does not exist", "mkdir")
    assert not path.parent.exists()


def test_folder_instead_of_a_file(tmp_path: Path) -> None:
    refused(tmp_path, NotAStoreError, "is a folder", "file path")


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("notaurl", ["'notaurl'", "neither a database URL nor a path", "sqlite:///"]),
        ("sqlite:runs.db", ["'sqlite:runs.db'", "neither a database URL nor a path"]),
        ("mysql+nodriver://x", ["mysql+nodriver", "check the URL"]),
        ("nosuchdatabase://host/db", ["nosuchdatabase", "check the URL"]),
        ("postgresql://user@host:notaport/db", ["not a database URL"]),
    ],
)
def test_wrong_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str,
                   words: list[str]) -> None:
    monkeypatch.chdir(tmp_path)
    refused(url, StoreConnectionError, *words)
    assert list(tmp_path.iterdir()) == []  # no file was created for a mistyped URL


def test_unreachable_postgresql() -> None:
    url = "postgresql+psycopg://postgres@127.0.0.1:1/test"
    refused(url, StoreConnectionError, "cannot connect", "127.0.0.1:1", "server is running")


# --- read-only files and folders --------------------------------------------------------


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """Make ``path`` unwritable for this process: permission bits, or as root ``chattr +i``."""
    if os.geteuid() != 0:
        mode = path.stat().st_mode
        path.chmod(0o555 if path.is_dir() else 0o444)
        try:
            yield
        finally:
            path.chmod(mode)
        return
    chattr = shutil.which("chattr")
    made = chattr is not None and subprocess.run(
        [chattr, "+i", str(path)], capture_output=True
    ).returncode == 0
    if not made:
        pytest.skip("running as root, which ignores permission bits, and chattr +i is "
                    "not available here (the mode=ro URI case still runs)")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


def check_read_only_store(store: Any, path: Path, want: list[Any]) -> None:
    """Reading works; writing fails with StoreReadOnlyError and leaves the run usable."""
    with pytest.raises(StoreReadOnlyError) as info:
        Status(CONFIG, store, run="new")
    assert "cannot be written" in str(info.value)
    assert_same_reads(read_everything(store), want)
    with Status.open("r", store) as status:
        count = status.count("snapshots")
        with pytest.raises(StoreReadOnlyError) as info:
            status.put("Loader", "load", Adapter(frame_for(99)))
        message = str(info.value)
        assert "Loader[load]" in message and "writable" in message
        assert status.count("snapshots") == count
        assert len(status.get_snapshots()) == count


def test_read_only_uri(pristine: Path, tmp_path: Path) -> None:
    """Runs as root too: SQLite itself refuses to write."""
    path = copy_of(pristine, tmp_path)
    want = read_everything(pristine)
    with untouched(path, allow_companions=True):
        check_read_only_store(f"sqlite:///file:{path}?mode=ro&uri=true", path, want)


def test_read_only_file(pristine: Path, tmp_path: Path) -> None:
    path = copy_of(pristine, tmp_path)
    want = read_everything(pristine)
    with read_only(path), untouched(path, allow_companions=True):
        check_read_only_store(path, path, want)


def test_read_only_folder(pristine: Path, tmp_path: Path) -> None:
    folder = tmp_path / "shelf"
    folder.mkdir()
    path = copy_of(pristine, folder)
    with read_only(folder), untouched(path):
        refused(path, StoreReadOnlyError, str(folder), "not writable", "-wal")
        with pytest.raises(StoreReadOnlyError, match="not writable"):
            Status(CONFIG, folder / "new.db")
    assert sorted(p.name for p in folder.iterdir()) == ["store.db"]


def test_permission_bits_read_only_file(pristine: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root ignores permission bits; test_read_only_file and "
                    "test_read_only_uri cover read-only stores as root")
    path = copy_of(pristine, tmp_path)
    path.chmod(0o444)
    with untouched(path, allow_companions=True):
        check_read_only_store(path, path, read_everything(pristine))


# --- automatic migration -----------------------------------------------------------------


def test_backup_before_automatic_migration(tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "old.db"
    store = Store(path, upgrade=False)
    with store.engine.connect() as conn, conn.begin():
        command.upgrade(alembic_config(conn), "0001_initial")
    with Status(CONFIG, store, run="r") as status:
        status.put("Loader", "load", Adapter(frame_for(1)))
    store.close()
    with contextlib.closing(sqlite3.connect(path)) as conn:
        dump_before = list(conn.iterdump())

    with caplog.at_level(logging.WARNING, logger="petsard_status"):
        status = Status.open("r", path)
    with status:
        assert status.store.revision == head_revision()
        pd.testing.assert_frame_equal(status.get_result("Loader"), frame_for(1))

    backups = list(tmp_path.glob("old.db.backup-0001_initial-*"))
    assert len(backups) == 1 and backups[0].parent == path.parent
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(backups[0]) in w and "0001_initial" in w for w in warnings), warnings
    with contextlib.closing(sqlite3.connect(backups[0])) as conn:
        assert list(conn.iterdump()) == dump_before
