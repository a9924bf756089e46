"""A writer process for the crash harness (tests/stress/test_crash.py), and the puts it makes.

Put number ``k`` of the run is a pure function of ``k`` (:func:`make_put`), so
the harness can recompute what every stored put must hold, however many times
the writer was killed on the way.

``python crash_worker.py serve DB RUN SIDE ERRORS`` starts a *zygote*: it pays
the imports once, then on each ``fork ROUND`` line of its stdin forks a writer
and answers ``pid PID``; ``reap`` waits for that writer and answers how it
ended (``signal 9``, ``code 1``); ``quit`` exits.  Forking from a process that
has not opened the database yet gives every writer a cold start against the
file (it opens the store and the run itself) at a few milliseconds' cost
instead of a whole interpreter start.

A writer opens the run (creating it the first time), appends ``open ROUND S``
to the side file (``S`` snapshots were there when it opened), then puts
``S+1, S+2, ...`` for ever, appending ``put ROUND K`` after each put returns.
The side file is opened with ``O_APPEND`` and fsync'd after every line, so what
it says survives the ``SIGKILL`` that ends every writer.  A writer that fails
writes its traceback to the errors file and exits with code 1.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import sys
import traceback
from typing import Any

import numpy as np
import pandas as pd

from petsard_status.metadata.infer import Metadater
from petsard_status.metadata.types import SchemaMetadata

CONFIG: dict[str, Any] = {"Loader": {"load": {}}, "Preprocessor": {"prep": {}}}
FIELD_COUNT = 12
RESULT_ROWS = 8
STAMP = dt.datetime(2024, 12, 24, 21, 0, 0)


def _base_frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 200
    columns: dict[str, Any] = {}
    for i in range(FIELD_COUNT):
        if i % 3 == 0:
            columns[f"num_{i}"] = rng.normal(i, 1 + i, n).round(3)
        elif i % 3 == 1:
            columns[f"int_{i}"] = rng.integers(0, 50 + i, n)
        else:
            columns[f"cat_{i}"] = rng.choice(["a", "b", "ç", "日本"], n)
    return pd.DataFrame(columns)


def _base_schema() -> SchemaMetadata:
    # Real inferred metadata, with the inference time replaced by a fixed one so
    # that every process recomputes byte-identical expectations.
    schema = Metadater.create_schema(_base_frame(), schema_id="crash", name="crash")
    fields = tuple(
        dataclasses.replace(f, created_at=STAMP, updated_at=STAMP) for f in schema.fields
    )
    return dataclasses.replace(schema, fields=fields, created_at=STAMP, updated_at=STAMP)


_BASE: SchemaMetadata | None = None


def module_of(k: int) -> tuple[str, str]:
    """Odd puts are Loader puts, even puts Preprocessor puts (whose input is the Loader)."""
    return ("Loader", "load") if k % 2 else ("Preprocessor", "prep")


def field_revision(i: int, k: int) -> int:
    """Revision of field ``i`` at put ``k``: it changes exactly at the puts k = i (mod F)."""
    return (k - i) // FIELD_COUNT


def changed_field(k: int) -> str:
    """The one field whose content put ``k`` changes compared with put ``k - 1``."""
    return expected_metadata(k).fields[k % FIELD_COUNT].name


def expected_metadata(k: int) -> SchemaMetadata:
    global _BASE
    if _BASE is None:
        _BASE = _base_schema()
    fields = tuple(
        dataclasses.replace(
            f,
            description=f"{f.name} revision {field_revision(i, k)}",
            properties={"revision": field_revision(i, k), "label": f"ü-{i}"},
        )
        for i, f in enumerate(_BASE.fields)
    )
    return dataclasses.replace(
        _BASE, fields=fields, description=f"after put {k}", properties={"put": k}
    )


def expected_result(k: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "put": np.full(RESULT_ROWS, k, dtype="int64"),
            "x": np.arange(RESULT_ROWS, dtype="float64") * k / 7,
            "label": [f"row {i} of put {k}" for i in range(RESULT_ROWS)],
        }
    )


class CrashAdapter:
    """What a module hands to ``put``: a result frame and the metadata of put ``k``."""

    def __init__(self, k: int) -> None:
        self.k = k

    def get_result(self) -> pd.DataFrame:
        return expected_result(self.k)

    def get_metadata(self) -> SchemaMetadata:
        return expected_metadata(self.k)


def _append(fd: int, line: str) -> None:
    os.write(fd, (line + "\n").encode())
    os.fsync(fd)


def write_forever(db: str, run: str, side: str, round_no: int) -> None:
    from petsard_status.errors import RunNotFoundError
    from petsard_status.status.status import Status

    fd = os.open(side, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        status = Status.open(run, db)
    except RunNotFoundError:
        status = Status(CONFIG, db, run=run)
    k = status.count("snapshots")
    _append(fd, f"open {round_no} {k}")
    while True:
        k += 1
        module, experiment = module_of(k)
        status.put(module, experiment, CrashAdapter(k))
        _append(fd, f"put {round_no} {k}")


def _child(db: str, run: str, side: str, errors: str, round_no: int) -> None:
    try:
        write_forever(db, run, side, round_no)
    except BaseException:
        with open(errors, "a", encoding="utf-8") as handle:
            handle.write(f"round {round_no}:\n{traceback.format_exc()}\n")
        os._exit(1)
    os._exit(2)  # pragma: no cover - write_forever never returns


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"signal {os.WTERMSIG(wait_status)}"
    return f"code {os.waitstatus_to_exitcode(wait_status)}"


def serve(db: str, run: str, side: str, errors: str) -> None:
    expected_metadata(1)  # pay the inference once, before any fork
    # The package imports its modules on first use: pay for the writer's here, once.
    import petsard_status.status.status
    import petsard_status.store.migrate  # noqa: F401

    out = sys.stdout
    out.write("ready\n")
    out.flush()
    child = None
    for line in sys.stdin:
        command = line.split()
        if not command:
            continue
        if command[0] == "fork":
            pid = os.fork()
            if pid == 0:
                _child(db, run, side, errors, int(command[1]))
            child = pid
            out.write(f"pid {pid}\n")
        elif command[0] == "reap":
            assert child is not None
            _, wait_status = os.waitpid(child, 0)
            child = None
            out.write(f"exit {_describe(wait_status)}\n")
        elif command[0] == "quit":
            break
        out.flush()


if __name__ == "__main__":
    if len(sys.argv) != 6 or sys.argv[1] != "serve":
        sys.exit("usage: crash_worker.py serve DB RUN SIDE ERRORS")
    serve(*sys.argv[2:])
