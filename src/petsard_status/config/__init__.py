"""Pipeline configuration: modules, experiments, Splitter expansion and the run flow."""

from petsard_status.config.config import (
    KNOWN_MODULES,
    Config,
    FlowPath,
    FlowStep,
    step_key,
)
from petsard_status.config.foreign import as_config

__all__ = ["KNOWN_MODULES", "Config", "FlowPath", "FlowStep", "as_config", "step_key"]
