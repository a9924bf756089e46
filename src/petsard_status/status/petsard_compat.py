"""What a Status needs to take PETsARD's own objects, without needing PETsARD installed.

PETsARD's Executor and adapters talk to a Status in ways our own modules do
not: they read and write ``status.inferred_schemas``, call
``status.schema_inferencer.infer_preprocessor_output(...)``, hand over
PETsARD ``Schema`` objects, and name timing records by adapter class
(``TIMING_START|LoaderAdapter|run|...``).  This module answers each of those;
PETsARD is imported only when one of its own objects is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from petsard_status.errors import PetsardNotInstalledError
from petsard_status.metadata import SchemaMetadata, from_petsard, is_petsard_schema

__all__ = ["adapter_metadata", "new_schema_inferencer", "put_arguments", "timing_module"]

# The modules whose metadata PETsARD's own Status asks for; its other adapters either
# have no get_metadata() (NotImplementedError) or one whose answer upstream ignores.
PETSARD_METADATA_MODULES = ("Loader", "Splitter", "Preprocessor")
_ADAPTER_SUFFIX = "Adapter"


def _is_petsard_adapter(adapter: Any) -> bool:
    return type(adapter).__module__.split(".")[0] == "petsard"


def adapter_metadata(module: str, adapter: Any) -> tuple[SchemaMetadata | None, bool]:
    """The adapter's new metadata as our model, and whether it came from a PETsARD Schema.

    A ``get_metadata`` that raises ``NotImplementedError`` has no metadata to give.
    """
    if _is_petsard_adapter(adapter) and module not in PETSARD_METADATA_MODULES:
        return None, False
    method = getattr(adapter, "get_metadata", None)
    if not callable(method):
        return None, False
    try:
        metadata = method()
    except NotImplementedError:
        return None, False
    if is_petsard_schema(metadata):
        return from_petsard(metadata), True
    return metadata, False


def put_arguments(experiment: str | None, adapter: Any, aliases: dict[str, Any]
                  ) -> tuple[str, Any]:
    """``put``'s experiment and adapter, under any of the names PETsARD and its docs use.

    PETsARD's Status is ``put(module, expt, operator)``; its documentation says
    ``put(module, experiment_name, adapter)``.
    """
    names = {"experiment": "experiment", "experiment_name": "experiment",
             "operator": "adapter"}
    unknown = sorted(set(aliases) - set(names))
    if unknown:
        raise TypeError(f"put() got unexpected keyword argument(s) {', '.join(unknown)}")
    given: dict[str, Any] = {"experiment": experiment, "adapter": adapter}
    for alias, name in names.items():
        if alias in aliases:
            if given[name] is not None:
                raise TypeError(f"put() got {name} twice (as {name} and as {alias})")
            given[name] = aliases[alias]
    return given["experiment"], given["adapter"]


def timing_module(name: str, modules: list[str]) -> str:
    """The module a timing message names: PETsARD names it by adapter class."""
    if name.endswith(_ADAPTER_SUFFIX) and name[: -len(_ADAPTER_SUFFIX)] in modules:
        return name[: -len(_ADAPTER_SUFFIX)]
    return name


def new_schema_inferencer() -> Any:
    """PETsARD's own ``SchemaInferencer`` (imports PETsARD)."""
    try:
        module = importlib.import_module("petsard.metadater.schema_inferencer")
    except ModuleNotFoundError as exc:
        raise PetsardNotInstalledError(
            "status.schema_inferencer is PETsARD's SchemaInferencer, and PETsARD is not "
            "installed: pip install 'petsard-status[petsard]' (torch first, see "
            "docs/petsard.md)") from exc
    return module.SchemaInferencer()
