"""Pipeline configuration: modules, experiments, Splitter expansion and the run flow."""

from petsard_status.config.config import (
    KNOWN_MODULES,
    Config,
    FlowPath,
    FlowStep,
    step_key,
)

__all__ = ["KNOWN_MODULES", "Config", "FlowPath", "FlowStep", "step_key"]
