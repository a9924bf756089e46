"""A run written by one process reads back the same in another.

The first subprocess runs Loader, Splitter (2 samples), Preprocessor,
Synthesizer and Reporter on the adult data with the reference adapters and
dumps everything the Status API shows it; the second subprocess reopens the run
with ``Status.open`` and dumps the same views.  The dumps must agree, and the
results must equal a recomputation of the same deterministic modules in the test
process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from helpers.modules import MemoryStatus
from petsard_status import LiveObjectUnavailableError, SchemaMetadata, UnexecutedError
from petsard_status import formats as codec
from petsard_status.formats import decode_frame
from petsard_status.modules import ModuleContext, build_adapter

CONFIG = {
    "Loader": {"adult": {"filepath": "benchmark://adult-income"}},
    "Splitter": {"split": {"train_split_ratio": 0.8, "num_samples": 2, "random_state": 11}},
    "Preprocessor": {"label": {"missing": "mode", "encoding": "label", "scaling": "standard"}},
    "Synthesizer": {"copula": {"method": "gaussian_copula", "random_state": 5,
                               "sample_num_rows": 1500}},
    "Reporter": {"data": {"method": "save_data", "source": "Synthesizer"}},
}
RUN = "process-test"

# Shared by both subprocesses: what the Status API shows, as a JSON document
# (the package's value codec) plus one Arrow file per result frame.
SCRIPT = textwrap.dedent(
    '''
    import dataclasses
    import datetime as dt
    import json
    import logging
    import sys
    from pathlib import Path

    import pandas as pd

    from petsard_status import PetsardStatusError, SchemaMetadata, FieldMetadata, Status
    from petsard_status import formats as codec
    from petsard_status.modules import ModuleContext, build_adapter
    from petsard_status.formats import encode_frame

    mode, url, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    frames_dir = out.with_suffix(".frames")
    frames_dir.mkdir()


    def plain(value):
        """Metadata as its canonical JSON, frames as files, the rest as it is."""
        from petsard_status.status.history import History

        if isinstance(value, (SchemaMetadata, FieldMetadata)):
            return {"$metadata": codec.to_json(value)}
        if isinstance(value, pd.DataFrame):
            path = frames_dir / f"{len(list(frames_dir.iterdir()))}.arrow"
            path.write_bytes(encode_frame(value))
            return {"$frame": path.name}
        if dataclasses.is_dataclass(value):
            return plain({f.name: getattr(value, f.name) for f in dataclasses.fields(value)})
        if isinstance(value, dict):
            # The codec sorts keys; the order of status, reports and results matters.
            return {"$items": [[key, plain(item)] for key, item in value.items()]}
        if isinstance(value, (list, tuple, History)):
            return [plain(item) for item in value]
        if isinstance(value, set):
            return sorted(value)
        return value


    def live(getter):
        try:
            return {"type": type(getter()).__name__}
        except PetsardStatusError as exc:
            return {"error": type(exc).__name__, "message": str(exc),
                    "module": getattr(exc, "module", None), "mro": [
                        c.__name__ for c in type(exc).__mro__]}


    def observe(status):
        seq = status.sequence
        return {
            "run": status.run,
            "sequence": seq,
            "config": status.config.to_dict(),
            "status": {m: e["expt"] for m, e in status.status.items()},
            "full_expt": status.get_full_expt(),
            "full_expt_upto": {m: status.get_full_expt(m) for m in seq},
            "metadata_modules": list(status.metadata),
            "metadata": {m: status.get_metadata(m) for m in status.metadata},
            "snapshots": status.get_snapshots(),
            "snapshots_by_module": {m: status.get_snapshots(m) for m in seq},
            "snapshot_by_id": {s.snapshot_id: status.get_snapshot_by_id(s.snapshot_id)
                               for s in status.get_snapshots()},
            "changes": status.get_change_history(),
            "changes_by_module": {m: [c.change_id for c in status.get_change_history(m)]
                                  for m in seq},
            "evolution": {m: status.get_metadata_evolution(m) for m in seq},
            "summary": status.get_status_summary(),
            "timings": status.get_timing_records(),
            "timings_by_module": {m: [r.record_id for r in status.get_timing_records(m)]
                                  for m in seq},
            "timing_report": status.get_timing_report_data(),
            "train_indices": status.get_exist_train_indices(),
            "report": status.get_report(),
            "pre_module": {m: status.get_pre_module(m) for m in seq},
            "preprocessor_input_schema": status.get_preprocessor_input_schema(),
            "data_by_module": status.get_data_by_module(list(status.status)),
            "results": {m: status.get_result(m) for m in status.status},
            "validation": status.get_validation_result(),
            "validation_by_module": {m: status.get_validation_result(m) for m in seq},
            "live": {"synthesizer": live(status.get_synthesizer),
                     "processor": live(status.get_processor)},
        }


    if mode == "write":
        config = json.loads(sys.argv[4])
        context = ModuleContext(output_dir=out.parent / "reports", base_dir=out.parent)
        status = Status(config, url, run=sys.argv[5])
        logging.getLogger("PETsARD").setLevel(logging.INFO)  # as PETsARD's Executor does
        for step in status.config.flow():
            adapter = build_adapter(step.module, step.params, context)
            with status.timing(step.module, step.experiment, "run", {"step": step.key}):
                adapter.run(adapter.set_input(status))
            status.put(step.module, step.experiment, adapter, context={"step": step.key})
            if step.module == "Synthesizer":
                # PETsARD's own adapters report timings through log messages.
                now = dt.datetime.now().timestamp()
                log = logging.getLogger("PETsARD.Synthesizer")
                log.parent.setLevel(logging.INFO)  # the user's level: a Status never sets it
                log.info("TIMING_START|Synthesizer|sample|%s", now)
                log.info("TIMING_ERROR|Synthesizer|sample|%s|0.5|too few rows", now + 0.5)
        status.put_validation_result("Synthesizer", {"ok": True, "rows": 1500,
                                                     "share": float("nan")})
        status.set_run_state("completed")
    else:
        status = Status.open(sys.argv[4], url)
        cached_after_open = len(status.store._schemas)
    seen = plain(observe(status))
    if mode == "read":
        seen["$items"].append(["schemas_decoded_by_open", cached_after_open])
    out.write_text(codec.dumps_value(seen), encoding="utf-8")
    status.close()
    '''
)


def run_script(script: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, str(script), *args], capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, f"{args[0]} failed:\n{done.stdout}\n{done.stderr}"


def load(path: Path) -> Any:
    """A dump with its frames read back from their Arrow files."""
    folder = path.with_suffix(".frames")

    def inflate(value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {"$frame"}:
                return decode_frame((folder / value["$frame"]).read_bytes())
            if set(value) == {"$metadata"}:
                return codec.from_json(value["$metadata"])
            if set(value) == {"$items"}:
                return {key: inflate(item) for key, item in value["$items"]}
            raise AssertionError(f"unexpected node {sorted(value)}")
        if isinstance(value, list):
            return [inflate(item) for item in value]
        return value

    return inflate(codec.loads_value(path.read_text(encoding="utf-8")))


def assert_same(seen: Any, reread: Any, where: str) -> None:
    """Equal values, frames equal with their dtypes and index, dict keys in order."""
    if isinstance(seen, pd.DataFrame):
        assert isinstance(reread, pd.DataFrame), where
        pd.testing.assert_frame_equal(reread, seen, obj=where)
    elif isinstance(seen, dict):
        assert isinstance(reread, dict), where
        assert list(reread) == list(seen), where
        for key in seen:
            assert_same(seen[key], reread[key], f"{where}[{key!r}]")
    elif isinstance(seen, list):
        assert isinstance(reread, list) and len(reread) == len(seen), where
        for i, (a, b) in enumerate(zip(seen, reread)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(seen, float) and seen != seen:
        assert isinstance(reread, float) and reread != reread, where
    else:
        assert reread == seen, f"{where}: {reread!r} != {seen!r}"
        assert type(reread) is type(seen), where


def untimed(schema: SchemaMetadata) -> SchemaMetadata:
    stamp = {"created_at": None, "updated_at": None}
    return replace(schema, **stamp, fields=tuple(replace(f, **stamp) for f in schema.fields))


@pytest.fixture(scope="module")
def dumps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Any]:
    folder = tmp_path_factory.mktemp("process")
    script = folder / "observe.py"
    script.write_text(SCRIPT, encoding="utf-8")
    url = f"sqlite:///{folder / 'runs.db'}"
    run_script(script, "write", url, str(folder / "writer.json"), json.dumps(CONFIG), RUN)
    run_script(script, "read", url, str(folder / "reader.json"), RUN)
    return load(folder / "writer.json"), load(folder / "reader.json")


@pytest.fixture(scope="module")
def recomputed() -> MemoryStatus:
    """The same flow in this process, on an in-memory stand-in for the Status."""
    from petsard_status import Config

    memory = MemoryStatus(list(CONFIG))
    context = ModuleContext(output_dir=Path("unused"))
    for step in Config(CONFIG).flow():
        if step.module == "Reporter":
            continue  # it writes files; its result is checked against the Synthesizer's
        adapter = build_adapter(step.module, step.params, context)
        adapter.run(adapter.set_input(memory))
        memory.put(step.module, step.experiment, adapter)
    return memory


@pytest.mark.slow
def test_reopened_run_shows_what_the_writer_saw(dumps: tuple[Any, Any]) -> None:
    seen, reread = dumps
    seen_live, reread_live = seen.pop("live"), reread.pop("live")
    assert reread.pop("schemas_decoded_by_open") == 0
    assert list(reread) == list(seen)
    for key in seen:
        assert_same(seen[key], reread[key], key)

    assert seen_live == {"synthesizer": {"type": "GaussianCopula"},
                         "processor": {"type": "Processor"}}
    for name, module in (("synthesizer", "Synthesizer"), ("processor", "Preprocessor")):
        error = reread_live[name]
        assert error["error"] == LiveObjectUnavailableError.__name__
        assert UnexecutedError.__name__ in error["mro"]
        assert error["module"] == module
        assert module in error["message"] and "again" in error["message"]


@pytest.mark.slow
def test_the_dump_covers_the_run(dumps: tuple[Any, Any]) -> None:
    """Guards the comparison above against comparing two empty dumps."""
    seen, _ = dumps
    assert seen["status"] == {"Loader": "adult", "Splitter": "split_[2-2]",
                              "Preprocessor": "label", "Synthesizer": "copula",
                              "Reporter": "data"}
    assert [s["module_name"] for s in seen["snapshots"]] == [
        "Loader", "Splitter", "Preprocessor", "Synthesizer", "Reporter",
        "Splitter", "Preprocessor", "Synthesizer", "Reporter"]
    assert seen["summary"]["total_snapshots"] == 9
    assert seen["summary"]["state"] == "completed"
    assert seen["summary"]["total_changes"] == len(seen["changes"]) > 9
    assert {c["target_type"] for c in seen["changes"]} == {"schema", "field"}
    assert len(seen["timings"]) == 9 + 2
    errors = [t for t in seen["timings"] if "error" in t["context"]]
    assert [e["context"]["error"] for e in errors] == ["too few rows"] * 2
    assert len(seen["train_indices"]) == 2
    assert len(seen["report"]) == 2
    assert seen["metadata_modules"] == ["Loader", "Splitter", "Preprocessor"]
    assert [len(v) for v in seen["evolution"].values()] == [1, 2, 2, 0, 0]
    assert seen["validation_by_module"]["Synthesizer"]["rows"] == 1500
    assert all(isinstance(s["metadata_after"], SchemaMetadata)
               for s in seen["snapshots"] if s["module_name"] in seen["metadata_modules"])


@pytest.mark.slow
def test_results_equal_a_recomputation(dumps: tuple[Any, Any],
                                       recomputed: MemoryStatus) -> None:
    _, reread = dumps
    for module in ("Loader", "Splitter", "Preprocessor", "Synthesizer"):
        expected = recomputed.get_result(module)
        got = reread["results"][module]
        if isinstance(expected, pd.DataFrame):
            pd.testing.assert_frame_equal(got, expected, obj=module)
            assert_same(got, reread["data_by_module"][module], f"data_by_module.{module}")
        else:
            assert list(got) == list(expected)
            for part in expected:
                pd.testing.assert_frame_equal(got[part], expected[part], obj=f"{module}.{part}")
                # As upstream: a dict result is spelled out as Module_part.
                assert_same(got[part], reread["data_by_module"][f"{module}_{part}"],
                            f"data_by_module.{module}_{part}")
    # The Reporter saved the Synthesizer's output of each branch, merged into the report.
    synthesized = list(reread["report"].values())
    assert len(synthesized) == 2
    pd.testing.assert_frame_equal(synthesized[1], recomputed.get_result("Synthesizer"))
    pd.testing.assert_frame_equal(
        next(iter(reread["results"]["Reporter"].values())), synthesized[1])
    assert [set(s) for s in reread["train_indices"]] == recomputed.get_exist_train_indices()
    for module in ("Loader", "Splitter", "Preprocessor"):
        assert untimed(reread["metadata"][module]) == untimed(recomputed.get_metadata(module))
    assert untimed(reread["preprocessor_input_schema"]) == untimed(
        recomputed.get_metadata("Splitter"))
