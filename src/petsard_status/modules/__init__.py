"""Reference pipeline modules (adapters) and the registry the executor builds them from.

The names are imported on first use (PEP 562): the adapters need pandas, numpy
and scipy, and importing ``modules.params`` or ``modules.base`` should not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from petsard_status._lazy import lazy_exports

if TYPE_CHECKING:
    from petsard_status.modules.base import BaseAdapter, ModuleContext
    from petsard_status.modules.evaluator import EvaluatorAdapter
    from petsard_status.modules.loader import LoaderAdapter, resolve_benchmark
    from petsard_status.modules.postprocessor import PostprocessorAdapter
    from petsard_status.modules.preprocessor import PreprocessorAdapter, Processor
    from petsard_status.modules.registry import ADAPTERS, build_adapter, get_adapter_class
    from petsard_status.modules.reporter import ReporterAdapter
    from petsard_status.modules.splitter import SplitterAdapter
    from petsard_status.modules.synthesizer import GaussianCopula, SynthesizerAdapter

# public name -> the module that defines it
_EXPORTS: dict[str, str] = {
    "ADAPTERS": "petsard_status.modules.registry",
    "BaseAdapter": "petsard_status.modules.base",
    "EvaluatorAdapter": "petsard_status.modules.evaluator",
    "GaussianCopula": "petsard_status.modules.synthesizer",
    "LoaderAdapter": "petsard_status.modules.loader",
    "ModuleContext": "petsard_status.modules.base",
    "PostprocessorAdapter": "petsard_status.modules.postprocessor",
    "PreprocessorAdapter": "petsard_status.modules.preprocessor",
    "Processor": "petsard_status.modules.preprocessor",
    "ReporterAdapter": "petsard_status.modules.reporter",
    "SplitterAdapter": "petsard_status.modules.splitter",
    "SynthesizerAdapter": "petsard_status.modules.synthesizer",
    "build_adapter": "petsard_status.modules.registry",
    "get_adapter_class": "petsard_status.modules.registry",
    "resolve_benchmark": "petsard_status.modules.loader",
}

__all__ = [
    "ADAPTERS",
    "BaseAdapter",
    "EvaluatorAdapter",
    "GaussianCopula",
    "LoaderAdapter",
    "ModuleContext",
    "PostprocessorAdapter",
    "PreprocessorAdapter",
    "Processor",
    "ReporterAdapter",
    "SplitterAdapter",
    "SynthesizerAdapter",
    "build_adapter",
    "get_adapter_class",
    "resolve_benchmark",
]

if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, __all__)
