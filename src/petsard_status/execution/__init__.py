"""Running pipelines: the executor and resume."""

from petsard_status.execution.executor import Executor, RunInterrupted, StepEvent

__all__ = ["Executor", "RunInterrupted", "StepEvent"]
