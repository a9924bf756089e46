"""Reading the result each step of a run left, module by module (for ``results``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from petsard_status import formats as codec
from petsard_status.formats import RunState
from petsard_status.store import models as m
from petsard_status.store.store import Store

__all__ = ["recorded_schema", "step_results"]


def step_results(store: Store, run_id: int, module: str) -> list[tuple[str, str, Any]]:
    """``(experiment, step key, result)`` of every snapshot of ``module``, oldest first.

    A step run twice (a branch re-run) appears once, with its latest result.
    Snapshots written without a flow step (puts from Python) are keyed by
    their snapshot id.
    """
    s = m.snapshots.c
    query = (select(s.snapshot_id, s.experiment, s.context_json, s.state_json)
             .where(s.run_id == run_id, s.module == module).order_by(s.seq))
    rows = store.read(lambda conn: conn.execute(query).all())
    latest: dict[str, tuple[str, str]] = {}
    for row in rows:
        context = codec.loads_value(row.context_json)
        key = context.get("step") if isinstance(context, dict) else None
        latest[str(key or row.snapshot_id)] = (row.experiment, row.state_json)
    out = []
    for key, (experiment, state_json) in latest.items():
        entry = RunState.from_json(state_json).active_map.get(module)
        result = store.load_result(entry.result_ref) if entry is not None else None
        out.append((experiment, key, result))
    return out


def recorded_schema(store: Store, run_id: int, module: str, digest: str) -> bool:
    """Whether a snapshot of ``module`` in the run recorded the schema ``digest`` as its own."""
    s = m.snapshots.c
    query = select(s.seq).where(s.run_id == run_id, s.module == module,
                                s.schema_after == digest).limit(1)
    return store.read(lambda conn: conn.execute(query).first()) is not None
