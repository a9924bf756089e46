"""History reads on a run of 100,000 snapshots built by real ``Status.put`` calls.

The run is the put workload (see ``workload.py``) put 100,000 times through
``Status.put`` into one SQLite file: 20,000 puts of each module, so 20,000
distinct Preprocessor schema versions, exactly the rows a real run writes.
Building it takes several minutes, so the file is cached under
``/tmp/petsard-bench-cache`` (``--cache``) and reused while the cache's
sidecar says it was built for the same number of puts; it is written under a
temporary name and renamed when complete, so an interrupted build is never
reused.

Every read is timed in a fresh interpreter, after a fresh ``Status.open``, so
that no cache, import or page of an earlier read helps it:

    python benchmarks/history.py build [--snapshots N] [--cache DIR]
    python benchmarks/history.py read PATH RUN READ

READ is one of ``snapshots_tail``, ``changes_tail``, ``evolution_tail``,
``snapshots_iterate``.  The CLI listing is timed as a subprocess of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_CACHE = Path("/tmp/petsard-bench-cache")
RUN = "history"
READS = ("snapshots_tail", "changes_tail", "evolution_tail", "snapshots_iterate")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    # VmHWM belongs to this process's own memory map. ru_maxrss would not do: Linux
    # carries it across execve, so a reader started by a large parent would report
    # the parent's size.
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def cached_run(snapshots: int, cache: Path = DEFAULT_CACHE) -> tuple[Path, dict[str, Any]]:
    """The cached store of ``snapshots`` real puts, built first if it is missing."""
    path = cache / f"history_{snapshots}.db"
    sidecar = cache / f"history_{snapshots}.json"
    if path.exists() and sidecar.exists():
        info = json.loads(sidecar.read_text())
        if info.get("snapshots") == snapshots:
            return path, info
    cache.mkdir(parents=True, exist_ok=True)
    info = build(path, snapshots)
    sidecar.write_text(json.dumps(info, indent=2) + "\n")
    return path, info


def build(path: Path, snapshots: int) -> dict[str, Any]:
    """Put the workload ``snapshots`` times into a new store at ``path``."""
    sys.path.insert(0, str(HERE))
    from workload import CONFIG, build_workload, database_bytes

    from petsard_status import Status

    partial = path.with_name(path.name + ".partial")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    work = build_workload()
    t0 = time.perf_counter()
    status = Status(CONFIG, store=partial, run=RUN)
    for i, (module, expt, adapter) in enumerate(work.puts(snapshots)):
        status.put(module, expt, adapter)
        if (i + 1) % 10_000 == 0:
            print(f"  history build: {i + 1:,} puts, {time.perf_counter() - t0:.0f} s",
                  file=sys.stderr, flush=True)
    counts = {"snapshots": status.count("snapshots"), "changes": status.count("changes")}
    status.close()
    elapsed = time.perf_counter() - t0
    size = database_bytes(partial)
    os.replace(partial, path)
    for suffix in ("-wal", "-shm"):
        Path(f"{partial}{suffix}").unlink(missing_ok=True)
    return {"snapshots": counts["snapshots"], "changes": counts["changes"],
            "build_s": round(elapsed, 1), "put_us_mean": round(elapsed / snapshots * 1e6, 1),
            "db_mb": round(size / 2**20, 1)}


def read(path: Path, run: str, which: str) -> dict[str, Any]:
    """One history read in this (fresh) process, after a fresh open."""
    from petsard_status import Status

    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    status = Status.open(run, store=path)
    opened = time.perf_counter() - t0
    t0 = time.perf_counter()
    if which == "snapshots_tail":
        tail = status.get_snapshots()[-5:]
        check = [s.snapshot_id for s in tail]
    elif which == "changes_tail":
        tail = status.get_change_history()[-5:]
        check = [c.change_id for c in tail]
    elif which == "evolution_tail":
        tail = status.get_metadata_evolution("Preprocessor")[-5:]
        check = [s.schema_id for s in tail]
    elif which == "snapshots_iterate":
        count = 0
        for snapshot in status.get_snapshots():
            count += snapshot.snapshot_id is not None
        check = [count]
    else:
        raise SystemExit(f"unknown read {which!r}; use one of {', '.join(READS)}")
    elapsed = time.perf_counter() - t0
    status.close()
    return {"read": which, "ms": elapsed * 1e3, "open_ms": opened * 1e3,
            "added_rss_mb": (_rss_bytes() - rss0) / 2**20,
            "peak_added_rss_mb": (_peak_rss_bytes() - rss0) / 2**20, "check": check}


def _read_in_subprocess(path: Path, which: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "read", str(path),
                          RUN, which], capture_output=True, text=True, timeout=1200)
    if out.returncode != 0:
        raise RuntimeError(f"history read {which} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli_command(path: Path) -> list[str]:
    """The CLI listing: ``--limit 20`` when this CLI offers it, else the full listing."""
    cli = str(Path(sys.executable).with_name("petsard-status"))
    helptext = subprocess.run([cli, "snapshots", "--help"], capture_output=True, text=True,
                              timeout=120).stdout
    extra = ["--limit", "20"] if "--limit" in helptext else []
    return [cli, "snapshots", RUN, "--db", str(path), *extra]


def _time_cli(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one CLI run, its output discarded.

    The peak comes from a small intermediate process that forks the CLI: the
    CLI's ru_maxrss then starts from that process, not from this large one.
    """
    sizer = ("import os, subprocess, sys; c = subprocess.Popen(sys.argv[1:], "
             "stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(os.wait4(c.pid, 0)[2].ru_maxrss)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-S", "-c", sizer, *command], capture_output=True,
                         text=True, timeout=600, check=True)
    elapsed = time.perf_counter() - t0
    return elapsed, int(out.stdout.strip()) / 1024


def history_reads(snapshots: int, repeats: int, cache: Path = DEFAULT_CACHE) -> dict[str, Any]:
    """Medians of every history read over ``repeats`` fresh processes each."""
    path, info = cached_run(snapshots, cache)
    samples: dict[str, list[dict[str, Any]]] = {w: [] for w in READS}
    command = cli_command(path)
    cli: list[tuple[float, float]] = []
    for r in range(repeats):
        order = READS if r % 2 == 0 else READS[::-1]
        for which in order:
            samples[which].append(_read_in_subprocess(path, which))
        cli.append(_time_cli(command))
    out: dict[str, Any] = {"history_snapshots": info["snapshots"],
                           "history_changes": info["changes"],
                           "history_build": info, "history_repeats": repeats}
    for which, rows in samples.items():
        out[f"history_{which}_ms"] = round(statistics.median(x["ms"] for x in rows), 1)
        out[f"history_{which}_rss_mb"] = round(
            statistics.median(x["peak_added_rss_mb"] for x in rows), 1)
    out["history_open_ms"] = round(statistics.median(
        x["open_ms"] for rows in samples.values() for x in rows), 2)
    out["history_cli_s"] = round(statistics.median(c[0] for c in cli), 3)
    out["history_cli_rss_mb"] = round(statistics.median(c[1] for c in cli), 1)
    out["history_cli_command"] = " ".join(["petsard-status", *command[1:]])
    out["history_cli_has_limit"] = "--limit" in command
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build (or reuse) the cached run")
    b.add_argument("--snapshots", type=int, default=100_000)
    b.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    r = sub.add_parser("read", help="one read in this process")
    r.add_argument("path", type=Path)
    r.add_argument("run")
    r.add_argument("which", choices=READS)
    m = sub.add_parser("measure", help="every read, in fresh processes")
    m.add_argument("--snapshots", type=int, default=100_000)
    m.add_argument("--repeats", type=int, default=3)
    m.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    args = parser.parse_args(argv)
    if args.command == "build":
        print(json.dumps(cached_run(args.snapshots, args.cache)[1]))
    elif args.command == "read":
        print(json.dumps(read(args.path, args.run, args.which)))
    else:
        print(json.dumps(history_reads(args.snapshots, args.repeats, args.cache), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
