"""Loader: reads a CSV file (or a bundled benchmark) into a DataFrame."""

from __future__ import annotations

import hashlib
import importlib.resources
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

import pandas as pd

from petsard_status.errors import ModuleError
from petsard_status.modules.base import BaseAdapter, schema_of
from petsard_status.modules.params import LIST, MAPPING, STRING, Param, ParamSpec

if TYPE_CHECKING:
    from petsard_status.metadata.types import SchemaMetadata

BENCHMARK_SCHEME = "benchmark://"

# name -> (file name, sha256 of its bytes, default na_values)
BENCHMARKS: dict[str, tuple[str, str, str | list[str] | None]] = {
    "adult-income": (
        "adult-income.csv",
        "1f13ee2bf9d7c66098429281ab91fa1b51cbabd3b805cc365b3c6b44491ea2c0",
        "?",
    ),
}

COLUMN_TYPE_KINDS = ("category", "int", "float", "datetime", "string")


def benchmark_dirs() -> list[Path]:
    """Folders searched for bundled benchmark files, in order.

    The wheel ships the files as package data; a source checkout (editable
    install) keeps them under ``examples/data`` at the repository root.
    """
    dirs: list[Path] = []
    try:
        packaged = importlib.resources.files("petsard_status") / "data"
        dirs.append(Path(str(packaged)))
    except (ModuleNotFoundError, TypeError):  # pragma: no cover - zipped installs
        pass
    dirs.append(Path(__file__).resolve().parents[3] / "examples" / "data")
    return dirs


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve_benchmark(name: str, search_dirs: Iterable[Path] | None = None) -> Path:
    """Path of a bundled benchmark file, after checking its bytes are the published ones."""
    if name not in BENCHMARKS:
        raise ModuleError(
            f"unknown benchmark {name!r}; available: {', '.join(sorted(BENCHMARKS))}"
        )
    filename, expected, _ = BENCHMARKS[name]
    dirs = list(search_dirs) if search_dirs is not None else benchmark_dirs()
    for folder in dirs:
        candidate = folder / filename
        if candidate.is_file():
            actual = file_sha256(candidate)
            if actual != expected:
                raise ModuleError(
                    f"benchmark file {candidate} has sha256 {actual}, expected {expected}; "
                    "the copy is damaged or was edited: reinstall petsard-status or restore "
                    "the file"
                )
            return candidate
    raise ModuleError(
        f"benchmark {name!r} ({filename}) was not found in "
        f"{', '.join(str(d) for d in dirs)}; reinstall petsard-status"
    )


class LoaderAdapter(BaseAdapter):
    """Loads one table.

    Parameters: ``filepath`` (required; relative to the run's base folder, or
    ``benchmark://adult-income``; ``method: default`` means the benchmark),
    ``na_values``, ``header_names``, ``column_types``.
    """

    module_name: ClassVar[str] = "Loader"
    params: ClassVar[ParamSpec] = ParamSpec((
        Param("filepath", (STRING,), required=(None,),
              doc="a CSV path (relative to the pipeline file) or benchmark://adult-income"),
        Param("method", (STRING,), choices=("default",),
              doc="default without a filepath means benchmark://adult-income"),
        Param("na_values", (STRING, LIST), items=(STRING,), doc="values read as missing"),
        Param("header_names", (LIST,), items=(STRING,), doc="column names of a headerless file"),
        Param("column_types", (MAPPING,), keys=COLUMN_TYPE_KINDS, items=(STRING, LIST),
              doc="{type: [columns]}"),
    ))

    def __init__(self, config: dict[str, Any], context: Any = None) -> None:
        super().__init__(config, context)
        self.data: pd.DataFrame | None = None
        self._metadata: SchemaMetadata | None = None
        self.path, self.na_values = self._resolve_source()
        self.column_types = self._check_column_types(self.config.get("column_types"))
        header = self.config.get("header_names")
        if header is not None and (
            not isinstance(header, list) or not all(isinstance(h, str) for h in header)
        ):
            raise ModuleError("Loader: header_names must be a list of column names")
        self.header_names: list[str] | None = header

    def _resolve_source(self) -> tuple[Path, Any]:
        filepath = self.config.get("filepath")
        if filepath is None and self.config.get("method") == "default":
            filepath = f"{BENCHMARK_SCHEME}adult-income"
        if not isinstance(filepath, str) or not filepath:
            raise ModuleError("Loader: 'filepath' is required (a CSV path or benchmark://NAME)")
        na_values = self.config.get("na_values")
        if na_values is not None and not (
            isinstance(na_values, str)
            or (isinstance(na_values, list) and all(isinstance(v, str) for v in na_values))
        ):
            raise ModuleError("Loader: na_values must be a string or a list of strings")
        if filepath.startswith(BENCHMARK_SCHEME):
            name = filepath[len(BENCHMARK_SCHEME):]
            path = resolve_benchmark(name)
            if na_values is None:
                na_values = BENCHMARKS[name][2]
            return path, na_values
        path = Path(filepath)
        if not path.is_absolute():
            path = Path(self.context.base_dir) / path
        if not path.is_file():
            raise ModuleError(f"Loader: file {path} does not exist")
        return path, na_values

    @staticmethod
    def _check_column_types(value: Any) -> dict[str, list[str]]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ModuleError("Loader: column_types must map a type to a list of columns")
        checked: dict[str, list[str]] = {}
        for kind, columns in value.items():
            if kind not in COLUMN_TYPE_KINDS:
                raise ModuleError(
                    f"Loader: unknown column type {kind!r}; use one of "
                    f"{', '.join(COLUMN_TYPE_KINDS)}"
                )
            if isinstance(columns, str):
                columns = [columns]
            if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
                raise ModuleError(f"Loader: column_types.{kind} must be a list of column names")
            checked[kind] = columns
        return checked

    def set_input(self, status: Any) -> dict[str, Any]:
        return {}

    def run(self, input: dict[str, Any]) -> None:
        try:
            data = pd.read_csv(
                self.path,
                na_values=self.na_values,
                skipinitialspace=True,
                header=0 if self.header_names is None else None,
                names=self.header_names,
            )
        except (ValueError, OSError) as exc:
            raise ModuleError(f"Loader: cannot read {self.path} as CSV: {exc}") from exc
        self.data = self._apply_column_types(data)
        self._metadata = None

    def _apply_column_types(self, data: pd.DataFrame) -> pd.DataFrame:
        for kind, columns in self.column_types.items():
            missing = [c for c in columns if c not in data.columns]
            if missing:
                raise ModuleError(
                    f"Loader: column_types.{kind} names columns not in the file: {missing}"
                )
            for column in columns:
                data[column] = self._convert(data[column], kind)
        return data

    @staticmethod
    def _convert(series: pd.Series, kind: str) -> pd.Series:
        try:
            if kind == "category":
                return series.astype("category")
            if kind == "string":
                return series.astype("str")
            if kind == "float":
                return series.astype("float64")
            if kind == "int":
                # A column with gaps cannot be int64; the nullable type keeps them.
                return series.astype("Int64" if series.isna().any() else "int64")
            return pd.to_datetime(series)
        except (ValueError, TypeError) as exc:
            raise ModuleError(
                f"Loader: column {series.name!r} cannot be read as {kind}: {exc}"
            ) from exc

    def get_result(self) -> pd.DataFrame:
        if self.data is None:
            raise ModuleError("Loader: get_result() before run()")
        return self.data

    def get_metadata(self) -> SchemaMetadata:
        if self._metadata is None:
            self._metadata = schema_of(self.get_result(), "loader")
        return self._metadata
