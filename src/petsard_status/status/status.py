"""``Status``: PETsARD's status manager, persisted.

Every put is one transaction that writes the snapshot, its change records, the
result and the run's new head state.  The live object keeps only references
and small caches; history is read from the database when asked for.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import os
import secrets
from collections.abc import Iterator, Mapping
from typing import Any

import pandas as pd
from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import IntegrityError

from petsard_status.config import Config, as_config
from petsard_status.errors import (
    ConcurrentWriterError,
    ConfigError,
    CorruptDataError,
    LiveObjectUnavailableError,
    PetsardStatusError,
    PutError,
    SerializationError,
    StatusError,
    UnexecutedError,
)
from petsard_status.metadata import codec, native
from petsard_status.metadata.diff import diff, preserve_unchanged
from petsard_status.metadata.types import SchemaMetadata
from petsard_status.status import history
from petsard_status.status.checks import (
    is_duplicate,
    metadata_name_problem,
    name_problem,
    unstorable_property,
)
from petsard_status.status.petsard_compat import (
    PetsardCompatMixin,
    adapter_metadata,
    put_arguments,
)
from petsard_status.status.records import (
    ExecutionSnapshot,
    MetadataChange,
    TimingRecord,
    stamp,
)
from petsard_status.status.reports import ReportsMixin
from petsard_status.status.state import ActiveEntry, RunState, encode_indices
from petsard_status.status.timing import TimingMixin, attach, detach
from petsard_status.store import models as m
from petsard_status.store.results import encode_result
from petsard_status.store.store import Store

log = logging.getLogger("petsard_status")

StoreArg = str | os.PathLike[str] | URL | Engine | Store | None

KEEP_INACTIVE_ADAPTERS = 8
RUN_NAME_LIMIT = 200  # the width of runs.name

# Built once: a statement made per put costs its construction and cache-key
# walk on every call, which is a visible share of a small put.
_INSERT_SNAPSHOT = insert(m.snapshots)
_UPDATE_HEAD = update(m.runs).where(m.runs.c.id == bindparam("run")).values(
    head_json=bindparam("head"), updated_at=bindparam("at"))


def _generated_run_name() -> str:
    return f"run_{stamp(dt.datetime.now())}_{secrets.token_hex(3)}"


class _SchemaView(Mapping[str, SchemaMetadata]):
    """``status.metadata``: module -> SchemaMetadata, decoded only when read."""

    def __init__(self, status: Status) -> None:
        self._status = status

    def __getitem__(self, module: str) -> Any:
        digest = self._status._state.metadata_map[module]
        return native(self._status._store.load_schema(digest))

    def __iter__(self) -> Iterator[str]:
        return iter(self._status._state.metadata_map)

    def __contains__(self, module: object) -> bool:
        # PETsARD's Executor asks `"Loader" in status.metadata`: no need to decode for that.
        return module in self._status._state.metadata_map

    def __len__(self) -> int:
        return len(self._status._state.metadata)

    def __repr__(self) -> str:
        return f"<metadata of {list(self)}>"


class Status(TimingMixin, ReportsMixin, PetsardCompatMixin):
    """Records what every module of a pipeline did, in a database.

    ``Status(config, store, run)`` starts a new run; ``Status.open(run, store)``
    reopens one in any process.  The methods are PETsARD's.
    """

    def __init__(
        self,
        config: Config | Mapping[str, Any] | Any,
        store: StoreArg = None,
        run: str | None = None,
        *,
        max_snapshots: int = 1000,
        max_changes: int = 5000,
        max_timings: int = 10000,
        _existing: Any = None,
    ) -> None:
        # Also PETsARD's own Config, and mappings with Splitter names already expanded.
        self.config = as_config(config)
        self.sequence: list[str] = list(self.config.sequence)
        self.max_snapshots = max_snapshots
        self.max_changes = max_changes
        self.max_timings = max_timings
        self._owns_store = not isinstance(store, Store)
        self._store = store if isinstance(store, Store) else Store(store)
        self._closed = False
        self._live: dict[int, Any] = {}
        self._results: dict[str, Any] = {}
        self._train_indices: list[set[int]] | None = None
        self._open_timings: dict[tuple[str, str, str], TimingRecord] = {}
        self._pending_timings: list[dict[str, Any]] = []
        self._current: tuple[str, str] | None = None
        try:
            if _existing is None:
                self.run = run or _generated_run_name()
                problem = name_problem(self.run, limit=RUN_NAME_LIMIT)
                if problem is not None:
                    raise StatusError(f"the run name {self.run!r} {problem}; choose another "
                                      "name (or none, for a generated one)")
                self._state = RunState()
                info = {"package_version": _package_version(), "seeds": {}}
                self._run_id = self._store.create_run(
                    self.run, self.config.to_dict(), self._state.to_json(), info
                )
                self._counters = {"snapshot": 0, "change": 0, "timing": 0, "restore": 0}
            else:
                self.run = _existing.name
                self._run_id = _existing.id
                self._state = RunState.from_json(_existing.head_json)
                self._counters = self._store.read(self._load_counters)
        except BaseException:
            if self._owns_store:
                self._store.close()
            raise
        self.status: dict[str, dict[str, Any]] = {}
        self._rebuild_status()
        self._handler = attach(self)

    # --- opening and closing -----------------------------------------------------------

    @classmethod
    def open(cls, run: str, store: StoreArg = None, **limits: int) -> Status:
        """Reopen an existing run, as it was after its last put (or restore)."""
        owned = not isinstance(store, Store)
        the_store = store if isinstance(store, Store) else Store(store)
        try:
            row = the_store.run_row(run)
            config = Config(the_store.run_config(row))
        except BaseException:
            if owned:
                the_store.close()
            raise
        try:
            status = cls(config, the_store, _existing=row, **limits)
        except BaseException:
            # The constructor does not own a Store it is given; this one is ours to close.
            if owned:
                the_store.close()
            raise
        status._owns_store = owned
        return status

    def close(self) -> None:
        """Release the database connection and the timing log handler."""
        if self._closed:
            return
        try:
            self._flush_timings()
        except PetsardStatusError as exc:
            log.warning("run %s: %d timing record(s) could not be stored: %s",
                        self.run, len(self._pending_timings), exc)
        self._closed = True
        detach(self._handler)
        if self._owns_store:
            self._store.close()

    def __enter__(self) -> Status:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Status(run={self.run!r}, store={self._store.location!r})"

    @property
    def store(self) -> Store:
        return self._store

    @property
    def run_id(self) -> int:
        return self._run_id

    @property
    def metadata(self) -> Mapping[str, Any]:
        return _SchemaView(self)

    @property
    def exist_train_indices(self) -> list[set[int]]:
        return self.get_exist_train_indices()

    @property
    def report(self) -> dict[str, Any]:
        return self.get_report()

    def _load_counters(self, conn: Connection) -> dict[str, int]:
        tables = {"snapshot": m.snapshots, "change": m.changes, "timing": m.timings,
                  "restore": m.restores}
        return {name: self._store.max_seq(conn, t, self._run_id) for name, t in tables.items()}

    def _check_open(self) -> None:
        if self._closed:
            raise StatusError(f"the Status of run {self.run!r} is closed; reopen it with "
                              f"Status.open({self.run!r}, ...)")

    def _rebuild_status(self) -> None:
        self.status.clear()
        for module, entry in self._state.active:
            self.status[module] = {
                "expt": entry.experiment,
                "operator": self._live.get(entry.snapshot_seq),
            }

    # --- put ---------------------------------------------------------------------------

    def put(
        self,
        module: str,
        experiment: str | None = None,
        adapter: Any = None,
        *,
        context: Mapping[str, Any] | None = None,
        **aliases: Any,
    ) -> None:
        """Record that ``module`` ran ``experiment``: snapshot, changes, result, state.

        One transaction: if anything fails nothing of this put is stored and the
        run is as it was before the call.  ``context`` adds entries to the
        snapshot's execution context (the executor records the flow step there).
        """
        self._check_open()
        experiment, adapter = put_arguments(experiment, adapter, aliases)
        # A module outside the sequence is accepted, as upstream does: it has no input
        # schema and its re-put drops nothing.
        problem = name_problem(module)
        if problem is not None:
            raise PutError(f"the module name {module!r} {problem}")
        problem = name_problem(experiment)
        if problem is not None:
            raise PutError(f"{module}[{experiment!r}]: the experiment name {problem}; "
                           "use the experiment's name from the config")
        where = f"{module}[{experiment}]"
        now = dt.datetime.now()
        seq = self._counters["snapshot"] + 1
        state = self._state
        metadata_map = state.metadata_map
        before_hash = metadata_map.get(module)
        input_schema = self._input_schema(module)

        new_metadata, is_petsard = adapter_metadata(module, adapter)
        if new_metadata is not None and not isinstance(new_metadata, SchemaMetadata):
            raise PutError(
                f"{where}: get_metadata() returned {type(new_metadata).__name__}, not "
                "SchemaMetadata or None"
            )
        if new_metadata is not None:
            problem = metadata_name_problem(new_metadata)
            if problem is not None:
                raise PutError(f"{where}: the metadata from get_metadata() cannot be stored: "
                               f"{problem}")
            # Re-inferred metadata carries fresh timestamps on every field; reuse the
            # previous objects where nothing else changed so that they stay shared.
            # Not for PETsARD's metadata: it must come back equal, timestamps included.
            if before_hash and not is_petsard:
                new_metadata = preserve_unchanged(self._store.load_schema(before_hash),
                                                  new_metadata)
            elif input_schema is not None and not is_petsard:
                # A module's first metadata shares unchanged fields with its input's,
                # but the schema itself is new: it keeps its own timestamps.
                merged = preserve_unchanged(input_schema, new_metadata)
                new_metadata = dataclasses.replace(
                    merged, created_at=new_metadata.created_at,
                    updated_at=new_metadata.updated_at,
                )
        try:
            result = adapter.get_result()
        except Exception as exc:
            raise PutError(f"{where}: the adapter's get_result() failed: {exc}") from exc
        try:
            encoded_result = encode_result(result) if result is not None else None
            encoded_schema = (
                self._store.encode_schema(new_metadata) if new_metadata is not None else None
            )
            report_items = {}
            if module == "Reporter" and isinstance(result, dict):
                report_items = {str(k): encode_result(v) for k, v in result.items()}
            new_indices = None
            if module == "Splitter" and hasattr(adapter, "get_train_indices"):
                new_indices = [set(map(int, s)) for s in adapter.get_train_indices()]
        except SerializationError as exc:
            culprit = unstorable_property(new_metadata) if new_metadata is not None else None
            hint = f" (the metadata's {culprit})" if culprit else ""
            raise PutError(f"{where}: cannot store the module's output{hint}: {exc}") from exc
        if module == "Reporter" and result is not None and not isinstance(result, dict):
            raise PutError(f"{where}: a Reporter's result must be a dict of reports, got "
                           f"{type(result).__name__}")

        after_hash = encoded_schema.hash if encoded_schema else before_hash
        entry = ActiveEntry(
            experiment=experiment,
            snapshot_seq=seq,
            result_ref=encoded_result.ref if encoded_result else None,
            adapter_type=type(adapter).__name__,
        )
        new_state = state.with_active(module, entry, self.sequence)
        if encoded_schema is not None:
            new_state = new_state.with_metadata(module, encoded_schema.hash)
        if report_items:
            new_state = new_state.with_report({k: v.ref for k, v in report_items.items()})
        indices_blob = None
        if new_indices is not None:
            all_sets = [*self.get_exist_train_indices(), *new_indices]
            indices_blob = encode_indices(all_sets)
            new_state = dataclasses.replace(new_state, train_indices=indices_blob[0])

        changes = []
        if encoded_schema is not None:
            changes.append(("schema", "update" if module in metadata_map else "create",
                            new_metadata.schema_id, before_hash, encoded_schema.hash, None))
            if input_schema is not None:
                for change in diff(input_schema, new_metadata).field_changes:
                    changes.append(("field", change.change_type, change.name, change.before,
                                    change.after, change.attributes))

        context = {
            "action": "put",
            "adapter_type": type(adapter).__name__,
            "sequence_index": self.sequence.index(module) if module in self.sequence else -1,
            "active_modules": [name for name, _ in new_state.active],
            "input_schema": self._input_hash(module),
            "result_type": _result_type(result),
            "schema_changed": encoded_schema is not None and encoded_schema.hash != before_hash,
            "field_changes": sum(1 for c in changes if c[0] == "field"),
            **(context or {}),
        }
        try:
            context_json = codec.dumps_value(context)
        except SerializationError as exc:
            raise PutError(f"{where}: the execution context cannot be stored: {exc}") from exc
        snapshot_id = f"snapshot_{seq:06d}_{stamp(now)}"
        state_json = new_state.to_json()
        change_seq0 = self._counters["change"]
        fresh: set[str] = set()

        pending_timings = list(self._pending_timings)

        def work(conn: Connection) -> None:
            # The store retries a transaction that a deadlock or a busy database
            # aborted: what an aborted attempt inserted is gone, so insert it again.
            fresh.clear()
            store = self._store
            if pending_timings:
                conn.execute(insert(m.timings), pending_timings)
            if encoded_schema is not None:
                store.insert_schema(conn, encoded_schema, fresh)
            if encoded_result is not None:
                store.insert_blobs(conn, encoded_result, fresh)
            for item in report_items.values():
                store.insert_blobs(conn, item, fresh)
            if indices_blob is not None:
                store.insert_blob(conn, indices_blob[0], "indices", indices_blob[1], fresh)
            conn.execute(_INSERT_SNAPSHOT, {
                "run_id": self._run_id, "seq": seq, "snapshot_id": snapshot_id,
                "module": module, "experiment": experiment, "timestamp": now,
                "schema_before": before_hash,
                "schema_after": after_hash if encoded_schema is not None else None,
                "context_json": context_json, "state_json": state_json,
            })
            rows = []
            for offset, (target, kind, target_id, before, after, attrs) in enumerate(changes, 1):
                cseq = change_seq0 + offset
                row = {
                    "run_id": self._run_id, "seq": cseq,
                    "change_id": f"change_{cseq:06d}_{stamp(now)}", "snapshot_seq": seq,
                    "change_type": kind, "target_type": target, "target_id": target_id,
                    "module": module, "experiment": experiment, "module_context": where,
                    "timestamp": now, "before_schema": None, "after_schema": None,
                    "before_field": None, "after_field": None,
                    "attributes": json.dumps(list(attrs)) if attrs is not None else None,
                }
                if target == "schema":
                    row["before_schema"], row["after_schema"] = before, after
                else:
                    if before is not None:
                        row["before_field"] = store.insert_field(conn, before, fresh)
                    if after is not None:
                        row["after_field"] = store.insert_field(conn, after, fresh)
                rows.append(row)
            if rows:
                conn.execute(insert(m.changes), rows)
            conn.execute(_UPDATE_HEAD, {"run": self._run_id, "head": state_json, "at": now})

        self._write(work, where)
        self._store.committed(fresh)
        del self._pending_timings[: len(pending_timings)]
        self._counters["snapshot"] = seq
        self._counters["change"] = change_seq0 + len(changes)
        self._state = new_state
        self._live[seq] = adapter
        # Adapters hold data the store already has: keep those of active modules and a
        # few recent others (a restore to a recent snapshot gets its live objects back),
        # not every frame a long run ever made.
        active_seqs = {entry.snapshot_seq for _, entry in new_state.active}
        inactive = [s for s in self._live if s not in active_seqs]
        for stale in inactive[: max(0, len(inactive) - KEEP_INACTIVE_ADAPTERS)]:
            del self._live[stale]
        if new_indices is not None:
            self._train_indices = [*self.get_exist_train_indices(), *new_indices]
        if encoded_result is not None:
            self._results.clear()
        self._rebuild_status()

    def _write(self, work: Any, where: str) -> None:
        try:
            self._store.write(work)
        except IntegrityError as exc:
            if not is_duplicate(exc):
                raise CorruptDataError(
                    f"{where}: the store refused the write ({str(exc.orig).strip()}); rows it "
                    "refers to are missing or altered. Run `petsard-status db check`"
                ) from exc
            raise ConcurrentWriterError(
                f"{where}: another writer added to run {self.run!r} at the same time, and "
                "only one Status may write a run at once (nothing of this call was stored). "
                f"Stop the other writer, then Status.open({self.run!r}, ...) to continue "
                "from what is stored; to work in parallel, give each process its own run"
            ) from exc
        except PetsardStatusError as exc:
            raise type(exc)(f"{where}: {exc}") from exc

    def _input_module(self, module: str) -> str | None:
        """The nearest module before ``module`` in the sequence that is active and has metadata."""
        if module not in self.sequence:
            return None
        active = self._state.active_map
        metadata = self._state.metadata_map
        for earlier in reversed(self.sequence[: self.sequence.index(module)]):
            if earlier in active and earlier in metadata:
                return earlier
        return None

    def _input_hash(self, module: str) -> str | None:
        source = self._input_module(module)
        return self._state.metadata_map[source] if source else None

    def _input_schema(self, module: str) -> SchemaMetadata | None:
        digest = self._input_hash(module)
        return self._store.load_schema(digest) if digest else None

    # --- the classic getters ------------------------------------------------------------

    def get_pre_module(self, curr_module: str) -> str | None:
        index = self.sequence.index(curr_module)
        return None if index == 0 else self.sequence[index - 1]

    def _entry(self, module: str) -> ActiveEntry:
        entry = self._state.active_map.get(module)
        if entry is None:
            raise UnexecutedError(
                f"{module} has not run in run {self.run!r} (active modules: "
                f"{list(self._state.active_map)})"
            )
        return entry

    def get_result(self, module: str) -> pd.DataFrame | dict[str, Any]:
        entry = self._entry(module)
        adapter = self._live.get(entry.snapshot_seq)
        if adapter is not None:
            return adapter.get_result()
        if entry.result_ref is None:
            return None
        if entry.result_ref not in self._results:
            self._results[entry.result_ref] = self._store.load_result(entry.result_ref)
        return self._results[entry.result_ref]

    def get_full_expt(self, module: str | None = None) -> dict[str, str]:
        active = self._state.active_map
        if module is None:
            # As upstream: the modules of the sequence, not those put from outside it.
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
        self._check_open()
        before = self._state.metadata_map.get(module)
        if before is not None:
            # As in put: what differs only in timestamps shares the stored version.
            metadata = preserve_unchanged(self._store.load_schema(before), metadata)
        encoded = self._store.encode_schema(metadata)
        now = dt.datetime.now()
        cseq = self._counters["change"] + 1
        experiment = self._state.active_map[module].experiment if module in self.status else ""
        new_state = self._state.with_metadata(module, encoded.hash)
        fresh: set[str] = set()

        def work(conn: Connection) -> None:
            fresh.clear()  # a retried attempt starts from nothing (see put)
            self._store.insert_schema(conn, encoded, fresh)
            conn.execute(insert(m.changes).values(
                run_id=self._run_id, seq=cseq, change_id=f"change_{cseq:06d}_{stamp(now)}",
                snapshot_seq=self._counters["snapshot"],
                change_type="update" if before else "create", target_type="schema",
                target_id=metadata.schema_id, module=module, experiment=experiment,
                module_context=f"{module}[{experiment}]", timestamp=now,
                before_schema=before, after_schema=encoded.hash,
            ))
            conn.execute(update(m.runs).where(m.runs.c.id == self._run_id).values(
                head_json=new_state.to_json(), updated_at=now))

        self._write(work, f"set_metadata({module})")
        self._store.committed(fresh)
        self._counters["change"] = cseq
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
        entry = self._entry(module)
        self._live[entry.snapshot_seq] = adapter
        self._rebuild_status()

    def get_data_by_module(self, modules: str | list[str]) -> dict[str, Any]:
        """The active modules' frames, as upstream: a dict result (the Splitter's) gives
        ``Module_key`` entries, one per frame in it (PETsARD's adapters look them up so)."""
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

    def get_preprocessor_input_schema(self) -> SchemaMetadata | None:
        """The metadata the Preprocessor receives: that of the last module before it."""
        if "Preprocessor" not in self.sequence:
            return None
        return native(self._input_schema("Preprocessor"))

    # --- history ------------------------------------------------------------------------

    def get_snapshots(self, module: str | None = None) -> list[ExecutionSnapshot]:
        return history.snapshots(self, module)

    def get_snapshot_by_id(self, snapshot_id: str) -> ExecutionSnapshot | None:
        return history.snapshot_by_id(self, snapshot_id)

    def get_change_history(self, module: str | None = None) -> list[MetadataChange]:
        return history.changes(self, module)

    def get_metadata_evolution(self, module: str = "Loader") -> list[SchemaMetadata]:
        return history.metadata_evolution(self, module)

    def get_status_summary(self) -> dict[str, Any]:
        return history.summary(self)

    def restore_from_snapshot(self, snapshot_id: str) -> bool:
        """Rewind the live state to right after ``snapshot_id``; False if there is none.

        The restore is recorded; nothing earlier is rewritten, and later puts
        continue from the restored state.
        """
        self._check_open()
        row = self._store.read(lambda conn: conn.execute(
            select(m.snapshots.c.seq, m.snapshots.c.state_json).where(
                m.snapshots.c.run_id == self._run_id,
                m.snapshots.c.snapshot_id == snapshot_id,
            )
        ).first())
        if row is None:
            return False
        state = RunState.from_json(row.state_json)
        now = dt.datetime.now()
        rseq = self._counters["restore"] + 1

        def work(conn: Connection) -> None:
            conn.execute(insert(m.restores).values(
                run_id=self._run_id, seq=rseq, snapshot_id=snapshot_id,
                after_snapshot_seq=self._counters["snapshot"], timestamp=now))
            conn.execute(update(m.runs).where(m.runs.c.id == self._run_id).values(
                head_json=state.to_json(), updated_at=now))

        self._write(work, f"restore_from_snapshot({snapshot_id})")
        self._counters["restore"] = rseq
        self._state = state
        self._train_indices = None
        self._rebuild_status()
        log.info("run %s restored to %s", self.run, snapshot_id)
        return True

    # --- run state ----------------------------------------------------------------------

    def set_run_state(self, state: str, *, error: str | None = None,
                      failed_step: str | None = None) -> None:
        """Mark the run running, completed, failed or interrupted."""
        if state not in ("running", "completed", "failed", "interrupted"):
            raise StatusError(f"unknown run state {state!r}")
        self._store.set_run_state(self._run_id, state, error=error, failed_step=failed_step)

    def run_info(self) -> dict[str, Any]:
        row = self._store.run_row(self.run)
        return {
            "name": row.name, "state": row.state, "error": row.error,
            "failed_step": row.failed_step, "created_at": row.created_at,
            "updated_at": row.updated_at, "finished_at": row.finished_at,
            "info": codec.loads_value(row.info_json),
        }

    def update_run_info(self, **values: Any) -> None:
        info = self.run_info()["info"]
        info.update(values)
        self._store.update_run_info(self._run_id, info)

    def count(self, table: str) -> int:
        t = {"snapshots": m.snapshots, "changes": m.changes, "timings": m.timings}[table]
        return self._store.read(lambda conn: conn.execute(
            select(func.count()).select_from(t).where(t.c.run_id == self._run_id)).scalar())


def _result_type(result: Any) -> str:
    if result is None:
        return "none"
    if isinstance(result, pd.DataFrame):
        return "frame"
    if isinstance(result, dict):
        return "dict"
    return type(result).__name__


def _package_version() -> str:
    from petsard_status import __version__

    return __version__
