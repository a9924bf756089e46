"""PostgreSQL: a pooled connection the server dropped while it sat idle is replaced.

Connections are pinged only after they have been idle for a while (not before
every put).  One the server closed after a long idle spell is found by the
ping; one it closed sooner fails the put's transaction before anything is
committed, and the put, seeing that nothing of it is stored, is made again on
a fresh connection.  Either way the next put succeeds, once.
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from helpers.postgres import pg_admin
from helpers.stores import CONFIG, loader_adapter
from petsard_status import Status
from petsard_status.store import engine as store_engine

pytestmark = pytest.mark.postgres


def _backend_pid(status: Status) -> int:
    with status.store.engine.connect() as conn:
        return int(conn.execute(text("SELECT pg_backend_pid()")).scalar_one())


@pytest.mark.parametrize("idle_s", [0.0, 1e9], ids=["pinged", "not-pinged"])
def test_a_connection_dropped_while_idle_is_replaced(pg_url: str, idle_s: float,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # 0: every checkout counts as after an idle spell; 1e9: none does.
    monkeypatch.setattr(store_engine, "PING_AFTER_IDLE_S", idle_s)
    with Status(CONFIG, pg_url, run="idle") as status:
        status.put("Loader", "load", loader_adapter(5))
        dropped = _backend_pid(status)
        pg_admin(f"SELECT pg_terminate_backend({dropped})")
        status.put("Loader", "load", loader_adapter(6))
        assert _backend_pid(status) != dropped
    with Status.open("idle", pg_url, read_only=True) as again:
        assert len(again.get_snapshots()) == 2
        assert len(again.get_result("Loader")) == 6
