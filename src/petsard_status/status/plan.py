"""Planning a put: what it stores, decided without the database.

``Status.put`` reads what it needs (the module's previous metadata, its input's
metadata, the adapter's outputs), hands them to :func:`plan_put`, commits the
returned :class:`PutPlan`'s record in one transaction through the run
repository, and only then applies the plan's new state to itself.  A put that
fails while planning or committing leaves the Status as it was.

Frames the store keeps as files (``defer``) are not encoded while planning: the
plan holds them pending, and the commit streams them into their files first
(:meth:`PutPlan.finished`, which gives the final record), then opens the
transaction.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from petsard_status import formats
from petsard_status.errors import PutError, SerializationError
from petsard_status.formats import ActiveEntry, RunState
from petsard_status.metadata.diff import diff, preserve_unchanged
from petsard_status.metadata.types import SchemaMetadata
from petsard_status.status.checks import unstorable_property
from petsard_status.store import ChangeEntry, EncodedSchema, PutRecord

if TYPE_CHECKING:
    import pandas as pd

    from petsard_status.formats import EncodedResult, FrameWriter

# --- what some modules store beyond their result, said once ------------------------------


@dataclass(frozen=True)
class ModuleOutputs:
    """What a put stores besides the snapshot, the result and the metadata."""

    reports: Mapping[str, Any] = field(default_factory=dict)
    train_indices: list[set[int]] | None = None


def _reporter_outputs(adapter: Any, result: Any) -> ModuleOutputs:
    # A Reporter's result is its reports: they join get_report().
    if result is None:
        return ModuleOutputs()
    if not isinstance(result, dict):
        raise PutError(f"a Reporter's result must be a dict of reports, got "
                       f"{type(result).__name__}")
    return ModuleOutputs(reports={str(k): v for k, v in result.items()})


def _splitter_outputs(adapter: Any, result: Any) -> ModuleOutputs:
    # A Splitter's train index sets join get_exist_train_indices().
    method = getattr(adapter, "get_train_indices", None)
    if not callable(method):
        return ModuleOutputs()
    return ModuleOutputs(train_indices=[set(map(int, s)) for s in method()])


MODULE_OUTPUTS: dict[str, Callable[[Any, Any], ModuleOutputs]] = {
    "Reporter": _reporter_outputs,
    "Splitter": _splitter_outputs,
}


# --- the plan ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PutInputs:
    """Everything a put depends on, read before planning."""

    module: str
    experiment: str
    adapter_type: str
    sequence: tuple[str, ...]
    state: RunState
    next_snapshot: int
    next_change: int
    now: dt.datetime
    metadata: SchemaMetadata | None
    """What the adapter's ``get_metadata()`` returned (None: the module keeps none)."""
    previous: SchemaMetadata | None
    """The module's own metadata before this put."""
    input_schema: SchemaMetadata | None
    """The metadata this module received: that of the nearest active module before it."""
    input_hash: str | None
    result: Any
    outputs: ModuleOutputs
    existing_indices: list[set[int]]
    timings: tuple[dict[str, Any], ...] = ()
    context: Mapping[str, Any] = field(default_factory=dict)


_Parts = tuple["EncodedResult | None", EncodedSchema | None, "dict[str, EncodedResult]"]


@dataclass(frozen=True)
class PutPlan:
    record: PutRecord
    state: RunState
    train_indices: list[set[int]] | None
    """All train index sets after the put, when it added some."""
    stores_result: bool
    inputs: PutInputs = field(repr=False)
    parts: _Parts = field(repr=False)

    @property
    def pending(self) -> bool:
        """Whether frames are still to be written (the record's refs are provisional)."""
        result, _, reports = self.parts
        return any(r.pending for r in (result, *reports.values()) if r is not None)

    def finished(self, write: FrameWriter | None) -> PutPlan:
        """The plan once its pending frames went through ``write``: final refs and record."""
        if not self.pending:
            return self
        if write is None:
            raise PutError("this store keeps no frame files; plan the put without defer")
        result, schema, reports = self.parts
        try:
            result = formats.finish_result(result, write) if result is not None else None
            reports = {k: formats.finish_result(v, write) for k, v in reports.items()}
        except SerializationError as exc:
            where = f"{self.inputs.module}[{self.inputs.experiment}]"
            raise PutError(f"{where}: cannot store the module's output: {exc}") from exc
        return _plan(self.inputs, (result, schema, reports))


def shared_metadata(new: SchemaMetadata, previous: SchemaMetadata | None,
                    input_schema: SchemaMetadata | None) -> SchemaMetadata:
    """``new`` with unchanged fields replaced by the objects already stored.

    Re-inferred metadata carries fresh timestamps on every field; reusing the
    stored objects where nothing else changed keeps them shared across versions.
    A module's first metadata shares fields with its input's, but the schema
    itself is new and keeps its own timestamps.
    """
    if previous is not None:
        return preserve_unchanged(previous, new)
    if input_schema is not None:
        merged = preserve_unchanged(input_schema, new)
        return dataclasses.replace(merged, created_at=new.created_at, updated_at=new.updated_at)
    return new


def _encode(inputs: PutInputs, encode_schema: Callable[[SchemaMetadata], EncodedSchema],
            defer: Callable[[pd.DataFrame], bool] | None) -> _Parts:
    where = f"{inputs.module}[{inputs.experiment}]"
    try:
        result = (formats.encode_result(inputs.result, defer=defer)
                  if inputs.result is not None else None)
        schema = encode_schema(inputs.metadata) if inputs.metadata is not None else None
        reports = {k: formats.encode_result(v, defer=defer)
                   for k, v in inputs.outputs.reports.items()}
    except SerializationError as exc:
        culprit = unstorable_property(inputs.metadata) if inputs.metadata is not None else None
        hint = f" (the metadata's {culprit})" if culprit else ""
        raise PutError(f"{where}: cannot store the module's output{hint}: {exc}") from exc
    return result, schema, reports


def _changes(inputs: PutInputs, schema: EncodedSchema | None) -> list[ChangeEntry]:
    if schema is None or inputs.metadata is None:
        return []
    before = inputs.state.metadata_map.get(inputs.module)
    changes = [ChangeEntry("schema", "update" if before else "create",
                           inputs.metadata.schema_id, before, schema.hash)]
    if inputs.input_schema is not None:
        changes += [
            ChangeEntry("field", c.change_type, c.name, c.before, c.after, c.attributes)
            for c in diff(inputs.input_schema, inputs.metadata).field_changes
        ]
    return changes


def _new_state(inputs: PutInputs, result: EncodedResult | None, schema: EncodedSchema | None,
               reports: dict[str, EncodedResult],
               indices: tuple[str, bytes] | None) -> RunState:
    entry = ActiveEntry(experiment=inputs.experiment, snapshot_seq=inputs.next_snapshot,
                        result_ref=result.ref if result else None,
                        adapter_type=inputs.adapter_type)
    state = inputs.state.with_active(inputs.module, entry, list(inputs.sequence))
    if schema is not None:
        state = state.with_metadata(inputs.module, schema.hash)
    if reports:
        state = state.with_report({k: v.ref for k, v in reports.items()})
    if indices is not None:
        state = dataclasses.replace(state, train_indices=indices[0])
    return state


def plan_put(inputs: PutInputs, encode_schema: Callable[[SchemaMetadata], EncodedSchema],
             defer: Callable[[pd.DataFrame], bool] | None = None) -> PutPlan:
    """The record a put stores and the state it leaves; raises PutError, writes nothing.

    Frames for which ``defer(frame)`` holds stay pending: see :meth:`PutPlan.finished`.
    """
    return _plan(inputs, _encode(inputs, encode_schema, defer))


def _plan(inputs: PutInputs, parts: _Parts) -> PutPlan:
    where = f"{inputs.module}[{inputs.experiment}]"
    result, schema, reports = parts
    all_indices = None
    indices = None
    if inputs.outputs.train_indices is not None:
        all_indices = [*inputs.existing_indices, *inputs.outputs.train_indices]
        indices = formats.encode_indices(all_indices)
    state = _new_state(inputs, result, schema, reports, indices)
    changes = _changes(inputs, schema)
    before_hash = inputs.state.metadata_map.get(inputs.module)
    context = {
        "action": "put",
        "adapter_type": inputs.adapter_type,
        "sequence_index": (inputs.sequence.index(inputs.module)
                           if inputs.module in inputs.sequence else -1),
        "active_modules": [name for name, _ in state.active],
        "input_schema": inputs.input_hash,
        "result_type": _result_type(inputs.result),
        "schema_changed": schema is not None and schema.hash != before_hash,
        "field_changes": sum(1 for c in changes if c.target_type == "field"),
        **inputs.context,
    }
    try:
        context_json = formats.dumps_value(context)
    except SerializationError as exc:
        raise PutError(f"{where}: the execution context cannot be stored: {exc}") from exc
    record = PutRecord(
        seq=inputs.next_snapshot,
        snapshot_id=formats.record_id("snapshot", inputs.next_snapshot, inputs.now),
        module=inputs.module, experiment=inputs.experiment, timestamp=inputs.now,
        schema_before=before_hash,
        schema_after=schema.hash if schema is not None else None,
        context_json=context_json, state_json=state.to_json(),
        first_change_seq=inputs.next_change, schema=schema,
        results=tuple(r for r in (result, *reports.values()) if r is not None),
        blobs=((indices[0], "indices", indices[1]),) if indices is not None else (),
        changes=tuple(changes), timings=inputs.timings,
    )
    return PutPlan(record=record, state=state, train_indices=all_indices,
                   stores_result=result is not None, inputs=inputs, parts=parts)


def _result_type(result: Any) -> str:
    if result is None:
        return "none"
    # A module that returned a frame has loaded pandas already; Status imports this
    # module for reading commands too, which must not.
    import pandas as pd

    if isinstance(result, pd.DataFrame):
        return "frame"
    if isinstance(result, dict):
        return "dict"
    return type(result).__name__
