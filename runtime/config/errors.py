"""Configuration errors as values: where, what was expected, what was found, and a hint."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

KeyPath = tuple[str | int, ...]


def format_path(path: KeyPath) -> str:
    """Render a key path the way a builder reads it: ``fields.asset.kind`` or ``states[2]``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(document)"


def did_you_mean(found: object, choices: Iterable[str]) -> str | None:
    """Suggest the closest known name for a misspelt one."""
    if not isinstance(found, str):
        return None
    matches = difflib.get_close_matches(found, list(choices), n=1, cutoff=0.6)
    return f"did you mean '{matches[0]}'?" if matches else None


def one_of(choices: Sequence[str], limit: int = 12) -> str:
    """Describe a set of allowed values, shortened when it is long."""
    shown = ", ".join(choices[:limit])
    return f"one of {shown}, …" if len(choices) > limit else f"one of {shown}"


def a_or_an(noun: str) -> str:
    """``integer`` → ``an integer``, ``url`` → ``a url``: good enough for the field kinds' names."""
    return f"an {noun}" if noun[:1] in "aeio" else f"a {noun}"


def show(value: object) -> str:
    """Quote a found value compactly for an error line."""
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value)


@dataclass(frozen=True)
class ConfigError:
    """One actionable problem in the definitions."""

    file: str
    line: int
    column: int
    path: KeyPath
    message: str
    expected: str | None = None
    found: str | None = None
    hint: str | None = None

    def sort_key(self) -> tuple[str, int, int, str]:
        return (self.file, self.line, self.column, self.message)

    def render(self) -> str:
        head = f"{self.file}:{self.line}:{self.column} {format_path(self.path)}: {self.message}"
        lines = [head]
        if self.expected is not None:
            lines.append(f"    expected: {self.expected}")
        if self.found is not None:
            lines.append(f"    found: {self.found}")
        if self.hint is not None:
            lines.append(f"    hint: {self.hint}")
        return "\n".join(lines)


def render_report(errors: Iterable[ConfigError]) -> str:
    """All errors, sorted by file and position, each once, followed by a count."""
    unique = sorted(set(errors), key=ConfigError.sort_key)
    body = "\n".join(error.render() for error in unique)
    noun = "error" if len(unique) == 1 else "errors"
    return f"{body}\n{len(unique)} {noun} in the definitions"
