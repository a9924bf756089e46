"""Run leases: one live writer per run, and a way to tell a dead run from a live one.

A process that runs a pipeline takes its run's lease (a row in ``leases``:
owner, host, pid, heartbeat) in one transaction, and a :class:`Heartbeat`
thread refreshes it while the steps run, however long one takes.  Another
process may take the lease only when its heartbeat is older than the stale
window: a live run cannot be resumed twice, and a run whose process died
(``kill -9``, a closed terminal) shows as ``stale`` and can be taken over.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update

from petsard_status.errors import PetsardStatusError, RunInUseError
from petsard_status.store import models as m
from petsard_status.store.store import Store

__all__ = ["ENV_STALE_AFTER", "Heartbeat", "Lease", "acquire", "leases_of", "release",
           "stale_after"]

ENV_STALE_AFTER = "PETSARD_STATUS_STALE_AFTER"
DEFAULT_STALE_AFTER = 30.0


def stale_after() -> float:
    """Seconds without a heartbeat after which a running run counts as stale."""
    try:
        return max(0.5, float(os.environ.get(ENV_STALE_AFTER, DEFAULT_STALE_AFTER)))
    except ValueError:
        return DEFAULT_STALE_AFTER


@dataclass(frozen=True)
class Lease:
    owner: str
    host: str
    pid: int
    acquired_at: dt.datetime
    heartbeat_at: dt.datetime

    def seconds_since_seen(self, now: dt.datetime | None = None) -> float:
        return ((now or dt.datetime.now()) - self.heartbeat_at).total_seconds()

    def is_live(self, window: float | None = None) -> bool:
        """Seen within the stale window, by a process that still exists.

        On the holder's own host a dead pid settles it at once (a run killed a
        second ago can be resumed now); elsewhere only the heartbeat can tell.
        """
        if self.host == socket.gethostname() and not _pid_alive(self.pid):
            return False
        return self.seconds_since_seen() < (window if window is not None else stale_after())

    @property
    def holder(self) -> str:
        return f"process {self.pid} on {self.host}"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def new_owner() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(4)}"


def acquire(store: Store, run_id: int, run: str, owner: str) -> Lease:
    """Take the run's lease, or raise RunInUseError (changing nothing) if it is live."""
    now = dt.datetime.now()
    lease = Lease(owner, socket.gethostname(), os.getpid(), now, now)
    mine = {"run_id": run_id, "owner": owner, "host": lease.host, "pid": lease.pid,
            "acquired_at": now, "heartbeat_at": now}

    def work(conn: Any) -> None:
        row = conn.execute(select(m.leases).where(m.leases.c.run_id == run_id)).first()
        if row is not None:
            held = _lease(row)
            if held.owner != owner and held.is_live():
                raise RunInUseError(
                    f"run {run!r} is being written by {held.holder} (last seen "
                    f"{held.seconds_since_seen(now):.0f} s ago); wait for it to finish, or "
                    "stop that process first. Nothing was changed"
                )
            conn.execute(delete(m.leases).where(m.leases.c.run_id == run_id))
        conn.execute(insert(m.leases).values(**mine))

    store.write(work)
    return lease


def beat(store: Store, run_id: int, owner: str) -> bool:
    """Refresh the heartbeat; False if the lease is no longer this owner's."""
    moved = store.write(lambda conn: conn.execute(
        update(m.leases).where(m.leases.c.run_id == run_id, m.leases.c.owner == owner)
        .values(heartbeat_at=dt.datetime.now())).rowcount)
    return bool(moved)


def release(store: Store, run_id: int, owner: str) -> None:
    store.write(lambda conn: conn.execute(
        delete(m.leases).where(m.leases.c.run_id == run_id, m.leases.c.owner == owner)))


def leases_of(store: Store) -> dict[int, Lease]:
    """Every run's lease, by run id."""
    rows = store.read(lambda conn: conn.execute(select(m.leases)).all())
    return {int(row.run_id): _lease(row) for row in rows}


def _lease(row: Any) -> Lease:
    return Lease(row.owner, row.host, int(row.pid), row.acquired_at, row.heartbeat_at)


class Heartbeat:
    """A daemon thread that keeps a lease alive until :meth:`stop`."""

    def __init__(self, store: Store, run_id: int, owner: str,
                 interval: float | None = None) -> None:
        self._store, self._run_id, self._owner = store, run_id, owner
        self._interval = interval if interval is not None else stale_after() / 3
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="petsard-status-heartbeat",
                                        daemon=True)

    def start(self) -> Heartbeat:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                if not beat(self._store, self._run_id, self._owner):
                    return
            except PetsardStatusError:
                # A busy database misses one beat; the next one comes soon enough.
                continue

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
