"""What each page shows, as plain data for its template (the templates escape every text).

Every builder reads through a :class:`~petsard_status.store.browse.Browser`
and asks only for the rows its page shows: a run of 100,000 snapshots gets its
latest steps a page at a time, a summary by module and experiment, and its
latest timing records in the chart.
"""

from __future__ import annotations

import itertools
import json
from collections import OrderedDict
from typing import Any

import pandas as pd

from petsard_status.config import Config
from petsard_status.errors import PetsardStatusError, SnapshotError
from petsard_status.formats import loads_value
from petsard_status.metadata import diff
from petsard_status.store.browse import Browser, context_of
from petsard_status.ui._chart import timeline_figure
from petsard_status.ui._format import cell, duration, frame_page, when

__all__ = ["PageData", "diff_page", "field_page", "result_page", "run_page", "runs_page",
           "snapshot_page"]

RUNS_PER_PAGE = 50
STEPS_PER_PAGE = 50
TIMINGS_SHOWN = 300
FLOW_SHOWN = 300
FLOW_MATCHED = 500
ROWS_PER_PAGE = 50
EVALUATORS_SHOWN = 3
CHANGES_SHOWN = 1000
PREVIEW_ROWS = 10
RUN_STATES = ("running", "completed", "failed", "interrupted")

PageData = dict[str, Any]


class ResultCache:
    """Decoded results by content hash: immutable, so a cached one never goes stale."""

    def __init__(self, browser: Browser, size: int = 16) -> None:
        self.browser = browser
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()

    def get(self, ref: str) -> Any:
        if ref in self._items:
            self._items.move_to_end(ref)
            return self._items[ref]
        value = self.browser.load_result(ref)
        self._items[ref] = value
        while len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


def _info(row: Any) -> dict[str, Any]:
    try:
        info = loads_value(row.info_json)
    except PetsardStatusError:
        return {}
    return info if isinstance(info, dict) else {}


def _run_summary(row: Any, steps_done: int | None = None, state: str | None = None
                 ) -> dict[str, Any]:
    info = _info(row)
    seeds = info.get("seeds")
    end = row.finished_at or row.updated_at
    total = info.get("total_steps")
    return {
        "name": row.name,
        "state": state or row.state,
        "started": when(row.created_at),
        "finished": when(row.finished_at),
        "duration": duration((end - row.created_at).total_seconds()) if end else "",
        "steps_done": steps_done,
        "steps_total": total if isinstance(total, int) else None,
        "seed": cell(seeds.get("run")) if isinstance(seeds, dict) else "",
        "error": row.error,
        "failed_step": row.failed_step,
    }


def _page_number(page: int, total: int, per_page: int) -> tuple[int, int]:
    pages = max(1, -(-total // per_page))
    return min(max(page, 1), pages), pages


def runs_page(browser: Browser, state: str | None, page: int) -> PageData:
    offset = (max(page, 1) - 1) * RUNS_PER_PAGE
    rows, total = browser.runs(state or None, offset, RUNS_PER_PAGE)
    page, pages = _page_number(page, total, RUNS_PER_PAGE)
    return {
        "runs": [_run_summary(r, int(r.steps_done), browser.shown_state(r)) for r in rows],
        "states": [*RUN_STATES, "stale",
                   *(s for s in browser.states() if s not in (*RUN_STATES, "stale"))],
        "state": state or "",
        "page": page,
        "pages": pages,
        "total": total,
        "location": browser.location,
    }


# --- run page -------------------------------------------------------------------------


def _step_durations(timings: list[Any]) -> dict[str, float]:
    """Step key -> its longest timing record (the one around the module's whole run)."""
    out: dict[str, float] = {}
    for t in timings:
        key = context_of(t).get("step")
        if isinstance(key, str) and t.duration_seconds is not None:
            out[key] = max(out.get(key, 0.0), float(t.duration_seconds))
    return out


def _flow_tree(browser: Browser, row: Any, done: dict[str, int],
               durations: dict[str, float]) -> list[dict[str, Any]]:
    try:
        flow = Config(browser.run_config(row)).flow()[:FLOW_SHOWN]
    except PetsardStatusError:
        return []
    nodes = []
    waiting = row.state == "running"
    for step in flow:
        if step.key in done:
            state = "done"
        elif row.failed_step == step.key:
            state = "failed"
        elif waiting:
            state, waiting = "running", False
        else:
            state = "pending"
        nodes.append({"label": f"{step.module}[{step.experiment}]", "key": step.key,
                      "depth": step.depth, "state": state, "seq": done.get(step.key),
                      "duration": duration(durations.get(step.key))})
    return nodes


def _step_rows(steps: list[Any], durations: dict[str, float]) -> list[dict[str, Any]]:
    rows = []
    for s in steps:
        context = context_of(s)
        key = context.get("step")
        rows.append({
            "seq": s.seq, "snapshot_id": s.snapshot_id, "module": s.module,
            "experiment": s.experiment, "label": f"{s.module}[{s.experiment}]",
            "time": when(s.timestamp),
            "duration": duration(durations.get(key)) if isinstance(key, str) else "",
            "schema_changed": s.schema_after is not None and s.schema_after != s.schema_before,
            "field_changes": cell(context.get("field_changes")),
            "result_type": cell(context.get("result_type")),
        })
    return rows


def _timeline_bars(timings: list[Any], steps: list[Any]) -> list[dict[str, Any]]:
    if timings:
        return [{"label": f"#{t.seq} {t.module}[{t.experiment}] {t.step}",
                 "start": t.start_time, "end": t.end_time,
                 "state": "failed" if context_of(t).get("error") else "done"} for t in timings]
    # No timing records: each step from the put before it to its own.
    ordered = sorted(steps, key=lambda s: s.seq)
    return [{"label": f"#{b.seq} {b.module}[{b.experiment}]", "start": a.timestamp,
             "end": b.timestamp} for a, b in itertools.pairwise(ordered)]


def _frames_preview(value: Any, rows: int, prefix: str = "") -> list[dict[str, Any]]:
    """The frames inside a result (a frame, or dicts of them) with their first rows."""
    if isinstance(value, pd.DataFrame):
        return [{"name": prefix or "result", "table": frame_page(value, 0, rows)}]
    out: list[dict[str, Any]] = []
    if isinstance(value, dict):
        for key, item in list(value.items())[:20]:
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(item, pd.DataFrame | dict):
                out.extend(_frames_preview(item, rows, name))
            else:
                out.append({"name": name, "value": cell(item, 200)})
    return out


def _evaluations(browser: Browser, cache: ResultCache, run_id: int) -> list[dict[str, Any]]:
    out = []
    for s in browser.evaluator_steps(run_id, EVALUATORS_SHOWN):
        ref = browser.result_ref(run_id, s.seq)
        parts = _frames_preview(cache.get(ref), 20) if ref else []
        out.append({"seq": s.seq, "experiment": s.experiment, "parts": parts})
    return out


def _reports(browser: Browser, cache: ResultCache, row: Any) -> list[dict[str, Any]]:
    return [{"name": name, "parts": _frames_preview(cache.get(ref), PREVIEW_ROWS)}
            for name, ref in browser.report_refs(row)[:10]]


def run_page(browser: Browser, cache: ResultCache, name: str, page: int = 1) -> PageData:
    row = browser.run(name)
    count = browser.step_count(row.id)
    page, pages = _page_number(page, count, STEPS_PER_PAGE)
    steps = browser.latest_steps(row.id, (page - 1) * STEPS_PER_PAGE, STEPS_PER_PAGE)
    timings = browser.latest_timings(row.id, TIMINGS_SHOWN)
    durations = _step_durations(timings)
    matched = steps if count > FLOW_MATCHED else browser.latest_steps(row.id, 0, FLOW_MATCHED)
    done: dict[str, Any] = {}
    for s in matched:
        key = context_of(s).get("step")
        if isinstance(key, str):
            done.setdefault(key, s.seq)
    try:
        config = browser.run_config(row)
    except PetsardStatusError as exc:
        config = {"unreadable": str(exc)}
    return {
        "run": _run_summary(row, count, browser.shown_state(row)),
        "flow": _flow_tree(browser, row, done, durations),
        "steps": _step_rows(steps, durations),
        "groups": [{**g, "last": f"{g['module']}[{g['last_experiment']}]",
                    "last_time": when(g["last_time"])} for g in browser.step_groups(row.id)]
        if count > STEPS_PER_PAGE else [],
        "page": page,
        "pages": pages,
        "figure": timeline_figure(_timeline_bars(timings, steps)),
        "timings_shown": len(timings),
        "config": json.dumps(config, indent=2, ensure_ascii=False, default=str),
        "evaluations": _evaluations(browser, cache, row.id),
        "reports": _reports(browser, cache, row),
        "progress": browser.progress(row.id),
    }


# --- snapshot, diff, field and result pages -------------------------------------------


def _snapshot_schema(browser: Browser, snap: Any) -> tuple[Any, str]:
    """The metadata to show for a snapshot: after, else before, else the module's input."""
    if snap.schema_after:
        return browser.load_schema(snap.schema_after), "after the module ran"
    if snap.schema_before:
        return browser.load_schema(snap.schema_before), "before the module ran"
    digest = context_of(snap).get("input_schema")
    if isinstance(digest, str) and digest:
        return browser.load_schema(digest), "the module's input (it records none of its own)"
    return None, "none recorded"


def _field_row(f: Any) -> dict[str, str]:
    stats = f.stats
    return {
        "name": f.name,
        "data_type": cell(f.data_type),
        "logical_type": cell(f.logical_type),
        "nullable": cell(f.nullable),
        "na_count": cell(stats.na_count if stats else None),
        "distinct_count": cell(stats.distinct_count if stats else None),
        "min_value": cell(stats.min_value if stats else None),
        "max_value": cell(stats.max_value if stats else None),
        "mean_value": cell(getattr(stats, "mean_value", None) if stats else None),
    }


def snapshot_page(browser: Browser, name: str, seq: int) -> PageData:
    row = browser.run(name)
    snap = browser.snapshot(row.id, seq)
    schema, which = _snapshot_schema(browser, snap)
    context = context_of(snap)
    return {
        "run": name,
        "snapshot": {"seq": snap.seq, "snapshot_id": snap.snapshot_id, "module": snap.module,
                     "experiment": snap.experiment, "time": when(snap.timestamp)},
        "context": [(str(k), cell(v, 400)) for k, v in context.items()],
        "schema_label": which,
        "schema_id": schema.schema_id if schema is not None else "",
        "fields": [_field_row(f) for f in schema.fields] if schema is not None else [],
        "previous": browser.previous_snapshot(row.id, seq),
        "has_result": browser.result_ref(row.id, seq) is not None,
    }


def diff_page(browser: Browser, name: str, seq: int) -> PageData:
    row = browser.run(name)
    snap = browser.snapshot(row.id, seq)
    previous = browser.previous_snapshot(row.id, seq)
    after, _ = _snapshot_schema(browser, snap)
    before = None
    if previous is not None:
        before, _ = _snapshot_schema(browser, browser.snapshot(row.id, previous))
    changes = diff(before, after)
    return {
        "run": name, "seq": seq, "previous": previous,
        "schema_change": changes.schema_change or "none",
        "schema_attributes": list(changes.schema_attributes),
        "fields": [{"name": c.name, "change_type": c.change_type,
                    "attributes": ", ".join(c.attributes),
                    "before": _field_row(c.before) if c.before else None,
                    "after": _field_row(c.after) if c.after else None}
                   for c in changes.field_changes],
        "recorded": [{"change_id": c.change_id, "change_type": c.change_type,
                      "target_type": c.target_type, "target_id": c.target_id,
                      "attributes": ", ".join(_attributes(c.attributes))}
                     for c in browser.snapshot_changes(row.id, seq, CHANGES_SHOWN)],
    }


def _attributes(text: str | None) -> list[str]:
    """The attribute names of a change record (a JSON list); none when unreadable."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(v) for v in value] if isinstance(value, list) else []


def field_page(browser: Browser, name: str, field: str) -> PageData:
    row = browser.run(name)
    records = browser.field_changes(row.id, field, CHANGES_SHOWN)
    versions = []
    if records and records[0].before_field:
        first = browser.load_field(records[0].before_field)
        versions.append({"where": "as first recorded", "change_type": "", "attributes": "",
                         "snapshot": None, **_field_row(first)})
    for c in records:
        digest = c.after_field or c.before_field
        version = _field_row(browser.load_field(digest)) if digest else {}
        versions.append({"where": c.module_context, "change_type": c.change_type,
                         "attributes": ", ".join(_attributes(c.attributes)),
                         "snapshot": c.snapshot_seq, "change_id": c.change_id,
                         "time": when(c.timestamp), **version})
    return {"run": name, "field": field, "versions": versions, "changes": len(records)}


def result_page(browser: Browser, cache: ResultCache, name: str, seq: int, part: str,
                page: int) -> PageData:
    row = browser.run(name)
    snap = browser.snapshot(row.id, seq)
    ref = browser.result_ref(row.id, seq)
    if ref is None:
        raise SnapshotError(f"snapshot #{seq} of run {name!r} stored no result")
    value = cache.get(ref)
    parts = _frame_parts(value)
    if not parts:
        raise SnapshotError(f"the result of snapshot #{seq} holds no data frame")
    chosen = part if part in parts else next(iter(parts))
    frame = parts[chosen]
    page, pages = _page_number(page, len(frame), ROWS_PER_PAGE)
    return {
        "run": name, "seq": seq, "label": f"{snap.module}[{snap.experiment}]",
        "parts": list(parts), "part": chosen, "page": page, "pages": pages,
        "table": frame_page(frame, (page - 1) * ROWS_PER_PAGE, ROWS_PER_PAGE),
    }


def _frame_parts(value: Any, prefix: str = "") -> dict[str, pd.DataFrame]:
    if isinstance(value, pd.DataFrame):
        return {prefix: value}
    out: dict[str, pd.DataFrame] = {}
    if isinstance(value, dict):
        for key, item in value.items():
            out.update(_frame_parts(item, f"{prefix}.{key}" if prefix else str(key)))
    return out

