"""The immutable records the Status API returns.

Records read back from the store are *lazy*: a snapshot's metadata and context,
a change's before/after state, are decoded the first time they are touched, so
listing a long history costs rows, not metadata documents.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from petsard_status.metadata.types import SchemaMetadata


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


class Loaders(Protocol):
    """Gives, once per field name, the function that decodes that field."""

    def pop(self, name: str, /) -> Callable[[], Any]: ...


class _Deferred:
    """A record field whose value is computed from the store on first access."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        cache = obj.__dict__
        if self.name not in cache:
            cache[self.name] = cache["_loaders"].pop(self.name)()
        return cache[self.name]


def _same_fields(a: Any, b: Any) -> bool:
    return all(getattr(a, f.name) == getattr(b, f.name) for f in fields(a))


def _init_lazy(record: Any, values: dict[str, Any], loaders: Loaders) -> None:
    record.__dict__.update(values)
    record.__dict__["_loaders"] = loaders


class LazySnapshot(ExecutionSnapshot):
    """An :class:`ExecutionSnapshot` read from the store; equal to the eager one."""

    metadata_before = _Deferred()
    metadata_after = _Deferred()
    execution_context = _Deferred()

    def __init__(self, values: dict[str, Any], loaders: Loaders) -> None:
        _init_lazy(self, values, loaders)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ExecutionSnapshot):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]


class LazyChange(MetadataChange):
    """A :class:`MetadataChange` read from the store; equal to the eager one."""

    before_state = _Deferred()
    after_state = _Deferred()

    def __init__(self, values: dict[str, Any], loaders: Loaders) -> None:
        _init_lazy(self, values, loaders)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MetadataChange):
            return NotImplemented
        return _same_fields(self, other)

    __hash__ = None  # type: ignore[assignment]
