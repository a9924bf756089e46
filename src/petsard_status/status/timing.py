"""Timing records from PETsARD's log protocol.

PETsARD's adapters log ``TIMING_START|module|step|epoch``,
``TIMING_END|module|step|epoch|duration`` and
``TIMING_ERROR|module|step|epoch|duration|message`` on the ``PETsARD`` logger
hierarchy; a Status listens there and turns them into timing records, named by
module (``LoaderAdapter`` is the Loader) and by the experiment that is running,
with upstream's ``source`` and ``status`` in their context.

The level of the ``PETsARD`` logger is its owner's: PETsARD logs these messages
at DEBUG, so they arrive only where its user asked for DEBUG.  An explicit
timing of the same module, experiment and step (what our executors record)
takes precedence over the log protocol.  While a Status is :meth:`running
<TimingMixin.running>` a step, the other Statuses of the process ignore the
messages; a handler goes when its Status is closed or garbage-collected.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import datetime as dt
import logging
import weakref
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from petsard_status.status import history
from petsard_status.status.petsard_compat import timing_module
from petsard_status.status.records import TimingRecord, stamp

if TYPE_CHECKING:
    from petsard_status.status.status import Status

LOGGER_NAME = "PETsARD"
LOG_SOURCE = {"source": "logging"}

# The Status whose step is running in this thread or task, if one says so.
_running: contextvars.ContextVar[Status | None] = contextvars.ContextVar(
    "petsard_status_running", default=None)


class TimingLogHandler(logging.Handler):
    """Feeds ``TIMING_*`` log messages into a Status (held weakly: it does not keep it alive)."""

    def __init__(self, status: Status) -> None:
        super().__init__(level=logging.DEBUG)
        self._status = weakref.ref(status)

    @property
    def status(self) -> Status | None:
        return self._status()

    def emit(self, record: logging.LogRecord) -> None:
        status = self._status()
        active = _running.get()
        if status is None or (active is not None and active is not status):
            return
        try:
            message = record.getMessage()
        except Exception:  # a badly formatted log call is the caller's problem, not ours
            return
        if not message.startswith("TIMING_"):
            return
        parts = message.split("|")
        try:
            kind, module, step, epoch = parts[0], parts[1], parts[2], float(parts[3])
            when = dt.datetime.fromtimestamp(epoch)
            module = timing_module(module, status.sequence)
            if kind == "TIMING_START":
                status._log_timing_start(module, step, when)
            elif kind == "TIMING_END":
                status._log_timing_end(module, step, when, float(parts[4]), None)
            elif kind == "TIMING_ERROR":
                error = "|".join(parts[5:]) if len(parts) > 5 else ""
                status._log_timing_end(module, step, when, float(parts[4]), error)
        except (IndexError, ValueError, OverflowError, OSError):
            # Not our protocol after all; a log line must never break the pipeline.
            return


def attach(status: Status) -> TimingLogHandler:
    """Attach a handler for ``status``, removed again if ``status`` is never closed."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = TimingLogHandler(status)
    logger.addHandler(handler)
    weakref.finalize(status, logger.removeHandler, handler)
    return handler


def detach(handler: TimingLogHandler) -> None:
    logging.getLogger(LOGGER_NAME).removeHandler(handler)


class TimingMixin:
    """Status's timing records: explicit calls, a context manager, and the log protocol."""

    _open_timings: dict[tuple[str, str, str], TimingRecord]
    _pending_timings: list[dict[str, Any]]
    _current: tuple[str, str] | None
    # Keys of the open timings that the log protocol started (the rest are explicit).
    _log_opened: set[tuple[str, str, str]] | None = None

    def start_timing(self, module: str, experiment: str, step: str,
                     context: dict[str, Any] | None = None,
                     start_time: dt.datetime | None = None) -> str:
        self._check_open()
        self._counters["timing"] += 1
        start = start_time or dt.datetime.now()
        record = TimingRecord(
            record_id=f"timing_{self._counters['timing']:06d}_{stamp(start)}",
            module_name=module, experiment_name=experiment, step_name=step,
            start_time=start, context=dict(context or {}),
        )
        self._open_timings[(module, experiment, step)] = record
        self._current = (module, experiment)
        return record.record_id

    def end_timing(self, module: str, experiment: str, step: str,
                   context: dict[str, Any] | None = None,
                   end_time: dt.datetime | None = None,
                   duration: float | None = None,
                   defer: bool = False) -> TimingRecord | None:
        """Finish a timing record and store it.

        ``defer=True`` stores it with the next put, in that put's transaction (one
        commit per step instead of two); reading timings or closing stores it too.
        """
        self._check_open()
        record = self._open_timings.pop((module, experiment, step), None)
        if record is None:
            return None
        done = record.complete(end_time, context)
        if duration is not None:
            done = dataclasses.replace(done, duration_seconds=round(duration, 6))
        row = history.timing_row(self, done)
        if defer:
            self._pending_timings.append(row)
        else:
            history.write_timings(self, [row])
        return done

    def _flush_timings(self) -> None:
        if self._pending_timings:
            history.write_timings(self, self._pending_timings)
            self._pending_timings = []

    @contextlib.contextmanager
    def timing(self, module: str, experiment: str, step: str,
               context: dict[str, Any] | None = None) -> Iterator[None]:
        """Time a block; an exception is recorded in the record's context as ``error``."""
        self.start_timing(module, experiment, step, context)
        try:
            yield
        except BaseException as exc:
            self.end_timing(module, experiment, step, {"error": f"{type(exc).__name__}: {exc}"})
            raise
        self.end_timing(module, experiment, step)

    @contextlib.contextmanager
    def running(self, module: str, experiment: str) -> Iterator[None]:
        """Say which step runs: its log-protocol timings get this experiment, and
        other Statuses of the process ignore them meanwhile."""
        token = _running.set(self)
        self._current = (module, experiment)
        try:
            yield
        finally:
            _running.reset(token)

    def _experiment_for(self, module: str) -> str:
        if self._current and self._current[0] == module:
            return self._current[1]
        if module in self.sequence:
            experiments = self.config.experiments(module)
            if len(experiments) == 1:
                return experiments[0]
        entry = self._state.active_map.get(module)
        return entry.experiment if entry else "default"

    def _log_timing_start(self, module: str, step: str, when: dt.datetime) -> None:
        if self._closed:
            return
        key = (module, self._experiment_for(module), step)
        if key in self._open_timings:
            return  # timed explicitly already
        self.start_timing(*key, context=LOG_SOURCE, start_time=when)
        self._log_opened = {*(self._log_opened or ()), key}

    def _log_timing_end(self, module: str, step: str, when: dt.datetime, duration: float,
                        error: str | None) -> None:
        if self._closed:
            return
        key = (module, self._experiment_for(module), step)
        opened = self._log_opened or set()
        if key in self._open_timings and key not in opened:
            return  # timed explicitly: that record stands
        opened.discard(key)
        if key not in self._open_timings:
            self.start_timing(*key, context=LOG_SOURCE,
                              start_time=when - dt.timedelta(seconds=duration))
        outcome = {"status": "error", "error": error} if error else {"status": "completed"}
        self.end_timing(*key, outcome, end_time=when, duration=duration)

    def get_timing_records(self, module: str | None = None) -> list[TimingRecord]:
        self._flush_timings()
        return history.timings(self, module)

    def get_timing_report_data(self) -> pd.DataFrame:
        return history.timing_frame(self.get_timing_records())
