"""Running pipelines: the executor and resume."""

from petsard_status.execution.executor import (
    Executor,
    RunInterrupted,
    StepEvent,
    terminate_as_interrupt,
)
from petsard_status.execution.outputs import run_output_dir
from petsard_status.execution.validate import Problem, check_config, config_problems

__all__ = [
    "Executor",
    "Problem",
    "RunInterrupted",
    "StepEvent",
    "check_config",
    "config_problems",
    "run_output_dir",
    "terminate_as_interrupt",
]
