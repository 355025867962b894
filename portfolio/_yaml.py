"""YAML reading for input files: dates stay strings, keys unique, aliases bounded.

PyYAML turns ``2023-07-26`` into a date while parsing and raises a bare ``ValueError`` for an
impossible one (``2023-13-40``) before any field is known; leaving timestamps as strings lets
pydantic parse them and report ``closing_date: ...`` like any other field error.

A key given twice in one mapping is an error naming the key and both lines (PyYAML keeps the
last one silently). Aliases are counted on the composed node graph *before* any Python object
is built: a document whose aliases would expand to more than :data:`MAX_EXPANDED_NODES` nodes
(a "billion laughs" bomb: 9 levels of 9 aliases make 387 million), or that refers to itself,
is refused in milliseconds instead of exhausting memory in whatever walks it later.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

from portfolio.errors import InputError

_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MERGE = "tag:yaml.org,2002:merge"
MAX_EXPANDED_NODES = 100_000
"""Most YAML nodes a document may hold once its aliases are expanded (input files hold a few
thousand; a tape belongs in CSV or Parquet)."""


class _InputLoader(yaml.SafeLoader):
    """SafeLoader without the implicit timestamp resolver; unique keys, bounded aliases."""

    def construct_document(self, node: Node) -> Any:
        """Refuse an oversized or self-referring alias graph, then build the document."""
        _expanded_size(node, {}, set())
        return super().construct_document(node)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """Build a mapping; a key given twice is an error naming it and both lines."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE or not isinstance(key_node, ScalarNode):
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise ConstructorError(
                    None, None, f"duplicate key {_short(key)} (first on line {seen[key]}, "
                    f"again on line {line}): give each key once", key_node.start_mark)
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:57]}..."


def _expanded_size(node: Node, sizes: dict[int, int], open_nodes: set[int]) -> int:
    """Nodes under ``node`` with every alias expanded, memoised per node (linear time)."""
    key = id(node)
    if key in sizes:
        return sizes[key]
    if key in open_nodes:
        raise ConstructorError(None, None, "an alias refers to a node that contains it "
                               "(recursive YAML is not accepted)", node.start_mark)
    open_nodes.add(key)
    total = 1
    if isinstance(node, MappingNode):
        children: list[Node] = [n for pair in node.value for n in pair]
    elif isinstance(node.value, list):
        children = node.value
    else:
        children = []
    for child in children:
        total += _expanded_size(child, sizes, open_nodes)
        if total > MAX_EXPANDED_NODES:
            raise ConstructorError(
                None, None, f"the document expands to more than {MAX_EXPANDED_NODES:,} nodes "
                "through its aliases (&anchor / *alias); write the values out or use fewer "
                "aliases", node.start_mark)
    open_nodes.discard(key)
    sizes[key] = total
    return total


_InputLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_yaml(text: str) -> Any:
    """Parse YAML text with the safe loader, leaving dates as strings."""
    return yaml.load(text, Loader=_InputLoader)  # noqa: S506 - a SafeLoader subclass


def read_yaml_file(path: Path) -> Any:
    """Parse a YAML input file; a missing, unreadable or malformed file is an InputError."""
    if not path.is_file():
        raise InputError(str(path), "file not found")
    try:
        return load_yaml(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise InputError(str(path), f"not a UTF-8 text file: {exc}") from None
    except yaml.YAMLError as exc:
        raise InputError(str(path), f"not valid YAML: {exc}") from None
