"""docs/operations.md as steps a test can run, and the installed layout its commands expect.

In the guide, a ``console`` block's ``$ `` lines are commands: ``tessera …`` (deploy/tessera, the installed
wrapper) or ``python cli.py …`` (in the desk's repository); the lines under a command are what it prints, and
``# exit N`` at its end the exit code it must give when not 0. Sections are the ``## `` headings, each with the
``### `` ones under it. The guide's machine paths and PostgreSQL URL are moved into a test's folder and database.
"""

from __future__ import annotations

import getpass
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "docs" / "operations.md"
WRAPPER = REPO / "deploy" / "tessera"
ENV_EXAMPLE = REPO / "deploy" / "systemd" / "tessera.env.example"
DESK_PARTS = ("tessera.yaml", "ticket_types", "sla_policies", "generated", "schemas")
GUIDE_PG_URL = "postgresql+psycopg://tessera:CHANGE-ME@127.0.0.1:5432/tessera"
GUIDE_PG_SHOWN = "postgresql+psycopg://tessera:***@127.0.0.1:5432/tessera"
EXIT = re.compile(r"\s+#\s*exit\s+(\d+)\s*$")
SKIP_MARK = "…"
FENCE = "```"


@dataclass
class Command:
    line: int
    words: list[str]  # as written: ["tessera", "backup", …] or ["python", "cli.py", "plan"]
    exit_code: int
    expected: list[str] = field(default_factory=list)

    @property
    def wrapper(self) -> bool:
        return self.words[0] == "tessera"

    @property
    def args(self) -> list[str]:
        """The arguments after ``tessera`` or ``python cli.py``."""
        return self.words[1:] if self.wrapper else self.words[2:]

    @property
    def subcommand(self) -> str:
        """The first word that is not a global option (``--database-url URL plan`` → ``plan``)."""
        args = self.args
        while args and args[0] in ("--root", "--database-url"):
            args = args[2:]
        return args[0]

    def __str__(self) -> str:
        return f"operations.md:{self.line}: `{shlex.join(self.words)}`"


def sections(text: str | None = None) -> dict[str, list[Command]]:
    """Each ``## `` section's commands in document order."""
    lines = (GUIDE.read_text(encoding="utf-8") if text is None else text).splitlines()
    found: dict[str, list[Command]] = {}
    current = ""
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("## "):
            current = line[3:].strip()
            found.setdefault(current, [])
        if not line.startswith(FENCE):
            index += 1
            continue
        end = next(j for j in range(index + 1, len(lines)) if lines[j].startswith(FENCE))
        if line[len(FENCE):].strip() == "console":
            found.setdefault(current, []).extend(_commands(index + 2, lines[index + 1:end]))
        index = end + 1
    return {name: commands for name, commands in found.items() if commands}


def _commands(first_line: int, body: list[str]) -> list[Command]:
    commands: list[Command] = []
    for offset, line in enumerate(body):
        where = f"operations.md:{first_line + offset}"
        if line.startswith("$ "):
            code = EXIT.search(line)
            words = shlex.split(EXIT.sub("", line[2:]), comments=True)
            assert words[0] == "tessera" or words[:2] == ["python", "cli.py"], \
                f"{where}: only `tessera …` and `python cli.py …` commands are run"
            commands.append(Command(first_line + offset, words, int(code.group(1)) if code else 0))
        else:
            assert commands, f"{where}: output shown before any command"
            commands[-1].expected.append(line)
    return commands


REVISION_ID = re.compile(r"\b[0-9a-f]{12}\b")
SIZE = re.compile(r"[\d,.]+ (bytes|KB|MB|GB)\b")
NUMBER = re.compile(r"\d[\d,.]*")


def normalize(text: str) -> str:
    """What varies between runs (revision ids, sizes, counts, times) as placeholders."""
    return NUMBER.sub("N", SIZE.sub("SIZE", REVISION_ID.sub("REV", text))).rstrip()


@dataclass
class Install:
    """The layout of the guide's install section under a test's folder: /opt/tessera (the checkout, with .venv
    and cli.py linked to this repository's), /var/lib/tessera (var/ of the checkout links to it),
    /var/backups/tessera and /etc/tessera/tessera.env (from deploy/systemd/tessera.env.example)."""

    root: Path
    pg_url: str | None = None

    @property
    def home(self) -> Path:
        return self.root / "opt" / "tessera"

    @property
    def state(self) -> Path:
        return self.root / "var" / "lib" / "tessera"

    @property
    def backups(self) -> Path:
        return self.root / "var" / "backups" / "tessera"

    @property
    def env_file(self) -> Path:
        return self.root / "etc" / "tessera" / "tessera.env"

    @property
    def workstation_db(self) -> str:
        return f"sqlite:///{self.root / 'workstation.db'}"

    @property
    def database_url(self) -> str:
        """The server's database, as the environment file names it."""
        for line in self.env_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("TESSERA_DATABASE_URL="):
                return line.split("=", 1)[1]
        raise AssertionError("the environment file names no database")

    def create(self, state: Path | None = None) -> Install:
        """Lay the installation out; ``state`` is a /var/lib/tessera to start from (a seeded desk)."""
        self.home.mkdir(parents=True)
        for part in DESK_PARTS:
            source = REPO / part
            if source.is_dir():
                shutil.copytree(source, self.home / part)
            else:
                shutil.copy(source, self.home / part)
        (self.home / ".venv").symlink_to(REPO / ".venv")
        (self.home / "cli.py").symlink_to(REPO / "cli.py")
        if state is not None:
            shutil.copytree(state, self.state)
        self.state.mkdir(parents=True, exist_ok=True)
        (self.home / "var").symlink_to(self.state)
        self.backups.mkdir(parents=True)
        self.env_file.parent.mkdir(parents=True)
        self.env_file.write_text(self.substitute(ENV_EXAMPLE.read_text(encoding="utf-8")), encoding="utf-8")
        return self

    def substitute(self, text: str) -> str:
        """The guide's machine paths and URL as this installation's."""
        if self.pg_url is not None:
            text = text.replace(GUIDE_PG_URL, self.pg_url)
        for written, here in (("/etc/tessera/tessera.env", self.env_file), ("/var/backups/tessera", self.backups),
                              ("/var/lib/tessera", self.state), ("/opt/tessera", self.home)):
            text = text.replace(written, str(here))
        return text

    def unsubstitute(self, text: str) -> str:
        """Output as the guide shows it: this installation's paths and URL as the guide's."""
        if self.pg_url is not None:
            text = text.replace(sa.make_url(self.pg_url).render_as_string(hide_password=True), GUIDE_PG_SHOWN)
        for here, written in ((self.env_file, "/etc/tessera/tessera.env"), (self.backups, "/var/backups/tessera"),
                              (self.state, "/var/lib/tessera"), (self.home, "/opt/tessera")):
            text = text.replace(str(here), written)
        return text

    def environment(self) -> dict[str, str]:
        """What the wrapper needs to find this installation, run as the current user."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("TESSERA_")}
        env.update(TESSERA_HOME=str(self.home), TESSERA_ENV_FILE=str(self.env_file), TESSERA_USER=getpass.getuser())
        return env

    def argv(self, command: Command) -> list[str]:
        args = [self.substitute(word) for word in command.args]
        if command.wrapper:
            return [str(WRAPPER), *args]
        return [sys.executable, str(REPO / "cli.py"), "--root", str(self.home), "--database-url",
                self.workstation_db, *args]

    def run(self, command: Command) -> subprocess.CompletedProcess[str]:
        """Run a command of the guide; fail the test when its exit code or output is not what the guide shows."""
        result = subprocess.run(self.argv(command), cwd=self.home, env=self.environment(), capture_output=True,
                                text=True, timeout=180, check=False)
        output = self.unsubstitute(result.stdout + result.stderr)
        assert result.returncode == command.exit_code, f"{command} exited with {result.returncode}:\n{output}"
        actual = {normalize(line) for line in output.splitlines()}
        for expected in command.expected:
            if expected.strip() and SKIP_MARK not in expected:
                assert normalize(expected) in actual, f"{command} did not print\n{expected}\nbut:\n{output}"
        return result

