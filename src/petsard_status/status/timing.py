"""Timing records: explicit calls, a context manager, and PETsARD's log protocol.

PETsARD's adapters log ``TIMING_START|module|step|epoch``,
``TIMING_END|module|step|epoch|duration`` and
``TIMING_ERROR|module|step|epoch|duration|message`` on the ``PETsARD`` logger
hierarchy; a writing Status listens there and turns them into timing records.

Records that come from log lines are kept until the Status next writes (they
go into that put's transaction), so a log call never touches the database and
never raises; a Status opened only to read attaches no handler at all.  The
level of the ``PETsARD`` logger is never changed: it belongs to the
application.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from petsard_status import formats
from petsard_status.status.records import TimingRecord

LOGGER_NAME = "PETsARD"


class TimingLogHandler(logging.Handler):
    """Feeds ``TIMING_*`` log messages into a :class:`TimingRecorder`."""

    def __init__(self, recorder: TimingRecorder) -> None:
        super().__init__(level=logging.DEBUG)
        self.recorder = recorder

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if message.startswith("TIMING_"):
                self._handle(message.split("|"))
        except Exception:  # noqa: S110 - a log line must never break the pipeline
            pass

    def _handle(self, parts: list[str]) -> None:
        kind, module, step = parts[0], parts[1], parts[2]
        when = dt.datetime.fromtimestamp(float(parts[3]))
        if kind == "TIMING_START":
            self.recorder.log_start(module, step, when)
        elif kind in ("TIMING_END", "TIMING_ERROR"):
            error = "|".join(parts[5:]) if kind == "TIMING_ERROR" else None
            self.recorder.log_end(module, step, when, float(parts[4]), error or None)


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
    names the experiment a log line belongs to (the running one, else the
    module's active one).
    """

    def __init__(self, last_seq: int, store_rows: Callable[[list[dict[str, Any]]], None],
                 experiment_of: Callable[[str], str]) -> None:
        self._seq = last_seq
        self._store_rows = store_rows
        self._experiment_of = experiment_of
        self._open: dict[tuple[str, str, str], tuple[int, TimingRecord]] = {}
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

    def listen(self) -> None:
        self._handler = TimingLogHandler(self)
        logging.getLogger(LOGGER_NAME).addHandler(self._handler)

    def stop_listening(self) -> None:
        if self._handler is not None:
            logging.getLogger(LOGGER_NAME).removeHandler(self._handler)
            self._handler = None

    def _experiment(self, module: str) -> str:
        if self.current and self.current[0] == module:
            return self.current[1]
        return self._experiment_of(module)

    def log_start(self, module: str, step: str, when: dt.datetime) -> None:
        self.start(module, self._experiment(module), step, start_time=when)

    def log_end(self, module: str, step: str, when: dt.datetime, duration: float,
                error: str | None) -> None:
        experiment = self._experiment(module)
        if (module, experiment, step) not in self._open:
            self.start(module, experiment, step,
                       start_time=when - dt.timedelta(seconds=duration))
        self.end(module, experiment, step, {"error": error} if error else None,
                 end_time=when, duration=duration, defer=True)
