"""Large result frames as content-addressed files beside a SQLite store.

The threshold is set low (``frame_file_cells=1000`` or the environment
variable) so that a few thousand rows reach it; the frames are real, the
stores are real SQLite files and PostgreSQL, and crashes are real SIGKILLs.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from helpers.large_frames import mixed
from helpers.stores import Adapter, cli
from petsard_status import Status, Store
from petsard_status.errors import CorruptDataError
from petsard_status.formats import hash_bytes
from petsard_status.store.browse import Browser
from petsard_status.store.exchange import export_run, import_run
from petsard_status.store.frame_files import FILE_CELLS_ENV
from petsard_status.store.integrity import check_store
from petsard_status.store.removal import remove_run

CONFIG = {"Loader": {"load": {}}, "Preprocessor": {"prep": {}}}
CELLS = 1000


def store_at(db: Path) -> Store:
    return Store(db, frame_file_cells=CELLS)


def put(db: Path, frame: pd.DataFrame, run: str = "r", module: str = "Loader") -> None:
    with store_at(db) as store, Status(CONFIG, store=store, run=run) as status:
        status.put("Loader", "load", Adapter(frame))
        if module == "Preprocessor":
            status.put("Preprocessor", "prep", Adapter(frame.iloc[::2].reset_index(drop=True)))


def get(db: Path, run: str = "r", module: str = "Loader") -> pd.DataFrame:
    with store_at(db) as store, Status.open(run, store=store) as status:
        return status.get_result(module)


def blobs(db: Path) -> list[tuple[str, str, int, int]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute("SELECT hash, kind, size, length(data) FROM blobs "
                            "WHERE kind LIKE 'frame%' ORDER BY hash").fetchall()
    finally:
        conn.close()


def files(db: Path) -> list[str]:
    folder = db.with_name(db.name + ".frames")
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_large_frame_lands_as_a_file_and_comes_back_exactly(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    frame = mixed(3000)
    put(db, frame)
    back = get(db)
    pd.testing.assert_frame_equal(back, frame, check_exact=True)
    [(digest, kind, size, data_length)] = blobs(db)
    assert kind == "frame-file" and data_length == 0
    path = db.with_name("runs.db.frames") / f"{digest}.arrows"
    assert path.stat().st_size == size
    assert hash_bytes(path.read_bytes()) == digest
    assert files(db) == [f"{digest}.arrows"]
    assert check_store(store_at(db).engine)["problems"] == []


def test_a_small_frame_stays_in_the_database(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    frame = mixed(100)  # 600 cells
    put(db, frame)
    [(_, kind, size, data_length)] = blobs(db)
    assert kind == "frame" and data_length == size > 0
    assert files(db) == []
    pd.testing.assert_frame_equal(get(db), frame, check_exact=True)


def test_the_threshold_comes_from_the_environment(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    code = textwrap.dedent(f"""
        import sys; sys.path.insert(0, {str(Path(__file__).parents[1])!r})
        from helpers.stores import Adapter
        from helpers.large_frames import mixed
        from petsard_status import Status
        with Status({CONFIG!r}, store={str(db)!r}, run="r") as status:
            status.put("Loader", "load", Adapter(mixed(500)))
    """)
    env = {**os.environ, FILE_CELLS_ENV: "100"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=Path(__file__).parent, check=False)
    assert done.returncode == 0, done.stderr
    assert [kind for _, kind, _, _ in blobs(db)] == ["frame-file"]


def test_identical_large_frames_share_one_file(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(3000), run="one")
    put(db, mixed(3000), run="two")
    assert len(files(db)) == 1 and len(blobs(db)) == 1
    pd.testing.assert_frame_equal(get(db, "two"), mixed(3000), check_exact=True)


@pytest.mark.parametrize("damage", ["truncate", "alter"])
def test_a_damaged_file_is_a_clear_error_and_db_check_reports_it(tmp_path: Path,
                                                                 damage: str) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(3000))
    [(digest, *_)] = blobs(db)
    path = db.with_name("runs.db.frames") / f"{digest}.arrows"
    data = bytearray(path.read_bytes())
    if damage == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    else:
        data[len(data) // 2] ^= 0xFF
        path.write_bytes(bytes(data))
    with pytest.raises(CorruptDataError) as caught:
        get(db)
    assert str(path) in str(caught.value) and "petsard-status db check" in str(caught.value)
    result = cli("db", "check", "--db", str(db))
    assert result.returncode == 1, result.stdout
    assert f"frame-file blob {digest}" in result.stdout and str(path) in result.stdout


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(3000))
    [(digest, *_)] = blobs(db)
    (db.with_name("runs.db.frames") / f"{digest}.arrows").unlink()
    with pytest.raises(CorruptDataError, match=r"is missing.*db check"):
        get(db)


CRASH = """
import os, signal, sys
sys.path.insert(0, {tests!r})
from helpers.stores import Adapter
from helpers.large_frames import mixed
from petsard_status import Status, Store
from petsard_status.store import RunRepository

def killed(*args, **kwargs):
    # The frame's file is written and durable; the transaction never starts.
    os.kill(os.getpid(), signal.SIGKILL)

RunRepository.append_put = killed
with Store({db!r}, frame_file_cells={cells}) as store, Status({config!r}, store=store,
                                                              run="crashed") as status:
    status.put("Loader", "load", Adapter(mixed(4000, seed=7)))
"""


def test_a_crash_before_the_commit_leaves_an_orphan_that_vacuum_removes(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(3000))
    kept = files(db)
    code = CRASH.format(tests=str(Path(__file__).parents[1]), db=str(db), cells=CELLS,
                        config=CONFIG)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=Path(__file__).parent, check=False)
    assert done.returncode == -signal.SIGKILL, done.stderr
    orphans = sorted(set(files(db)) - set(kept))
    assert len(orphans) == 1 and orphans[0].endswith(".arrows")
    (db.with_name("runs.db.frames") / "left-over.partial").write_bytes(b"half")

    check = cli("db", "check", "--db", str(db))
    assert check.returncode == 1
    assert f"{orphans[0]} is not referenced" in check.stdout
    assert "left-over.partial" in check.stdout

    vacuum = cli("db", "vacuum", "--db", str(db))
    assert vacuum.returncode == 0, vacuum.stderr
    assert "removed   2 unreferenced frame file(s)" in vacuum.stdout
    assert files(db) == kept
    assert cli("db", "check", "--db", str(db)).returncode == 0
    pd.testing.assert_frame_equal(get(db), mixed(3000), check_exact=True)


def test_rm_deletes_the_files_no_other_run_uses(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(3000), run="a", module="Preprocessor")  # files of A and A[::2]
    put(db, mixed(3000), run="b")  # shares A's file
    assert len(files(db)) == 2
    with store_at(db) as store:
        removal = remove_run(store, "a")
    assert removal.files_removed == 1
    [(digest, *_)] = blobs(db)
    assert files(db) == [f"{digest}.arrows"]
    pd.testing.assert_frame_equal(get(db, "b"), mixed(3000), check_exact=True)
    with store_at(db) as store:
        remove_run(store, "b")
    assert files(db) == [] and blobs(db) == []


def test_export_then_import_round_trips_a_large_frame(tmp_path: Path) -> None:
    db, other = tmp_path / "runs.db", tmp_path / "other.db"
    put(db, mixed(3000), module="Preprocessor")
    with store_at(db) as store:
        doc = json.loads(json.dumps(export_run(store, "r")))
    assert {b["kind"] for b in doc["blobs"].values()} == {"tree", "frame"}
    with store_at(other) as store:
        import_run(store, doc, "copy")
    assert [kind for _, kind, _, _ in blobs(other)] == ["frame-file", "frame-file"]
    assert files(other) == files(db)
    for module, expected in (("Loader", mixed(3000)),
                             ("Preprocessor", mixed(3000).iloc[::2].reset_index(drop=True))):
        pd.testing.assert_frame_equal(get(other, "copy", module), expected, check_exact=True)
    assert check_store(store_at(other).engine)["problems"] == []


@pytest.mark.postgres
def test_postgres_keeps_large_frames_in_the_database(pg_url: str, tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(3000))
    with store_at(db) as store:
        doc = export_run(store, "r")
    with Store(pg_url, frame_file_cells=CELLS) as store:
        assert store.frames is None
        with Status(CONFIG, store=store, run="direct") as status:
            status.put("Loader", "load", Adapter(mixed(3000, seed=3)))
        import_run(store, doc, "imported")
        kinds = {row.kind for row in store.read(lambda c: c.exec_driver_sql(
            "SELECT kind FROM blobs").all())}
        assert kinds == {"tree", "frame"}
        with Status.open("imported", store=store) as status:
            pd.testing.assert_frame_equal(status.get_result("Loader"), mixed(3000),
                                          check_exact=True)
        with Status.open("direct", store=store) as status:
            pd.testing.assert_frame_equal(status.get_result("Loader"), mixed(3000, seed=3),
                                          check_exact=True)


def test_the_read_only_web_view_reads_a_file_frame(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(3000))
    browser = Browser(db)
    try:
        row = browser.run("r")
        seq = browser.latest_steps(row.id, 0, 1)[0].seq
        ref = browser.result_ref(row.id, seq)
        pd.testing.assert_frame_equal(browser.load_result(ref), mixed(3000), check_exact=True)
    finally:
        browser.close()


def test_a_hostile_frame_file_row_is_refused_not_opened(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    put(db, mixed(100))
    hostile = "../../etc/passwd"
    tree = json.dumps({"format": "petsard-status/result", "version": 1,
                       "root": {"frame": hostile}}, sort_keys=True,
                      separators=(",", ":")).encode()
    tree_hash = hash_bytes(tree)
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("INSERT INTO blobs (hash, kind, size, data) VALUES (?, 'frame-file', 1, ?)",
                      (hostile, b""))
        conn.execute("INSERT INTO blobs (hash, kind, size, data) VALUES (?, 'tree', ?, ?)",
                     (tree_hash, len(tree), tree))
    conn.close()
    with store_at(db) as store:
        with pytest.raises(CorruptDataError, match="not a content hash"):
            store.load_result(tree_hash)
        with pytest.raises(CorruptDataError, match="not a content hash"):
            store.load_blob(hostile)
        problems = check_store(store.engine)["problems"]
    assert any("'../../etc/passwd'" in p and "not 32 lowercase hex" in p for p in problems)
