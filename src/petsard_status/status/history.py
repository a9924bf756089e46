"""A run's history as lists that read the store page by page.

``get_snapshots()``, ``get_change_history()`` and ``get_metadata_evolution()``
return :class:`History`: a read-only sequence that behaves as the list the
seed API promises (``len``, indexing, slicing, iteration, ``==`` with a list)
but holds no rows.  ``history[-5:]`` reads five rows; iterating reads pages
of :data:`PAGE` rows and keeps none of them; every record decodes its
metadata only when an attribute is touched.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

from petsard_status import formats
from petsard_status.metadata.foreign import native
from petsard_status.metadata.types import SchemaMetadata
from petsard_status.status.records import LazyChange, LazySnapshot, TimingRecord
from petsard_status.store import ChangeRow, RunRepository, SnapshotRow, Store, TimingRow

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")
PAGE = 500


class History(Sequence[T], Generic[T]):
    """A sequence over ``count()`` records; ``fetch(offset, limit)`` reads a page of them."""

    def __init__(self, count: Callable[[], int],
                 fetch: Callable[[int, int], list[T]],
                 scan: Callable[[Any, int], tuple[list[T], Any]] | None = None) -> None:
        self._count = count
        self._fetch = fetch
        # scan(after, limit) -> (page, key of its last row): iteration reads on from the
        # last row it saw instead of skipping over every row before it.
        self._scan = scan
        self._len: int | None = None

    def __len__(self) -> int:
        if self._len is None:
            self._len = self._count()
        return self._len

    @overload
    def __getitem__(self, index: int) -> T: ...

    @overload
    def __getitem__(self, index: slice) -> list[T]: ...

    def __getitem__(self, index: int | slice) -> T | list[T]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return self[start:stop][::step] if step > 0 else list(self)[index]
            return self._fetch(start, stop - start) if stop > start else []
        position = index + len(self) if index < 0 else index
        if not 0 <= position < len(self):
            raise IndexError("history index out of range")
        return self._fetch(position, 1)[0]

    def __iter__(self) -> Iterator[T]:
        if self._scan is not None:
            after: Any = None
            while True:
                page, after = self._scan(after, PAGE)
                yield from page
                if len(page) < PAGE:
                    return
        offset = 0
        while True:
            page = self._fetch(offset, PAGE)
            yield from page
            if len(page) < PAGE:
                return
            offset += PAGE

    def __eq__(self, other: object) -> bool:
        if isinstance(other, History | list | tuple):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<history of {len(self)} records>"


def _optional_schema(store: Store, digest: str | None) -> Callable[[], Any]:
    # PETsARD's metadata comes back as PETsARD's own class (see metadata/foreign.py).
    return lambda: native(store.load_schema(digest)) if digest else None


class _SnapshotLoaders:
    """What a snapshot record decodes on first access, made only when it is touched.

    One small object per record instead of a closure per field keeps a long
    iteration cheap.
    """

    __slots__ = ("row", "store")

    def __init__(self, store: Store, row: SnapshotRow) -> None:
        self.store, self.row = store, row

    def pop(self, name: str) -> Callable[[], Any]:
        if name == "execution_context":
            return lambda: formats.loads_value(self.row.context_json)
        digest = self.row.schema_before if name == "metadata_before" else self.row.schema_after
        return _optional_schema(self.store, digest)


def snapshot_record(store: Store, row: SnapshotRow) -> LazySnapshot:
    return LazySnapshot(
        {"snapshot_id": row.snapshot_id, "module_name": row.module,
         "experiment_name": row.experiment, "timestamp": row.timestamp},
        _SnapshotLoaders(store, row),
    )


def change_record(store: Store, row: ChangeRow) -> LazyChange:
    def state(digest: str | None) -> Callable[[], Any]:
        if digest is None:
            return lambda: None
        if row.target_type == "schema":
            return lambda: store.load_schema(digest)
        return lambda: store.load_field(digest)

    return LazyChange(
        {"change_id": row.change_id, "change_type": row.change_type,
         "target_type": row.target_type, "target_id": row.target_id,
         "timestamp": row.timestamp, "module_context": row.module_context,
         "attributes": row.attributes},
        {"before_state": state(row.before), "after_state": state(row.after)},
    )


def _by_seq(count: Callable[[], int], page: Callable[[int, int, int | None], list[Any]],
            record: Callable[[Any], T]) -> History[T]:
    """A history over rows numbered by ``seq``; ``page(offset, limit, after_seq)`` reads them."""

    def scan(after: int | None, limit: int) -> tuple[list[T], int | None]:
        rows = page(0, limit, after)
        return [record(r) for r in rows], rows[-1].seq if rows else after

    return History(count, lambda offset, limit: [record(r) for r in page(offset, limit, None)],
                   scan)


def snapshots(repo: RunRepository, module: str | None) -> History[LazySnapshot]:
    return _by_seq(lambda: repo.count("snapshots", module),
                   lambda offset, limit, after: repo.snapshot_page(module, offset, limit,
                                                                   after_seq=after),
                   lambda row: snapshot_record(repo.store, row))


def changes(repo: RunRepository, module: str | None) -> History[LazyChange]:
    return _by_seq(lambda: repo.count("changes", module),
                   lambda offset, limit, after: repo.change_page(module, offset, limit,
                                                                 after_seq=after),
                   lambda row: change_record(repo.store, row))


def metadata_evolution(repo: RunRepository, module: str) -> History[SchemaMetadata]:
    return History(
        lambda: repo.evolution_count(module),
        lambda offset, limit: [native(repo.store.load_schema(h))
                               for h in repo.evolution_page(module, offset, limit)],
    )


def summary_counts(repo: RunRepository) -> dict[str, Any]:
    counts = repo.summary()
    change_types: dict[str, int] = {}
    target_types: dict[str, int] = {}
    for change_type, target_type, n in counts["change_counts"]:
        change_types[change_type] = change_types.get(change_type, 0) + n
        target_types[target_type] = target_types.get(target_type, 0) + n
    return {
        "state": counts["state"],
        "total_snapshots": counts["snapshots"],
        "total_changes": sum(change_types.values()),
        "last_snapshot": counts["last_snapshot"],
        "last_change": counts["last_change"],
        "change_types": dict(sorted(change_types.items())),
        "target_types": dict(sorted(target_types.items())),
    }


def timing_record(row: TimingRow) -> TimingRecord:
    return TimingRecord(
        record_id=row.record_id, module_name=row.module, experiment_name=row.experiment,
        step_name=row.step, start_time=row.start_time, end_time=row.end_time,
        duration_seconds=row.duration_seconds, context=formats.loads_value(row.context_json),
    )


TIMING_COLUMNS = ["record_id", "module_name", "experiment_name", "step_name", "start_time",
                  "end_time", "duration_seconds"]


def timing_frame(records: Sequence[TimingRecord]) -> pd.DataFrame:
    """PETsARD's timing report: one row per record, context keys as extra columns."""
    # Only this report is a frame: the listings of the same records need no pandas.
    import pandas as pd

    rows = []
    for r in records:
        row: dict[str, Any] = {
            "record_id": r.record_id, "module_name": r.module_name,
            "experiment_name": r.experiment_name, "step_name": r.step_name,
            # ISO text, as PETsARD's timing report has it.
            "start_time": r.start_time.isoformat(),
            "end_time": r.end_time.isoformat() if r.end_time else None,
            "duration_seconds": r.duration_seconds,
        }
        for key, value in r.context.items():
            row.setdefault(str(key), value)
        rows.append(row)
    if not rows:
        return pd.DataFrame(columns=TIMING_COLUMNS)
    return pd.DataFrame(rows)
