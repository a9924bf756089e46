"""Reference pipeline modules (adapters) and the registry the executor builds them from."""

from petsard_status.modules.base import BaseAdapter, ModuleContext
from petsard_status.modules.evaluator import EvaluatorAdapter
from petsard_status.modules.loader import LoaderAdapter, resolve_benchmark
from petsard_status.modules.postprocessor import PostprocessorAdapter
from petsard_status.modules.preprocessor import PreprocessorAdapter, Processor
from petsard_status.modules.registry import ADAPTERS, build_adapter, get_adapter_class
from petsard_status.modules.reporter import ReporterAdapter
from petsard_status.modules.splitter import SplitterAdapter
from petsard_status.modules.synthesizer import GaussianCopula, SynthesizerAdapter

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
