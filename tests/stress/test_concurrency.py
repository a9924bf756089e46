"""Many processes on one store: separate runs in parallel, one brand-new store, one run.

Workers are separate Python processes (``concurrency_worker.py``) released at
the same moment; everything they write is derived from their number, so this
file rebuilds it and compares it with what the store gives back.  Figures
(puts/s, latency) are printed, never asserted.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from pandas.testing import assert_frame_equal
from sqlalchemy import create_engine, select, text

from helpers import concurrency_worker as w
from petsard_status import Status
from petsard_status.formats import RunState, encode_result
from petsard_status.store import models as m
from petsard_status.store.migrate import head_revision
from petsard_status.store.store import Store

WORKER = Path(__file__).resolve().parents[1] / "helpers" / "concurrency_worker.py"
PUTS = 300
WRITERS = {"sqlite": 8, "postgresql": 16}


class Workers:
    """Worker processes that report ready, are released together, and report back."""

    def __init__(self, commands: list[list[str]], logs: Path, timeout: float = 600) -> None:
        logs.mkdir(parents=True, exist_ok=True)
        self.stderr = [logs / f"worker_{k}.err" for k in range(len(commands))]
        self.procs = []
        for command, err in zip(commands, self.stderr):
            with err.open("wb") as handle:
                self.procs.append(subprocess.Popen(
                    [sys.executable, str(WORKER), *command], stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE, stderr=handle, text=True,
                ))
        # A hung worker must fail the test, not hang it.
        self._watchdog = threading.Timer(timeout, self.kill)
        self._watchdog.daemon = True
        self._watchdog.start()

    def kill(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()

    def _fail(self, k: int, what: str) -> None:
        self.kill()
        pytest.fail(f"worker {k} {what}: {self.stderr[k].read_text()[-3000:]}")

    def release(self) -> float:
        """Wait until every worker is set up, then start them all; returns the start time."""
        for k, proc in enumerate(self.procs):
            line = proc.stdout.readline()
            if not line or not json.loads(line).get("ready"):
                self._fail(k, f"did not get ready ({line!r})")
        started = time.time()
        for proc in self.procs:
            proc.stdin.write("go\n")
            proc.stdin.flush()
        return started

    def running(self) -> bool:
        return any(proc.poll() is None for proc in self.procs)

    def results(self) -> list[dict[str, Any]]:
        docs = []
        for k, proc in enumerate(self.procs):
            out, _ = proc.communicate()
            lines = out.strip().splitlines()
            if not lines:
                self._fail(k, f"printed nothing (exit {proc.returncode})")
            doc = json.loads(lines[-1])
            if "error" in doc:
                self._fail(k, f"failed: {doc['error']}\n{doc.get('traceback', '')}")
            docs.append(doc)
        self._watchdog.cancel()
        return docs


def _backend(url: str) -> str:
    return "postgresql" if url.startswith("postgresql") else "sqlite"


def _snapshot_total(store: Store) -> int:
    return store.read(lambda conn: conn.execute(text("SELECT COUNT(*) FROM snapshots")).scalar())


def _verify_writer(store: Store, proc: int, count: int) -> None:
    """Everything process ``proc`` put, rebuilt here, equals what the store returns."""
    with Status.open(w.run_name(proc), store) as status:
        snapshots = status.get_snapshots()
        assert [s.module_name for s in snapshots] == [w.module_of(i) for i in range(count)]
        for i, snap in enumerate(snapshots):
            assert snap.snapshot_id.startswith(f"snapshot_{i + 1:06d}_")
            assert snap.metadata_after == w.schema_for(proc, i), snap.snapshot_id

        changes = status.get_change_history()
        expected = w.expected_changes(proc, count)
        assert [(c.change_type, c.target_type, c.target_id) for c in changes] == [
            e[:3] for e in expected
        ]
        for change, (*_, after) in zip(changes, expected):
            assert change.after_state == after, change.change_id
        assert len({c.change_id for c in changes}) == len(expected)

        states = store.read(lambda conn: conn.execute(
            select(m.snapshots.c.module, m.snapshots.c.state_json)
            .where(m.snapshots.c.run_id == status.run_id).order_by(m.snapshots.c.seq)
        ).all())
        for i, (module, state_json) in enumerate(states):
            ref = RunState.from_json(state_json).active_map[module].result_ref
            assert_frame_equal(store.load_result(ref), w.result_frame(proc, i))

        # The public API on top: the head after open, then a restore of an earlier put.
        last = count - 1
        assert_frame_equal(status.get_result(w.module_of(last)), w.result_frame(proc, last))
        i = random.Random(proc).randrange(count - 1)
        assert status.restore_from_snapshot(snapshots[i].snapshot_id)
        assert_frame_equal(status.get_result(w.module_of(i)), w.result_frame(proc, i))
        assert status.get_metadata(w.module_of(i)) == w.schema_for(proc, i)


@pytest.mark.slow
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_many_processes_write_their_own_runs_into_one_store(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = request.getfixturevalue("pg_url" if backend == "postgresql" else "sqlite_url")
    writers = WRITERS[backend]
    spawned = time.time()
    # The store exists before the writers start: creating one at once is the next test.
    with Store(url) as store:
        workers = Workers([["puts", url, str(p), str(PUTS)] for p in range(writers)],
                          tmp_path / "logs")
        released = workers.release()
        # A reader polling all along: it never fails and never sees the count go back.
        seen = [0]
        while workers.running():
            total = _snapshot_total(store)
            assert total >= seen[-1]
            seen.append(total)
            time.sleep(0.25)
        docs = workers.results()
        verifying = time.time()

        counts = dict(store.read(lambda conn: conn.execute(
            text("SELECT run, snapshots FROM run_view")).all()))
        assert counts == {w.run_name(p): PUTS for p in range(writers)}
        change_counts = dict(store.read(lambda conn: conn.execute(
            text("SELECT run, changes FROM run_view")).all()))
        assert change_counts == {
            w.run_name(p): len(w.expected_changes(p, PUTS)) for p in range(writers)
        }
        for p in range(writers):
            _verify_writer(store, p, PUTS)
        verified = time.time()

    latencies = sorted(x for doc in docs for x in doc["latencies"])
    wall = max(doc["finished"] for doc in docs) - released
    busy = max(doc["finished"] for doc in docs) - min(doc["opened"] for doc in docs)
    with capsys.disabled():
        print(
            f"\n[throughput] {backend}: {writers} processes x {PUTS} puts (50-field schema): "
            f"{len(latencies) / busy:.0f} puts/s aggregate while putting "
            f"({len(latencies) / wall:.0f} puts/s including opening), "
            f"put latency p50 {w.percentile(latencies, 0.5) * 1000:.1f} ms, "
            f"p99 {w.percentile(latencies, 0.99) * 1000:.1f} ms, "
            f"max {latencies[-1] * 1000:.0f} ms; {len(seen) - 1} concurrent reads; "
            f"seconds: start-up {released - spawned:.1f}, writing {wall:.1f}, "
            f"checking {verified - verifying:.1f}"
        )


def test_processes_creating_a_new_store_at_once_make_one_schema(
    store_url: str, tmp_path: Path
) -> None:
    processes = 4
    workers = Workers([["open", store_url] for _ in range(processes)], tmp_path / "logs")
    workers.release()
    docs = workers.results()
    assert [doc["revision"] for doc in docs] == [head_revision()] * processes

    engine = create_engine(store_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).all() == [
                (head_revision(),)
            ]
            names = _object_names(conn)
            if _backend(store_url) == "sqlite":
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
                assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    finally:
        engine.dispose()
    # The same objects as a store created by one process alone.
    assert names == _reference_names(store_url, tmp_path)
    assert set(m.STORE_TABLES) <= names


def _object_names(conn: Any) -> set[str]:
    if conn.dialect.name == "sqlite":
        rows = conn.execute(text("SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"))
    else:
        rows = conn.execute(text(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema()"
        ))
    return {row[0] for row in rows}


def _reference_names(url: str, tmp_path: Path) -> set[str]:
    if _backend(url) == "sqlite":
        reference = f"sqlite:///{tmp_path / 'reference.db'}"
        Store(reference).close()
        engine = create_engine(reference)
        try:
            with engine.connect() as conn:
                return _object_names(conn)
        finally:
            engine.dispose()
    from helpers.postgres import pg_admin, pg_schema_url

    schema = f"t_ref_{os.getpid()}_{random.randrange(10**6)}"
    pg_admin(f"CREATE SCHEMA {schema}")
    try:
        Store(pg_schema_url(schema)).close()
        engine = create_engine(pg_schema_url(schema))
        try:
            with engine.connect() as conn:
                return _object_names(conn)
        finally:
            engine.dispose()
    finally:
        pg_admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def test_second_writer_of_one_run_gets_concurrent_writer_error(
    store_url: str, tmp_path: Path
) -> None:
    run, first = "shared", 99
    with Status(w.CONFIG, store_url, run) as status:
        status.put("Loader", "data", w.FixedAdapter(w.schema_for(first, 0),
                                                      w.result_frame(first, 0)))
    count = 40
    procs = [1, 2, 3]
    workers = Workers([["same-run", store_url, run, str(p), str(count)] for p in procs],
                      tmp_path / "logs")
    workers.release()
    docs = workers.results()

    # Every writer numbers its puts from the same head, so the first collision
    # stops all but one; the one that went on wrote every put it was given.
    assert sorted(doc["puts"] for doc in docs) == [0] * (len(procs) - 1) + [count]
    winner = next(p for p, doc in zip(procs, docs) if doc["puts"] == count)
    for doc in docs:
        if doc["puts"] == 0:
            message = doc["concurrent_writer_error"]
            assert message is not None
            assert repr(run) in message
            assert "reopen the run" in message and "its own run" in message
        else:
            assert doc["concurrent_writer_error"] is None

    with Status.open(run, store_url) as status:
        snapshots = status.get_snapshots()
        assert [s.snapshot_id[:15] for s in snapshots] == [
            f"snapshot_{k:06d}" for k in range(1, count + 2)
        ]
        assert snapshots[0].metadata_after == w.schema_for(first, 0)
        for i, snap in enumerate(snapshots[1:]):
            assert snap.metadata_after == w.schema_for(winner, i)
        changes = status.get_change_history()
        assert [c.change_id[:13] for c in changes] == [
            f"change_{k:06d}" for k in range(1, len(changes) + 1)
        ]
        assert len(changes) == 1 + len(w.expected_changes(winner, count))
        # The head is the winner's last put, and the run goes on from there.
        assert_frame_equal(status.get_result(w.module_of(count - 1)),
                           w.result_frame(winner, count - 1))
        status.put("Loader", "data", w.FixedAdapter(w.schema_for(first, 10),
                                                      w.result_frame(first, 10)))
        assert status.get_snapshots()[-1].snapshot_id.startswith(f"snapshot_{count + 2:06d}_")
        head = status.store.read(lambda conn: conn.execute(
            select(m.runs.c.head_json).where(m.runs.c.id == status.run_id)).scalar())
        last_state = status.store.read(lambda conn: conn.execute(
            select(m.snapshots.c.state_json).where(m.snapshots.c.run_id == status.run_id)
            .order_by(m.snapshots.c.seq.desc()).limit(1)).scalar())
        assert head == last_state


# --- a run written in one process, killed, and resumed in another ------------------------

EXECUTOR_RUN = """
import sys
from petsard_status.execution import Executor

pipeline, url, run, output = sys.argv[1:5]
with Executor(pipeline, url, run, output_dir=output, seed=7) as executor:
    executor.run()
"""

EXECUTOR_RESUME = """
import sys
from petsard_status.execution import Executor

url, run = sys.argv[1:3]
Executor.resume(run, url)
"""


@pytest.mark.slow
@pytest.mark.postgres
def test_run_killed_in_one_process_is_resumed_in_another(pg_url: str, tmp_path: Path) -> None:
    run = "across"
    before = w.kill_after_module(
        [sys.executable, "-c", EXECUTOR_RUN, str(w.EXAMPLE), pg_url, run, str(tmp_path / "out")],
        pg_url, run, "Synthesizer",
    )
    with Status.open(run, pg_url) as status:
        assert status.run_info()["state"] == "running"  # killed: nothing could mark it
    resumed = subprocess.run([sys.executable, "-c", EXECUTOR_RESUME, pg_url, run],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    w.check_resumed(pg_url, run, before)


# --- a write transaction retried after a deadlock stores everything ----------------------


@pytest.mark.postgres
def test_put_retried_after_a_deadlock_stores_every_row(pg_url: str) -> None:
    """A put aborted half-way by PostgreSQL's deadlock detector is retried whole.

    Another session holds the put's result blob, the put (having inserted its
    fields) waits for it, then that session waits for one of those fields: a
    deadlock that aborts the put, which the store retries.  The retry must
    insert again what the aborted attempt had inserted.
    """
    schema = w.schema_for(0, 0)
    frame = w.result_frame(0, 0)
    with Store(pg_url) as store:
        status = Status(w.CONFIG, store, "deadlocked")
        field_hash, field_doc = store.encode_field(schema.fields[0])
        blob_hash, (kind, data) = next(iter(encode_result(frame).blobs.items()))

        other = create_engine(pg_url)
        monitor = create_engine(pg_url, isolation_level="AUTOCOMMIT")
        try:
            with other.connect() as conn, monitor.connect() as watch:
                # This session must not be the one the deadlock detector aborts.
                conn.execute(text("SET deadlock_timeout = '60s'"))
                conn.execute(text(
                    "INSERT INTO blobs (hash, kind, size, data) VALUES (:h, :k, :s, :d)"),
                    {"h": blob_hash, "k": kind, "s": len(data), "d": data})
                xid = conn.execute(text(
                    "SELECT transactionid::text FROM pg_locks WHERE pid = pg_backend_pid() "
                    "AND locktype = 'transactionid' AND granted")).scalar()

                def waiting_on_us() -> int:
                    return watch.execute(text(
                        "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'transactionid' "
                        "AND NOT granted AND transactionid::text = :x"), {"x": xid}).scalar()

                errors: list[BaseException] = []

                def put() -> None:
                    try:
                        status.put("Loader", "data", w.FixedAdapter(schema, frame))
                    except BaseException as exc:
                        errors.append(exc)

                writer = threading.Thread(target=put)
                writer.start()
                _wait_until(lambda: waiting_on_us() == 1, "the put to wait for the blob")
                # Now wait for a field the put inserted: PostgreSQL aborts the put.
                conn.execute(text(
                    "INSERT INTO fields (hash, name, data_type, doc) VALUES (:h, :n, :t, :d) "
                    "ON CONFLICT DO NOTHING"),
                    {"h": field_hash, "n": schema.fields[0].name,
                     "t": schema.fields[0].data_type.value, "d": field_doc})
                # The retry waits for the blob again; let it through without our rows.
                _wait_until(lambda: waiting_on_us() == 1, "the retried put to wait")
                conn.rollback()
                writer.join(60)
                assert not writer.is_alive()
                assert errors == []
        finally:
            other.dispose()
            monitor.dispose()
        status.close()

    with Status.open("deadlocked", pg_url) as reopened:
        assert reopened.get_metadata("Loader") == schema
        assert_frame_equal(reopened.get_result("Loader"), frame)
    assert _count_rows(pg_url, "fields") == len(schema.fields)


def _wait_until(condition: Any, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)


def _count_rows(url: str, table: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()
    finally:
        engine.dispose()
