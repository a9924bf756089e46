"""datasette serves a store, views included, and its JSON holds the view's rows.

datasette is a test dependency, not a run-time one; the test runs when a ``datasette`` command is
found: ``$PETSARD_STATUS_DATASETTE`` (a path to the executable), the
``datasette`` module in this environment, or ``datasette`` on PATH.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from helpers.paths import EXAMPLE_RUN, copy_sqlite
from petsard_status import Status


def datasette_command() -> list[str] | None:
    configured = os.environ.get("PETSARD_STATUS_DATASETTE")
    if configured:
        return [configured]
    if importlib.util.find_spec("datasette") is not None:
        return [sys.executable, "-m", "datasette"]
    found = shutil.which("datasette")
    return [found] if found else None


COMMAND = datasette_command()
pytestmark = pytest.mark.skipif(
    COMMAND is None,
    reason="datasette is not installed (it is not a dependency): set PETSARD_STATUS_DATASETTE "
           "to its executable, or put it on PATH, to run this test",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def get_json(url: str, deadline: float) -> object:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_datasette_serves_the_views(example_db: Path, tmp_path: Path) -> None:
    assert COMMAND is not None
    db = copy_sqlite(example_db, tmp_path / "runs.db")
    port = free_port()
    log = (tmp_path / "datasette.log").open("w")
    server = subprocess.Popen([*COMMAND, "serve", str(db), "--port", str(port),
                               "--host", "127.0.0.1"], stdout=log, stderr=subprocess.STDOUT)
    try:
        base = f"http://127.0.0.1:{port}/runs"
        deadline = time.monotonic() + 60
        rows = get_json(f"{base}/snapshot_view.json?_shape=array&_size=max", deadline)
        fields = get_json(f"{base}/schema_field_view.json?_shape=array&schema_id=loader",
                          deadline)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()
    with Status.open(EXAMPLE_RUN, db) as status:
        snapshots = status.get_snapshots()
        loader = status.get_metadata("Loader")
    assert isinstance(rows, list)
    assert [(r["run"], r["snapshot_id"], r["module"], r["experiment"]) for r in rows] == [
        (EXAMPLE_RUN, s.snapshot_id, s.module_name, s.experiment_name) for s in snapshots]
    assert [(f["position"], f["field"], f["data_type"], f["na_count"]) for f in fields] == [
        (i, f.name, f.data_type.value, f.stats.na_count) for i, f in enumerate(loader.fields)]
