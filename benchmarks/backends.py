"""PostgreSQL beside SQLite: the same puts, interleaved put by put.

The PostgreSQL store lives in a fresh schema (``options=-csearch_path``),
dropped afterwards; the server is the one the tests use
(``$PETSARD_STATUS_TEST_PG``, else ``postgresql+psycopg://postgres@127.0.0.1:5432/test``).
"""

from __future__ import annotations

import os
import secrets
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from puts import interleave
from workload import CONFIG, Workload

from petsard_status import Status

PG_ADMIN_URL = os.environ.get(
    "PETSARD_STATUS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def pg_reachable(url: str = PG_ADMIN_URL) -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        from sqlalchemy import create_engine, text

        engine = create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
        return None
    except Exception as exc:  # any failure to connect is a reason to skip, said as such
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        return f"PostgreSQL at {url} is not reachable: {type(exc).__name__}: {first_line}"


@contextmanager
def pg_schema() -> Iterator[str]:
    """A URL to a fresh, empty schema, dropped on exit."""
    from sqlalchemy import create_engine, text

    schema = f"bench_{secrets.token_hex(6)}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        sep = "&" if "?" in PG_ADMIN_URL else "?"
        yield f"{PG_ADMIN_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def postgres_vs_sqlite(work: Workload, n_puts: int, tmp: Path) -> dict[str, Any]:
    reason = pg_reachable()
    if reason is not None:
        return {"postgres_put_ratio": None, "postgres_note": reason}
    with pg_schema() as url:
        pg = Status(CONFIG, store=url, run="backends")
        lite = Status(CONFIG, store=tmp / "backends.db", run="backends")
        times = interleave({"postgres": pg.put, "sqlite": lite.put}, work.puts(n_puts))
        pg.close()
        lite.close()
    pg_us = statistics.median(times["postgres"]) / 1e3
    lite_us = statistics.median(times["sqlite"]) / 1e3
    return {"postgres_put_us_median": round(pg_us, 1), "sqlite_put_us_median": round(lite_us, 1),
            "postgres_put_ratio": round(pg_us / lite_us, 3), "postgres_puts": n_puts}
