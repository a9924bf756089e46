"""The usage examples of PETsARD's Status page, run against the persistent Status.

Each example is the seed's code, changed only where marked ``# adapted:`` (the
import lines, running real adapters where the seed leaves ``put`` to the
Executor, and real snapshot ids where the seed shows made-up ones).  What they
print is checked against the API.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from petsard_status.modules import build_adapter  # adapted: the real adapters


@pytest.fixture(scope="module")
def basic(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """### Basic Usage (Backward Compatible), in a fresh working folder."""
    folder = tmp_path_factory.mktemp("seed")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(folder)
        mp.delenv("PETSARD_STATUS_DB", raising=False)

        from petsard_status import (
            Config,  # adapted: from petsard.config import Config
            Status,  # adapted: from petsard.status import Status
        )

        # Create configuration
        config_dict = {
            "Loader": {"data": {"filepath": "benchmark://adult-income"}},
            "Synthesizer": {"demo": {"method": "default"}},
            "Reporter": {"output": {"method": "save_data", "source": "Synthesizer"}}
        }

        config = Config(config_dict)
        status = Status(config)

        # Traditional usage (unchanged)
        # status.put(module, experiment, adapter)  # Called by Executor
        for step in config.flow():  # adapted: what the Executor does
            adapter = build_adapter(step.module, step.params)
            adapter.run(adapter.set_input(status))
            status.put(step.module, step.experiment, adapter)
        result = status.get_result("Loader")
        metadata = status.get_metadata("Loader")

        yield {"status": status, "result": result, "metadata": metadata, "folder": folder}
        status.close()


def test_basic_usage(basic: dict[str, Any], adult_df: pd.DataFrame) -> None:
    status = basic["status"]
    assert (basic["folder"] / "petsard_status.db").is_file()  # the default store
    pd.testing.assert_frame_equal(basic["result"], adult_df)
    assert [f.name for f in basic["metadata"].fields] == list(adult_df.columns)
    assert list(status.status) == ["Loader", "Synthesizer", "Reporter"]
    assert any(Path(basic["folder"], "petsard-output").glob("*.csv"))


def test_advanced_snapshot_tracking(basic: dict[str, Any],
                                    capsys: pytest.CaptureFixture[str]) -> None:
    status = basic["status"]
    first_id = status.get_snapshots()[0].snapshot_id  # adapted: a real snapshot id

    # Get all execution snapshots
    snapshots = status.get_snapshots()
    print(f"Total snapshots: {len(snapshots)}")

    # Get snapshots for specific module
    loader_snapshots = status.get_snapshots("Loader")
    for snapshot in loader_snapshots:
        print(f"Snapshot: {snapshot.snapshot_id}")
        print(f"Module: {snapshot.module_name}")
        print(f"Timestamp: {snapshot.timestamp}")

    # Get specific snapshot
    snapshot = status.get_snapshot_by_id(first_id)  # adapted: "snapshot_000001_20241224_210000"
    if snapshot:
        print(f"Execution context: {snapshot.execution_context}")

    out = capsys.readouterr().out.splitlines()
    assert out == [
        "Total snapshots: 3",
        f"Snapshot: {first_id}",
        "Module: Loader",
        f"Timestamp: {snapshots[0].timestamp}",
        f"Execution context: {snapshots[0].execution_context}",
    ]
    assert snapshot.execution_context["adapter_type"] == "LoaderAdapter"


def test_change_tracking_and_analysis(basic: dict[str, Any],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    status = basic["status"]

    # Get all metadata changes
    changes = status.get_change_history()
    print(f"Total changes: {len(changes)}")

    # Analyze changes by module
    loader_changes = status.get_change_history("Loader")
    for change in loader_changes:
        print(f"Change: {change.change_type} {change.target_type}")
        print(f"Target: {change.target_id}")
        print(f"Context: {change.module_context}")

    # Track metadata evolution
    evolution = status.get_metadata_evolution("Loader")
    print(f"Metadata versions: {len(evolution)}")

    # Only the Loader gives metadata in this pipeline: one schema created.
    assert capsys.readouterr().out.splitlines() == [
        "Total changes: 1",
        "Change: create schema",
        "Target: loader",
        "Context: Loader[data]",
        "Metadata versions: 1",
    ]
    assert evolution == [basic["metadata"]]


def test_status_summary_and_diagnostics(basic: dict[str, Any],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    status = basic["status"]

    # Get comprehensive status summary
    summary = status.get_status_summary()
    print(f"Active modules: {summary['active_modules']}")
    print(f"Total snapshots: {summary['total_snapshots']}")
    print(f"Total changes: {summary['total_changes']}")
    print(f"Last snapshot: {summary['last_snapshot']}")

    # Check execution sequence
    print(f"Module sequence: {summary['sequence']}")

    snapshots = status.get_snapshots()
    assert capsys.readouterr().out.splitlines() == [
        "Active modules: ['Loader', 'Synthesizer', 'Reporter']",
        "Total snapshots: 3",
        "Total changes: 1",
        f"Last snapshot: {snapshots[-1].snapshot_id}",
        "Module sequence: ['Loader', 'Synthesizer', 'Reporter']",
    ]
    assert summary["metadata_modules"] == ["Loader"]
    assert summary["last_change"] == status.get_change_history()[-1].change_id


def test_state_recovery(basic: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    status = basic["status"]
    synthesizer_id = status.get_snapshots()[1].snapshot_id  # adapted: a real snapshot id

    # List available snapshots
    snapshots = status.get_snapshots()
    for snapshot in snapshots[-5:]:  # Last 5 snapshots
        print(f"{snapshot.snapshot_id}: {snapshot.module_name}[{snapshot.experiment_name}]")

    # Restore from specific snapshot
    success = status.restore_from_snapshot(synthesizer_id)  # adapted: the seed's made-up id
    if success:
        print("State restored successfully")
    else:
        print("State restoration failed")

    out = capsys.readouterr().out.splitlines()
    assert out == [f"{s.snapshot_id}: {s.module_name}[{s.experiment_name}]"
                   for s in snapshots] + ["State restored successfully"]
    assert out[1] == f"{synthesizer_id}: Synthesizer[demo]"
    assert list(status.status) == ["Loader", "Synthesizer"]
    # The seed's own made-up id is not a snapshot of this run.
    assert status.restore_from_snapshot("snapshot_000003_20241224_210500") is False


def test_migration_guide(basic: dict[str, Any]) -> None:
    status = basic["status"]
    module, experiment = "Loader", "data"  # adapted: a real module run
    adapter = build_adapter(module, status.config.params(module, experiment))
    adapter.run(adapter.set_input(status))

    # Existing code (no changes needed)
    status.put(module, experiment, adapter)
    result = status.get_result(module)
    metadata = status.get_metadata(module)

    # New features (optional)
    snapshots = status.get_snapshots()
    changes = status.get_change_history()
    summary = status.get_status_summary()

    pd.testing.assert_frame_equal(result, basic["result"])
    assert [f.name for f in metadata.fields] == [f.name for f in basic["metadata"].fields]
    assert len(snapshots) == 4 and snapshots[-1].module_name == "Loader"
    assert [c.change_type for c in changes] == ["create", "update"]
    assert summary["active_modules"] == ["Loader"]  # re-putting the Loader drops the rest


def test_enhanced_workflows(basic: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    status = basic["status"]

    # Enhanced workflow with tracking
    def enhanced_workflow(status):
        # Execute modules (existing logic)
        # ...

        # New: Analyze execution history
        summary = status.get_status_summary()
        if summary['total_changes'] > 0:
            print(f"Detected {summary['total_changes']} metadata changes")

        # New: Create recovery point
        snapshots = status.get_snapshots()
        if snapshots:
            latest_snapshot = snapshots[-1]
            print(f"Recovery point: {latest_snapshot.snapshot_id}")

    enhanced_workflow(status)

    changes = status.get_change_history()
    assert capsys.readouterr().out.splitlines() == [
        f"Detected {len(changes)} metadata changes",
        f"Recovery point: {status.get_snapshots()[-1].snapshot_id}",
    ]
