"""Counting what a YAML document stands for once its aliases are expanded.

``&anchor`` / ``*alias`` let a few hundred bytes describe a billion values
("billion laughs"): every later walk over the loaded config (validation, the
flow expansion, storing it as JSON) would take that long.  The composed node
graph is measured first, in time linear in the text.
"""

from __future__ import annotations

import yaml

__all__ = ["MAX_YAML_NODES", "expanded_size"]

# Far more values than any pipeline config holds; aliases of aliases ("billion
# laughs") reach it in a few hundred bytes, and are refused before being built.
MAX_YAML_NODES = 100_000


def expanded_size(root: yaml.Node, limit: int) -> int:
    """How many nodes ``root`` stands for once every alias is expanded (at most ``limit + 1``).

    Aliases share one node, so sizes are memoised per node: linear in the text,
    however large the expansion.  An alias inside its own anchor's value counts
    once (the config's own checks refuse such a value, naming the experiment).
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            return 1
        active.add(key)
        total = 1
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        for child in children:
            total = min(total + size(child), limit + 1)
        active.discard(key)
        sizes[key] = total
        return total

    return size(root)
