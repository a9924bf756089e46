"""Timing records from PETsARD's log protocol.

PETsARD's adapters log ``TIMING_START|module|step|epoch``,
``TIMING_END|module|step|epoch|duration`` and
``TIMING_ERROR|module|step|epoch|duration|message`` on the ``PETsARD`` logger
hierarchy; a Status listens there and turns them into timing records.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd

from petsard_status.status import history
from petsard_status.status.records import TimingRecord, stamp

if TYPE_CHECKING:
    from petsard_status.status.status import Status

LOGGER_NAME = "PETsARD"


class TimingLogHandler(logging.Handler):
    """Feeds ``TIMING_*`` log messages into a Status."""

    def __init__(self, status: Status) -> None:
        super().__init__(level=logging.DEBUG)
        self.status = status

    def emit(self, record: logging.LogRecord) -> None:
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
            if kind == "TIMING_START":
                self.status._log_timing_start(module, step, when)
            elif kind == "TIMING_END":
                self.status._log_timing_end(module, step, when, float(parts[4]), None)
            elif kind == "TIMING_ERROR":
                error = "|".join(parts[5:]) if len(parts) > 5 else ""
                self.status._log_timing_end(module, step, when, float(parts[4]), error)
        except (IndexError, ValueError, OverflowError, OSError):
            # Not our protocol after all; a log line must never break the pipeline.
            return


def attach(status: Status) -> tuple[TimingLogHandler, int | None]:
    """Attach a handler for ``status``; returns it and the logger level to restore."""
    logger = logging.getLogger(LOGGER_NAME)
    handler = TimingLogHandler(status)
    logger.addHandler(handler)
    previous = None
    # TIMING messages are INFO/DEBUG; a logger left at the root's WARNING would drop them.
    if logger.getEffectiveLevel() > logging.DEBUG:
        previous = logger.level
        logger.setLevel(logging.DEBUG)
    return handler, previous


def detach(handler: TimingLogHandler, previous_level: int | None) -> None:
    logger = logging.getLogger(LOGGER_NAME)
    logger.removeHandler(handler)
    if previous_level is not None and not any(
        isinstance(h, TimingLogHandler) for h in logger.handlers
    ):
        logger.setLevel(previous_level)


class TimingMixin:
    """Status's timing records: explicit calls, a context manager, and the log protocol."""

    _open_timings: dict[tuple[str, str, str], TimingRecord]
    _pending_timings: list[dict[str, Any]]
    _current: tuple[str, str] | None

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

    def _experiment_for(self, module: str) -> str:
        if self._current and self._current[0] == module:
            return self._current[1]
        entry = self._state.active_map.get(module)
        return entry.experiment if entry else "default"

    def _log_timing_start(self, module: str, step: str, when: dt.datetime) -> None:
        if not self._closed:
            self.start_timing(module, self._experiment_for(module), step, start_time=when)

    def _log_timing_end(self, module: str, step: str, when: dt.datetime, duration: float,
                        error: str | None) -> None:
        if self._closed:
            return
        experiment = self._experiment_for(module)
        key = (module, experiment, step)
        if key not in self._open_timings:
            self.start_timing(module, experiment, step,
                              start_time=when - dt.timedelta(seconds=duration))
        self.end_timing(module, experiment, step, {"error": error} if error else None,
                        end_time=when, duration=duration)

    def get_timing_records(self, module: str | None = None) -> list[TimingRecord]:
        self._flush_timings()
        return history.timings(self, module)

    def get_timing_report_data(self) -> pd.DataFrame:
        return history.timing_frame(self.get_timing_records())
