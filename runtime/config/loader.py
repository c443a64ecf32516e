"""Read one YAML file into plain data plus the line and column of every key and value."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.constructor import DuplicateKeyError
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from runtime.config.errors import ConfigError, KeyPath

Position = tuple[int, int]  # 1-based line and column


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


def _plain(node: Any, path: KeyPath, doc: RawDoc) -> Any:
    """Convert ruamel's round-trip nodes into dict/list/scalars, recording marks on the way."""
    if isinstance(node, CommentedMap):
        result: dict[Any, Any] = {}
        for key in node:
            line, col = node.lc.key(key)
            vline, vcol = node.lc.value(key)
            child = (*path, str(key))
            doc.key_marks[child] = (line + 1, col + 1)
            doc.value_marks[child] = (vline + 1, vcol + 1)
            result[str(key)] = _plain(node[key], child, doc)
        return result
    if isinstance(node, CommentedSeq):
        items = []
        for index, item in enumerate(node):
            line, col = node.lc.item(index)
            child = (*path, index)
            doc.value_marks[child] = doc.key_marks[child] = (line + 1, col + 1)
            items.append(_plain(item, child, doc))
        return items
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, (dt.date, dt.datetime)):
        # Dates stay text so that pydantic and JSON Schema see exactly the same input.
        return node.isoformat()
    return str(node)


def _yaml_error(file: str, exc: YAMLError) -> ConfigError:
    if isinstance(exc, MarkedYAMLError) and exc.problem_mark is not None:
        line, col = exc.problem_mark.line + 1, exc.problem_mark.column + 1
        problem = exc.problem or "invalid YAML"
    else:
        line, col, problem = 1, 1, str(exc)
    if isinstance(exc, DuplicateKeyError):
        first = exc.context_mark.line + 1 if exc.context_mark else line
        key = problem.split('"')[1] if '"' in problem else "?"
        return ConfigError(
            file, line, col, (), f"duplicate key '{key}'",
            expected="each key once per mapping", found=f"'{key}' again (mapping starts on line {first})",
            hint="remove or rename one of the two entries; YAML would silently keep only the last",
        )
    if "'\\t'" in problem:
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
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        node = yaml.load(text)
    except YAMLError as exc:
        return _yaml_error(file, exc)
    doc = RawDoc(file=file, data=None)
    if node is None:
        return ConfigError(
            file, 1, 1, (), "file is empty", expected="a mapping of definitions", found="no content",
            hint="delete the file or add its definitions",
        )
    doc.data = _plain(node, (), doc)
    return doc
