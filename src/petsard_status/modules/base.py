"""The adapter contract every pipeline module follows.

An adapter wraps one module for one experiment.  The executor builds it from
the experiment's parameters, asks it what it needs from the status
(``set_input``), runs it, then hands it to ``Status.put``.  Custom modules
subclass :class:`BaseAdapter`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from petsard_status.modules.params import ParamSpec

if TYPE_CHECKING:
    import pandas as pd

    from petsard_status.metadata.types import SchemaMetadata


@dataclass(frozen=True)
class ModuleContext:
    """What a module may know about the run it is part of."""

    run_name: str = ""
    output_dir: Path = field(default_factory=lambda: Path("petsard-output"))
    base_dir: Path = field(default_factory=Path.cwd)
    """Folder that relative file paths in the config are resolved against."""
    seed: int | None = None
    """The run's seed for modules whose parameters name none."""


class BaseAdapter:
    """Base class of all module adapters.

    Subclasses set ``module_name`` and implement ``set_input``, ``run`` and
    ``get_result``; modules that change the data's shape also implement
    ``get_metadata``.  ``run`` must be deterministic given its input and
    parameters (seeds included): resuming a run relies on it.  Declaring
    ``params`` (a :class:`~petsard_status.modules.params.ParamSpec`) lets
    ``petsard-status validate`` and ``run`` check an experiment's parameters
    before any step runs.
    """

    module_name: ClassVar[str] = ""
    params: ClassVar[ParamSpec | None] = None
    """The parameters this adapter takes, checked before a run starts (None: unchecked)."""

    def __init__(self, config: dict[str, Any], context: ModuleContext | None = None) -> None:
        self.config = dict(config)
        self.context = context or ModuleContext()

    def set_input(self, status: Any) -> dict[str, Any]:
        """Collect this module's input from the status; returns ``run``'s argument."""
        raise NotImplementedError

    def run(self, input: dict[str, Any]) -> None:
        raise NotImplementedError

    def get_result(self) -> pd.DataFrame | dict[str, Any]:
        raise NotImplementedError

    def get_metadata(self) -> SchemaMetadata | None:
        """Metadata of the data this module produced, or None if it does not change it."""
        return None

    def seed(self) -> int:
        """The ``random_state`` parameter, else the run's seed, else 0.

        Every random draw of a module starts from this number, so that running
        the same experiment again (on resume) gives the same result.
        """
        from petsard_status.errors import ModuleError

        value = self.config.get("random_state")
        if value is None:
            value = self.context.seed if self.context.seed is not None else 0
        # bool is an int subclass; 'random_state: true' is a mistake, not seed 1.
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ModuleError(
                f"{self.module_name or type(self).__name__}: random_state must be a "
                f"non-negative integer, not {value!r}"
            )
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config!r})"


def schema_of(data: pd.DataFrame, schema_id: str) -> SchemaMetadata:
    """Infer the metadata of a module's output frame.

    Schema ids are per module, not per experiment, so that the same module in
    two branches of the flow describes "the same" schema and its changes line up.
    """
    # Imported here: the metadata package imports pandas-heavy inference code
    # that adapters which never report metadata should not pay for.
    from petsard_status.metadata.infer import Metadater

    return Metadater.create_schema(data, schema_id=schema_id)
