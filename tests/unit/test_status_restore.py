"""restore_from_snapshot rewinds the live state, records that it did, and rewrites nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import select

from helpers.paths import adult_head
from petsard_status import LiveObjectUnavailableError, Status
from petsard_status.modules import ModuleContext, build_adapter
from petsard_status.store import models as m

ROWS = 300


@pytest.fixture(scope="module")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return adult_head(tmp_path_factory.mktemp("data"), ROWS)


def config(csv: Path) -> dict[str, Any]:
    return {
        "Loader": {"small": {"filepath": str(csv), "na_values": "?"}},
        "Splitter": {"split": {"train_split_ratio": 0.7, "num_samples": 2, "random_state": 3}},
        "Preprocessor": {"prep": {"missing": "mode", "encoding": "onehot"}},
        "Reporter": {"save": {"method": "save_data", "source": "Preprocessor"}},
    }


def step(status: Status, module: str, experiment: str, ctx: ModuleContext) -> Any:
    adapter = build_adapter(module, status.config.params(module, experiment), ctx)
    adapter.run(adapter.set_input(status))
    status.put(module, experiment, adapter)
    return adapter


def copy_result(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return value.copy(deep=True)
    return {key: copy_result(item) for key, item in value.items()}


def capture(status: Status) -> dict[str, Any]:
    """Everything a restore must bring back, copied so later puts cannot touch it."""
    return {
        "active": list(status.status),
        "full_expt": status.get_full_expt(),
        "metadata": {module: status.get_metadata(module) for module in status.metadata},
        "results": {module: copy_result(status.get_result(module)) for module in status.status},
        "train": status.get_exist_train_indices(),
        "report": copy_result(status.get_report()),
        "preprocessor_input": status.get_preprocessor_input_schema(),
    }


def assert_result_equal(got: Any, expected: Any) -> None:
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected)
        return
    assert list(got) == list(expected)
    for key in expected:
        assert_result_equal(got[key], expected[key])


def assert_state(status: Status, expected: dict[str, Any]) -> None:
    got = capture(status)
    for key in ("active", "full_expt", "metadata", "train", "preprocessor_input"):
        assert got[key] == expected[key], key
    assert list(got["results"]) == list(expected["results"])
    for module, result in expected["results"].items():
        assert_result_equal(got["results"][module], result)
    assert_result_equal(got["report"], expected["report"])


def snapshot_rows(status: Status) -> list[tuple]:
    table = m.snapshots
    query = select(table).where(table.c.run_id == status.run_id).order_by(table.c.seq)
    return status.store.read(lambda conn: [tuple(r) for r in conn.execute(query)])


def restore_rows(status: Status) -> list[Any]:
    table = m.restores
    query = select(table).where(table.c.run_id == status.run_id).order_by(table.c.seq)
    return status.store.read(lambda conn: conn.execute(query).all())


def test_restore_to_an_earlier_snapshot(store_url: str, small_csv: Path,
                                        tmp_path: Path) -> None:
    ctx = ModuleContext(output_dir=tmp_path / "out", base_dir=tmp_path)
    with Status(config(small_csv), store_url, run="restore") as status:
        # A, then B (Splitter, Preprocessor and Reporter of the first sample) ...
        step(status, "Loader", "small", ctx)
        first_split = step(status, "Splitter", "split_[2-1]", ctx)
        prep = step(status, "Preprocessor", "prep", ctx)
        step(status, "Reporter", "save", ctx)
        after_b = capture(status)
        b_id = status.get_snapshots()[-1].snapshot_id
        assert after_b["active"] == ["Loader", "Splitter", "Preprocessor", "Reporter"]
        assert len(after_b["train"]) == 1 and len(after_b["report"]) == 1

        # ... then C re-puts the Splitter (dropping what came after it) and goes on.
        step(status, "Splitter", "split_[2-2]", ctx)
        step(status, "Preprocessor", "prep", ctx)
        assert status.get_full_expt()["Splitter"] == "split_[2-2]"
        assert len(status.get_exist_train_indices()) == 2
        snapshots_before = status.get_snapshots()
        rows_before = snapshot_rows(status)
        changes_before = status.get_change_history()

        assert status.restore_from_snapshot("nope") is False
        assert restore_rows(status) == []

        assert status.restore_from_snapshot(b_id) is True
        assert_state(status, after_b)
        assert status.get_processor() is prep.processor  # this process still holds it
        assert status.get_snapshots() == snapshots_before
        assert snapshot_rows(status) == rows_before
        assert status.get_change_history() == changes_before
        (restore,) = restore_rows(status)
        assert restore.snapshot_id == b_id
        assert restore.after_snapshot_seq == len(rows_before)
        summary = status.get_status_summary()
        assert summary["active_modules"] == after_b["active"]
        assert summary["total_snapshots"] == len(rows_before)

        # Later puts are numbered on and start from the restored state: the Splitter
        # sees B's one train set, so the second sample is drawn as before, once.
        again = step(status, "Splitter", "split_[2-2]", ctx)
        new_snapshot = status.get_snapshots()[-1]
        assert new_snapshot.snapshot_id.startswith(f"snapshot_{len(rows_before) + 1:06d}_")
        assert status.get_exist_train_indices() == [set(first_split.train_labels),
                                                    set(again.train_labels)]
        assert again.attempts == 1
        assert new_snapshot.metadata_before == after_b["metadata"]["Splitter"]
        assert snapshot_rows(status)[: len(rows_before)] == rows_before

        assert status.restore_from_snapshot(b_id) is True
        assert len(restore_rows(status)) == 2
        state_after_second_restore = capture(status)

    with Status.open("restore", store_url) as reopened:
        assert_state(reopened, after_b)
        assert_state(reopened, state_after_second_restore)
        with pytest.raises(LiveObjectUnavailableError):
            reopened.get_processor()
        # A put after reopening builds from the restored state too.
        prep_again = step(reopened, "Preprocessor", "prep", ctx)
        assert list(reopened.status) == ["Loader", "Splitter", "Preprocessor"]
        pd.testing.assert_frame_equal(prep_again.get_result(), after_b["results"]["Preprocessor"])
        assert reopened.get_change_history()[-1].module_context == "Preprocessor[prep]"
        field_updates = [c for c in reopened.get_change_history("Preprocessor")
                         if c.target_type == "field" and c.change_type == "update"][-3:]
        splitter_fields = {f.name: f for f in after_b["metadata"]["Splitter"].fields}
        assert field_updates
        for change in field_updates:
            assert change.before_state == splitter_fields[change.target_id]


def test_restore_matches_the_seed_special_case(sqlite_url: str, small_csv: Path,
                                               tmp_path: Path) -> None:
    """PETsARD's restore sets the module's metadata to the snapshot's metadata_after."""
    ctx = ModuleContext(output_dir=tmp_path / "out", base_dir=tmp_path)
    with Status(config(small_csv), sqlite_url) as status:
        step(status, "Loader", "small", ctx)
        step(status, "Splitter", "split_[2-1]", ctx)
        step(status, "Splitter", "split_[2-2]", ctx)
        first, second = status.get_snapshots("Splitter")
        assert first.metadata_after != second.metadata_after
        assert status.restore_from_snapshot(first.snapshot_id)
        assert status.get_metadata("Splitter") == first.metadata_after
        assert status.restore_from_snapshot(second.snapshot_id)
        assert status.get_metadata("Splitter") == second.metadata_after
        assert len(status.get_exist_train_indices()) == 2
