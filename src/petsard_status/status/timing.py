"""Timing records from PETsARD's log protocol.

PETsARD's adapters log ``TIMING_START|module|step|epoch``,
``TIMING_END|module|step|epoch|duration`` and
``TIMING_ERROR|module|step|epoch|duration|message`` on the ``PETsARD`` logger
hierarchy; a Status listens there and turns them into timing records.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import TYPE_CHECKING

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
