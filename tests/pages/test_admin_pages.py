"""The admin view: every shipped definition on the page with its labels in the reader's language, each workflow
drawn with one box per state, the version of the definitions (git, schema revision, Tessera), admins only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient
from markupsafe import escape

from runtime.artifacts import migration_paths
from runtime.compile.desk import CompiledDesk
from runtime.db import migrations
from runtime.pages.config_version import git_state
from runtime.people.service import PeopleService
from runtime.tickets.actors import SYSTEM
from runtime.web.app import create_app, tessera_version
from tests.pages.page_client import give_passwords, sign_in
from tests.tickets.service_fixtures import migrated_desk

Client = TestClient[Litestar]
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, CompiledDesk, sa.Engine]:
    tmp = tmp_path_factory.mktemp("admin")
    root, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    PeopleService(compiled, engine).create(SYSTEM, "agents", {
        "username": "dana", "name": "Dana Admin", "email": "dana@example.org", "roles": ["agent", "admin"]})
    give_passwords(compiled, engine, ("agent", "dana"), ("agent", "alex"))
    return root, compiled, engine


@pytest.fixture(scope="module")
def app(desk: tuple[Path, CompiledDesk, sa.Engine]) -> Any:
    return create_app(desk[1], desk[2])


@pytest.fixture(scope="module")
def dana(app: Any) -> Iterator[Client]:
    with TestClient(app) as client:
        sign_in(client, "dana")
        yield client


def git(folder: Path, *arguments: str) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    subprocess.run(["git", "-c", "user.name=Test", "-c", "user.email=test@example.org", "-c", "init.defaultBranch=main",
                    *arguments], cwd=folder, check=True, capture_output=True, env=environment, timeout=30)


def test_every_type_and_field_label_of_the_shipped_desk(dana: Client, desk: tuple[Path, CompiledDesk, Any]) -> None:
    definitions = desk[1].definitions
    overview = dana.get("/admin")
    assert overview.status_code == 200, overview.text
    for ticket_type in definitions.types:
        label = dict(ticket_type.label)["en"]
        assert f'<a href="/admin/types/{ticket_type.name}">{escape(label)}</a>' in overview.text
        page = dana.get(f"/admin/types/{ticket_type.name}")
        assert page.status_code == 200, page.text
        assert f"<h1>{escape(label)} <code>{ticket_type.name}</code></h1>" in page.text
        assert f">{ticket_type.number_prefix}<" in page.text
        for field in ticket_type.fields:
            assert f'<th scope="row" data-label="Field">{escape(dict(field.label)["en"])}</th>' in page.text
    for field in definitions.master_fields:
        assert f'<th scope="row" data-label="Field">{escape(dict(field.label)["en"])}</th>' in overview.text


def test_a_type_page_shows_kinds_constraints_and_form_sections(dana: Client) -> None:
    page = dana.get("/admin/types/admin_request").text
    row = re.search(r'<tr>\s*<th scope="row" data-label="Field">Cost centre</th>.*?</tr>', page, re.S)
    assert row
    assert "<code>cost_centre</code>" in row.group(0)
    assert ">string<" in row.group(0)
    assert "at most 12 characters" in row.group(0)
    assert r"matches ^\d{4,8}$" in row.group(0)
    assert "<li>indexed</li>" in row.group(0)
    assert "options: Access (access), Purchase (purchase), Facilities (facilities), HR (hr)" in page
    complaint = dana.get("/admin/types/customer_complaint").text
    sections = re.search(r'<table[^>]*id="form-sections".*?</table>', complaint, re.S)
    assert sections
    assert "Resolution</th>" in sections.group(0)
    assert "In progress, Waiting for requester, Resolved, Closed" in sections.group(0)
    assert "every state" in sections.group(0)  # the other sections


def test_each_workflow_is_drawn_with_one_box_per_state(dana: Client, desk: tuple[Path, CompiledDesk, Any]) -> None:
    page = dana.get("/admin").text
    drawings = re.findall(r'<svg xmlns="http://www.w3.org/2000/svg" class="diagram".*?</svg>', page, re.S)
    workflows = desk[1].definitions.workflows
    assert len(drawings) == len(workflows) == 2
    for workflow, drawing in zip(workflows, drawings, strict=True):
        svg = ET.fromstring(drawing)
        assert svg.get("role") == "img"
        states = [g.get("data-state") for g in svg.iter(f"{SVG}g") if g.get("class") == "state"]
        assert states == [s.name for s in workflow.states]
        arrows = {(g.get("data-transition"), g.get("data-from")) for g in svg.iter(f"{SVG}g")
                  if g.get("class") == "transition"}
        assert arrows == {(t.name, source) for t in workflow.transitions for source in t.sources}
    assert 'href="/admin/workflows/admin_request%20%28inline%29"' in page


def test_the_workflow_page_lists_every_transition_with_its_rules(dana: Client) -> None:
    page = dana.get("/admin/workflows/standard")
    assert page.status_code == 200, page.text
    rows = {m.group(1): m.group(0) for m in re.finditer(r'<tr><th scope="row" data-label="Transition">[^<]* '
                                                          r"<code>(\w+)</code>.*?</tr>", page.text, re.S)}
    assert set(rows) == {"assign", "start", "wait", "resume", "resolve", "close", "auto_close", "reopen", "cancel"}
    assert "needs assignee_id" in rows["assign"]
    assert "only when assignee_id is set" in rows["start"]
    assert "runs by itself after 72 h; unless requester_reply" in rows["auto_close"]
    assert ">supervisor, admin<" in rows["cancel"]
    assert ">any agent<" in rows["resolve"]
    assert "New, Assigned, In progress, Waiting for requester" in rows["cancel"]
    inline = dana.get("/admin/workflows/admin_request%20%28inline%29")
    assert inline.status_code == 200
    assert "Awaiting approval" in inline.text
    assert dana.get("/admin/workflows/nowhere").status_code == 404
    assert dana.get("/admin/types/nowhere").status_code == 404


def test_sla_policies_calendars_and_collections(dana: Client) -> None:
    page = dana.get("/admin").text
    targets = re.search(r'<table[^>]*id="targets-standard".*?</table>', page, re.S)
    assert targets
    assert re.search(r">P0</th>\s*<td[^>]*>15 min</td>\s*<td[^>]*>30 min</td>\s*<td[^>]*>2 h</td>\s*"
                     r"<td[^>]*>around the clock \(24x7\)</td>", targets.group(0))
    assert re.search(r">P3</th>\s*<td[^>]*>8 h</td>\s*<td[^>]*>16 h</td>\s*<td[^>]*>72 h</td>\s*"
                     r"<td[^>]*>berlin_office</td>", targets.group(0))
    assert "100 % + 1 h</td>" in page
    assert "notifies assignee, team_lead; sets priority to raise" in page
    assert "Europe/Berlin" in page
    assert "mon-fri: 08:00–12:30, 13:15–18:00" in page
    assert "public holidays of DE-BE; closed on 2026-12-24, 2026-12-31" in page
    assert "<dt>Clocks pause in</dt><dd>paused</dd>" in page
    assert "Assets <code>assets</code>" in page
    assert ">Asset tag</th>" in page


def test_the_version_says_not_in_git_with_the_schema_and_tessera_versions(
        dana: Client, desk: tuple[Path, CompiledDesk, Any]) -> None:
    page = dana.get("/admin").text
    commit = re.search(r'<dd id="config-commit">(.*?)</dd>', page, re.S)
    assert commit
    assert "Not in git" in commit.group(1)
    head = migrations.head_revision(migration_paths(desk[1]))
    assert f'<dd id="schema-revision"><code>{head}</code>' in page
    assert "(the latest)" in page
    assert f'<dd id="tessera-version">{tessera_version()}</dd>' in page


def test_the_version_shows_the_commit_of_a_desk_in_git(dana: Client, desk: tuple[Path, CompiledDesk, Any]) -> None:
    root = desk[0]
    try:
        git(root, "init", "-q")
        git(root, "add", ".")
        git(root, "commit", "-q", "-m", "Desk definitions <v1> & more")
        page = dana.get("/admin").text
        commit = re.search(r'<dd id="config-commit">(.*?)</dd>', page, re.S)
        assert commit
        short = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                               check=True, env={k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
                               ).stdout.strip()
        assert f"<code>{short}</code>" in commit.group(1)
        assert "Desk definitions &lt;v1&gt; &amp; more" in commit.group(1)
        assert "No uncommitted changes" in commit.group(1)
        (root / "ticket_types" / "it_support.yaml").write_text(
            (root / "ticket_types" / "it_support.yaml").read_text() + "\n# a note\n")
        changed = dana.get("/admin").text
        assert "The desk folder has changes that are not committed." in changed
    finally:
        shutil.rmtree(root / ".git", ignore_errors=True)


def test_git_states_of_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert git_state(tmp_path).reason == "not_a_repository"
    desk = tmp_path / "repo" / "desk"
    desk.mkdir(parents=True)
    git(tmp_path / "repo", "init", "-q")
    assert git_state(desk).reason == "no_commits"
    (tmp_path / "repo" / "other.txt").write_text("elsewhere")
    git(tmp_path / "repo", "add", ".")
    git(tmp_path / "repo", "commit", "-q", "-m", "outside the desk")
    assert git_state(desk).reason == "no_commits"  # a commit that did not touch the desk folder is not its version
    (desk / "tessera.yaml").write_text("name: x\n")
    git(tmp_path / "repo", "add", ".")
    git(tmp_path / "repo", "commit", "-q", "-m", "the desk")
    state = git_state(desk)
    assert state.commit is not None
    assert (state.commit.subject, state.commit.dirty) == ("the desk", False)
    (tmp_path / "repo" / "other.txt").write_text("changed outside")
    assert git_state(desk).commit.dirty is False  # type: ignore[union-attr]
    (desk / "new.yaml").write_text("a: 1\n")
    assert git_state(desk).commit.dirty is True  # type: ignore[union-attr]
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert git_state(desk).reason == "git_missing"


def test_a_hung_git_is_cut_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def hang(*_args: Any, **kwargs: Any) -> Any:
        raise subprocess.TimeoutExpired("git", kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", hang)
    state = git_state(tmp_path)
    assert (state.commit, state.reason) == (None, "git_failed")
    assert "longer than 5 seconds" in state.detail


def test_only_admins_see_the_admin_view(app: Any) -> None:
    with TestClient(app) as alex:
        sign_in(alex, "alex")  # a supervisor, not an admin
        for path in ("/admin", "/admin/types/it_support", "/admin/workflows/standard"):
            page = alex.get(path)
            assert page.status_code == 403, path
            assert "The admin view is for admins." in page.text
        assert 'href="/admin"' not in alex.get("/dashboard").text


def test_german_labels(app: Any) -> None:
    with TestClient(app) as client:
        client.cookies.set("tessera_lang", "de")
        sign_in(client, "dana")
        overview = client.get("/admin").text
        page = client.get("/admin/types/equipment_maintenance").text
        workflow = client.get("/admin/workflows/standard").text
    assert "<h1>Verwaltung</h1>" in overview
    assert "Gerätewartung" in overview
    assert "Nicht in Git" in overview
    assert ">Auswirkung</th>" in overview
    assert "<h1>Gerätewartung <code>equipment_maintenance</code></h1>" in page
    assert "Wartet auf Anfragende" in workflow
    assert "Bearbeitung beginnen" in workflow
    drawing = re.search(r'<svg xmlns="http://www.w3.org/2000/svg" class="diagram".*?</svg>', workflow, re.S)
    assert drawing
    assert ">Zugewiesen</text>" in drawing.group(0)
    assert ">offen</text>" in drawing.group(0)
