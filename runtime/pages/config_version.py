"""Which version of the definitions a desk runs: the git commit of the folder holding tessera.yaml (when it is
in a git repository), the database's schema revision and Tessera's own version."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk
from runtime.db import migrations

GIT_TIMEOUT = 5.0  # seconds; a hung git (a network file system, a lock) must not hang the page


@dataclass(frozen=True)
class Commit:
    short: str
    date: str  # ISO 8601 with the committer's offset
    subject: str
    dirty: bool  # the desk folder has changes not committed (tracked files changed, or new files)


@dataclass(frozen=True)
class GitState:
    """The commit, or why there is none: ``not_a_repository``, ``no_commits``, ``git_missing`` or
    ``git_failed`` (with git's own words in ``detail``)."""

    commit: Commit | None
    reason: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class DeskVersion:
    git: GitState
    schema_revision: str | None
    schema_head: str | None
    tessera: str


def desk_version(compiled: CompiledDesk, engine: sa.Engine) -> DeskVersion:
    # Imported here: the app module builds the pages, so importing it at the top would be circular.
    from runtime.web.app import tessera_version

    paths = migration_paths(compiled)
    return DeskVersion(git_state(compiled.root), migrations.current_revision(engine),
                       migrations.head_revision(paths), tessera_version())


def git_state(folder: Path) -> GitState:
    """The last commit that touched ``folder`` and whether it has changed since."""
    inside = _git(folder, "rev-parse", "--is-inside-work-tree")
    if isinstance(inside, GitState):
        return inside
    # The unit separator keeps a subject with any punctuation in one piece.
    last = _git(folder, "log", "-1", "--format=%h%x1f%cI%x1f%s", "--", ".")
    if isinstance(last, GitState):
        return last
    if not last.strip():
        return GitState(None, "no_commits")
    short, date, subject = [*last.strip().split("\x1f"), "", ""][:3]
    changes = _git(folder, "status", "--porcelain", "--", ".")
    if isinstance(changes, GitState):
        return changes
    return GitState(Commit(short, date, subject, bool(changes.strip())))


def _git(folder: Path, *arguments: str) -> str | GitState:
    """git's output, or the GitState that explains why there is none."""
    # A server started from a git hook inherits GIT_DIR and friends, which would point git at another repository.
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")} | {"LC_ALL": "C"}
    try:
        done = subprocess.run(["git", *arguments], cwd=folder, capture_output=True, text=True,
                              timeout=GIT_TIMEOUT, env=environment, check=False)
    except FileNotFoundError:
        return GitState(None, "git_missing")
    except subprocess.TimeoutExpired:
        return GitState(None, "git_failed", f"git {arguments[0]} took longer than {GIT_TIMEOUT:g} seconds")
    except OSError as exc:
        return GitState(None, "git_failed", str(exc))
    if done.returncode != 0:
        said = done.stderr.strip()
        if "not a git repository" in said:
            return GitState(None, "not_a_repository")
        if "does not have any commits" in said:
            return GitState(None, "no_commits")
        return GitState(None, "git_failed", said.splitlines()[0] if said else f"exit status {done.returncode}")
    return done.stdout
