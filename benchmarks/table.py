"""The figures of a run as table rows: ours, baseline, ratio, target, met?

A phase that did not run (``--only``) or could not run (no MLflow, no
PostgreSQL) leaves its rows out or shows n/a, with the reason in the notes.
"""

from __future__ import annotations

from typing import Any


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


class Rows:
    def __init__(self, r: dict[str, Any]) -> None:
        self.r = r
        self.rows: list[dict[str, str]] = []

    def add(self, figure: str, ours: Any, baseline: Any = None, ratio: Any = None,
            target: str = "-", limit: float | None = None, digits: int = 1) -> None:
        """``limit``: the figure that is judged (the ratio if given, else ours) must be <= it."""
        judged = ratio if ratio is not None else ours
        met = "n/a" if limit is None or judged is None else ("yes" if judged <= limit else "NO")
        self.rows.append({"figure": figure, "ours": _fmt(ours, digits),
                          "baseline": _fmt(baseline, digits), "ratio": _fmt(ratio, 3),
                          "target": target, "met": met})

    def has(self, key: str) -> bool:
        return self.r.get(key) is not None


def _puts(t: Rows) -> None:
    r = t.r
    n = r["put_count"]
    t.add(f"put median us vs physical floor ({n} puts, {r['floor_payload_bytes']} B)",
          r["put_us_median"], r["put_floor_us_median"], r["put_ratio_floor"], "<= 5", 5)
    t.add("put median us vs naive store (JSON after + Arrow IPC)", r["put_us_median"],
          r["put_naive_us_median"], r["put_ratio_naive"], "<= 1.5", 1.5)
    t.add(f"  frames changing: vs floor ({r['floor_payload_bytes_changing']} B)",
          r["put_us_median_changing"], r["put_floor_us_median_changing"],
          r["put_ratio_floor_changing"], "info")
    t.add("  frames changing: vs naive store", r["put_us_median_changing"],
          r["put_naive_us_median_changing"], r["put_ratio_naive_changing"], "info")
    t.add(f"storage B/put, identical frames ({r['storage_puts']} puts) vs naive",
          r["bytes_per_put"], r["naive_bytes_per_put"], r["storage_ratio"], "<= 0.05", 0.05)
    t.add("  same vs naive's JSON alone (no frames)", r["bytes_per_put"],
          r["naive_json_bytes_per_put"], r["storage_ratio_json"], "<= 0.05", 0.05)
    t.add("storage B/put, one cell changes every put, vs naive (JSON + Arrow)",
          r["bytes_per_put_changing"], r["naive_bytes_per_put_changing"],
          r["storage_ratio_changing"], "<= 1", 1)
    t.add("  frames' own Arrow IPC size, mean B per put (info)", r["frame_arrow_bytes_mean"])


def _history(t: Rows) -> None:
    r = t.r
    n = r["history_snapshots"]
    for key, label in (("snapshots_tail", "get_snapshots()[-5:]"),
                       ("changes_tail", "get_change_history()[-5:]"),
                       ("evolution_tail", 'get_metadata_evolution("Preprocessor")[-5:]')):
        t.add(f"{label} ms ({n:,} snapshots, fresh open)", r[f"history_{key}_ms"],
              target="<= 50 ms", limit=50)
    t.add(f"full iteration of get_snapshots() s ({n:,})",
          r["history_snapshots_iterate_ms"] / 1e3, target="<= 3 s", limit=3, digits=2)
    t.add("  its peak added RSS MB", r["history_snapshots_iterate_rss_mb"], target="<= 100 MB",
          limit=100)
    limit = "--limit 20" if r["history_cli_has_limit"] else "(no --limit yet: full listing)"
    t.add(f"petsard-status snapshots RUN {limit} s", r["history_cli_s"], target="< 1 s",
          limit=1, digits=2)


def _frames(t: Rows) -> None:
    r = t.r
    rows = r["big_rows"]
    t.add(f"{rows:,} x 20 frame ({r['big_frame_mb']} MB): put peak RSS / frame",
          r["big_ours_write_peak_ratio"], r["big_parquet_write_peak_ratio"], None, "<= 1.5",
          1.5, 2)
    t.add("  get_result (new process) peak RSS / frame", r["big_ours_read_peak_ratio"],
          r["big_parquet_read_peak_ratio"], None, "<= 1.3", 1.3, 2)
    t.add("  round trip s vs to_parquet + read_parquet", r["big_ours_rt_s"],
          r["big_parquet_rt_s"], r["big_rt_ratio_parquet"], "<= 1.0", 1.0, 2)
    t.add("  round trip s vs pickle + fsync", r["big_ours_rt_s"], r["big_pickle_rt_s"],
          r["big_rt_ratio_pickle_fsync"], "<= 3", 3, 2)
    t.add("  same frame as one blob in the db: put peak RSS / frame",
          r["big_blob_write_peak_ratio"], target="<= 1.5", limit=1.5, digits=2)
    t.add("  same, get_result peak RSS / frame", r["big_blob_read_peak_ratio"],
          target="<= 1.3", limit=1.3, digits=2)
    t.add("  same, round trip s vs Parquet", r["big_blob_rt_s"], r["big_parquet_rt_s"],
          r["big_blob_rt_ratio_parquet"], "<= 1.0", 1.0, 2)
    t.add("  same, round trip s vs pickle + fsync", r["big_blob_rt_s"], r["big_pickle_rt_s"],
          r["big_blob_rt_ratio_pickle_fsync"], "<= 3", 3, 2)
    t.add("  exact (ours, blob, Parquet, pickle)", f"{r['big_ours_exact']}/{r['big_blob_exact']}",
          f"{r['big_parquet_exact']}/{r['big_pickle_exact']}")


def table_rows(r: dict[str, Any]) -> list[dict[str, str]]:
    t = Rows(r)
    if t.has("put_us_median"):
        _puts(t)
    if t.has("mlflow_ratio"):
        t.add("MLflow step us (interleaved) / our put us", r["mlflow_ours_put_us_median"],
              r["mlflow_step_us_median"], r["mlflow_ratio"], "info")
    if t.has("postgres_put_ratio"):
        t.add("PostgreSQL put median us vs SQLite's (interleaved)", r["postgres_put_us_median"],
              r["sqlite_put_us_median"], r["postgres_put_ratio"], "<= 1.1", 1.1)
        if r.get("postgres_floor_ratio") is not None:
            t.add("  PostgreSQL's physical floor us vs SQLite's (info)",
                  r["postgres_floor_us_median"], r["sqlite_floor_us_median"],
                  r["postgres_floor_ratio"], "info")
    if t.has("cli_help_s_median"):
        t.add(f"petsard-status --help s (median of {r['cli_help_runs']})",
              r["cli_help_s_median"], target="< 0.4 s", limit=0.4, digits=3)
    if t.has("history_snapshots"):
        _history(t)
    for detail in r.get("result_rt_detail", []):
        t.add(f"result write+read ms vs pickle + fsync, {detail['frame']}", detail["ours_ms"],
              detail["pickle_fsync_ms"], detail["ratio_pickle_fsync"], "<= 3, exact",
              3 if detail["exact"] else -1)
    if t.has("big_rows"):
        _frames(t)
    for name in ("sqlite", "postgres"):
        w = r.get(f"{name}_writers_detail")
        if w is not None:
            t.add(f"{name} {w['processes']} writers puts/s (p99 {_fmt(w['p99_ms'])} ms, "
                  f"{w['errors']} errors)", w["puts_s"], target="0 errors")
    if t.has("e2e_overhead_ratio"):
        t.add(f"example pipeline s, store vs in-memory ({r['e2e_pairs']} pairs)",
              r["e2e_ours_s"], r["e2e_memory_s"], r["e2e_overhead_ratio"], "<= 1.10", 1.10, 3)
    return t.rows
