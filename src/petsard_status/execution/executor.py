"""Running a whole pipeline from a config, and resuming it after a crash.

The executor walks the config's flow depth-first.  Every step is one
``Status.put`` (one transaction) tagged with the step's key, so after a crash
the steps whose snapshots exist are known exactly and are not run again.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from petsard_status.config import Config, FlowStep
from petsard_status.errors import (
    ConcurrentWriterError,
    ExecutionError,
    LiveObjectUnavailableError,
    PetsardStatusError,
)
from petsard_status.execution.outputs import run_output_dir
from petsard_status.execution.revisions import current_config, revise
from petsard_status.execution.validate import check_config
from petsard_status.formats import RunState
from petsard_status.modules.base import ModuleContext
from petsard_status.modules.registry import build_adapter
from petsard_status.modules.reporter import check_output_names
from petsard_status.status.status import Status, StoreArg, generate_run_name
from petsard_status.store import leases


class RunInterrupted(ExecutionError):
    """The run was stopped by SIGINT or SIGTERM; it is marked interrupted."""


@dataclass(frozen=True)
class StepEvent:
    """What the executor tells a progress display."""

    kind: str
    """"start" (once), "step" (a step begins), "done", "skipped", "rerun" (a producer
    re-run for its live object), "finished" (once), "failed"."""
    step: FlowStep | None
    done: int
    total: int
    elapsed: float
    message: str = ""


Progress = Callable[[StepEvent], None]


def _ignore(_event: StepEvent) -> None:
    pass


class Executor:
    """Run a pipeline config with a persistent Status.

    ``Executor(config_or_yaml_path, store=None, run=None)``; ``run()`` returns
    the result of every flow path, keyed like PETsARD
    (``"Loader[a]_Splitter[b]_..."``).  ``Executor.resume(run, store)`` finishes
    an interrupted or failed run in a new process.
    """

    def __init__(
        self,
        config: Config | Mapping[str, Any] | str | os.PathLike[str],
        store: StoreArg = None,
        run: str | None = None,
        *,
        output_dir: str | os.PathLike[str] | None = None,
        seed: int | None = None,
        progress: Progress | None = None,
    ) -> None:
        if isinstance(config, str | os.PathLike):
            the_config = Config.from_yaml(config)
            base_dir = Path(config).resolve().parent
        else:
            the_config = config if isinstance(config, Config) else Config(config)
            base_dir = Path.cwd()
        # Every parameter is checked before the run exists: a bad one runs nothing.
        check_config(the_config, base_dir)
        the_seed = seed if seed is not None else secrets.randbelow(2**31)
        name = run or generate_run_name()
        outputs = (Path(output_dir) if output_dir else run_output_dir(name)).resolve()
        # Output names too long for the file system are refused before anything runs.
        check_output_names(the_config.flow(), outputs)
        # Everything a resume needs goes into the run's first commit: a run killed
        # right after it was created can still be resumed.
        status = Status(the_config, store, name, info={
            "seeds": {"run": the_seed}, "base_dir": str(base_dir),
            "output_dir": str(outputs), "total_steps": the_config.num_steps,
        })
        self._setup(status, the_seed, base_dir, outputs, progress)
        self._take_lease()

    def _setup(self, status: Status, seed: int, base_dir: Path, output_dir: Path,
               progress: Progress | None) -> None:
        self.status = status
        self.config = status.config
        self.seed = seed
        self.base_dir = base_dir
        self.output_dir = output_dir
        self.progress = progress or _ignore
        self.reruns: list[str] = []
        self._owner = leases.new_owner()
        self._heartbeat: leases.Heartbeat | None = None
        self._holds_lease = False

    def _take_lease(self) -> None:
        """Become the run's one live writer, or close and raise RunInUseError."""
        try:
            leases.acquire(self.status.store, self.status.run_id, self.run_name, self._owner)
        except BaseException:
            self.status.close()
            raise
        self._holds_lease = True

    def _keep_lease(self) -> None:
        """Hold the lease (again, for a second run()) and keep it alive while steps run."""
        if not self._holds_lease:
            leases.acquire(self.status.store, self.status.run_id, self.run_name, self._owner)
            self._holds_lease = True
        if self._heartbeat is None:
            self._heartbeat = leases.Heartbeat(self.status.store, self.status.run_id,
                                               self._owner).start()

    def _give_up_lease(self) -> None:
        """The run is no longer being written: another process may resume it now."""
        if self._heartbeat is not None:
            self._heartbeat.stop()
            self._heartbeat = None
        if self._holds_lease and not self.status.closed:
            try:
                leases.release(self.status.store, self.status.run_id, self._owner)
            except PetsardStatusError:
                return  # a lease left behind goes stale by itself
        self._holds_lease = False

    @classmethod
    def resume(
        cls,
        run: str,
        store: StoreArg = None,
        *,
        output_dir: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
        config: Config | str | os.PathLike[str] | None = None,
    ) -> dict[str, Any]:
        """Continue ``run`` where it stopped; returns the results like ``run()``.

        ``config`` is a corrected config (or YAML file) to continue with; see
        :func:`petsard_status.execution.revisions.revise`.
        """
        with cls.reopen(run, store, output_dir=output_dir, progress=progress,
                        config=config) as executor:
            return executor.run()

    @classmethod
    def reopen(
        cls,
        run: str,
        store: StoreArg = None,
        *,
        output_dir: str | os.PathLike[str] | None = None,
        progress: Progress | None = None,
        config: Config | str | os.PathLike[str] | None = None,
    ) -> Executor:
        """An executor for a stored run, with the seed and folders it was started with.

        ``config`` (a corrected pipeline) becomes the run's new config revision when
        every finished step is configured as it was.
        """
        status = Status.open(run, store)
        try:
            # A live run is refused before anything is read or changed.
            owner = leases.new_owner()
            leases.acquire(status.store, status.run_id, run, owner)
            info = status.run_info()["info"]
            seed = int(info["seeds"]["run"])
            base_dir = Path(info["base_dir"])
            outputs = Path(output_dir) if output_dir else Path(info["output_dir"])
            status.config = current_config(status, info)
        except (KeyError, TypeError, ValueError) as exc:
            status.close()
            raise ExecutionError(
                f"run {run!r} was not started by `petsard-status run` (its info lacks "
                f"{exc}); it cannot be resumed"
            ) from None
        except BaseException:
            status.close()
            raise
        executor = cls.__new__(cls)
        executor._setup(status, seed, base_dir, outputs, progress)
        executor._owner = owner
        executor._holds_lease = True
        if config is not None:
            try:
                revise(executor, config)
            except BaseException:
                executor.close()
                raise
        return executor

    @property
    def run_name(self) -> str:
        return self.status.run

    def close(self) -> None:
        """Give up the run's lease and close the Status."""
        try:
            self._give_up_lease()
        finally:
            self.status.close()

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- the walk -------------------------------------------------------------------------

    def done_steps(self) -> dict[str, str]:
        """Step key -> state JSON of its snapshot, for every step already put."""
        return self._done_steps()

    def _done_steps(self) -> dict[str, str]:
        return self.status.steps_done()

    def _context(self) -> ModuleContext:
        return ModuleContext(
            run_name=self.status.run,
            output_dir=self.output_dir,
            base_dir=self.base_dir,
            seed=self.seed,
        )

    def run(self) -> dict[str, Any]:
        """Run every step not yet done; mark the run completed, failed or interrupted."""
        flow = self.config.flow()
        done = self._done_steps()
        total = len(flow)
        started = time.monotonic()
        finished = sum(1 for step in flow if step.key in done)
        state = self.status.run_info()["state"]
        if state == "completed" and finished == total:
            self.progress(StepEvent("finished", None, total, total, 0.0,
                                    f"run {self.run_name} is already completed; nothing to do"))
            return self._results(flow, self._done_steps())
        self._keep_lease()
        try:
            return self._walk(flow, done, finished, total, started)
        finally:
            self._give_up_lease()

    def _walk(self, flow: list[FlowStep], done: dict[str, str], finished: int, total: int,
              started: float) -> dict[str, Any]:
        self.status.set_run_state("running")
        self.progress(StepEvent("start", None, finished, total, 0.0))
        current: FlowStep | None = None
        try:
            with terminate_as_interrupt():
                for step in flow:
                    if step.key in done:
                        continue
                    current = step
                    self.progress(StepEvent("step", step, finished, total,
                                            time.monotonic() - started))
                    self._run_step(step)
                    finished += 1
                    self.progress(StepEvent("done", step, finished, total,
                                            time.monotonic() - started))
        except KeyboardInterrupt as exc:
            self.status.set_run_state("interrupted", error="interrupted by signal",
                                      failed_step=current.key if current else None)
            self.progress(StepEvent("failed", current, finished, total,
                                    time.monotonic() - started, "interrupted"))
            raise RunInterrupted(
                f"run {self.run_name} was interrupted at {current.key if current else '?'}; "
                f"continue it with: petsard-status resume {self.run_name}"
            ) from exc
        except ConcurrentWriterError:
            # Another writer has the run: its state is that writer's to set, not ours.
            raise
        except BaseException as exc:
            self.status.set_run_state("failed", error=f"{type(exc).__name__}: {exc}",
                                      failed_step=current.key if current else None)
            self.progress(StepEvent("failed", current, finished, total,
                                    time.monotonic() - started, f"{type(exc).__name__}: {exc}"))
            raise
        self.status.set_run_state("completed")
        self.progress(StepEvent("finished", None, finished, total, time.monotonic() - started))
        return self._results(flow, self._done_steps())

    def _run_step(self, step: FlowStep) -> None:
        adapter = build_adapter(step.module, step.params, self._context())
        status = self.status
        status.start_timing(step.module, step.experiment, "run", {"step": step.key})
        try:
            for _ in range(len(self.config.sequence)):
                try:
                    module_input = adapter.set_input(status)
                    break
                except LiveObjectUnavailableError as exc:
                    self._rebuild_live(exc.module, step)
            else:  # pragma: no cover - every producer is rebuilt at most once
                raise ExecutionError(f"{step.key}: could not rebuild the live objects it needs")
            adapter.run(module_input)
        except BaseException as exc:
            status.end_timing(step.module, step.experiment, "run",
                              {"error": f"{type(exc).__name__}: {exc}"})
            raise
        # Stored by the put below, in its transaction: one commit per step.
        status.end_timing(step.module, step.experiment, "run", defer=True)
        status.put(step.module, step.experiment, adapter, context={"step": step.key})

    def _rebuild_live(self, module: str, step: FlowStep) -> None:
        """Re-run the producer of a live object from its stored input, without a new put."""
        position = [name for name, _ in step.path].index(module)
        producer = self.config.step_by_path(step.path[: position + 1])
        self.progress(StepEvent("rerun", producer, 0, 0, 0.0,
                                f"re-running {producer.key} to rebuild its live object for "
                                f"{step.key}"))
        adapter = build_adapter(producer.module, producer.params, self._context())
        # The producer's own input (the modules before it) is still in the active state.
        adapter.run(adapter.set_input(_PrefixView(self.status, module)))
        self.status.attach_live(module, adapter)
        self.reruns.append(producer.key)

    def _results(self, flow: list[FlowStep], done: dict[str, str]) -> dict[str, Any]:
        last_module = self.config.sequence[-1]
        out: dict[str, Any] = {}
        for step in flow:
            if step.module != last_module or step.key not in done:
                continue
            entry = RunState.from_json(done[step.key]).active_map.get(last_module)
            out[step.key] = self.status.store.load_result(entry.result_ref) if entry else None
        return out


class _PrefixView:
    """The status as a module before ``module`` saw it: for re-running a producer.

    A producer's ``set_input`` asks for earlier modules only, which the active
    state still holds; this view just refuses questions about later ones.
    """

    def __init__(self, status: Status, module: str) -> None:
        self._status = status
        self._allowed = set(status.sequence[: status.sequence.index(module)])

    def __getattr__(self, name: str) -> Any:
        return getattr(self._status, name)

    @property
    def status(self) -> dict[str, Any]:
        return {k: v for k, v in self._status.status.items() if k in self._allowed}


_STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM and SIGHUP (a closed terminal) like Ctrl-C while a run is in progress."""
    def handler(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    try:
        previous = {sig: signal.signal(sig, handler) for sig in _STOP_SIGNALS}
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
