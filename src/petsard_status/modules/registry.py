"""Which adapter class runs a module: the reference adapters, or a user's class."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from petsard_status.config.config import CUSTOM_PREFIX
from petsard_status.errors import ModuleError
from petsard_status.modules.base import BaseAdapter, ModuleContext
from petsard_status.modules.custom import load_class
from petsard_status.modules.evaluator import EvaluatorAdapter
from petsard_status.modules.loader import LoaderAdapter
from petsard_status.modules.postprocessor import PostprocessorAdapter
from petsard_status.modules.preprocessor import PreprocessorAdapter
from petsard_status.modules.reporter import ReporterAdapter
from petsard_status.modules.splitter import SplitterAdapter
from petsard_status.modules.synthesizer import CUSTOM_METHODS, SynthesizerAdapter

ADAPTERS: dict[str, type[BaseAdapter]] = {
    "Loader": LoaderAdapter,
    "Splitter": SplitterAdapter,
    "Preprocessor": PreprocessorAdapter,
    "Synthesizer": SynthesizerAdapter,
    "Postprocessor": PostprocessorAdapter,
    "Evaluator": EvaluatorAdapter,
    "Reporter": ReporterAdapter,
}
UNAVAILABLE = ("Describer", "Constrainer")


def get_adapter_class(
    module_name: str, params: dict[str, Any], base_dir: Path | None = None
) -> type[BaseAdapter]:
    """The class that runs ``module_name`` with these experiment parameters.

    A ``module_path`` + ``class_name`` naming a :class:`BaseAdapter` subclass
    replaces the reference adapter of any module; modules whose name starts
    with ``Custom`` must name one.  The Synthesizer's ``method: custom`` names a
    plain class with ``fit``/``sample`` instead, which its adapter wraps.
    """
    base = Path.cwd() if base_dir is None else Path(base_dir)
    if "module_path" in params or "class_name" in params:
        cls = load_class(params.get("module_path"), params.get("class_name"), base, module_name)
        if issubclass(cls, BaseAdapter):
            return cls
        if module_name == "Synthesizer" and params.get("method") in CUSTOM_METHODS:
            return SynthesizerAdapter
        raise ModuleError(
            f"{module_name}: {cls.__name__} must subclass "
            "petsard_status.modules.BaseAdapter"
            + (" (or use method: custom for a fit/sample class)"
               if module_name == "Synthesizer" else "")
        )
    if module_name in ADAPTERS:
        return ADAPTERS[module_name]
    if module_name.startswith(CUSTOM_PREFIX):
        raise ModuleError(
            f"{module_name}: a custom module needs module_path (a .py file) and class_name "
            "(a BaseAdapter subclass)"
        )
    if module_name in UNAVAILABLE:
        raise ModuleError(
            f"{module_name} is not available in the reference modules; plug in a custom "
            "adapter (module_path and class_name naming a BaseAdapter subclass)"
        )
    raise ModuleError(
        f"unknown module {module_name!r}; known: {', '.join(ADAPTERS)}, or Custom* "
        "modules with module_path and class_name"
    )


def build_adapter(
    module: str, params: dict[str, Any], context: ModuleContext | None = None
) -> BaseAdapter:
    """Create the adapter for one experiment of ``module``."""
    context = context or ModuleContext()
    cls = get_adapter_class(module, params, context.base_dir)
    try:
        return cls(params, context)
    except ModuleError:
        raise
    except Exception as exc:
        raise ModuleError(f"{module}: cannot create {cls.__name__}: {exc!r}") from exc
