"""A :class:`Config` from what PETsARD users already hold.

PETsARD's own ``petsard.config.Config`` keeps the mapping it was built from in
``.yaml``, with every Splitter experiment already expanded by ``num_samples``
into ``name_[n-k]`` experiments.  :func:`as_config` accepts that object, and
any mapping whose Splitter experiments are expanded that way, by folding each
complete ``name_[n-1]`` ... ``name_[n-n]`` set back into ``name`` with
``num_samples: n``; :class:`Config` then expands it again into the same names.
"""

from __future__ import annotations

import copy
import re
import sys
from collections.abc import Mapping
from typing import Any

from petsard_status.config.config import Config
from petsard_status.errors import ConfigError

__all__ = ["as_config"]

_EXPANDED = re.compile(r"^(?P<base>.+)_\[(?P<n>[1-9][0-9]*)-(?P<k>[0-9]+)\]$")


def as_config(config: Any) -> Config:
    """``config`` as a :class:`Config`: ours, PETsARD's ``Config``, or a mapping."""
    if isinstance(config, Config):
        return config
    if _is_petsard_config(config):
        config = config.yaml
    if not isinstance(config, Mapping):
        raise ConfigError(
            f"a config is a mapping of module names to experiments (or a Config), not a "
            f"{type(config).__name__}"
        )
    splitter = config.get("Splitter")
    if isinstance(splitter, Mapping) and splitter and all(
        isinstance(name, str) and _EXPANDED.match(name) for name in splitter
    ):
        config = {**config, "Splitter": _fold(splitter)}
    return Config(config)


def _is_petsard_config(value: Any) -> bool:
    module = sys.modules.get("petsard.config")
    return module is not None and isinstance(value, module.Config)


def _fold(experiments: Mapping[str, Any]) -> dict[str, Any]:
    """``{split_[2-1]: p, split_[2-2]: p}`` -> ``{split: {**p, num_samples: 2}}``."""
    groups: dict[str, dict[str, Any]] = {}
    for name, params in experiments.items():
        match = _EXPANDED.match(name)
        assert match is not None  # checked by the caller
        base, n, k = match["base"], int(match["n"]), match["k"]
        group = groups.setdefault(base, {"n": n, "ks": [], "params": params})
        if group["n"] != n:
            raise ConfigError(f"Splitter experiments of {base!r} disagree on num_samples "
                              f"({group['n']} and {n}); expand them from one experiment")
        group["ks"].append(k)
    folded = {}
    for base, group in groups.items():
        n = group["n"]
        width = len(str(n))
        if sorted(group["ks"]) != [f"{k:0{width}d}" for k in range(1, n + 1)]:
            raise ConfigError(
                f"Splitter experiments {base}_[{n}-...] are not a complete expansion of "
                f"num_samples {n}; give all {n} of them, or the unexpanded experiment {base!r}"
            )
        params = dict(copy.deepcopy(group["params"] or {}))
        params.pop("sample_index", None)
        params["num_samples"] = n
        folded[base] = params
    return folded
