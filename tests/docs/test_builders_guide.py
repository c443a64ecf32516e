"""docs/builders-guide.md is executable: replaying it on a copy of the shipped desk must give what it shows.

The guide marks what it asks the reader to do:

- ``<!-- file: PATH -->`` on the line before a fenced block: write the block as the whole file PATH;
- ``<!-- shows: PATH -->`` on the line before a fenced block: the file PATH now has exactly that text;
- a ``console`` block: lines starting with ``$ `` are commands (all ``python cli.py …``), each followed by
  lines of its output; a command ending in ``# exit N`` must exit with N, the others with 0;
- a ``sql`` block: statements run against the guide's SQLite database.

Steps run in document order, from the desk folder, with ``--root`` and ``--database-url`` added.
Revision ids and revision sequence numbers are compared as placeholders: they change whenever the
runtime's own tables gain a migration, which says nothing about whether the guide is right.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.config.spec import FIELD_KINDS

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "builders-guide.md"
DESK_PARTS = ("tessera.yaml", "ticket_types", "sla_policies", "generated", "schemas")
MARKER = re.compile(r"^<!--\s*(file|shows):\s*(\S+)\s*-->$")
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
FENCE = "```"
SKIP_MARK = "…"
REVISION_ID = re.compile(r"\b[0-9a-f]{12}\b")
SEQUENCE = re.compile(r"(?<![0-9])\d{4}(?=_[a-z])")
ARCHIVE = re.compile(r"\barc_\d{4}_\w+")


def normalize(text: str) -> str:
    """Replace what depends on how many revisions the shipped desk already has."""
    return SEQUENCE.sub("NNNN", REVISION_ID.sub("<revision>", text))


def find_generated(desk: Path, shown_path: str) -> Path:
    """The file the guide names, matched with the sequence number taken as a placeholder."""
    folder = (desk / shown_path).parent
    matches = [p for p in folder.iterdir() if normalize(p.name) == normalize(Path(shown_path).name)]
    assert len(matches) == 1, f"{shown_path}: found {[p.name for p in matches]}"
    return matches[0]


@dataclass
class Command:
    line: int
    argv: list[str]
    exit_code: int
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    line: int
    kind: str  # "file", "shows" or "sql"
    text: str
    path: str = ""


Step = Command | Block


def parse_guide(text: str) -> list[Step]:
    """The guide's steps in document order."""
    lines = text.splitlines()
    steps: list[Step] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        if not line.lstrip().startswith(FENCE):
            index += 1
            continue
        indent = len(line) - len(line.lstrip())  # fences inside list items are indented
        info = line.lstrip()[len(FENCE):].strip()
        end = next((j for j in range(index + 1, len(lines)) if lines[j].lstrip().startswith(FENCE)), None)
        assert end is not None, f"builders-guide.md:{index + 1}: the fenced block is not closed"
        body = [b[indent:] if b[:indent].strip() == "" else b for b in lines[index + 1:end]]
        marker = MARKER.match(lines[index - 1].strip()) if index > 0 else None
        if marker:
            steps.append(Block(index + 1, marker.group(1), "\n".join(body) + "\n", marker.group(2)))
        elif info == "console":
            steps.extend(_commands(index + 2, body))
        elif info == "sql":
            steps.append(Block(index + 1, "sql", "\n".join(body) + "\n"))
        index = end + 1
    return steps


def _commands(first_line: int, body: list[str]) -> list[Command]:
    commands: list[Command] = []
    for offset, line in enumerate(body):
        if line.startswith("$ "):
            shown = line[2:]
            code = EXIT.search(shown)
            shown = EXIT.sub("", shown)
            argv = shlex.split(shown)
            where = f"builders-guide.md:{first_line + offset}"
            assert argv[:2] == ["python", "cli.py"], f"{where}: only `python cli.py …` commands can be replayed"
            commands.append(Command(first_line + offset, argv[2:], int(code.group(1)) if code else 0))
        else:
            assert commands, f"builders-guide.md:{first_line + offset}: output shown before any command"
            commands[-1].expected.append(line)
    return commands


def copy_desk(target: Path) -> Path:
    target.mkdir(parents=True)
    for part in DESK_PARTS:
        source = REPO / part
        if source.is_dir():
            shutil.copytree(source, target / part)
        else:
            shutil.copy(source, target / part)
    return target


def _actual_table(shown: str, tables: list[str]) -> str:
    """The archive table the guide means, whatever sequence number its revision got here."""
    matches = [t for t in tables if normalize(t) == normalize(shown)]
    assert len(matches) == 1, f"{shown}: found {matches}"
    return matches[0]


def test_the_guide_runs_as_written(tmp_path: Path) -> None:
    desk = copy_desk(tmp_path / "desk")
    database = tmp_path / "guide.db"
    options = ["--root", str(desk), "--database-url", f"sqlite:///{database}"]
    env = {k: v for k, v in os.environ.items() if k != "TESSERA_DATABASE_URL"}
    for step in parse_guide(GUIDE.read_text(encoding="utf-8")):
        if isinstance(step, Command):
            result = subprocess.run([sys.executable, str(REPO / "cli.py"), *options, *step.argv], cwd=desk,
                                    capture_output=True, text=True, timeout=180, check=False, env=env)
            output = result.stdout + result.stderr
            shown = f"builders-guide.md:{step.line}: `python cli.py {shlex.join(step.argv)}`"
            assert result.returncode == step.exit_code, f"{shown} exited with {result.returncode}:\n{output}"
            actual = {normalize(line.rstrip()) for line in output.splitlines()}
            for expected in step.expected:
                if expected.strip() and SKIP_MARK not in expected:
                    assert normalize(expected.rstrip()) in actual, f"{shown} did not print\n{expected}\nbut:\n{output}"
        elif step.kind == "file":
            path = desk / step.path
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(step.text, encoding="utf-8")
        elif step.kind == "shows":
            written = find_generated(desk, step.path).read_text(encoding="utf-8")
            assert normalize(written) == normalize(step.text), \
                f"builders-guide.md:{step.line}: {step.path} differs from the guide"
        else:
            with sqlite3.connect(database) as connection:
                tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
                script = ARCHIVE.sub(lambda m, names=tables: _actual_table(m.group(0), names), step.text)  # type: ignore[misc]
                connection.executescript(script)


def test_the_guide_cannot_pass_vacuously() -> None:
    steps = parse_guide(GUIDE.read_text(encoding="utf-8"))
    subcommands = {s.argv[0] for s in steps if isinstance(s, Command)}
    assert {"validate", "plan", "generate", "migrate", "check"} <= subcommands
    assert any(isinstance(s, Block) and s.kind == "file" for s in steps)
    assert any(isinstance(s, Command) and s.expected for s in steps)


def kinds_table(text: str) -> dict[str, list[str]]:
    """The field kinds reference table (the one whose header starts with ``| kind |``): kind → its other cells."""
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if re.match(r"^\|\s*kind\s*\|", line)), None)
    assert header is not None, "docs/builders-guide.md has no table with a 'kind' column first"
    rows: dict[str, list[str]] = {}
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        rows[cells[0].strip("`")] = cells[1:]
    return rows


@pytest.mark.parametrize("kind", FIELD_KINDS)
def test_every_field_kind_is_documented(kind: str) -> None:
    rows = kinds_table(GUIDE.read_text(encoding="utf-8"))
    assert kind in rows, f"docs/builders-guide.md: the field kinds table lacks `{kind}`"
    column, keys = rows[kind][:2]
    assert column, f"the row of `{kind}` does not say which column it becomes"
    assert keys, f"the row of `{kind}` does not list the keys that apply"


def test_the_kinds_table_names_only_real_kinds() -> None:
    rows = kinds_table(GUIDE.read_text(encoding="utf-8"))
    assert set(rows) <= set(FIELD_KINDS), f"unknown kinds documented: {sorted(set(rows) - set(FIELD_KINDS))}"


def test_the_section_named_by_the_destructive_refusal_exists() -> None:
    # runtime/db/migrations.py points builders at this heading when it refuses a destructive change.
    assert "\n## Undoing a destructive change\n" in GUIDE.read_text(encoding="utf-8")
