"""The live state of a run as a small, serialisable value.

The state after every put is stored with its snapshot (that is what a restore
goes back to) and as the run's head (that is what ``Status.open`` starts from),
so opening a run never replays its history.  It holds references only: hashes
of schemas, result trees and blobs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any

from petsard_status.errors import CorruptDataError
from petsard_status.formats._common import check_envelope, hash_bytes, strict_loads

STATE_VERSION = 1


@dataclass(frozen=True)
class ActiveEntry:
    """A module in the active status: which experiment ran, and where its result is."""

    experiment: str
    snapshot_seq: int
    result_ref: str | None
    adapter_type: str


@dataclass(frozen=True)
class RunState:
    active: tuple[tuple[str, ActiveEntry], ...] = ()
    metadata: tuple[tuple[str, str], ...] = ()
    """(module, schema hash), in the order the modules first got metadata."""
    report: tuple[tuple[str, str], ...] = ()
    """(report name, result tree hash)."""
    train_indices: str | None = None
    """Hash of the blob holding every Splitter train index set so far."""
    validation: tuple[tuple[str, str], ...] = ()
    """(module, JSON document of its validation result)."""
    extra: dict[str, Any] = field(default_factory=dict)

    # -- convenient views -------------------------------------------------------------

    @property
    def active_map(self) -> dict[str, ActiveEntry]:
        return dict(self.active)

    @property
    def metadata_map(self) -> dict[str, str]:
        return dict(self.metadata)

    def with_active(self, module: str, entry: ActiveEntry, sequence: list[str]) -> RunState:
        """Put ``module`` in the active status; re-putting drops every later module."""
        active = dict(self.active)
        if module in active and module in sequence:
            keep = set(sequence[: sequence.index(module) + 1])
            active = {name: e for name, e in active.items() if name in keep}
        active[module] = entry
        return replace(self, active=tuple(active.items()))

    def with_metadata(self, module: str, digest: str) -> RunState:
        metadata = dict(self.metadata)
        metadata[module] = digest
        return replace(self, metadata=tuple(metadata.items()))

    def with_report(self, items: dict[str, str]) -> RunState:
        report = dict(self.report)
        report.update(items)
        return replace(self, report=tuple(report.items()))

    def with_validation(self, module: str, document: str) -> RunState:
        validation = dict(self.validation)
        validation[module] = document
        return replace(self, validation=tuple(validation.items()))

    def refs(self) -> dict[str, set[str]]:
        """What this state points at: schema hashes, result trees, train-index blobs."""
        trees = {e.result_ref for _, e in self.active if e.result_ref}
        trees.update(ref for _, ref in self.report)
        return {
            "schemas": {h for _, h in self.metadata},
            "trees": trees,
            "indices": {self.train_indices} if self.train_indices else set(),
        }

    # -- storage ----------------------------------------------------------------------

    def to_json(self) -> str:
        doc = {
            "v": STATE_VERSION,
            "active": [
                [name, e.experiment, e.snapshot_seq, e.result_ref, e.adapter_type]
                for name, e in self.active
            ],
            "metadata": [list(p) for p in self.metadata],
            "report": [list(p) for p in self.report],
            "train_indices": self.train_indices,
            "validation": [list(p) for p in self.validation],
            "extra": self.extra,
        }
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunState:
        doc = strict_loads(text, what="a stored run state", error=CorruptDataError)
        try:
            if doc.get("v") != STATE_VERSION:
                raise CorruptDataError(
                    f"a stored run state has version {doc.get('v')!r}; this package reads "
                    f"version {STATE_VERSION}"
                )
            active = tuple(
                (str(name), ActiveEntry(str(expt), int(seq), _ref(ref), str(kind)))
                for name, expt, seq, ref, kind in doc["active"]
            )
            pairs = {
                key: tuple((str(a), str(b)) for a, b in doc[key])
                for key in ("metadata", "report", "validation")
            }
            extra = doc.get("extra") or {}
            if not isinstance(extra, dict):
                raise TypeError("extra is not a mapping")
            return cls(
                active=active,
                train_indices=_ref(doc["train_indices"]),
                extra=extra,
                **pairs,
            )
        except CorruptDataError:
            raise
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError,
                OverflowError) as exc:
            raise CorruptDataError(f"a stored run state is malformed: {exc}") from exc


def _ref(value: Any) -> str | None:
    # References are looked up as dictionary keys and in SQL: only text will do.
    if value is not None and not isinstance(value, str):
        raise TypeError(f"a reference is {type(value).__name__}, not a hash")
    return value


INDICES_FORMAT = "petsard-status/indices"


def encode_indices(sets: list[set[int]]) -> tuple[str, bytes]:
    doc = {"format": INDICES_FORMAT, "version": 1, "sets": [sorted(s) for s in sets]}
    data = json.dumps(doc, separators=(",", ":")).encode()
    return hash_bytes(data), data


def decode_indices(data: bytes) -> list[set[int]]:
    doc = strict_loads(data, what="stored train indices", error=CorruptDataError)
    check_envelope(doc, fmt=INDICES_FORMAT, versions={1}, what="stored train indices",
                   error=CorruptDataError, keys=("format", "version", "sets"))
    try:
        sets = [set(s) for s in doc["sets"]]
        if not all(isinstance(i, int) and not isinstance(i, bool) for s in sets for i in s):
            raise ValueError("non-integer index")
        return sets
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CorruptDataError(f"stored train indices are malformed: {exc}") from exc
