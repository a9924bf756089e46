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

from baselines import PhysicalFloor
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


class PostgresFloor:
    """PostgreSQL's physical floor: one durable commit of a payload made beforehand.

    The same payload and table as :class:`baselines.PhysicalFloor`, through psycopg
    with no SQLAlchemy: one ``INSERT`` in autocommit, so one round trip and the
    server's commit, what the server costs before any work of ours (a put is one
    statement in autocommit too).
    """

    def __init__(self, url: str, payload_bytes: int) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        self.conn = psycopg.connect(make_url(url).set(drivername="postgresql")
                                    .render_as_string(hide_password=False), autocommit=True)
        self.conn.execute("CREATE TABLE IF NOT EXISTS payloads (id serial PRIMARY KEY, "
                          "data bytea NOT NULL)")
        self.payload = os.urandom(max(1, payload_bytes))

    def put(self) -> None:
        self.conn.execute("INSERT INTO payloads (data) VALUES (%s)", (self.payload,))

    def close(self) -> None:
        self.conn.close()


def postgres_vs_sqlite(work: Workload, n_puts: int, tmp: Path,
                       payload_bytes: int = 3420) -> dict[str, Any]:
    """Our puts on both, and both servers' floors, all interleaved put by put."""
    reason = pg_reachable()
    if reason is not None:
        return {"postgres_put_ratio": None, "postgres_note": reason}
    with pg_schema() as url:
        pg = Status(CONFIG, store=url, run="backends")
        lite = Status(CONFIG, store=tmp / "backends.db", run="backends")
        pg_floor = PostgresFloor(url, payload_bytes)
        lite_floor = PhysicalFloor(tmp / "backends_floor.db", payload_bytes)
        times = interleave({"postgres": pg.put, "sqlite": lite.put,
                            "postgres_floor": lambda m, e, a: pg_floor.put(),
                            "sqlite_floor": lambda m, e, a: lite_floor.put()},
                           work.puts(n_puts))
        for system in (pg, lite, pg_floor, lite_floor):
            system.close()
    us = {name: statistics.median(samples) / 1e3 for name, samples in times.items()}
    return {"postgres_put_us_median": round(us["postgres"], 1),
            "sqlite_put_us_median": round(us["sqlite"], 1),
            "postgres_put_ratio": round(us["postgres"] / us["sqlite"], 3),
            "postgres_floor_us_median": round(us["postgres_floor"], 1),
            "sqlite_floor_us_median": round(us["sqlite_floor"], 1),
            "postgres_floor_ratio": round(us["postgres_floor"] / us["sqlite_floor"], 3),
            "postgres_puts": n_puts}
