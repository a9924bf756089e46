"""An in-memory stand-in for the pipeline status, for testing modules alone.

It implements only the part of the Status API that adapters call from
``set_input``, with the same semantics (a put of a module already in the
status drops the modules after it; Splitter puts add train index sets;
Reporter puts merge their result into the report).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from petsard_status.errors import UnexecutedError
from petsard_status.modules import ModuleContext, build_adapter

SEQUENCE = [
    "Loader", "Splitter", "Preprocessor", "Synthesizer", "Postprocessor", "Evaluator", "Reporter",
]


class MemoryStatus:
    def __init__(self, sequence: list[str] | None = None) -> None:
        self.sequence: list[str] = list(sequence or SEQUENCE)
        self.status: dict[str, dict[str, Any]] = {}
        self.metadata: dict[str, Any] = {}
        self.exist_train_indices: list[set[int]] = []
        self.report: dict[str, pd.DataFrame] = {}
        self.timing = pd.DataFrame(
            {"module_name": ["Loader"], "experiment_name": ["data"], "duration_seconds": [0.5]}
        )

    def put(self, module: str, expt: str, adapter: Any) -> None:
        if module in self.status:
            keep = set(self.sequence[: self.sequence.index(module) + 1])
            for name in [m for m in self.status if m not in keep]:
                del self.status[name]
        if module in ("Loader", "Splitter", "Preprocessor"):
            self.metadata[module] = adapter.get_metadata()
        if module == "Splitter":
            self.exist_train_indices.extend(set(s) for s in adapter.get_train_indices())
        if module == "Reporter":
            self.report.update(adapter.get_result())
        self.status[module] = {"expt": expt, "operator": adapter}

    def get_pre_module(self, module: str) -> str | None:
        index = self.sequence.index(module)
        return None if index == 0 else self.sequence[index - 1]

    def get_result(self, module: str) -> Any:
        if module not in self.status:
            raise UnexecutedError(module)
        return self.status[module]["operator"].get_result()

    def get_metadata(self, module: str = "Loader") -> Any:
        if module not in self.metadata:
            raise UnexecutedError(module)
        return self.metadata[module]

    def get_exist_train_indices(self) -> list[set[int]]:
        return self.exist_train_indices

    def get_processor(self) -> Any:
        if "Preprocessor" not in self.status:
            raise UnexecutedError("Preprocessor")
        return self.status["Preprocessor"]["operator"].processor

    def get_synthesizer(self) -> Any:
        if "Synthesizer" not in self.status:
            raise UnexecutedError("Synthesizer")
        return self.status["Synthesizer"]["operator"].synthesizer

    def get_full_expt(self, module: str | None = None) -> dict[str, str]:
        upto = self.sequence if module is None else self.sequence[
            : self.sequence.index(module) + 1
        ]
        return {m: self.status[m]["expt"] for m in upto if m in self.status}

    def get_report(self) -> dict[str, pd.DataFrame]:
        return self.report

    def get_timing_report_data(self) -> pd.DataFrame:
        return self.timing

    def get_data_by_module(self, modules: str | list[str]) -> dict[str, Any]:
        names = [modules] if isinstance(modules, str) else modules
        return {m: self.get_result(m) for m in names if m in self.status}


def run_module(
    status: MemoryStatus,
    module: str,
    expt: str,
    params: dict[str, Any],
    context: ModuleContext | None = None,
) -> Any:
    """Build, feed, run and put one module, the way an executor does."""
    adapter = build_adapter(module, params, context)
    adapter.run(adapter.set_input(status))
    status.put(module, expt, adapter)
    return adapter
