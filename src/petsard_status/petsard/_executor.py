"""PETsARD's Executor with a persistent Status.

A subclass of ``petsard.executor.Executor`` that builds PETsARD's own
``Config`` and adapters exactly as upstream does, and hands them our
:class:`~petsard_status.Status` instead of PETsARD's in-memory one.  Nothing of
PETsARD is changed at run time.

Each step is one put tagged with its flow key (``Loader[a]_Splitter[s]``), so
a run stopped by a crash, SIGKILL or Ctrl-C resumes in a new process without
running its finished steps again; a module that needs a live object of a
finished step (the Postprocessor needs the Preprocessor's fitted processor)
gets it by re-running that producer from its stored input.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from importlib import metadata as distribution
from pathlib import Path
from typing import Any

import petsard.adapter
import petsard.config
import petsard.executor
import yaml

from petsard_status import LiveObjectUnavailableError, Status
from petsard_status.config import FlowStep
from petsard_status.errors import ConfigError, ExecutionError
from petsard_status.execution import RunInterrupted, StepEvent, terminate_as_interrupt

__all__ = ["Executor", "petsard_version"]

MODULES = "petsard"
_LOGGER = "PETsARD"
_EXECUTOR_FIELDS = ("log_output_type", "log_level", "log_dir", "log_filename")

Progress = Callable[[StepEvent], None]


def petsard_version() -> str:
    return distribution.version("petsard")


def _ignore(_event: StepEvent) -> None:
    pass


class Executor(petsard.executor.Executor):
    """``petsard.Executor`` recording into a store.

    ``Executor(config, store=None, run=None)``: ``config`` is what upstream takes
    (a YAML file path or YAML text) or a dict; ``store`` a URL or SQLite path
    (default ``$PETSARD_STATUS_DB``, else ``./petsard_status.db``); ``run`` the
    run's name (default generated).  ``run()``, ``get_result()``,
    ``get_timing()``, ``is_execution_completed()`` and ``.status`` are upstream's.
    ``Executor.resume(run, store)`` finishes a stopped run in a new process.
    """

    def __init__(
        self,
        config: str | os.PathLike[str] | Mapping[str, Any],
        *,
        store: Any = None,
        run: str | None = None,
        progress: Progress | None = None,
    ) -> None:
        self._start(progress)
        try:
            yaml_config = self._read(config)
            self._prepare(yaml_config, lambda cfg: Status(cfg, store, run))
            self.status.update_run_info(
                modules=MODULES, petsard_version=petsard_version(),
                petsard_executor=self._executor_settings(), working_dir=str(Path.cwd()),
                total_steps=self.config.config.qsize(),
            )
        except BaseException:
            self.close()
            raise

    @classmethod
    def reopen(cls, run: str, store: Any = None, *, progress: Progress | None = None
               ) -> Executor:
        """An Executor for the stored ``run``, ready to :meth:`run` what is left of it."""
        self = cls.__new__(cls)
        self._start(progress)
        try:
            status = Status.open(run, store)
            self.status = status
            info = status.run_info()["info"]
            if info.get("modules") != MODULES:
                raise ExecutionError(
                    f"run {run!r} was not made with PETsARD's modules; resume it with "
                    "petsard_status.execution.Executor.resume (or `petsard-status resume`)")
            yaml_config = status.config.to_dict()
            self._configure_logging(info.get("petsard_executor") or {})
            self._prepare(yaml_config, lambda _cfg: status)
        except BaseException:
            self.close()
            raise
        return self

    @classmethod
    def resume(cls, run: str, store: Any = None, *, progress: Progress | None = None
               ) -> dict[str, Any]:
        """Finish ``run`` where it stopped; returns :meth:`get_result`."""
        executor = cls.reopen(run, store, progress=progress)
        try:
            executor.run()
            return executor.get_result()
        finally:
            executor.close()

    # --- set-up, as upstream's __init__ does it ------------------------------------------

    def _start(self, progress: Progress | None) -> None:
        self.progress = progress or _ignore
        self.reruns: list[str] = []
        self.status: Status = None  # type: ignore[assignment]  # set by run()'s set-up
        self._closed = False
        self._own_handlers: list[logging.Handler] = []
        self.executor_config = petsard.executor.ExecutorConfig()
        self._logger = logging.getLogger(f"{_LOGGER}.Executor")

    def _read(self, config: str | os.PathLike[str] | Mapping[str, Any]) -> dict[str, Any]:
        if isinstance(config, (str, os.PathLike)):
            text = os.fspath(config)
            # As upstream's _get_config: a file path, else YAML text.
            if os.path.isfile(text):
                with open(text, encoding="utf-8") as file:
                    text = file.read()
            try:
                config = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ConfigError(f"the PETsARD config is neither a file nor valid YAML: "
                                  f"{exc}") from exc
        if not isinstance(config, Mapping):
            raise ConfigError(f"a PETsARD config is a YAML file path, YAML text or a dict, "
                              f"not a {type(config).__name__}")
        config = copy.deepcopy(dict(config))
        self._configure_logging(config.pop("Executor", None) or {})
        return config

    def _configure_logging(self, settings: Mapping[str, Any]) -> None:
        # Once, with the config's settings: upstream first sets up its defaults, which
        # leaves an empty log file in the working directory, then sets up again.
        if settings:
            self.executor_config.update(dict(settings))
        self._setup_logger()

    def _setup_logger(self, reconfigure: bool = False) -> None:
        """Upstream's, remembering the handlers it adds so that close() can close them."""
        logger = logging.getLogger(_LOGGER)
        before = set(logger.handlers)
        super()._setup_logger(reconfigure=reconfigure)
        self._own_handlers += [h for h in logger.handlers if h not in before]

    def _executor_settings(self) -> dict[str, Any]:
        return {name: getattr(self.executor_config, name) for name in _EXECUTOR_FIELDS}

    def _prepare(self, yaml_config: dict[str, Any],
                 make_status: Callable[[Any], Status]) -> None:
        self.config = petsard.config.Config(config=copy.deepcopy(yaml_config))
        self.sequence = self.config.sequence
        self.status = make_status(self.config)
        self.result: dict[str, Any] = {}
        self._infer_pipeline_schemas(yaml_config)
        self._execution_completed = False

    @property
    def run_name(self) -> str:
        return self.status.run

    def close(self) -> None:
        """Close the Status and the log handlers this Executor added."""
        if self._closed:
            return
        self._closed = True
        if self.status is not None:
            self.status.close()
        logger = logging.getLogger(_LOGGER)
        for handler in self._own_handlers:
            logger.removeHandler(handler)
            handler.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the run -------------------------------------------------------------------------

    def run(self) -> None:
        """Run every step not yet stored; mark the run completed, failed or interrupted."""
        self._execution_completed = False
        status = self.status
        done = self._done_steps()
        total = self.config.config.qsize()
        started = time.time()
        finished = 0
        current: str | None = None
        # A completed run is only walked through again (for get_result), not re-stamped.
        already = status.run_info()["state"] == "completed" and len(done) >= total
        if not already:
            status.set_run_state("running")
        self._logger.info("Starting PETsARD execution workflow")
        self.progress(StepEvent("start", None, min(len(done), total), total, 0.0))
        path: dict[str, str] = {}
        try:
            with terminate_as_interrupt():
                while self.config.config.qsize() > 0:
                    ops = self.config.config.get()
                    module = self.config.module_flow.get()
                    expt = self.config.expt_flow.get()
                    path = self._advance(path, module, expt)
                    step = status.config.step_by_path(path.items())
                    current = step.key
                    if step.key in done:
                        finished += 1
                        self._after_step(module, skipped=True, path=path)
                        self.progress(StepEvent("skipped", step, finished, total,
                                                time.time() - started))
                        continue
                    self.progress(StepEvent("step", step, finished, total, time.time() - started))
                    self._run_step(step, ops)
                    self._after_step(module, skipped=False, path=path)
                    finished += 1
                    self.progress(StepEvent("done", step, finished, total, time.time() - started))
        except KeyboardInterrupt as exc:
            status.set_run_state("interrupted", error="interrupted by signal", failed_step=current)
            self.progress(StepEvent("failed", None, finished, total, time.time() - started,
                                    "interrupted"))
            raise RunInterrupted(
                f"run {self.run_name} was interrupted at {current or '?'}; continue it with: "
                f"petsard-status resume {self.run_name}") from exc
        except BaseException as exc:
            status.set_run_state("failed", error=f"{type(exc).__name__}: {exc}",
                                 failed_step=current)
            self.progress(StepEvent("failed", None, finished, total, time.time() - started,
                                    f"{type(exc).__name__}: {exc}"))
            raise
        if not already:
            status.set_run_state("completed")
        elapsed = str(timedelta(seconds=round(time.time() - started)))
        self._logger.info(f"Completed PETsARD execution workflow (elapsed: {elapsed})")
        self.progress(StepEvent("finished", None, finished, total, time.time() - started))
        self._execution_completed = True

    def _advance(self, path: dict[str, str], module: str, expt: str) -> dict[str, str]:
        """The flow path of this step: the modules before it as they last ran, then it."""
        keep = self.sequence[: self.sequence.index(module)]
        return {**{m: path[m] for m in keep if m in path}, module: expt}

    def _done_steps(self) -> set[str]:
        return set(self.status.steps_done())

    def _run_step(self, step: FlowStep, ops: Any) -> None:
        status = self.status
        module, expt = step.module, step.experiment
        self._logger.info(f"Executing {module} with {expt}")
        status.start_timing(module, expt, "run", {"source": "executor"})
        try:
            with status.running(module, expt):
                ops.run(self._input_for(ops, step))
        except BaseException as exc:
            status.end_timing(module, expt, "run",
                              {"status": "error", "error": f"{type(exc).__name__}: {exc}"})
            raise
        # Stored by the put, in its transaction: one commit per step.
        status.end_timing(module, expt, "run", {"status": "completed"}, defer=True)
        status.put(module, expt, ops, context={"step": step.key})

    def _input_for(self, ops: Any, step: FlowStep) -> Any:
        """``ops.set_input(status)``, re-running producers of live objects it needs."""
        for _ in self.sequence:
            try:
                return ops.set_input(status=self.status)
            except Exception as exc:
                missing = _live_object_missing(exc)
                if missing is None:
                    raise
                self._rebuild_live(missing.module, step)
        raise ExecutionError(f"{step.key}: could not rebuild the live objects it needs")

    def _rebuild_live(self, module: str, step: FlowStep) -> None:
        experiment = self.status.get_full_expt()[module]
        names = [name for name, _ in step.path]
        producer = self.status.config.step_by_path(step.path[: names.index(module) + 1])
        self.progress(StepEvent("rerun", producer, 0, 0, 0.0,
                                f"re-running {producer.key} to rebuild its live object for "
                                f"{step.key}"))
        params = copy.deepcopy(self.config.yaml[module][experiment])
        adapter = getattr(petsard.adapter, f"{module}Adapter")(params)
        with self.status.running(module, experiment):
            adapter.run(adapter.set_input(status=self.status))
        self.status.attach_live(module, adapter)
        self.reruns.append(producer.key)

    def _after_step(self, module: str, *, skipped: bool, path: dict[str, str]) -> None:
        """What upstream does after each put: schema inference, and the final results."""
        if module in ("Loader", "Splitter") and "_preprocessor_config" in \
                self.status.inferred_schemas:
            self.infer_preprocessor_schema()
        if module != self.sequence[-1]:
            return
        if skipped and self.status.get_full_expt() != path:
            return  # a finished path whose result is no longer the active one
        self._set_result(module)


def _live_object_missing(exc: BaseException) -> LiveObjectUnavailableError | None:
    """Ours, also where PETsARD re-raised it (its set_input wraps errors in ConfigError)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, LiveObjectUnavailableError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
