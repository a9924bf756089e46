"""Timing records: explicit calls, a context manager, and PETsARD's log protocol.

PETsARD's adapters log ``TIMING_START|module|step|epoch``,
``TIMING_END|module|step|epoch|duration`` and
``TIMING_ERROR|module|step|epoch|duration|message`` on the ``PETsARD`` logger
hierarchy; a writing Status listens there and turns them into timing records.

Records that come from log lines are kept until the Status next writes (they
go into that put's transaction), so a log call never touches the database and
never raises; a Status opened only to read attaches no handler at all.  The
level of the ``PETsARD`` logger is never changed: it belongs to the
application (PETsARD logs these messages at DEBUG).

Log records are named by module (``LoaderAdapter`` is the Loader) and by the
experiment that is running, with PETsARD's ``source`` and ``status`` in their
context.  An explicit timing of the same module, experiment and step takes
precedence.  While a Status is :meth:`running <TimingRecorder.running>` a
step, the other Statuses of the process ignore the messages; a handler goes
when its Status is closed or garbage-collected.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import logging
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from petsard_status import formats
from petsard_status.status.records import TimingRecord

LOGGER_NAME = "PETsARD"
LOG_SOURCE = {"source": "logging"}

# The recorder whose step is running in this thread or task, if one says so.
_running: contextvars.ContextVar[TimingRecorder | None] = contextvars.ContextVar(
    "petsard_status_running", default=None)


class TimingLogHandler(logging.Handler):
    """Feeds ``TIMING_*`` log messages into a :class:`TimingRecorder`, held weakly."""

    def __init__(self, recorder: TimingRecorder) -> None:
        super().__init__(level=logging.DEBUG)
        self._recorder = weakref.ref(recorder)

    @property
    def recorder(self) -> TimingRecorder | None:
        return self._recorder()

    def emit(self, record: logging.LogRecord) -> None:
        recorder = self._recorder()
        active = _running.get()
        if recorder is None or (active is not None and active is not recorder):
            return
        try:
            message = record.getMessage()
            if message.startswith("TIMING_"):
                self._handle(recorder, message.split("|"))
        except Exception:  # noqa: S110 - a log line must never break the pipeline
            pass

    @staticmethod
    def _handle(recorder: TimingRecorder, parts: list[str]) -> None:
        kind, module, step = parts[0], parts[1], parts[2]
        when = dt.datetime.fromtimestamp(float(parts[3]))
        if kind == "TIMING_START":
            recorder.log_start(module, step, when)
        elif kind in ("TIMING_END", "TIMING_ERROR"):
            error = "|".join(parts[5:]) if kind == "TIMING_ERROR" else None
            recorder.log_end(module, step, when, float(parts[4]), error or None)


def timing_row(record: TimingRecord, seq: int) -> dict[str, Any]:
    return {
        "seq": seq, "record_id": record.record_id, "module": record.module_name,
        "experiment": record.experiment_name, "step": record.step_name,
        "start_time": record.start_time, "end_time": record.end_time,
        "duration_seconds": record.duration_seconds,
        "context_json": formats.dumps_value(record.context),
    }


class TimingRecorder:
    """The open and not yet stored timing records of one Status.

    ``store_rows(rows)`` writes finished records now; ``experiment_of(module)``
    names the experiment a log line belongs to when none is running;
    ``module_of(name)`` the module a log line's name means.
    """

    def __init__(self, last_seq: int, store_rows: Callable[[list[dict[str, Any]]], None],
                 experiment_of: Callable[[str], str],
                 module_of: Callable[[str], str] = str) -> None:
        self._seq = last_seq
        self._store_rows = store_rows
        self._experiment_of = experiment_of
        self._module_of = module_of
        self._open: dict[tuple[str, str, str], tuple[int, TimingRecord]] = {}
        self._log_opened: set[tuple[str, str, str]] = set()
        self.pending: list[dict[str, Any]] = []
        self.current: tuple[str, str] | None = None
        self._handler: TimingLogHandler | None = None

    # --- explicit records ------------------------------------------------------------

    def start(self, module: str, experiment: str, step: str,
              context: dict[str, Any] | None = None,
              start_time: dt.datetime | None = None) -> str:
        self._seq += 1
        start = start_time or dt.datetime.now()
        record = TimingRecord(
            record_id=formats.record_id("timing", self._seq, start), module_name=module,
            experiment_name=experiment, step_name=step, start_time=start,
            context=dict(context or {}),
        )
        self._open[(module, experiment, step)] = (self._seq, record)
        self.current = (module, experiment)
        return record.record_id

    def end(self, module: str, experiment: str, step: str,
            context: dict[str, Any] | None = None, end_time: dt.datetime | None = None,
            duration: float | None = None, defer: bool = False) -> TimingRecord | None:
        opened = self._open.pop((module, experiment, step), None)
        if opened is None:
            return None
        seq, record = opened
        done = record.complete(end_time, context)
        if duration is not None:
            done = dataclasses.replace(done, duration_seconds=round(duration, 6))
        row = timing_row(done, seq)
        if defer:
            self.pending.append(row)
        else:
            self._store_rows([row])
        return done

    def take_pending(self) -> list[dict[str, Any]]:
        """The deferred rows, for the next write's transaction (see :meth:`stored`)."""
        return list(self.pending)

    def stored(self, count: int) -> None:
        del self.pending[:count]

    def flush(self) -> None:
        if self.pending:
            rows = self.take_pending()
            self._store_rows(rows)
            self.stored(len(rows))

    # --- the log protocol ------------------------------------------------------------

    def listen(self, owner: object) -> None:
        """Listen to the log protocol until :meth:`stop_listening` or ``owner`` is collected."""
        logger = logging.getLogger(LOGGER_NAME)
        self._handler = TimingLogHandler(self)
        logger.addHandler(self._handler)
        weakref.finalize(owner, logger.removeHandler, self._handler)

    @contextlib.contextmanager
    def running(self, module: str, experiment: str) -> Iterator[None]:
        """Say which step runs: its log timings get this experiment, and other
        Statuses of the process ignore them meanwhile."""
        token = _running.set(self)
        self.current = (module, experiment)
        try:
            yield
        finally:
            _running.reset(token)

    def stop_listening(self) -> None:
        if self._handler is not None:
            logging.getLogger(LOGGER_NAME).removeHandler(self._handler)
            self._handler = None

    def _experiment(self, module: str) -> str:
        if self.current and self.current[0] == module:
            return self.current[1]
        return self._experiment_of(module)

    def log_start(self, name: str, step: str, when: dt.datetime) -> None:
        module = self._module_of(name)
        key = (module, self._experiment(module), step)
        if key in self._open:
            return  # timed explicitly already
        self.start(*key, context=LOG_SOURCE, start_time=when)
        self._log_opened.add(key)

    def log_end(self, name: str, step: str, when: dt.datetime, duration: float,
                error: str | None) -> None:
        module = self._module_of(name)
        key = (module, self._experiment(module), step)
        if key in self._open and key not in self._log_opened:
            return  # timed explicitly: that record stands
        self._log_opened.discard(key)
        if key not in self._open:
            self.start(*key, context=LOG_SOURCE,
                       start_time=when - dt.timedelta(seconds=duration))
        outcome = {"status": "error", "error": error} if error else {"status": "completed"}
        self.end(*key, outcome, end_time=when, duration=duration, defer=True)


class Timed:
    """``with status.timing(...)``: one timing record around a block."""

    def __init__(self, status: Any, module: str, experiment: str, step: str,
                 context: dict[str, Any] | None) -> None:
        self._status, self._key, self._context = status, (module, experiment, step), context

    def __enter__(self) -> None:
        self._status.start_timing(*self._key, self._context)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> None:
        error = {"error": f"{kind.__name__}: {exc}"} if kind is not None else None
        self._status.end_timing(*self._key, error)
