"""Response times of the web view on a run of 100,000 snapshots.

The run is built by real ``Status.put`` calls of the put workload
(``workload.py``: Loader, Splitter, Preprocessor, Synthesizer, Evaluator over a
100-field schema, cycling), each with its timing record stored in the put's
transaction as the executor does.  That takes several minutes, so the store is
built once into ``--store`` (default under /tmp) and reused; delete the file to
build it again.  ``--copied`` builds the run the way ``scale.py`` does instead
(two cycles of real puts, then their rows copied; no timing records), which
takes seconds.

The web view is then served by uvicorn on a free loopback port in this
process's background thread, and each page is fetched over HTTP ``--repeats``
times; the median (and the first, cold, request) are printed.

    python benchmarks/ui_pages.py [--snapshots 100000] [--repeats 7] [--store PATH] [--copied]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
RUN = "ui-bench"


def build(path: Path, snapshots: int) -> float:
    """Build the run by real puts into ``path`` (via a partial file); return the seconds it took."""
    from workload import CONFIG, build_workload

    from petsard_status import Status

    partial = path.with_name(path.name + ".partial")
    for leftover in path.parent.glob(partial.name + "*"):
        leftover.unlink()
    started = time.perf_counter()
    status = Status(CONFIG, store=partial, run=RUN)
    for i, (module, experiment, adapter) in enumerate(build_workload(0).puts(snapshots)):
        status.start_timing(module, experiment, "run", {"step": f"{module}[{experiment}]"})
        status.end_timing(module, experiment, "run", defer=True)
        status.put(module, experiment, adapter)
        if (i + 1) % 10_000 == 0:
            print(f"  {i + 1} puts, {time.perf_counter() - started:.0f}s", flush=True)
    status.close()
    partial.rename(path)
    return time.perf_counter() - started


def serve(path: Path) -> tuple[str, object, threading.Thread]:
    import socket

    import uvicorn

    from petsard_status.store.browse import Browser
    from petsard_status.ui import create_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Browser(path)), host="127.0.0.1",
                                           port=port, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def fetch_ms(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    with urllib.request.urlopen(url) as response:
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000.0, len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--snapshots", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--store", type=Path, default=None)
    parser.add_argument("--copied", action="store_true",
                        help="build the run as scale.py does: two cycles put, the rest copied")
    args = parser.parse_args()
    kind = "copied" if args.copied else "puts"
    path = args.store or Path(f"/tmp/petsard-status-ui-bench/{args.snapshots}-{kind}.db")
    path.parent.mkdir(parents=True, exist_ok=True)
    run = RUN
    if args.copied:
        from scale import build_run

        run = "scale"
        if not path.exists():
            print(f"building {args.snapshots} snapshots as scale.py does into {path} ...")
            build_run(path, args.snapshots)
    elif not path.exists():
        print(f"building {args.snapshots} snapshots by Status.put into {path} ...", flush=True)
        print(f"built in {build(path, args.snapshots):.0f}s")
    base, server, thread = serve(path)
    pages = {
        "runs page": "/",
        "run page": f"/run?name={run}",
        "run page, steps page 1000": f"/run?name={run}&page=1000",
        "snapshot page (100 fields)": f"/snapshot?run={run}&seq={args.snapshots // 2 + 3}",
        "progress poll": f"/api/progress?run={run}",
    }
    print(f"store {path} ({path.stat().st_size / 1e6:.0f} MB), run {run!r}, "
          f"{args.snapshots} snapshots; {args.repeats} requests per page")
    print(f"{'page':32} {'first ms':>9} {'median ms':>10} {'bytes':>9}")
    for label, route in pages.items():
        times = []
        size = 0
        for _ in range(args.repeats):
            ms, size = fetch_ms(base + route)
            times.append(ms)
        print(f"{label:32} {times[0]:9.1f} {statistics.median(times):10.1f} {size:9d}")
    server.should_exit = True
    thread.join()


if __name__ == "__main__":
    main()
