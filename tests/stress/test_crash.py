"""Crash safety: a writer killed with SIGKILL at random moments loses nothing it returned.

The harness drives tests/helpers/crash_worker.py: a zygote process that forks one writer
per round.  Each writer opens the run and puts ``S+1, S+2, ...`` until the
harness kills it at a random moment (50-300 ms after it started: during the
open, a put, a commit, the side-file write).  After at least ``KILLS`` kills the
harness checks the database as a reader that did not take part:

- SQLite's ``integrity_check`` and ``foreign_key_check`` pass;
- every put the side file says returned is fully there: snapshot, change records,
  metadata equal to the recomputed expected metadata, result equal;
- nothing half-written is visible: the snapshots are exactly the returned puts,
  plus at most one per kill that landed between a commit and the side-file
  write (such a put must be complete too), and the run's head state is the
  state of its last snapshot;
- ``Status.open`` works and further puts continue the numbering without a gap.

The kill moments come from ``random.Random(seed)``; the seed is printed and can be
set with ``PETSARD_STATUS_CRASH_SEED`` to replay a failure's schedule.
"""

from __future__ import annotations

import contextlib
import os
import random
import re
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import select as sa_select

from helpers.crash_worker import (
    FIELD_COUNT,
    CrashAdapter,
    changed_field,
    expected_metadata,
    expected_result,
    module_of,
)
from petsard_status.formats import RunState
from petsard_status.status.status import Status
from petsard_status.store import models as m
from petsard_status.store.store import Store

KILLS = 100
DEFAULT_SEED = 20241224
WORKER = Path(__file__).resolve().parents[1] / "helpers" / "crash_worker.py"
RUN = "crash-run"


class Zygote:
    """The worker's zygote, spoken to one line at a time, with timeouts."""

    def __init__(self, argv: list[str]) -> None:
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._buffer = b""

    def ask(self, command: str | None, timeout: float = 30.0) -> str:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if command is not None:
            self.proc.stdin.write(command.encode() + b"\n")
            self.proc.stdin.flush()
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise AssertionError(f"the crash worker did not answer {command!r} in time")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"the crash worker exited (code {self.proc.wait()})")
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return line.decode()

    def close(self) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.stdin.write(b"quit\n")
                self.proc.stdin.close()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()


def _account(side: Path, stored: int, seed: int) -> tuple[set[int], list[int]]:
    """(puts that returned, puts committed without returning) from the side file.

    ``known`` is the highest put known to be stored.  A writer that opens and
    finds one more snapshot than ``known`` had that put committed when its
    predecessor was killed, before it could append the line; finding fewer
    means a returned put was lost, and finding two more means something was
    written that no writer reported.
    """
    returned: set[int] = set()
    unreturned: list[int] = []
    known = 0
    for number, line in enumerate(side.read_text().splitlines(), 1):
        kind, round_no, value = line.split()
        n = int(value)
        where = f"side file line {number} (round {round_no}, seed {seed})"
        if kind == "open":
            assert n in (known, known + 1), f"{where}: opened at {n} snapshots after {known}"
            if n == known + 1:
                unreturned.append(n)
        else:
            assert kind == "put", f"{where}: {line!r}"
            assert n == known + 1, f"{where}: put {n} returned after put {known}"
            returned.add(n)
        known = n
    assert stored in (known, known + 1), (
        f"seed {seed}: {stored} snapshots stored, {known} known from the side file"
    )
    if stored == known + 1:
        unreturned.append(stored)
    return returned, unreturned


def _expected_changes(n: int) -> list[tuple]:
    """(snapshot seq, target_type, change_type, target_id, before, after) of puts 1..n."""
    out: list[tuple] = []
    for k in range(1, n + 1):
        before = expected_metadata(k - 2) if k > 2 else None
        out.append((k, "schema", "create" if k <= 2 else "update", "crash", before,
                    expected_metadata(k)))
        if k % 2 == 0:
            i = k % FIELD_COUNT
            out.append((k, "field", "update", changed_field(k),
                        expected_metadata(k - 1).fields[i], expected_metadata(k).fields[i]))
    return out


def _verify_run(status: Status, n: int, seed: int) -> None:
    """Every put 1..n is completely and exactly stored, and nothing else is."""
    snapshots = status.get_snapshots()
    assert [s.snapshot_id.split("_")[1] for s in snapshots] == [
        f"{k:06d}" for k in range(1, n + 1)
    ], f"seed {seed}: snapshot numbering"
    for k, snap in enumerate(snapshots, 1):
        assert (snap.module_name, snap.experiment_name) == module_of(k), f"put {k}"
        assert snap.metadata_after == expected_metadata(k), f"seed {seed}: put {k} metadata"
        before = expected_metadata(k - 2) if k > 2 else None
        assert snap.metadata_before == before, f"seed {seed}: put {k} metadata before"

    changes = status.get_change_history()
    expected = _expected_changes(n)
    assert len(changes) == len(expected), f"seed {seed}: change count"
    rows = status.store.read(lambda conn: conn.execute(
        sa_select(m.changes.c.seq, m.changes.c.snapshot_seq, m.changes.c.change_id)
        .where(m.changes.c.run_id == status.run_id).order_by(m.changes.c.seq)
    ).all())
    assert [r.seq for r in rows] == list(range(1, len(expected) + 1))
    for row, change, want in zip(rows, changes, expected):
        k, target_type, change_type, target_id, before, after = want
        got = (row.snapshot_seq, change.target_type, change.change_type, change.target_id)
        assert got == (k, target_type, change_type, target_id), f"seed {seed}: {row.change_id}"
        assert change.change_id == row.change_id
        assert change.before_state == before, f"seed {seed}: {row.change_id} before"
        assert change.after_state == after, f"seed {seed}: {row.change_id} after"

    states = status.store.read(lambda conn: conn.execute(
        sa_select(m.snapshots.c.seq, m.snapshots.c.state_json)
        .where(m.snapshots.c.run_id == status.run_id).order_by(m.snapshots.c.seq)
    ).all())
    for seq, state_json in states:
        entry = RunState.from_json(state_json).active_map[module_of(seq)[0]]
        assert entry.snapshot_seq == seq
        pd.testing.assert_frame_equal(
            status.store.load_result(entry.result_ref), expected_result(seq)
        )
    head = status.store.run_row(status.run).head_json
    assert head == states[-1].state_json, f"seed {seed}: the head is not the last snapshot's"


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_returned(tmp_path: Path) -> None:
    seed = int(os.environ.get("PETSARD_STATUS_CRASH_SEED") or DEFAULT_SEED)
    print(f"crash harness seed {seed} (replay with PETSARD_STATUS_CRASH_SEED={seed})")
    rng = random.Random(seed)
    db_file = tmp_path / "crash.db"
    db = f"sqlite:///{db_file}"
    side = tmp_path / "returned.txt"
    errors = tmp_path / "errors.txt"
    zygote = Zygote([sys.executable, str(WORKER), "serve", db, RUN, str(side), str(errors)])
    kills = 0
    try:
        assert zygote.ask(None, timeout=120) == "ready"
        round_no = 0
        while kills < KILLS:
            round_no += 1
            answer = zygote.ask(f"fork {round_no}")
            assert answer.startswith("pid "), answer
            time.sleep(rng.uniform(0.05, 0.3))
            os.kill(int(answer.split()[1]), signal.SIGKILL)
            ended = zygote.ask("reap")
            problems = errors.read_text() if errors.exists() else ""
            assert ended == f"exit signal {signal.SIGKILL}" and not problems, (
                f"seed {seed}, round {round_no}: the writer {ended}\n{problems}"
            )
            kills += 1
    finally:
        zygote.close()

    with sqlite3.connect(db_file) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
        stored = conn.execute("SELECT count(*) FROM snapshots").fetchone()[0]
    conn.close()
    returned, unreturned = _account(side, stored, seed)
    assert stored == len(returned) + len(unreturned)
    # Some rounds must have got as far as putting, or nothing was tested.
    assert len(returned) >= KILLS, f"seed {seed}: only {len(returned)} puts returned"

    with Status.open(RUN, db) as status:
        _verify_run(status, stored, seed)
        for k in range(stored + 1, stored + 4):
            status.put(*module_of(k), CrashAdapter(k))
    with Status.open(RUN, db) as status:
        ids = [s.snapshot_id for s in status.get_snapshots()]
        assert [int(i.split("_")[1]) for i in ids] == list(range(1, stored + 4))
        pd.testing.assert_frame_equal(
            status.get_result(module_of(stored + 3)[0]), expected_result(stored + 3)
        )
        assert status.get_metadata(module_of(stored + 3)[0]) == expected_metadata(stored + 3)
    print(
        f"crash harness: {kills} kills, {stored} puts verified "
        f"({len(returned)} returned before a kill, {len(unreturned)} committed as a kill "
        f"landed; seed {seed})"
    )


def test_store_connections_are_durable(tmp_path: Path) -> None:
    """What makes a returned put survive: WAL, synchronous=FULL, on every connection."""
    store = Store(tmp_path / "durable.db")
    try:
        for _ in range(2):  # a fresh pooled connection each time
            store.engine.dispose()
            with store.engine.connect() as conn:
                pragma = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                          for name in ("journal_mode", "synchronous", "foreign_keys",
                                       "busy_timeout")}
            assert pragma == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                              "busy_timeout": 60_000}
    finally:
        store.close()


def test_reliability_doc_names_tests_that_exist() -> None:
    """docs/reliability.md backs each promise with a test: each one it names must exist."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text()
    tests = Path(__file__).resolve().parents[1]
    defined = {
        path.relative_to(tests).as_posix(): set(
            re.findall(r"^def (test_\w+)", path.read_text(), re.MULTILINE))
        for path in tests.rglob("test_*.py")
    }
    named = re.findall(r"tests/(\w+/test_\w+\.py)::(test_\w+)", doc)
    assert len(named) > 20
    missing = [f"{f}::{t}" for f, t in named if t not in defined.get(f, set())]
    everywhere = set().union(*defined.values())
    missing += [t for t in re.findall(r"`(test_\w+)`", doc) if t not in everywhere]
    assert missing == []
