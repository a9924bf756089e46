"""Where each module, experiment and parameter of a YAML config is written.

The config is parsed twice: once into plain data (by ``Config.from_yaml``),
and once here with ``yaml.compose`` under PyYAML's SafeLoader, which keeps
the position of every node, so that a problem found in the data can be
reported at its line in the file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["Locations", "yaml_error_message"]

Key = tuple[str, ...]


@dataclass
class Locations:
    """1-based line of each ``(module,)``, ``(module, experiment)`` and
    ``(module, experiment, param)`` key of a YAML config file, and of each
    parameter's value."""

    path: Path | None = None
    keys: dict[Key, int] = field(default_factory=dict)
    values: dict[Key, int] = field(default_factory=dict)

    @classmethod
    def of_file(cls, path: str | os.PathLike[str]) -> Locations:
        """The locations in ``path``; empty if the file cannot be parsed (it was read before)."""
        file = Path(path)
        found = cls(file)
        try:
            root = yaml.compose(file.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            return found
        found._walk(root, ())
        return found

    def _walk(self, node: yaml.Node | None, trail: Key) -> None:
        if not isinstance(node, yaml.MappingNode) or len(trail) >= 3:
            return
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key = (*trail, str(key_node.value))
            self.keys.setdefault(key, key_node.start_mark.line + 1)
            self.values.setdefault(key, value_node.start_mark.line + 1)
            self._walk(value_node, key)

    def line(self, key: Key, *, value: bool = False) -> int | None:
        """The line of ``key`` (of its value, with ``value``), else of the nearest enclosing key."""
        table = self.values if value else self.keys
        for size in range(len(key), 0, -1):
            found = (table if size == len(key) else self.keys).get(key[:size])
            if found is not None:
                return found
        return None

    def where(self, key: Key, *, value: bool = False) -> str:
        """``file:line`` (or just ``file``, or ``""``) for a message."""
        if self.path is None:
            return ""
        line = self.line(key, value=value)
        return f"{self.path}:{line}" if line is not None else str(self.path)


def yaml_error_message(path: str | os.PathLike[str], exc: yaml.YAMLError) -> str:
    """A YAML syntax error as ``FILE:LINE:COLUMN: problem``, without PyYAML's stream name."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark is not None else str(path)
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    detail = ""
    if context and context_mark is not None and context_mark is not mark:
        detail = f" ({context} at line {context_mark.line + 1}, column {context_mark.column + 1})"
    return f"{where}: not valid YAML: {problem}{detail}; correct the file there"
