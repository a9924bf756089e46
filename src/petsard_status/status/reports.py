"""Status's train index sets, reports and validation results.

They live in the run's head state (as references), next to the active modules,
so a restore or a ``Status.open`` brings them back with everything else.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlalchemy.engine import Connection

from petsard_status import formats as codec
from petsard_status.errors import PutError, SerializationError, StatusError
from petsard_status.formats import RunState, decode_indices, encode_indices, encode_result
from petsard_status.store import models as m


class ReportsMixin:
    """Train indices, reports and validation results of a Status."""

    def get_exist_train_indices(self) -> list[set[int]]:
        if self._train_indices is None:
            ref = self._state.train_indices
            self._train_indices = decode_indices(self._store.load_blob(ref)) if ref else []
        return [set(s) for s in self._train_indices]

    def update_exist_train_indices(self, new_indices: list[Any]) -> None:
        self._check_open()
        sets = [*self.get_exist_train_indices(), *(set(map(int, s)) for s in new_indices)]
        digest, data = encode_indices(sets)
        self._commit_head(dataclasses.replace(self._state, train_indices=digest),
                          blobs=[(digest, "indices", data)])
        self._train_indices = sets

    def set_report(self, report: dict[str, Any]) -> None:
        self._check_open()
        if not isinstance(report, dict):
            raise StatusError(f"a report must be a dict, got {type(report).__name__}")
        try:
            encoded = {str(k): encode_result(v) for k, v in report.items()}
        except SerializationError as exc:
            raise PutError(f"set_report: {exc}") from exc
        blobs = [(h, kind, data) for e in encoded.values() for h, (kind, data) in e.blobs.items()]
        self._commit_head(self._state.with_report({k: e.ref for k, e in encoded.items()}),
                          blobs=blobs)

    def get_report(self) -> dict[str, Any]:
        out = {}
        for name, ref in self._state.report:
            if ref not in self._results:
                self._results[ref] = self._store.load_result(ref)
            out[name] = self._results[ref]
        return out

    def put_validation_result(self, module: str, result: dict[str, Any]) -> None:
        self._check_open()
        try:
            document = codec.dumps_value(result)
        except SerializationError as exc:
            raise PutError(f"put_validation_result({module}): {exc}") from exc
        self._commit_head(self._state.with_validation(module, document))

    def get_validation_result(self, module: str | None = None) -> dict[str, Any] | None:
        values = {name: codec.loads_value(doc) for name, doc in self._state.validation}
        if module is None:
            return values
        return values.get(module)

    def _commit_head(self, new_state: RunState, blobs: list[tuple[str, str, bytes]] = ()) -> None:
        now = dt.datetime.now()
        fresh: set[str] = set()

        def work(conn: Connection) -> None:
            fresh.clear()  # a retried attempt starts from nothing (see put)
            for digest, kind, data in blobs:
                self._store.insert_blob(conn, digest, kind, data, fresh)
            conn.execute(update(m.runs).where(m.runs.c.id == self._run_id).values(
                head_json=new_state.to_json(), updated_at=now))

        self._write(work, f"run {self.run!r}")
        self._store.committed(fresh)
        self._state = new_state
