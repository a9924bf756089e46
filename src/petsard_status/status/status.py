"""``Status``: PETsARD's status manager, persisted.

The facade decides *what* happens; the run repository (``store/runs.py``)
decides how it is written.  A put is planned without the database
(``status/plan.py``), committed in one transaction, then applied to the live
object, which keeps only references and small caches: history is read from
the database when asked for.

The module is longer than our others because it is the whole of the seed's API
(and PETsARD's attributes) in one class; each method is short and hands the
work to ``plan.py``, ``history.py``, ``timing.py`` or the run repository.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
import secrets
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from petsard_status import formats
from petsard_status.config import Config, as_config
from petsard_status.errors import (
    ConfigError,
    LiveObjectUnavailableError,
    PetsardStatusError,
    PutError,
    SerializationError,
    StatusError,
    UnexecutedError,
)
from petsard_status.formats import ActiveEntry, RunState
from petsard_status.metadata.diff import preserve_unchanged
from petsard_status.metadata.foreign import native
from petsard_status.metadata.types import SchemaMetadata
from petsard_status.status import history
from petsard_status.status.checks import checked_metadata, name_problem
from petsard_status.status.petsard_compat import (
    adapter_metadata,
    new_schema_inferencer,
    put_arguments,
    timing_module,
)
from petsard_status.status.plan import (
    MODULE_OUTPUTS,
    ModuleOutputs,
    PutInputs,
    PutPlan,
    plan_put,
    shared_metadata,
)
from petsard_status.status.records import ExecutionSnapshot, MetadataChange, TimingRecord
from petsard_status.status.timing import Timed, TimingRecorder
from petsard_status.store import ChangeEntry, FrameWrites, RunRepository, Store, StoreArg

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger("petsard_status")

KEEP_INACTIVE_ADAPTERS = 8
RUN_NAME_LIMIT = 200  # the width of runs.name
RUN_STATES = ("running", "completed", "failed", "interrupted")


def generate_run_name() -> str:
    """A fresh run name: ``run_YYYYmmdd_HHMMSS_`` and six random hex digits."""
    return f"run_{dt.datetime.now().strftime('%Y%m%d_%H%M%S')}_{secrets.token_hex(3)}"


def _store_of(store: StoreArg) -> tuple[Store, bool]:
    """The Store for ``store``, and whether the Status owns (and so closes) it."""
    return (store, False) if isinstance(store, Store) else (Store(store), True)


class _SchemaView(Mapping[str, Any]):
    """``status.metadata``: module -> SchemaMetadata, decoded only when read."""

    def __init__(self, status: Status) -> None:
        self._status = status

    def __getitem__(self, module: str) -> Any:
        return native(self._status.store.load_schema(self._status._state.metadata_map[module]))

    def __iter__(self) -> Iterator[str]:
        return iter(self._status._state.metadata_map)

    def __contains__(self, module: object) -> bool:
        # PETsARD's Executor asks `"Loader" in status.metadata`: no need to decode for that.
        return module in self._status._state.metadata_map

    def __len__(self) -> int:
        return len(self._status._state.metadata)

    def __repr__(self) -> str:
        return f"<metadata of {list(self)}>"


class Status:
    """Records what every module of a pipeline did, in a database.

    ``Status(config, store, run)`` starts a new run; ``Status.open(run, store)``
    reopens one in any process (``read_only=True`` for a reader that never
    writes).  The methods are PETsARD's.
    """

    def __init__(
        self,
        config: Config | Mapping[str, Any] | Any,
        store: StoreArg = None,
        run: str | None = None,
        *,
        info: Mapping[str, Any] | None = None,
        max_snapshots: int = 1000,
        max_changes: int = 5000,
        max_timings: int = 10000,
    ) -> None:
        # Also PETsARD's own Config, and mappings with Splitter names already expanded.
        config = as_config(config)
        name = run or generate_run_name()
        problem = name_problem(name, limit=RUN_NAME_LIMIT)
        if problem is not None:
            raise StatusError(f"the run name {name!r} {problem}; choose another name (or none, "
                              "for a generated one)")
        the_store, owned = _store_of(store)
        try:
            run_info = {"package_version": _package_version(), "seeds": {}, **(info or {})}
            repo = RunRepository.create(the_store, name, config.to_dict(),
                                        RunState().to_json(), run_info)
        except BaseException:
            if owned:
                the_store.close()
            raise
        self._setup(config, repo, owned, RunState(), _ZERO_COUNTERS, read_only=False)
        self._created = True
        self.max_snapshots, self.max_changes, self.max_timings = (
            max_snapshots, max_changes, max_timings)

    @classmethod
    def open(cls, run: str, store: StoreArg = None, *, read_only: bool = False,
             max_snapshots: int = 1000, max_changes: int = 5000,
             max_timings: int = 10000) -> Status:
        """Reopen an existing run, as it was after its last put (or restore).

        A ``read_only`` Status writes nothing and listens to no log: opening a
        run to look at it cannot disturb the process writing it.
        """
        the_store, owned = _store_of(store)
        try:
            repo = RunRepository.open(the_store, run)
            config = Config(the_store.run_config(repo.opened_row))
            state = RunState.from_json(repo.head_json)
            counters = repo.counters()
        except BaseException:
            if owned:
                the_store.close()
            raise
        status = cls.__new__(cls)
        status._setup(config, repo, owned, state, counters, read_only=read_only)
        status.max_snapshots, status.max_changes, status.max_timings = (
            max_snapshots, max_changes, max_timings)
        return status

    def _setup(self, config: Config, repo: RunRepository, owns_store: bool, state: RunState,
               counters: Mapping[str, int], *, read_only: bool) -> None:
        self.config = config
        self.sequence: list[str] = list(config.sequence)
        self.run = repo.name
        self._repo = repo
        self._store = repo.store
        self._owns_store = owns_store
        self._read_only = read_only
        self._created = False
        self._closed = False
        self._state = state
        self._counters = dict(counters)
        self._live: dict[int, Any] = {}
        self._results: dict[str, Any] = {}
        self._train_indices: list[set[int]] | None = None
        self._inferred: dict[str, Any] = {}
        self._inferencer: Any = None
        self._timing = TimingRecorder(counters["timing"], self._store_timings,
                                      self._experiment_of,
                                      lambda name: timing_module(name, self.sequence))
        self.status: dict[str, dict[str, Any]] = {}
        self._rebuild_status()
        if not read_only:
            self._timing.listen(self)

    def close(self, *, error: BaseException | None = None) -> None:
        """Store what is pending, settle the run's state, release the connection and handler.

        A run this Status started and put into is marked ``completed`` (or
        ``failed`` with ``error``) if nothing else set its state; a run it only
        opened keeps the state its writer gave it.
        """
        if self._closed:
            return
        self._timing.stop_listening()
        try:
            if not self._read_only and self._repo.wrote:
                self._timing.flush()
                self._settle_state(error)
            elif self._timing.pending:
                # Only the run's writer stores what PETsARD logged; a Status that only
                # looked must not write, nor collide with the writer.
                log.debug("run %s: %d log timing(s) not stored by a Status that never wrote",
                          self.run, len(self._timing.pending))
        except PetsardStatusError as exc:
            log.warning("run %s: could not store what was pending at close: %s", self.run, exc)
        self._closed = True
        if self._owns_store:
            self._store.close()

    def _settle_state(self, error: BaseException | None) -> None:
        if not self._created or self._counters["snapshot"] == 0:
            return
        if self._repo.row().state != "running":
            return
        if error is None:
            self._repo.set_state("completed")
        else:
            self._repo.set_state("failed", error=f"{type(error).__name__}: {error}")

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> Status:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 _tb: object) -> None:
        self.close(error=exc if isinstance(exc, Exception) else None)

    def __repr__(self) -> str:
        return f"Status(run={self.run!r}, store={self._store.location!r})"

    @property
    def store(self) -> Store:
        return self._store

    @property
    def repository(self) -> RunRepository:
        """The run's rows in the store, for read tools (listings, pages, exports)."""
        return self._repo

    @property
    def run_id(self) -> int:
        return self._repo.id

    @property
    def metadata(self) -> Mapping[str, Any]:
        return _SchemaView(self)

    @property
    def exist_train_indices(self) -> list[set[int]]:
        return self.get_exist_train_indices()

    @property
    def report(self) -> dict[str, Any]:
        return self.get_report()

    def _check_writable(self) -> None:
        if self._closed:
            raise StatusError(f"the Status of run {self.run!r} is closed; reopen the run to "
                              "continue")
        if self._read_only:
            raise StatusError(f"run {self.run!r} was opened read-only; open it without "
                              "read_only=True to write")

    def _rebuild_status(self) -> None:
        self.status.clear()
        for module, entry in self._state.active:
            self.status[module] = {"expt": entry.experiment,
                                   "operator": self._live.get(entry.snapshot_seq)}

    # --- put ---------------------------------------------------------------------------

    def put(self, module: str, expt: str | None = None, adapter: Any = None, *,
            context: Mapping[str, Any] | None = None, **aliases: Any) -> None:
        """Record that ``module`` ran experiment ``expt``: snapshot, changes, result, state.

        One transaction: if anything fails nothing of this put is stored and the
        run is as it was before the call.  ``context`` adds entries to the
        snapshot's execution context (the executor records the flow step there).
        """
        self._check_writable()
        expt, adapter = put_arguments(expt, adapter, aliases)
        where = f"{module}[{expt}]"
        plan = plan_put(self._put_inputs(module, expt, adapter, context),
                        self._store.encode_schema, self._store.defer_frame)
        try:
            # The commit: large frames go into their files first (held until the
            # transaction ends), then one transaction names them.
            with self._store.frame_writes() as files:
                plan = plan.finished(files.write if files is not None else None)
                self._repo.append_put(plan.record, where)
        except PetsardStatusError as exc:
            if str(exc).startswith(where):
                raise
            raise type(exc)(f"{where}: {exc}") from exc
        self._apply(plan, adapter)

    def _put_inputs(self, module: str, expt: str, adapter: Any,
                    context: Mapping[str, Any] | None) -> PutInputs:
        # A module outside the sequence is accepted, as PETsARD does: it has no input
        # schema and re-putting it drops nothing.
        problem = name_problem(module)
        if problem is not None:
            raise PutError(f"the module name {module!r} {problem}")
        problem = name_problem(expt)
        if problem is not None:
            raise PutError(f"{module}[{expt!r}]: the experiment name {problem}; use the "
                           "experiment's name from the config")
        where = f"{module}[{expt}]"
        previous_hash = self._state.metadata_map.get(module)
        previous = self._store.load_schema(previous_hash) if previous_hash else None
        input_hash = self._input_hash(module)
        input_schema = self._store.load_schema(input_hash) if input_hash else None
        found, from_petsard = adapter_metadata(module, adapter)
        metadata = checked_metadata(found, where)
        # Not for PETsARD's metadata: it must come back equal, timestamps included.
        if metadata is not None and not from_petsard:
            metadata = shared_metadata(metadata, previous, input_schema)
        try:
            result = adapter.get_result()
        except Exception as exc:
            raise PutError(f"{where}: the adapter's get_result() failed: {exc}") from exc
        outputs = MODULE_OUTPUTS.get(module, lambda a, r: ModuleOutputs())
        try:
            module_outputs = outputs(adapter, result)
        except PutError as exc:
            raise PutError(f"{where}: {exc}") from exc
        return PutInputs(
            module=module, experiment=expt, adapter_type=type(adapter).__name__,
            sequence=tuple(self.sequence), state=self._state,
            next_snapshot=self._counters["snapshot"] + 1,
            next_change=self._counters["change"] + 1, now=dt.datetime.now(),
            metadata=metadata, previous=previous, input_schema=input_schema,
            input_hash=input_hash, result=result, outputs=module_outputs,
            existing_indices=(self.get_exist_train_indices()
                              if module_outputs.train_indices is not None else []),
            timings=tuple(self._timing.take_pending()), context=dict(context or {}),
        )

    def _apply(self, plan: PutPlan, adapter: Any) -> None:
        record = plan.record
        self._timing.stored(len(record.timings))
        self._counters["snapshot"] = record.seq
        self._counters["change"] = record.first_change_seq - 1 + len(record.changes)
        self._state = plan.state
        self._live[record.seq] = adapter
        # Adapters hold data the store already has: keep those of active modules and a
        # few recent others (a restore to a recent snapshot gets its live objects back),
        # not every frame a long run ever made.
        active_seqs = {entry.snapshot_seq for _, entry in plan.state.active}
        inactive = [s for s in self._live if s not in active_seqs]
        for stale in inactive[: max(0, len(inactive) - KEEP_INACTIVE_ADAPTERS)]:
            del self._live[stale]
        if plan.train_indices is not None:
            self._train_indices = plan.train_indices
        if plan.stores_result:
            self._results.clear()
        self._rebuild_status()

    def _input_hash(self, module: str) -> str | None:
        """Metadata of the nearest module before ``module`` that is active and has some."""
        if module not in self.sequence:
            return None
        active, metadata = self._state.active_map, self._state.metadata_map
        for earlier in reversed(self.sequence[: self.sequence.index(module)]):
            if earlier in active and earlier in metadata:
                return metadata[earlier]
        return None

    # --- the classic getters ------------------------------------------------------------

    def get_pre_module(self, curr_module: str) -> str | None:
        index = self.sequence.index(curr_module)
        return None if index == 0 else self.sequence[index - 1]

    def _entry(self, module: str) -> ActiveEntry:
        entry = self._state.active_map.get(module)
        if entry is None:
            raise UnexecutedError(f"{module} has not run in run {self.run!r} (active modules: "
                                  f"{list(self._state.active_map)})")
        return entry

    def _load_result(self, ref: str) -> Any:
        if ref not in self._results:
            self._results[ref] = self._store.load_result(ref)
        return self._results[ref]

    def get_result(self, module: str) -> pd.DataFrame | dict[str, Any] | None:
        entry = self._entry(module)
        adapter = self._live.get(entry.snapshot_seq)
        if adapter is not None:
            return adapter.get_result()
        return self._load_result(entry.result_ref) if entry.result_ref else None

    def get_full_expt(self, module: str | None = None) -> dict[str, str]:
        active = self._state.active_map
        if module is None:
            # As PETsARD: the modules of the sequence, not those put from outside it.
            return {name: entry.experiment for name, entry in active.items()
                    if name in self.sequence}
        if module not in self.sequence:
            raise ConfigError(f"module {module!r} is not in this run's sequence {self.sequence}")
        upto = self.sequence[: self.sequence.index(module) + 1]
        return {name: active[name].experiment for name in upto if name in active}

    def get_metadata(self, module: str = "Loader") -> Any:
        """The module's metadata: a SchemaMetadata, or PETsARD's Schema if it gave one
        (a new object per call, which the caller may change)."""
        digest = self._state.metadata_map.get(module)
        if digest is None:
            raise UnexecutedError(f"no metadata for {module} in run {self.run!r}")
        return native(self._store.load_schema(digest))

    def set_metadata(self, module: str, metadata: SchemaMetadata) -> None:
        """Set a module's metadata outside a put; recorded as a schema change."""
        self._check_writable()
        before = self._state.metadata_map.get(module)
        if before is not None:
            # As in put: what differs only in timestamps shares the stored version.
            metadata = preserve_unchanged(self._store.load_schema(before), metadata)
        encoded = self._store.encode_schema(metadata)
        entry = self._state.active_map.get(module)
        experiment = entry.experiment if entry is not None else ""
        seq = self._counters["change"] + 1
        change = ChangeEntry("schema", "update" if before else "create", metadata.schema_id,
                             before, encoded.hash)
        new_state = self._state.with_metadata(module, encoded.hash)
        self._repo.replace_head(new_state.to_json(), f"set_metadata({module})", schema=encoded,
                                change=(seq, self._counters["snapshot"], module, experiment,
                                        change))
        self._counters["change"] = seq
        self._state = new_state

    def get_synthesizer(self) -> Any:
        return self._live_attribute("Synthesizer", "synthesizer")

    def get_processor(self) -> Any:
        return self._live_attribute("Preprocessor", "processor")

    def _live_attribute(self, module: str, attribute: str) -> Any:
        entry = self._entry(module)
        adapter = self._live.get(entry.snapshot_seq)
        if adapter is None:
            error = LiveObjectUnavailableError(
                f"the {module}'s fitted {attribute} is not in this process (live objects "
                f"are not stored); run {module}[{entry.experiment}] again to rebuild it"
            )
            error.module = module
            raise error
        return getattr(adapter, attribute)

    def attach_live(self, module: str, adapter: Any) -> None:
        """Give the active ``module`` a live adapter rebuilt in this process.

        Used when resuming: the module's stored result stays what it was; only
        its live objects (``get_processor``, ``get_synthesizer``) come back.
        """
        self._live[self._entry(module).snapshot_seq] = adapter
        self._rebuild_status()

    def get_data_by_module(self, modules: str | list[str]) -> dict[str, Any]:
        """The active modules' frames, as PETsARD: a dict result (the Splitter's) gives
        ``Module_key`` entries, one per frame in it (PETsARD's adapters look them up so)."""
        # Here, not at the top: a Status opened only to read its history needs no pandas.
        import pandas as pd

        names = [modules] if isinstance(modules, str) else list(modules)
        out: dict[str, Any] = {}
        for name in (n for n in names if n in self.status):
            result = self.get_result(name)
            if isinstance(result, pd.DataFrame):
                out[name] = result
            elif isinstance(result, dict):
                out.update({f"{name}_{key}": value for key, value in result.items()
                            if isinstance(value, pd.DataFrame)})
        return out

    def get_preprocessor_input_schema(self) -> Any:
        """The metadata the Preprocessor receives: that of the last module before it."""
        if "Preprocessor" not in self.sequence:
            return None
        digest = self._input_hash("Preprocessor")
        return native(self._store.load_schema(digest)) if digest else None

    # --- what PETsARD's Executor reads and writes ----------------------------------------

    @property
    def inferred_schemas(self) -> dict[str, Any]:
        """PETsARD's predicted schemas per module; kept in this process only."""
        return self._inferred

    @property
    def schema_inferencer(self) -> Any:
        """PETsARD's own ``SchemaInferencer`` (imports PETsARD on first use)."""
        if self._inferencer is None:
            self._inferencer = new_schema_inferencer()
        return self._inferencer

    @property
    def preprocessor_input_schema(self) -> Any:
        return self.get_preprocessor_input_schema()

    # --- train indices, reports, validation results -------------------------------------

    def get_exist_train_indices(self) -> list[set[int]]:
        if self._train_indices is None:
            ref = self._state.train_indices
            self._train_indices = (formats.decode_indices(self._store.load_blob(ref))
                                   if ref else [])
        return [set(s) for s in self._train_indices]

    def update_exist_train_indices(self, new_indices: list[Any]) -> None:
        self._check_writable()
        sets = [*self.get_exist_train_indices(), *(set(map(int, s)) for s in new_indices)]
        digest, data = formats.encode_indices(sets)
        new_state = dataclasses.replace(self._state, train_indices=digest)
        self._repo.replace_head(new_state.to_json(), f"run {self.run!r}: train indices",
                                blobs=[(digest, "indices", data)])
        self._state, self._train_indices = new_state, sets

    def set_report(self, report: dict[str, Any]) -> None:
        self._check_writable()
        if not isinstance(report, dict):
            raise StatusError(f"a report must be a dict, got {type(report).__name__}")
        with self._store.frame_writes() as files:
            try:
                encoded = {str(k): self._encode_now(v, files) for k, v in report.items()}
            except SerializationError as exc:
                raise PutError(f"set_report: {exc}") from exc
            new_state = self._state.with_report({k: e.ref for k, e in encoded.items()})
            self._repo.replace_head(new_state.to_json(), f"run {self.run!r}: set_report",
                                    results=list(encoded.values()))
        self._state = new_state

    def _encode_now(self, value: Any, files: FrameWrites | None) -> formats.EncodedResult:
        """A result stored outside a put: its large frames go into their files at once."""
        if files is None:
            return formats.encode_result(value)
        return formats.finish_result(
            formats.encode_result(value, defer=self._store.defer_frame), files.write)

    def get_report(self) -> dict[str, Any]:
        return {name: self._load_result(ref) for name, ref in self._state.report}

    def put_validation_result(self, module: str, result: dict[str, Any]) -> None:
        self._check_writable()
        try:
            document = formats.dumps_value(result)
        except SerializationError as exc:
            raise PutError(f"put_validation_result({module}): {exc}") from exc
        new_state = self._state.with_validation(module, document)
        self._repo.replace_head(new_state.to_json(),
                                f"run {self.run!r}: validation result of {module}")
        self._state = new_state

    def get_validation_result(self, module: str | None = None) -> dict[str, Any] | None:
        values = {name: formats.loads_value(doc) for name, doc in self._state.validation}
        return values if module is None else values.get(module)

    # --- history ------------------------------------------------------------------------

    def get_snapshots(self, module: str | None = None) -> history.History[ExecutionSnapshot]:
        """Every put's snapshot (of one module), oldest first, read page by page."""
        return history.snapshots(self._repo, module)  # type: ignore[return-value]

    def get_snapshot_by_id(self, snapshot_id: str) -> ExecutionSnapshot | None:
        row = self._repo.snapshot(snapshot_id)
        return history.snapshot_record(self._store, row) if row is not None else None

    def get_change_history(self, module: str | None = None
                           ) -> history.History[MetadataChange]:
        return history.changes(self._repo, module)  # type: ignore[return-value]

    def get_metadata_evolution(self, module: str = "Loader"
                               ) -> history.History[SchemaMetadata]:
        """Each distinct metadata version the module had, once, in the order it first appeared."""
        return history.metadata_evolution(self._repo, module)

    def get_status_summary(self) -> dict[str, Any]:
        counts = history.summary_counts(self._repo)
        return {
            "run": self.run, "state": counts.pop("state"), "sequence": list(self.sequence),
            "active_modules": list(self.status), "metadata_modules": list(self.metadata),
            **counts,
        }

    def restore_from_snapshot(self, snapshot_id: str) -> bool:
        """Rewind the live state to right after ``snapshot_id``; False if there is none.

        The restore is recorded; nothing earlier is rewritten, and later puts
        continue from the restored state.
        """
        self._check_writable()
        found = self._repo.snapshot_state(snapshot_id)
        if found is None:
            return False
        state = RunState.from_json(found[1])
        seq = self._counters["restore"] + 1
        self._repo.record_restore(seq, snapshot_id, self._counters["snapshot"], found[1])
        self._counters["restore"] = seq
        self._state = state
        self._train_indices = None
        self._rebuild_status()
        log.info("run %s restored to %s", self.run, snapshot_id)
        return True

    # --- timing -------------------------------------------------------------------------

    def _store_timings(self, rows: list[dict[str, Any]]) -> None:
        self._check_writable()
        self._repo.append_timings(rows)

    def _experiment_of(self, module: str) -> str:
        if module in self.sequence:
            experiments = self.config.experiments(module)
            if len(experiments) == 1:
                return experiments[0]
        entry = self._state.active_map.get(module)
        return entry.experiment if entry else "default"

    def running(self, module: str, experiment: str) -> contextlib.AbstractContextManager[None]:
        """Mark the step that runs: PETsARD's log timings get its experiment, and the
        other Statuses of this process ignore them meanwhile."""
        return self._timing.running(module, experiment)

    def start_timing(self, module: str, experiment: str, step: str,
                     context: dict[str, Any] | None = None,
                     start_time: dt.datetime | None = None) -> str:
        self._check_writable()
        return self._timing.start(module, experiment, step, context, start_time)

    def end_timing(self, module: str, experiment: str, step: str,
                   context: dict[str, Any] | None = None,
                   end_time: dt.datetime | None = None, duration: float | None = None,
                   defer: bool = False) -> TimingRecord | None:
        """Finish a timing record and store it.

        ``defer=True`` stores it with the next put, in that put's transaction (one
        commit per step instead of two); reading timings or closing stores it too.
        """
        self._check_writable()
        return self._timing.end(module, experiment, step, context, end_time, duration, defer)

    def timing(self, module: str, experiment: str, step: str,
               context: dict[str, Any] | None = None) -> Timed:
        """Time a block; an exception is recorded in the record's context as ``error``."""
        return Timed(self, module, experiment, step, context)

    def get_timing_records(self, module: str | None = None) -> list[TimingRecord]:
        if not self._read_only and not self._closed and self._repo.wrote:
            self._timing.flush()
        return [history.timing_record(row) for row in self._repo.timing_rows(module)]

    def get_timing_report_data(self) -> pd.DataFrame:
        return history.timing_frame(self.get_timing_records())

    # --- run state ----------------------------------------------------------------------

    def set_run_state(self, state: str, *, error: str | None = None,
                      failed_step: str | None = None) -> None:
        """Mark the run running, completed, failed or interrupted."""
        if state not in RUN_STATES:
            raise StatusError(f"unknown run state {state!r}")
        self._check_writable()
        self._repo.set_state(state, error=error, failed_step=failed_step)

    def run_info(self) -> dict[str, Any]:
        row = self._repo.row()
        return {
            "name": row.name, "state": row.state, "error": row.error,
            "failed_step": row.failed_step, "created_at": row.created_at,
            "updated_at": row.updated_at, "finished_at": row.finished_at,
            "info": formats.loads_value(row.info_json),
        }

    def update_run_info(self, **values: Any) -> None:
        self._check_writable()
        info = self.run_info()["info"]
        info.update(values)
        self._repo.set_info(info)

    def count(self, table: str) -> int:
        return self._repo.count(table)

    def snapshot_ids(self) -> list[tuple[int, str]]:
        """(number, id) of every snapshot, oldest first."""
        return self._repo.snapshot_ids()

    def steps_done(self) -> dict[str, str]:
        """Flow step key -> the run state right after it, for every step already put."""
        return self._repo.steps_done()


_ZERO_COUNTERS = {"snapshot": 0, "change": 0, "timing": 0, "restore": 0}


def _package_version() -> str:
    from petsard_status._version import __version__

    return __version__
