"""Reporter: writes module results, evaluation reports and timings to CSV files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from petsard_status.config import step_key
from petsard_status.errors import ConfigError, ModuleError
from petsard_status.formats import write_file_atomically
from petsard_status.modules.base import BaseAdapter
from petsard_status.modules.params import LIST, STRING, Param, ParamSpec

METHODS = ("save_data", "save_report", "save_timing")
GRANULARITIES = ("global", "columnwise", "pairwise")
REPORT_MODULES = ("Evaluator", "Describer")
TIMING_KEY = "timing_report"



def _file_safe(name: str) -> str:
    # Experiment names become file names; a path separator would make a folder.
    return name.replace("/", "_").replace("\\", "_").replace("\x00", "_")


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` so that equal frames give byte-identical files, whole or not at all."""
    text = frame.to_csv(index=False, lineterminator="\n")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file_atomically(path, text.encode("utf-8"))
    except OSError as exc:
        raise ModuleError(
            f"Reporter: cannot write {path} ({exc.strerror or exc}); any earlier file of that "
            "name is unchanged. Free space or choose another --output folder, then resume the run"
        ) from exc


def _name_limit(folder: Path) -> int:
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            try:
                return os.pathconf(candidate, "PC_NAME_MAX")
            except (OSError, ValueError):
                break
    return 255


def _planned_names(step: Any) -> list[str]:
    """The longest file names the Reporter ``step`` of a flow can write."""
    params = step.params
    output = params.get("output", "petsard")
    if not isinstance(output, str):
        return []
    method = params.get("method")
    if method == "save_data":
        sources = _string_list(params.get("source"), "source") or []
        full = dict(step.path)
        names = []
        for source in sources:
            if source in full:
                upto = dict(list(full.items())[: list(full).index(source) + 1])
                # Dict results add a part to the source's name: "_[validation]" is the longest.
                upto[source] = f"{upto[source]}_[validation]"
                names.append(f"{output}_{step_key(upto.items())}.csv")
        return names
    if method == "save_report":
        evals = "-".join(_string_list(params.get("eval"), "eval") or [])
        return [f"{output}[Report]_{evals}_[columnwise].csv"]
    return [f"{output}[Timing].csv"]


def check_output_names(flow: list[Any], output_dir: Path) -> None:
    """Refuse, before a run starts, Reporter file names longer than the file system allows."""
    # Files are written under a temporary name first: ".NAME.<8 characters>.part".
    limit = _name_limit(output_dir) - len("..12345678.part")
    for step in flow:
        if step.module != "Reporter":
            continue
        for name in _planned_names(step):
            size = len(_file_safe(name).encode("utf-8"))
            if size > limit:
                raise ConfigError(
                    f"Reporter[{step.experiment}] would write a file named {name[:60]!r}... "
                    f"({size} bytes), longer than the {limit} bytes file names may have in "
                    f"{output_dir}; shorten the experiment names on that path or the "
                    "Reporter's output prefix"
                )


def _string_list(value: Any, key: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return list(value)
    raise ModuleError(f"Reporter: {key} must be a module name or a list of them")


class ReporterAdapter(BaseAdapter):
    """Saves what earlier modules produced.

    ``method``: ``save_data`` (``source``: module name(s)), ``save_report``
    (``granularity``: global, columnwise or pairwise; ``eval``: optional
    Evaluator experiment name(s) to keep), ``save_timing`` (``module``:
    optional filter).  ``output`` is the file name prefix (default
    ``petsard``); files go to the run's output folder.
    """

    module_name: ClassVar[str] = "Reporter"
    params: ClassVar[ParamSpec] = ParamSpec((
        Param("method", (STRING,), required=True, choices=METHODS),
        Param("output", (STRING,), default="petsard", doc="file name prefix"),
        Param("source", (STRING, LIST), items=(STRING,), required=("save_data",),
              methods=("save_data",), doc="the module(s) whose results to save"),
        Param("granularity", (STRING,), required=("save_report",), methods=("save_report",),
              choices=GRANULARITIES, ignore_case=True, doc="the report table to save"),
        Param("eval", (STRING, LIST), items=(STRING,), methods=("save_report",),
              doc="Evaluator experiment(s) to keep"),
        Param("module", (STRING, LIST), items=(STRING,), methods=("save_timing",),
              doc="module(s) whose timings to keep"),
    ))

    def __init__(self, config: dict[str, Any], context: Any = None) -> None:
        super().__init__(config, context)
        self.method = self.config.get("method")
        if self.method not in METHODS:
            raise ModuleError(
                f"Reporter: method must be one of {', '.join(METHODS)}, not {self.method!r}"
            )
        self.output = self.config.get("output", "petsard")
        if not isinstance(self.output, str) or not self.output:
            raise ModuleError("Reporter: output (the file name prefix) must be a string")
        self.sources = _string_list(self.config.get("source"), "source")
        if self.method == "save_data" and not self.sources:
            raise ModuleError("Reporter: save_data needs 'source' (a module name or a list)")
        granularity = self.config.get("granularity")
        if self.method == "save_report" and (
            not isinstance(granularity, str) or granularity.lower() not in GRANULARITIES
        ):
            raise ModuleError(
                f"Reporter: save_report needs granularity, one of {', '.join(GRANULARITIES)}"
            )
        self.granularity = granularity.lower() if isinstance(granularity, str) else None
        self.eval_names = _string_list(self.config.get("eval"), "eval")
        self.modules = _string_list(self.config.get("module"), "module")
        self.result: dict[str, pd.DataFrame] | None = None
        self.written_paths: list[Path] = []

    def set_input(self, status: Any) -> dict[str, Any]:
        if self.method == "save_data":
            return {"data": self._collect_data(status)}
        if self.method == "save_report":
            return self._collect_report(status)
        return {"timing": status.get_timing_report_data()}

    def _collect_data(self, status: Any) -> dict[str, pd.DataFrame]:
        data: dict[str, pd.DataFrame] = {}
        for source in self.sources or []:
            if source not in status.status:
                raise ModuleError(
                    f"Reporter: source {source!r} has no result in this run "
                    f"(modules that ran: {', '.join(status.status) or 'none'})"
                )
            full = dict(status.get_full_expt(source))
            result = status.get_result(source)
            if isinstance(result, pd.DataFrame):
                data[step_key(full.items())] = result
                continue
            # Dict results (Splitter parts, Evaluator granularities) get one file
            # each, named the way PETsARD names them: Splitter[name_[train]].
            for part, frame in (result or {}).items():
                if isinstance(frame, pd.DataFrame):
                    data[step_key({**full, source: f"{full[source]}_[{part}]"}.items())] = frame
        return data

    def _collect_report(self, status: Any) -> dict[str, Any]:
        reports: dict[str, pd.DataFrame] = {}
        for module in REPORT_MODULES:
            if module not in status.status:
                continue
            full = dict(status.get_full_expt(module))
            if self.eval_names is not None and full[module] not in self.eval_names:
                continue
            result = status.get_result(module)
            frame = result.get(self.granularity) if isinstance(result, dict) else None
            if isinstance(frame, pd.DataFrame):
                reports[step_key(full.items())] = self._label(frame, full)
        key = self.report_key()
        existing = status.get_report().get(key)
        return {"reports": reports, "existing": existing}

    @staticmethod
    def _label(frame: pd.DataFrame, full: dict[str, str]) -> pd.DataFrame:
        labels = pd.DataFrame(
            {"full_expt_name": step_key(full.items()), **full}, index=frame.index
        )
        return pd.concat([labels, frame], axis=1).reset_index(drop=True)

    def report_key(self) -> str:
        """The report name, as PETsARD names it: ``[global]`` or ``eval1-eval2_[global]``."""
        prefix = "-".join(self.eval_names) if self.eval_names else ""
        return f"{prefix}_[{self.granularity}]" if prefix else f"[{self.granularity}]"

    def run(self, input: dict[str, Any]) -> None:
        out_dir = Path(self.context.output_dir)
        written: dict[str, tuple[Path, pd.DataFrame]] = {}
        if self.method == "save_data":
            for name, frame in input["data"].items():
                written[name] = (out_dir / _file_safe(f"{self.output}_{name}.csv"), frame)
        elif self.method == "save_report":
            report = self._merge_report(input.get("existing"), input["reports"])
            if report is not None:
                key = self.report_key()
                written[key] = (out_dir / _file_safe(f"{self.output}[Report]_{key}.csv"), report)
        else:
            timing = input.get("timing")
            if isinstance(timing, pd.DataFrame) and self.modules and "module_name" in timing:
                timing = timing[timing["module_name"].isin(self.modules)]
            if isinstance(timing, pd.DataFrame) and not timing.empty:
                path = out_dir / _file_safe(f"{self.output}[Timing].csv")
                written[TIMING_KEY] = (path, timing.reset_index(drop=True))
        for path, frame in written.values():
            write_csv(frame, path)
        self.written_paths = [path for path, _ in written.values()]
        self.result = {name: frame for name, (_, frame) in written.items()}

    @staticmethod
    def _merge_report(
        existing: pd.DataFrame | None, reports: dict[str, pd.DataFrame]
    ) -> pd.DataFrame | None:
        """Rows of earlier branches (kept from the status's report) plus this branch's.

        Rows of the same experiment path are replaced, so running a branch
        again does not duplicate them.
        """
        frames: list[pd.DataFrame] = []
        if isinstance(existing, pd.DataFrame) and "full_expt_name" in existing:
            frames.append(existing[~existing["full_expt_name"].isin(list(reports))])
        frames.extend(reports.values())
        frames = [f for f in frames if not f.empty]
        if not frames:
            return None
        return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]

    def get_result(self) -> dict[str, pd.DataFrame]:
        if self.result is None:
            raise ModuleError("Reporter: get_result() before run()")
        return self.result
