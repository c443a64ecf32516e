"""``token create|list|revoke`` and ``agent set-password`` as an operator runs them against the demo desk."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.auth.passwords import verify_password
from runtime.auth.tokens import authenticate
from runtime.compile.desk import load_compiled
from runtime.db.engine import make_engine
from tests.desk_fixtures import SHIPPED, copy_shipped_desk

CLI = SHIPPED / "cli.py"
CREATED = re.compile(r"token (\d+) for alex \(([^)]*)\), expires: (\S+)\n(tsr_\S+)\n")


def run(root: Path, *args: str, stdin: str = "", database: str = "demo.db") -> subprocess.CompletedProcess[str]:
    options = ["--root", str(root), "--database-url", f"sqlite:///{root / database}"]
    return subprocess.run([sys.executable, str(CLI), *options, *args], capture_output=True, text=True, input=stdin,
                          timeout=120, check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One demo database for the module (agents alex, bea, chen); each test makes its own tokens."""
    root = copy_shipped_desk(tmp_path_factory.mktemp("cli") / "desk")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    result = run(root, "demo", "--no-serve")
    assert result.returncode == 0, result.stderr
    return root


def _create(root: Path, *args: str) -> tuple[int, str, str, str]:
    result = run(root, "token", "create", "--agent", "alex", "--label", "nightly export", *args)
    assert result.returncode == 0, result.stderr
    match = CREATED.match(result.stdout)
    assert match, result.stdout
    return int(match[1]), match[2], match[3], match[4]


def _listed(root: Path, *args: str) -> dict[int, list[str]]:
    result = run(root, "token", "list", *args)
    assert result.returncode == 0, result.stderr
    if result.stdout == "no tokens\n":
        return {}
    header, *lines = result.stdout.splitlines()
    assert header.split("\t") == ["id", "agent", "state", "label", "scopes", "expires", "last used"]
    return {int(line.split("\t")[0]): line.split("\t") for line in lines}


def test_a_created_token_is_shown_once_listed_and_authenticates(demo: Path) -> None:
    token_id, scopes, expires, plaintext = _create(demo, "--scope", "tickets:write", "--scope", "people:read",
                                                   "--expires", "90d")
    assert scopes == "people:read, tickets:write"
    assert expires != "never"
    compiled = load_compiled(demo)
    with make_engine(f"sqlite:///{demo / 'demo.db'}", demo).begin() as connection:
        grant = authenticate(connection, compiled, plaintext)
    assert grant is not None
    assert (grant.token_id, grant.scopes) == (token_id, frozenset({"people:read", "tickets:write"}))
    listing = run(demo, "token", "list").stdout
    assert plaintext not in listing
    row = _listed(demo)[token_id]
    assert row[1:6] == ["alex", "active", "nightly export", "people:read,tickets:write", expires]
    assert row[6] != "-"  # the authentication above was recorded


def test_a_token_without_expires_never_expires(demo: Path) -> None:
    assert _create(demo, "--scope", "admin")[2] == "never"


def test_revoking_shows_in_the_list_and_only_works_once(demo: Path) -> None:
    token_id = _create(demo, "--scope", "tickets:read")[0]
    first = run(demo, "token", "revoke", str(token_id))
    assert (first.returncode, first.stdout) == (0, f"token {token_id} revoked\n")
    assert _listed(demo)[token_id][2] == "revoked"
    again = run(demo, "token", "revoke", str(token_id))
    assert (again.returncode, again.stderr) == (2, f"token {token_id} does not exist or is already revoked\n")


def test_listing_by_agent_leaves_out_other_agents(demo: Path) -> None:
    token_id = _create(demo, "--scope", "tickets:read")[0]
    assert token_id in _listed(demo, "--agent", "alex")
    assert token_id not in _listed(demo, "--agent", "bea")


@pytest.mark.parametrize(("args", "message"), [
    (("token", "create", "--agent", "nobody", "--label", "x", "--scope", "admin"), "no agent with username 'nobody'"),
    (("token", "create", "--agent", "alex", "--label", "x", "--scope", "tickets:delete"),
     "unknown scope tickets:delete; allowed: tickets:read, tickets:write, people:read, people:write, metrics:read, "
     "admin"),
    (("token", "create", "--agent", "alex", "--label", "x", "--scope", "admin", "--expires", "90 days"),
     "--expires '90 days' is not a duration such as 90d, 12h or 1w"),
    (("token", "create", "--agent", "alex", "--label", "x", "--scope", "admin", "--expires", "0d"),
     "--expires '0d' is not a duration such as 90d, 12h or 1w"),
    (("token", "list", "--agent", "nobody"), "no agent with username 'nobody'"),
    (("token", "revoke", "999999"), "token 999999 does not exist or is already revoked"),
])
def test_bad_input_is_one_line_and_exit_code_2(demo: Path, args: tuple[str, ...], message: str) -> None:
    before = _listed(demo)
    result = run(demo, *args)
    assert (result.returncode, result.stdout, result.stderr) == (2, "", message + "\n")
    assert _listed(demo) == before


def test_set_password_reads_one_line_from_stdin(demo: Path) -> None:
    result = run(demo, "agent", "set-password", "bea", stdin="a long passphrase\nignored\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "password set for bea; their sessions are signed out\n"
    compiled = load_compiled(demo)
    agents = compiled.table("agents")
    with make_engine(f"sqlite:///{demo / 'demo.db'}", demo).connect() as connection:
        stored = connection.execute(sa.select(agents.c.password_hash).where(agents.c.username == "bea")).scalar_one()
    assert verify_password(stored, "a long passphrase")


@pytest.mark.parametrize(("username", "stdin", "message"), [
    ("chen", "short\n", "the password is 5 characters long; at least 10 are needed"),
    ("chen", "", "the password is empty"),
    ("nobody", "a long passphrase\n", "no agent with username 'nobody'"),
])
def test_set_password_refuses_bad_input(demo: Path, username: str, stdin: str, message: str) -> None:
    result = run(demo, "agent", "set-password", username, stdin=stdin)
    assert (result.returncode, result.stderr) == (2, message + "\n")


def test_commands_refuse_a_database_that_is_not_migrated(demo: Path) -> None:
    result = run(demo, "token", "list", database="empty.db")
    assert result.returncode == 2
    assert "Run `python cli.py migrate`" in result.stderr
    assert "Traceback" not in result.stderr


def test_agent_create_adds_staff_who_can_then_be_given_a_password(demo: Path) -> None:
    result = run(demo, "agent", "create", "dana", "--email", "dana@example.org", "--name", "Dana Ortiz",
                 "--role", "agent", "--role", "admin", "--skill", "network", "--capacity", "6")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("agent dana created (id ")
    assert "roles agent, admin" in result.stdout
    agents = load_compiled(demo).table("agents")
    with make_engine(f"sqlite:///{demo / 'demo.db'}", demo).connect() as connection:
        row = connection.execute(sa.select(agents).where(agents.c.username == "dana")).mappings().one()
    assert (row["email"], row["name"], row["roles"], row["skills"], row["capacity"]) == (
        "dana@example.org", "Dana Ortiz", ["agent", "admin"], ["network"], 6)
    assert run(demo, "agent", "set-password", "dana", stdin="a long passphrase\n").returncode == 0


@pytest.mark.parametrize(("args", "message"), [
    (("alex", "--email", "a2@example.org", "--name", "Alex Two"), "username: 'alex' is taken"),
    (("erin", "--email", "not-an-address", "--name", "Erin"), "email: String should match pattern"),
    (("frank", "--email", "f@example.org", "--name", "Frank", "--role", "wizard"),
     "no role 'wizard' in tessera.yaml; the roles: agent, supervisor, admin"),
])
def test_agent_create_refuses_bad_input_in_one_line(demo: Path, args: tuple[str, ...], message: str) -> None:
    result = run(demo, "agent", "create", *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "created" not in result.stdout
