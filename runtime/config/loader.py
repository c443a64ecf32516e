"""Read one YAML file into plain data plus the line and column of every key and value.

ruamel.yaml composes the node tree (with its C parser when ruamel.yaml.clib is installed, about ten
times faster than the round-trip loader); we walk the nodes ourselves so that every key and value
keeps its position and duplicate keys are reported with both places.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from ruamel.yaml.resolver import VersionedResolver

from runtime.config.errors import ConfigError, KeyPath

Position = tuple[int, int]  # 1-based line and column
MERGE_TAG = "tag:yaml.org,2002:merge"
_CORE = "tag:yaml.org,2002:"


class _Yaml12Resolver(VersionedResolver):
    """Definitions are YAML 1.2. ruamel looks the version up for every scalar, through two caught
    AttributeErrors when the C parser is in use; a fixed answer halves the time to load a big desk."""

    @property
    def processing_version(self) -> tuple[int, int]:
        return (1, 2)


def _core_scalar(tag: str, text: str) -> tuple[bool, Any]:
    """The value of a scalar of YAML's core schema, decided from its resolved tag; (False, None) if other."""
    if tag == _CORE + "str":
        return True, text
    if tag == _CORE + "int":
        digits = text.replace("_", "")
        try:
            return True, int(digits, 10)
        except ValueError:
            return True, int(digits, 0)
    if tag == _CORE + "bool":
        return True, text.lower() == "true"
    if tag == _CORE + "null":
        return True, None
    if tag == _CORE + "timestamp":
        # Dates stay text so that pydantic and JSON Schema see exactly the same input.
        return True, text
    return False, None


@dataclass
class RawDoc:
    """A YAML document as plain Python data, with positions for error messages."""

    file: str
    data: Any
    key_marks: dict[KeyPath, Position] = field(default_factory=dict)
    value_marks: dict[KeyPath, Position] = field(default_factory=dict)

    def position(self, path: KeyPath, *, at_key: bool = False) -> Position:
        """Where ``path`` is written; falls back to the closest enclosing node that has a mark."""
        marks = (self.key_marks, self.value_marks) if at_key else (self.value_marks, self.key_marks)
        probe = tuple(path)
        while True:
            for table in marks:
                if probe in table:
                    return table[probe]
            if not probe:
                return (1, 1)
            probe = probe[:-1]


class _NodeError(Exception):
    """A problem found while walking nodes: becomes one ConfigError."""

    def __init__(self, error: ConfigError) -> None:
        super().__init__(error.message)
        self.error = error


def _mark(node: Node) -> Position:
    return (node.start_mark.line + 1, node.start_mark.column + 1)


class _Walker:
    def __init__(self, doc: RawDoc, yaml: YAML) -> None:
        self.doc = doc
        self.constructor = yaml.constructor

    def scalar(self, node: ScalarNode) -> Any:
        known, value = _core_scalar(str(node.tag), node.value)
        if known:
            return value
        value = self.constructor.construct_object(node, deep=True)
        if isinstance(value, (dt.date, dt.datetime)):
            # Dates stay text so that pydantic and JSON Schema see exactly the same input.
            return value.isoformat()
        if isinstance(value, (bool, int, float, str)) or value is None:
            return value
        return str(value)

    def plain(self, node: Node, path: KeyPath) -> Any:
        if isinstance(node, MappingNode):
            return self.mapping(node, path)
        if isinstance(node, SequenceNode):
            items = []
            for index, item in enumerate(node.value):
                child = (*path, index)
                self.doc.value_marks[child] = self.doc.key_marks[child] = _mark(item)
                items.append(self.plain(item, child))
            return items
        assert isinstance(node, ScalarNode)  # the composer makes only these three kinds of node
        return self.scalar(node)

    def mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            line, col = _mark(key_node)
            if str(key_node.tag) == MERGE_TAG:
                self.fail(line, col, path, "YAML merge keys ('<<') are not supported", found="'<<'",
                          hint="write the keys out; definitions are reviewed as plain text")
            if not isinstance(key_node, ScalarNode):
                self.fail(line, col, path, "a key must be plain text", found="a list or mapping used as a key")
            key = str(self.scalar(key_node))
            child = (*path, key)
            if key in first_seen:
                self.fail(line, col, child, f"duplicate key '{key}'", expected="each key once per mapping",
                          found=f"'{key}' again (first on line {first_seen[key]})",
                          hint="remove or rename one of the two entries; YAML would silently keep only the last")
            first_seen[key] = line
            self.doc.key_marks[child] = (line, col)
            self.doc.value_marks[child] = _mark(value_node)
            result[key] = self.plain(value_node, child)
        return result

    def fail(self, line: int, col: int, path: KeyPath, message: str, **extra: str) -> NoReturn:
        raise _NodeError(ConfigError(self.doc.file, line, col, path, message, **extra))


def _yaml_error(file: str, exc: YAMLError) -> ConfigError:
    if isinstance(exc, MarkedYAMLError) and exc.problem_mark is not None:
        line, col = exc.problem_mark.line + 1, exc.problem_mark.column + 1
        problem = exc.problem or "invalid YAML"
    else:
        line, col, problem = 1, 1, str(exc)
    if "'\\t'" in problem or "tab character" in problem:
        return ConfigError(
            file, line, col, (), "tab character used for indentation",
            expected="spaces", found="a tab", hint="YAML forbids tabs in indentation; indent with two spaces",
        )
    context = f" {exc.context}" if isinstance(exc, MarkedYAMLError) and exc.context else ""
    opened = exc.context_mark if isinstance(exc, MarkedYAMLError) else None
    if context and opened is not None and opened.line + 1 != line:
        # An unclosed bracket or quote is only noticed lines later; say where it was opened.
        context += f" that starts on line {opened.line + 1}"
    return ConfigError(
        file, line, col, (), f"YAML syntax error{context}", found=problem,
        hint="check indentation, colons after keys and closing brackets or quotes near this line",
    )


def load_yaml(path: Path, root: Path) -> RawDoc | ConfigError:
    """Parse ``path``; on failure return the error instead of raising so that callers can collect."""
    file = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return ConfigError(file, 1, 1, (), "cannot read file", found=str(exc), hint="save it as UTF-8 text")
    yaml = YAML(typ="safe", pure=False)
    yaml.Resolver = _Yaml12Resolver
    try:
        node = yaml.compose(text)
    except YAMLError as exc:
        return _yaml_error(file, exc)
    if node is None:
        return ConfigError(
            file, 1, 1, (), "file is empty", expected="a mapping of definitions", found="no content",
            hint="delete the file or add its definitions",
        )
    doc = RawDoc(file=file, data=None)
    try:
        doc.data = _Walker(doc, yaml).plain(node, ())
    except _NodeError as exc:
        return exc.error
    except YAMLError as exc:
        return _yaml_error(file, exc)
    return doc
