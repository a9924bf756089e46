"""The immutable records the Status API returns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from petsard_status.metadata.types import SchemaMetadata


def stamp(now: dt.datetime) -> str:
    """The local-time part of record ids: ``snapshot_000001_20261128_210000``."""
    return now.strftime("%Y%m%d_%H%M%S")


@dataclass(frozen=True)
class ExecutionSnapshot:
    """The state of one module execution: its metadata before and after, and context."""

    snapshot_id: str
    module_name: str
    experiment_name: str
    timestamp: dt.datetime
    metadata_before: SchemaMetadata | None = None
    metadata_after: SchemaMetadata | None = None
    execution_context: dict[str, Any] = field(default_factory=dict)

    @property
    def context(self) -> dict[str, Any]:
        """Alias of ``execution_context``."""
        return self.execution_context


@dataclass(frozen=True)
class MetadataChange:
    """One change of metadata: a schema, or one field of it, created, updated or deleted.

    ``before_state`` and ``after_state`` are ``SchemaMetadata`` for schema
    changes and ``FieldMetadata`` for field changes.  ``attributes`` names what
    changed in a field update (``("data_type", "stats")``).
    """

    change_id: str
    change_type: str
    target_type: str
    target_id: str
    before_state: Any | None = None
    after_state: Any | None = None
    timestamp: dt.datetime = field(default_factory=dt.datetime.now)
    module_context: str = ""
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True)
class TimingRecord:
    """How long one step of one module took."""

    record_id: str
    module_name: str
    experiment_name: str
    step_name: str
    start_time: dt.datetime
    end_time: dt.datetime | None = None
    duration_seconds: float | None = None
    context: dict[str, Any] = field(default_factory=dict)

    def complete(
        self, end_time: dt.datetime | None = None, context: dict[str, Any] | None = None
    ) -> TimingRecord:
        """A finished copy of this record."""
        end = end_time or dt.datetime.now()
        merged = {**self.context, **(context or {})}
        return TimingRecord(
            self.record_id,
            self.module_name,
            self.experiment_name,
            self.step_name,
            self.start_time,
            end,
            round((end - self.start_time).total_seconds(), 6),
            merged,
        )
