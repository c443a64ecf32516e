"""A walk through the main pages each kind of person uses, in the browser, at desktop and phone width: every page
shows its heading with no script error and no request off this machine (the ``page`` fixture fails otherwise),
and leaves a screenshot under test-artifacts/screenshots."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from runtime.auth.accounts import set_password
from runtime.kb.articles import KbArticles
from runtime.people.service import PeopleService
from runtime.tickets.actors import SYSTEM, agent_actor
from tests.pages.browser import AGENT, PASSWORD, REQUESTER, LiveDesk, Shots, sign_in

if TYPE_CHECKING:
    from playwright.sync_api import Page

ADMIN = "tour.admin"


def _admin(desk: LiveDesk) -> None:
    """An administrator on the served desk (the sample people have none), made once per desk."""
    agents = desk.compiled.table("agents")
    with desk.engine.connect() as connection:
        if connection.execute(sa.select(agents.c.id).where(agents.c.username == ADMIN)).first() is not None:
            return
    PeopleService(desk.compiled, desk.engine).create(SYSTEM, "agents", {
        "username": ADMIN, "name": "Tour Admin", "email": "tour.admin@example.org", "roles": ["agent", "admin"]})
    with desk.engine.begin() as connection:
        assert set_password(connection, desk.compiled, "agent", ADMIN, PASSWORD)


def _visit(page: Page, desk: LiveDesk, shots: Shots, path: str, name: str, heading: str) -> None:
    from playwright.sync_api import expect

    answer = page.goto(desk.url(path))
    assert answer is not None
    assert answer.status == 200, path
    expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
    shots.take(page, name, phone=True)


def _article(desk: LiveDesk) -> str:
    """A published public article on the served desk (the sample data has none), made once; its title."""
    title = "Connect to the VPN from home"
    kb_articles = desk.compiled.table("kb_articles")
    with desk.engine.connect() as connection:
        if connection.execute(sa.select(kb_articles.c.id).where(kb_articles.c.title == title)).first() is None:
            alex = agent_actor(connection, desk.compiled, int(str(desk.scalar(
                "SELECT id FROM agents WHERE username = :name", name=AGENT))))
            kb = KbArticles(desk.compiled, desk.engine)
            made = kb.create(alex, {"title": title, "visibility": "public", "language": "en",
                                    "problem": "The VPN client says the password is wrong.",
                                    "solution": "Open **Settings**, choose *Reset password* and sign in again."})
            kb.publish(alex, made["id"], made["version"])
    return title


def test_a_requester_walks_the_portal_and_the_articles(page: Page, live_desk: LiveDesk, shots: Shots) -> None:
    from playwright.sync_api import expect

    title = _article(live_desk)
    sign_in(page, live_desk, REQUESTER)
    _visit(page, live_desk, shots, "/portal", "portal", "My requests")
    _visit(page, live_desk, shots, "/portal/new/it_support", "portal-new", "IT support")
    _visit(page, live_desk, shots, "/articles", "articles", "Help articles")
    page.get_by_role("link", name=title).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    shots.take(page, "article")


def test_an_agent_walks_the_console(page: Page, live_desk: LiveDesk, shots: Shots) -> None:
    sign_in(page, live_desk, AGENT)
    _visit(page, live_desk, shots, "/notifications", "notifications", "Notifications")
    _visit(page, live_desk, shots, "/knowledge", "knowledge", "Knowledge")
    _visit(page, live_desk, shots, "/tickets/new/equipment_maintenance", "new-ticket", "Equipment maintenance")
    _visit(page, live_desk, shots, "/dashboard", "dashboard", "Dashboard")
    assert page.locator("svg.chart").count() >= 4


def test_an_admin_reads_the_definitions(page: Page, live_desk: LiveDesk, shots: Shots) -> None:
    _admin(live_desk)
    sign_in(page, live_desk, ADMIN)
    _visit(page, live_desk, shots, "/admin", "admin", "Admin")
    _visit(page, live_desk, shots, "/admin/workflows/standard", "admin-workflow", "Standard")
    assert page.locator("svg.diagram").count() == 1
