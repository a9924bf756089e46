"""Checking a whole pipeline config before any of its steps runs.

Each experiment's parameters are checked against the :class:`ParamSpec` of
the adapter that will run it (a reference adapter, or a user's class that
declares one); a Reporter's ``source`` and ``eval`` must name modules and
experiments of the config.  Every problem is collected, with the file and
line it is written on when the config came from a YAML file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petsard_status.config import Config
from petsard_status.config.locations import Locations
from petsard_status.errors import InvalidConfigError, PetsardStatusError
from petsard_status.modules import ADAPTERS, get_adapter_class
from petsard_status.modules.params import ParamSpec, suggest

__all__ = ["Problem", "check_config", "config_problems"]

# Names the registry reads to pick a user's class, not parameters of the class.
_CLASS_KEYS = ("module_path", "class_name")


@dataclass(frozen=True)
class Problem:
    """One problem of a config, and where it is written."""

    module: str
    experiment: str
    param: str | None
    message: str
    where: str = ""

    def __str__(self) -> str:
        prefix = f"{self.where}: " if self.where else ""
        return f"{prefix}{self.module}[{self.experiment}]: {self.message}"


def config_problems(config: Config, base_dir: str | os.PathLike[str] | None = None,
                    locations: Locations | None = None) -> list[Problem]:
    """Every problem of ``config``'s parameters, in the order they are written.

    ``base_dir`` is where relative ``module_path`` values are found (the
    pipeline file's folder); ``locations`` defaults to those of
    ``config.source_path``.
    """
    if locations is None:
        locations = (Locations.of_file(config.source_path) if config.source_path is not None
                     else Locations())
    base = Path(base_dir) if base_dir is not None else (
        config.source_path.resolve().parent if config.source_path is not None else Path.cwd())
    problems: list[Problem] = []
    original = config.to_dict()
    for module, experiments in original.items():
        for experiment, params in experiments.items():
            for param, message, on_key in _experiment_problems(module, params, base, config):
                key = (module, experiment) if param is None else (module, experiment, param)
                problems.append(Problem(module, experiment, param, message,
                                        locations.where(key, value=not on_key)))
    return problems


def check_config(config: Config, base_dir: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`InvalidConfigError` listing every problem of ``config``, if any."""
    problems = config_problems(config, base_dir)
    if problems:
        where = f" {str(config.source_path)!r}" if config.source_path is not None else ""
        raise InvalidConfigError([str(p) for p in problems], where)


def _experiment_problems(module: str, params: dict[str, Any], base: Path,
                         config: Config) -> list[tuple[str | None, str, bool]]:
    try:
        cls = get_adapter_class(module, params, base)
    except PetsardStatusError as exc:
        param = next((k for k in _CLASS_KEYS if k in params), None)
        return [(param, str(exc), False)]
    spec: ParamSpec | None = getattr(cls, "params", None)
    if not isinstance(spec, ParamSpec):
        return []
    is_users_class = cls is not ADAPTERS.get(module)
    checked = {k: v for k, v in params.items() if not (is_users_class and k in _CLASS_KEYS)}
    found = [(p.param, p.message, p.key) for p in spec.check(checked)]
    if module == "Reporter" and not is_users_class:
        found.extend(_reporter_names(params, config))
    return found


def _reporter_names(params: dict[str, Any], config: Config) -> list[tuple[str | None, str, bool]]:
    """A Reporter's ``source`` must name modules before it, ``eval`` Evaluator experiments."""
    found: list[tuple[str | None, str, bool]] = []
    earlier = config.sequence[: config.sequence.index("Reporter")]
    for name in _names(params.get("source")):
        if name not in earlier:
            found.append(("source", (
                f"source {name!r} is not a module before the Reporter{suggest(name, earlier)}; "
                f"use one of {', '.join(earlier)}"), False))
    if "Evaluator" in config.sequence:
        evaluations = list(config.to_dict()["Evaluator"])
        for name in _names(params.get("eval")):
            if name not in evaluations:
                found.append(("eval", (
                    f"eval {name!r} is not an Evaluator experiment{suggest(name, evaluations)}; "
                    f"the config has {', '.join(evaluations)}"), False))
    return found


def _names(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []
