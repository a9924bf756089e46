"""What the run listings show: every run's state, liveness, times and progress."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select

from petsard_status import formats
from petsard_status.store import models as m
from petsard_status.store.leases import Lease, leases_of, stale_after
from petsard_status.store.store import Store

__all__ = ["liveness", "run_overview", "seed_and_output"]


def liveness(state: str, updated_at: dt.datetime, lease: Lease | None,
             now: dt.datetime) -> tuple[str, dt.datetime | None]:
    """The state to show, and when a running run's writer was last seen.

    A ``running`` run is ``stale`` when its lease's heartbeat (or, for a run
    written from Python without a lease, its last write) is older than the
    stale window: its process is gone.
    """
    if state != "running":
        return state, None
    if lease is not None:
        return ("running" if lease.is_live() else "stale"), lease.heartbeat_at
    if (now - updated_at).total_seconds() >= stale_after():
        return "stale", updated_at
    return state, updated_at


def run_overview(store: Store) -> list[dict[str, Any]]:
    """One summary per run: state (``stale`` for a running run nobody keeps alive), times,
    steps done and the total to do, seed and output folder."""
    r = m.runs.c
    counts_query = (select(m.snapshots.c.run_id, func.count())
                    .group_by(m.snapshots.c.run_id))
    runs_query = select(r.id, r.name, r.state, r.created_at, r.updated_at, r.finished_at,
                        r.error, r.failed_step, r.info_json, r.config_json).order_by(r.id)

    def work(conn: Any) -> tuple[dict[int, int], list[Any]]:
        return dict(conn.execute(counts_query).all()), conn.execute(runs_query).all()

    counts, rows = store.read(work)
    held = leases_of(store)
    now = dt.datetime.now()
    out = []
    for row in rows:
        info = formats.loads_value(row.info_json)
        total = info.get("total_steps") if isinstance(info, dict) else None
        end = row.finished_at or row.updated_at
        state, last_seen = liveness(row.state, row.updated_at, held.get(row.id), now)
        out.append({
            "name": row.name,
            "state": state,
            "last_seen": last_seen,
            "started": row.created_at,
            "finished": row.finished_at,
            "updated": row.updated_at,
            "duration_seconds": round((end - row.created_at).total_seconds(), 3),
            "steps_done": int(counts.get(row.id, 0)),
            # Only a pipeline run knows how many steps it has; puts from Python are not steps.
            "steps_total": total if isinstance(total, int) else None,
            "error": row.error,
            "failed_step": row.failed_step,
            **seed_and_output(info),
        })
    return out


def seed_and_output(info: Any) -> dict[str, Any]:
    """The run's seed and its output folder, from its info (None where not recorded)."""
    info = info if isinstance(info, dict) else {}
    seeds = info.get("seeds")
    return {"seed": seeds.get("run") if isinstance(seeds, dict) else None,
            "output_dir": info.get("output_dir")}
