"""Reading a config file's YAML strictly: no duplicate keys, no alias bombs, no code.

Kept apart from ``config.py`` so that a config rebuilt from its stored JSON
(every command that reads a run) never imports PyYAML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from petsard_status.config.aliases import MAX_YAML_NODES, expanded_size
from petsard_status.config.locations import yaml_error_message
from petsard_status.errors import ConfigError

__all__ = ["load_config_yaml"]


def load_config_yaml(text: str, file: Path) -> Any:
    """The plain data of ``text`` (read from ``file``); a YAML error is a :class:`ConfigError`."""
    try:
        return _load(text, file)
    except yaml.YAMLError as exc:
        raise ConfigError(yaml_error_message(file, exc)) from None


def _load(text: str, file: Path) -> Any:
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        if expanded_size(node, MAX_YAML_NODES) > MAX_YAML_NODES:
            raise ConfigError(
                f"config file {str(file)!r} expands to more than {MAX_YAML_NODES:,} values "
                "through its aliases (*name); a pipeline config is far smaller. Write the "
                "repeated parts out, or use fewer nested aliases"
            )
        return loader.construct_document(node)
    except RecursionError:
        raise ConfigError(f"config file {str(file)!r} is nested too deeply to be a pipeline "
                          "config") from None
    finally:
        loader.dispose()


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate mapping keys.

    Plain YAML loading keeps the last of two equal keys, which would silently
    drop an experiment written twice under one module.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_line: dict[Any, int] = {}
        for key_node, _ in node.value:
            # Merge keys (``<<: *anchor``) are meant to repeat and be overridden.
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                seen_at = first_line.get(key)
            except TypeError:
                continue  # unhashable key: SafeLoader reports it itself
            if seen_at is not None:
                raise yaml.constructor.ConstructorError(
                    "while constructing a mapping",
                    node.start_mark,
                    f"found duplicate key {key!r} (first written on line {seen_at})",
                    key_node.start_mark,
                )
            first_line[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)
