"""The pipeline configuration: which modules run, in what order, with which experiments."""

from __future__ import annotations

import copy
import difflib
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from petsard_status.errors import ConfigError

KNOWN_MODULES: tuple[str, ...] = (
    "Loader",
    "Splitter",
    "Preprocessor",
    "Synthesizer",
    "Postprocessor",
    "Constrainer",
    "Evaluator",
    "Describer",
    "Reporter",
)
"""Module names a config may use besides custom ones (``Custom...``)."""

CUSTOM_PREFIX = "Custom"

RESERVED_SUFFIX = re.compile(r"_\[[^\]]*\]$")
"""Experiment-name ending that only Splitter expansion may produce."""

FlowPath = tuple[tuple[str, str], ...]
"""A flow path: the ``(module, experiment)`` pairs from the first module to a step."""


@dataclass(frozen=True)
class FlowStep:
    """One module run in the flow of a :class:`Config`.

    ``path`` holds the ``(module, experiment)`` pair of every module up to and
    including this one, so two steps with the same path are the same run of the
    same module on the same input.  ``key`` spells the path the way PETsARD
    keys its results, e.g. ``"Loader[data]_Splitter[split_[2-1]]"``.
    """

    module: str
    experiment: str
    # Excluded from hashing so steps can live in sets and dict keys; the path
    # already identifies a step.
    params: dict[str, Any] = field(hash=False, compare=True)
    path: FlowPath
    index: int
    key: str

    @property
    def depth(self) -> int:
        """Position of this step's module in the sequence (0 for the first module)."""
        return len(self.path) - 1


def step_key(path: Iterable[Sequence[str]]) -> str:
    """PETsARD's result key for a flow path: ``Module[experiment]`` joined by ``_``."""
    return "_".join(f"{module}[{experiment}]" for module, experiment in path)


class Config:
    """A pipeline configuration, built from a mapping or a YAML file.

    The top level maps module names to experiments, and each experiment name to
    its parameters::

        Loader:
          data:
            filepath: benchmark://adult-income
        Synthesizer:
          demo:
            method: default
        Reporter:
          output:
            method: save_data
            source: Synthesizer

    The order of the modules is the :attr:`sequence`.  The :meth:`flow` is the
    depth-first expansion of every combination of experiments across the
    modules: each experiment of a module runs once for each path of the modules
    before it, and a shared prefix runs once.

    **Module names.**  A module is one of :data:`KNOWN_MODULES` (Loader,
    Splitter, Preprocessor, Synthesizer, Postprocessor, Constrainer, Evaluator,
    Describer, Reporter), or a *custom module*: a name that starts with
    ``Custom`` followed by more letters, digits or underscores (for example
    ``CustomCleaner``), every experiment of which names the Python file and the
    class that implement it::

        CustomCleaner:
          drop-outliers:
            module_path: cleaners/outliers.py   # a .py file
            class_name: OutlierCleaner          # a class defined in that file
            threshold: 3.5                      # further params go to the class

    **Splitter expansion.**  Every Splitter experiment expands into
    ``num_samples`` experiments (default 1, as in PETsARD) named
    ``name_[n-k]``, ``k`` running from 1 to ``n`` and zero-padded to the width
    of ``n`` (``split_[12-01]`` ... ``split_[12-12]``).  Each expanded
    experiment has the original params with ``num_samples: 1`` and
    ``sample_index: k``.  Because of this, no experiment name written by a user
    may end in ``_[...]``, and a Splitter may not set ``sample_index`` itself.

    **Values.**  Parameters must be plain data (strings, numbers, booleans,
    null, lists and mappings with string keys) so that the config can be stored
    as JSON and rebuilt: ``Config(config.to_dict()) == config``.  Tuples are
    kept as lists and ``None`` parameter blocks as ``{}``.

    Raises :class:`~petsard_status.errors.ConfigError` for anything malformed,
    naming the module and experiment at fault.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        source_path: str | os.PathLike[str] | None = None,
    ) -> None:
        self.source_path: Path | None = Path(source_path) if source_path is not None else None
        """The YAML file this config was read from, if any (relative paths resolve against it)."""
        self._original: dict[str, dict[str, dict[str, Any]]] = _validate(config, self._where())
        self._expanded: dict[str, dict[str, dict[str, Any]]] = {
            module: (_expand_splitter(experiments) if module == "Splitter" else experiments)
            for module, experiments in self._original.items()
        }
        self._steps: list[tuple[str, str, FlowPath]] = _build_flow(self._expanded)
        self._index_by_path: dict[FlowPath, int] = {
            path: i for i, (_, _, path) in enumerate(self._steps)
        }

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> Config:
        """Read a config from a YAML file (parsed with a safe loader: no code runs)."""
        file = Path(path)
        try:
            text = file.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"config file {str(file)!r} does not exist; check the path "
                f"(relative paths are taken from {str(Path.cwd())!r})"
            ) from None
        except IsADirectoryError:
            raise ConfigError(f"config path {str(file)!r} is a folder, not a YAML file") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(
                f"config file {str(file)!r} is not UTF-8 text ({exc.reason} at byte {exc.start}); "
                "save it as UTF-8 YAML"
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"config file {str(file)!r} cannot be read: {exc.strerror or exc}"
            ) from None
        # PyYAML is imported only here: a config read back from a store is JSON.
        from petsard_status.config.strict_yaml import load_config_yaml

        data = load_config_yaml(text, file)
        if data is None:
            raise ConfigError(
                f"config file {str(file)!r} is empty; write at least one module, e.g. "
                "'Loader: {data: {filepath: benchmark://adult-income}}'"
            )
        if not isinstance(data, Mapping):
            raise ConfigError(
                f"config file {str(file)!r} must hold a mapping of module names to experiments "
                f"at the top level, not a {_kind(data)}"
            )
        return cls(data, source_path=file)

    # --- the config itself ------------------------------------------------------

    @property
    def sequence(self) -> list[str]:
        """The modules in the order they run."""
        return list(self._original)

    @property
    def config(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The expanded config ``{module: {experiment: params}}`` (a copy)."""
        return copy.deepcopy(self._expanded)

    @property
    def yaml(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Same as :attr:`config`; the name PETsARD uses."""
        return self.config

    def to_dict(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The config as the user wrote it (before Splitter expansion), as JSON-able data."""
        return copy.deepcopy(self._original)

    def experiments(self, module: str) -> list[str]:
        """Names of ``module``'s experiments, after Splitter expansion, in config order."""
        return list(self._module(module))

    def params(self, module: str, experiment: str) -> dict[str, Any]:
        """Parameters of one (expanded) experiment (a copy)."""
        experiments = self._module(module)
        if experiment not in experiments:
            samples = [name for name in experiments if name.startswith(f"{experiment}_[")]
            if module == "Splitter" and samples:
                raise ConfigError(
                    f"Splitter experiment {experiment!r} was expanded by num_samples; ask for "
                    f"one of its samples: {', '.join(samples)}"
                )
            raise ConfigError(
                f"module {module!r} has no experiment {experiment!r}"
                f"{_suggest(experiment, experiments)}; its experiments are: "
                f"{', '.join(experiments)}"
            )
        return copy.deepcopy(experiments[experiment])

    # --- the flow ---------------------------------------------------------------

    def flow(self) -> list[FlowStep]:
        """Every module run of the pipeline, in execution (depth-first) order."""
        return [self._make_step(i) for i in range(len(self._steps))]

    def paths(self) -> list[FlowPath]:
        """The full paths (one experiment of every module), in execution order."""
        depth = len(self._original)
        return [path for _, _, path in self._steps if len(path) == depth]

    @property
    def num_steps(self) -> int:
        """Number of module runs in the flow."""
        return len(self._steps)

    def step_by_path(self, path: Iterable[Sequence[str]]) -> FlowStep:
        """The flow step at ``path`` (pairs may be lists, e.g. when read back from JSON)."""
        try:
            key = tuple((str(module), str(experiment)) for module, experiment in path)
        except (TypeError, ValueError):
            raise ConfigError(
                f"a flow path is a sequence of (module, experiment) pairs, not {path!r}"
            ) from None
        index = self._index_by_path.get(key)
        if index is None:
            raise ConfigError(
                f"no step {step_key(key) or '(empty path)'!r} in this config's flow; a path "
                f"names one experiment of each module in order {' -> '.join(self.sequence)}"
            )
        return self._make_step(index)

    # --- dunder -----------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        # dict equality ignores order, but module and experiment order shape the flow.
        return _ordered(self._original) == _ordered(other._original)

    __hash__ = None  # type: ignore[assignment]  # mutable-looking content: equality, not identity

    def __repr__(self) -> str:
        modules = ", ".join(f"{m}({len(e)})" for m, e in self._expanded.items())
        return f"Config({modules}; {self.num_steps} steps)"

    # --- internals --------------------------------------------------------------

    def _where(self) -> str:
        return f" in {str(self.source_path)!r}" if self.source_path is not None else ""

    def _module(self, module: str) -> dict[str, dict[str, Any]]:
        try:
            return self._expanded[module]
        except (KeyError, TypeError):
            raise ConfigError(
                f"module {module!r} is not in this config{_suggest(module, self._expanded)}; "
                f"its modules are: {', '.join(self.sequence)}"
            ) from None

    def _make_step(self, index: int) -> FlowStep:
        module, experiment, path = self._steps[index]
        return FlowStep(
            module=module,
            experiment=experiment,
            params=copy.deepcopy(self._expanded[module][experiment]),
            path=path,
            index=index,
            key=step_key(path),
        )


# --- validation --------------------------------------------------------------------


def _validate(config: Any, where: str) -> dict[str, dict[str, dict[str, Any]]]:
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"a config is a mapping of module names to experiments, not a {_kind(config)}{where}"
        )
    if not config:
        raise ConfigError(f"the config{where} names no module; add at least a Loader")
    result: dict[str, dict[str, dict[str, Any]]] = {}
    for module, experiments in config.items():
        _check_module_name(module, where)
        if experiments is None or (isinstance(experiments, Mapping) and not experiments):
            raise ConfigError(
                f"module {module!r}{where} has no experiments; give it at least one, "
                f"e.g. '{module}: {{my-experiment: {{...}}}}', or remove it"
            )
        if not isinstance(experiments, Mapping):
            raise ConfigError(
                f"module {module!r}{where} must map experiment names to their params, "
                f"not be a {_kind(experiments)}"
            )
        checked: dict[str, dict[str, Any]] = {}
        for experiment, params in experiments.items():
            _check_experiment_name(module, experiment, where)
            try:
                checked[experiment] = _check_params(module, experiment, params, where)
            except RecursionError:
                # YAML anchors can make a value contain itself.
                raise ConfigError(
                    f"params of {module}[{experiment}]{where} are nested too deeply or refer "
                    "to themselves (a YAML alias inside its own anchor?)"
                ) from None
        result[module] = checked
    return result


def _check_module_name(module: Any, where: str) -> None:
    if isinstance(module, str) and (module in KNOWN_MODULES or _is_custom_name(module)):
        return
    if isinstance(module, str) and module.startswith(CUSTOM_PREFIX):
        raise ConfigError(
            f"custom module name {module!r}{where} must be {CUSTOM_PREFIX!r} followed by "
            f"letters, digits or underscores, e.g. 'CustomCleaner'"
        )
    hint = _suggest(module, KNOWN_MODULES) if isinstance(module, str) else ""
    raise ConfigError(
        f"unknown module {module!r}{where}{hint}; known modules are: "
        f"{', '.join(KNOWN_MODULES)} (custom modules are named '{CUSTOM_PREFIX}...' and give "
        "module_path and class_name)"
    )


def _is_custom_name(module: str) -> bool:
    return (
        module.startswith(CUSTOM_PREFIX)
        and len(module) > len(CUSTOM_PREFIX)
        and module.isidentifier()
        and module.isascii()
    )


def _check_experiment_name(module: str, experiment: Any, where: str) -> None:
    if not isinstance(experiment, str) or not experiment.strip():
        raise ConfigError(
            f"experiment name {experiment!r} of module {module!r}{where} must be a non-empty "
            "string (quote it in YAML if it looks like a number, a date or a boolean)"
        )
    if RESERVED_SUFFIX.search(experiment):
        raise ConfigError(
            f"experiment name {experiment!r} of module {module!r}{where} ends in '_[...]', "
            "which is reserved for Splitter's num_samples expansion; rename it"
        )


def _check_params(module: str, experiment: str, params: Any, where: str) -> dict[str, Any]:
    label = f"{module}[{experiment}]"
    if params is None:
        params = {}
    if not isinstance(params, Mapping):
        raise ConfigError(
            f"params of {label}{where} must be a mapping of parameter names to values "
            f"(or empty), not a {_kind(params)}"
        )
    clean = _plain(params, f"{label}{where}", ())
    if module == "Splitter":
        _check_splitter(clean, label, where)
    elif module.startswith(CUSTOM_PREFIX):
        _check_custom(clean, label, where)
    return clean


def _check_splitter(params: dict[str, Any], label: str, where: str) -> None:
    num_samples = params.get("num_samples", 1)
    # bool is an int subclass, and 'num_samples: yes' is surely a mistake.
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples < 1:
        raise ConfigError(
            f"num_samples of {label}{where} must be a positive integer, not {num_samples!r}"
        )
    if "sample_index" in params:
        raise ConfigError(
            f"{label}{where} sets sample_index, which is set for each expanded sample from "
            "num_samples; remove it"
        )


def _check_custom(params: dict[str, Any], label: str, where: str) -> None:
    module_path = params.get("module_path")
    class_name = params.get("class_name")
    if not isinstance(module_path, str) or not module_path.endswith(".py"):
        raise ConfigError(
            f"custom module {label}{where} needs a 'module_path' param naming the .py file "
            f"that defines it (got {module_path!r})"
        )
    if not isinstance(class_name, str) or not class_name.isidentifier():
        raise ConfigError(
            f"custom module {label}{where} needs a 'class_name' param naming the class in "
            f"{module_path!r} to use (got {class_name!r})"
        )


def _plain(value: Any, label: str, trail: tuple[str, ...]) -> Any:
    """Copy ``value`` as JSON-able data, or say which parameter is not."""
    # bool before int: bool is an int subclass and must stay a bool.
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ConfigError(
                    f"parameter name {key!r} in {label}{_at(trail)} must be a string "
                    "(quote it in YAML)"
                )
            out[str(key)] = _plain(item, label, (*trail, key))
        return out
    if isinstance(value, list | tuple):
        return [_plain(item, label, (*trail, str(i))) for i, item in enumerate(value)]
    raise ConfigError(
        f"parameter {'.'.join(trail)!r} of {label} is a {_kind(value)}; config values must be "
        "strings, numbers, booleans, null, lists or mappings (quote dates and times in YAML)"
    )


def _at(trail: tuple[str, ...]) -> str:
    return f" (under {'.'.join(trail)!r})" if trail else ""


# --- expansion and flow --------------------------------------------------------------


def _expand_splitter(experiments: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    expanded: dict[str, dict[str, Any]] = {}
    for name, params in experiments.items():
        n = params.get("num_samples", 1)
        width = len(str(n))
        for k in range(1, n + 1):
            expanded[f"{name}_[{n}-{k:0{width}d}]"] = {
                **copy.deepcopy(params),
                "num_samples": 1,
                "sample_index": k,
            }
    return expanded


def _build_flow(expanded: dict[str, dict[str, dict[str, Any]]]) -> list[tuple[str, str, FlowPath]]:
    sequence = list(expanded)
    steps: list[tuple[str, str, FlowPath]] = []

    def walk(depth: int, prefix: FlowPath) -> None:
        module = sequence[depth]
        for experiment in expanded[module]:
            path = (*prefix, (module, experiment))
            steps.append((module, experiment, path))
            if depth + 1 < len(sequence):
                walk(depth + 1, path)

    walk(0, ())
    return steps


# --- helpers -------------------------------------------------------------------------


def _ordered(original: dict[str, dict[str, dict[str, Any]]]) -> list[tuple[str, list[Any]]]:
    return [(module, list(experiments.items())) for module, experiments in original.items()]


def _suggest(name: Any, choices: Iterable[str]) -> str:
    if not isinstance(name, str):
        return ""
    choices = list(choices)
    # Compare case-insensitively so 'loader' finds 'Loader', then report the real spelling.
    by_lower = {choice.lower(): choice for choice in choices}
    match = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean {by_lower[match[0]]!r}?)" if match else ""


def _kind(value: Any) -> str:
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__
