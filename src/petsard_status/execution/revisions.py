"""Continuing a run with a corrected config: checking it, and recording it as a revision.

A run keeps the config it was started with (its ``config`` column).  A
corrected config given to ``resume`` is accepted when every step already
finished is configured identically in it: the same module order, and the
same parameters for each finished step's experiment (so the stored results
stay the results of that config).  It is then recorded in the run's info,
``info["config_revisions"]``, as ``{"revision", "time", "sha256", "source",
"base_dir", "config_json"}``; the last revision is the config the run uses
from then on.  The config is kept as JSON text because the info document is
stored with sorted keys, and the order of modules and experiments is the
flow.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from petsard_status.config import Config
from petsard_status.errors import ConfigError, CorruptDataError, PetsardStatusError
from petsard_status.execution.validate import check_config
from petsard_status.formats import strict_loads
from petsard_status.status import Status

if TYPE_CHECKING:
    from petsard_status.execution.executor import Executor

__all__ = ["REVISIONS_KEY", "config_digest", "current_config", "differing_steps",
           "record_revision", "revise"]

REVISIONS_KEY = "config_revisions"


def config_digest(config: Config) -> str:
    """SHA-256 of the config as written (before Splitter expansion), canonical JSON."""
    text = json.dumps(config.to_dict(), sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def revisions(info: dict[str, Any]) -> list[dict[str, Any]]:
    found = info.get(REVISIONS_KEY) if isinstance(info, dict) else None
    return list(found) if isinstance(found, list) else []


def current_config(status: Status, info: dict[str, Any]) -> Config:
    """The config the run uses: its last revision, else the one it was started with."""
    found = revisions(info)
    if not found:
        return status.config
    last = found[-1]
    try:
        config = Config(strict_loads(last["config_json"], what="config revision",
                                     error=CorruptDataError))
    except (KeyError, TypeError, PetsardStatusError) as exc:
        raise CorruptDataError(
            f"run {status.run!r}: its config revision {last.get('revision')!r} cannot be "
            f"read ({exc}); run `petsard-status db check`"
        ) from None
    return config


def differing_steps(old: Config, new: Config, done: Iterable[str]) -> list[str]:
    """The finished steps (by key) that ``new`` leaves out or configures differently."""
    if old.sequence != new.sequence:
        raise ConfigError(
            f"the corrected config runs the modules {' -> '.join(new.sequence)}, but the run "
            f"was started with {' -> '.join(old.sequence)}; a resumed run keeps its module "
            "order: start a new run with `petsard-status run` instead"
        )
    finished = set(done)
    differing = []
    for step in old.flow():
        if step.key not in finished:
            continue
        try:
            twin = new.step_by_path(step.path)
        except ConfigError:
            differing.append(f"{step.key} (not in the corrected config)")
            continue
        if twin.params != step.params:
            changed = sorted(set(step.params) ^ set(twin.params) | {
                k for k in set(step.params) & set(twin.params) if step.params[k] != twin.params[k]
            })
            differing.append(f"{step.key} ({', '.join(changed)})")
    return differing


def revise(executor: Executor, config: Config | str | os.PathLike[str]) -> None:
    """Make ``executor`` continue its run with ``config``, or say which finished steps differ."""
    if isinstance(config, Config):
        base_dir = executor.base_dir
    else:
        base_dir = Path(config).resolve().parent
        config = Config.from_yaml(config)
    check_config(config, base_dir)
    differing = differing_steps(executor.config, config, executor.done_steps())
    if differing:
        source = f" {str(config.source_path)!r}" if config.source_path is not None else ""
        raise ConfigError(
            f"cannot continue run {executor.run_name!r} with the config{source}: "
            f"{len(differing)} finished step(s) are configured differently there: "
            f"{'; '.join(differing)}. Put their parameters back as they were, or start a new "
            "run with `petsard-status run`"
        )
    record_revision(executor.status, config, base_dir)
    executor.config = config
    executor.status.config = config
    executor.base_dir = base_dir


def record_revision(status: Status, config: Config, base_dir: Path) -> dict[str, Any] | None:
    """Add ``config`` to the run's revisions unless the run already uses it; returns it."""
    info = status.run_info()["info"]
    found = revisions(info)
    digest = config_digest(config)
    same_folder = info.get("base_dir") == str(base_dir)
    if same_folder and digest == config_digest(current_config(status, info)):
        return found[-1] if found else None
    revision = {
        "revision": len(found) + 1,
        "time": dt.datetime.now().isoformat(timespec="seconds"),
        "sha256": digest,
        "source": str(config.source_path) if config.source_path is not None else None,
        "base_dir": str(base_dir),
        "config_json": json.dumps(config.to_dict(), ensure_ascii=False),
    }
    status.update_run_info(**{REVISIONS_KEY: [*found, revision]}, base_dir=str(base_dir),
                           total_steps=config.num_steps)
    return revision
