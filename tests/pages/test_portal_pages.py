"""The requester portal: own requests only (and the organization's where allowed), new requests by type, a
request's public conversation, replies, the CSAT rating after resolution, and the public help articles."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from runtime.compile.desk import CompiledDesk
from runtime.kb.articles import KbArticles
from runtime.pages.form_fields import TypeForm
from runtime.pages.i18n import Translator
from runtime.tickets.actors import SYSTEM, Actor
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from tests.pages.html_checks import problems
from tests.pages.page_client import AGENT, REQUESTER, agent_named, contact_named, give_passwords, hidden, sign_in
from tests.tickets.service_fixtures import migrated_desk

Client = TestClient[Litestar]
COLLEAGUE = "lee.park@northwind.example.org"  # Maria's colleague, allowed to see the organization's requests
OTHER = "jonas.weber@contoso.example.org"


@dataclass
class Desk:
    compiled: CompiledDesk
    engine: sa.Engine
    app: Litestar

    @property
    def service(self) -> TicketService:
        return TicketService(self.compiled, self.engine)

    def contact(self, email: str) -> Actor:
        return contact_named(self.compiled, self.engine, email)

    def agent(self, username: str = AGENT) -> Actor:
        return agent_named(self.compiled, self.engine, username)

    def scalar(self, sql: str, **values: Any) -> Any:
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), values).scalar()


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    tmp = tmp_path_factory.mktemp("portal")
    _, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    with engine.begin() as connection:
        connection.execute(sa.text(
            "insert into contacts (email, name, organization_id, sees_organization_tickets, created_at, updated_at) "
            "select :email, 'Lee Park', organization_id, true, created_at, updated_at from contacts "
            "where email = :maria"), {"email": COLLEAGUE, "maria": REQUESTER})
    give_passwords(compiled, engine, ("agent", AGENT), ("contact", REQUESTER), ("contact", COLLEAGUE),
                   ("contact", OTHER))
    return Desk(compiled, engine, create_app(compiled, engine))


@pytest.fixture
def client(desk: Desk) -> Iterator[Client]:
    with TestClient(desk.app) as client:
        yield client


def _as(client: Client, login: str) -> str:
    """Sign in as ``login`` after whoever was signed in before; the session's CSRF token."""
    client.cookies.clear()
    return sign_in(client, login)


def _new_ticket(desk: Desk, title: str, requester: str = REQUESTER) -> int:
    return int(desk.service.create(desk.contact(requester), "it_support", {"title": title, "description": "Help"},
                                   "web")["id"])


def _resolve(desk: Desk, ticket_id: int) -> None:
    service, alex = desk.service, desk.agent()
    version = service.get(SYSTEM, ticket_id)["version"]
    service.transition(SYSTEM, ticket_id, "assign", version, {"assignee_id": alex.id})
    service.transition(SYSTEM, ticket_id, "resolve", service.get(SYSTEM, ticket_id)["version"])


def test_the_portal_lists_only_the_requesters_own_requests(client: Client, desk: Desk) -> None:
    assert client.get("/portal", follow_redirects=False).headers["location"].startswith("/login")
    _as(client, REQUESTER)
    page = client.get("/portal")
    assert page.status_code == 200
    assert "Laptop shows a blue screen after the update" in page.text
    assert "Charged twice for one order" in page.text
    assert '<span class="pill open">In progress</span>' in page.text
    for others in ("Cannot connect to the VPN from home", "Packaging line 2", "Order arrived damaged"):
        assert others not in page.text
    own = desk.scalar("select id from tickets where title = 'Charged twice for one order'")
    assert f'href="/portal/tickets/{own}"' in page.text
    vpn = desk.scalar("select id from tickets where title = 'Cannot connect to the VPN from home'")
    assert client.get(f"/portal/tickets/{vpn}").status_code == 404


def test_a_colleague_allowed_to_see_the_organization_sees_its_requests_marked(client: Client, desk: Desk) -> None:
    _new_ticket(desk, "Headset crackles")  # Maria's, of her organization (the demo's seeded tickets have none)
    _as(client, COLLEAGUE)
    page = client.get("/portal").text
    assert "Headset crackles" in page
    assert '<span class="pill">colleague</span>' in page
    assert "Headset crackles" not in client.get("/portal?mine=true").text
    _as(client, OTHER)
    assert "Headset crackles" not in client.get("/portal").text


def test_agents_are_sent_to_their_queue(client: Client) -> None:
    _as(client, AGENT)
    assert client.get("/portal", follow_redirects=False).headers["location"] == "/queue"


def test_requesters_submit_any_type_without_internal_fields(client: Client, desk: Desk) -> None:
    csrf = _as(client, REQUESTER)
    chooser = client.get("/portal/new").text
    for ticket_type in desk.compiled.definitions.types:
        assert f'href="/portal/new/{ticket_type.name}"' in chooser
        page = client.get(f"/portal/new/{ticket_type.name}").text
        form = TypeForm(desk.compiled.definitions, ticket_type, "requester")
        for widget in form.layout(Translator("en")).widgets:
            assert f'id="{widget.id}"' in page
            assert html.escape(widget.label, quote=False) in page
        for internal in ("assignee_id", "team_id", "requester_id", "approver", "email", "website"):
            assert f'name="{internal}"' not in page
    page = client.get("/portal/new/it_support").text
    token = hidden(page, "token")
    invalid = client.post("/portal/new/it_support", data={"csrf_token": csrf, "token": token,
                                                          "title": "Screen flickers", "users_affected": "0"})
    assert invalid.status_code == 422
    assert 'id="f-users_affected-error">At least 1.</p>' in invalid.text
    assert 'value="Screen flickers"' in invalid.text
    made = client.post("/portal/new/it_support", data={"csrf_token": csrf, "token": token,
                                                       "title": "Screen flickers", "users_affected": "2"},
                       follow_redirects=False)
    assert made.status_code == 303, made.text
    ticket_id = int(made.headers["location"].rsplit("/", 1)[1])
    maria = desk.contact(REQUESTER)
    ticket = desk.service.get(maria, ticket_id)
    assert ticket["requester_id"] == maria.id
    assert ticket["users_affected"] == 2
    assert client.get(made.headers["location"]).status_code == 200
    forged = client.post("/portal/new/it_support", data={"token": hidden(client.get("/portal/new/it_support").text,
                                                                          "token"), "title": "No token"})
    assert forged.status_code == 403


def test_a_request_shows_its_public_conversation_only(client: Client, desk: Desk) -> None:
    ticket_id = _new_ticket(desk, "Mouse stopped working")
    alex = desk.agent()
    desk.service.comment(SYSTEM, ticket_id, "We are sending a new mouse.", public=True)
    desk.service.comment(alex, ticket_id, "Internal: check the warranty first", public=False)
    _as(client, REQUESTER)
    page = client.get(f"/portal/tickets/{ticket_id}").text
    assert "We are sending a new mouse." in page
    assert "check the warranty" not in page
    assert "Assignee" not in page
    assert "Mouse stopped working" in page
    _as(client, OTHER)
    assert client.get(f"/portal/tickets/{ticket_id}").status_code == 404


def test_requesters_reply_with_the_csrf_token(client: Client, desk: Desk) -> None:
    ticket_id = _new_ticket(desk, "Keyboard missing keys")
    csrf = _as(client, REQUESTER)
    refused = client.post(f"/portal/tickets/{ticket_id}/reply", data={"body": "Forged"})
    assert refused.status_code == 403
    empty = client.post(f"/portal/tickets/{ticket_id}/reply", data={"csrf_token": csrf, "body": "   "})
    assert empty.status_code == 422
    assert 'id="reply-error"' in empty.text
    sent = client.post(f"/portal/tickets/{ticket_id}/reply", data={"csrf_token": csrf, "body": "The F keys too."},
                       follow_redirects=False)
    assert sent.status_code == 303
    assert re.fullmatch(rf"/portal/tickets/{ticket_id}#comment-\d+", sent.headers["location"])
    maria = desk.contact(REQUESTER)
    bodies = [(c["body"], c["author_contact_id"], c["public"]) for c in desk.service.list_comments(maria, ticket_id)]
    assert bodies == [("The F keys too.", maria.id, True)]
    assert desk.scalar("select count(*) from comments where body = 'Forged'") == 0
    page = client.get(f"/portal/tickets/{ticket_id}").text
    assert "The F keys too." in page


def test_a_rating_waits_for_the_resolution_and_a_later_one_replaces_it(client: Client, desk: Desk) -> None:
    ticket_id = _new_ticket(desk, "Monitor flickers")
    csrf = _as(client, REQUESTER)
    early = client.post(f"/portal/tickets/{ticket_id}/rating", data={"csrf_token": csrf, "score": "5"})
    assert early.status_code == 409
    assert "once it is resolved" in early.text
    assert 'action="/portal/tickets/' + str(ticket_id) + '/rating"' not in early.text
    _resolve(desk, ticket_id)
    page = client.get(f"/portal/tickets/{ticket_id}").text
    assert f'action="/portal/tickets/{ticket_id}/rating"' in page
    assert problems(page) == []
    assert client.post(f"/portal/tickets/{ticket_id}/rating", data={"score": "5"}).status_code == 403  # CSRF
    wrong = client.post(f"/portal/tickets/{ticket_id}/rating", data={"csrf_token": csrf, "score": "6",
                                                                     "comment": "Great"})
    assert wrong.status_code == 422
    assert "Choose a rating from 1 to 5." in wrong.text
    assert ">Great</textarea>" in wrong.text
    rated = client.post(f"/portal/tickets/{ticket_id}/rating",
                        data={"csrf_token": csrf, "score": "4", "comment": "Quick, thanks"}, follow_redirects=False)
    assert rated.status_code == 303
    assert client.get(rated.headers["location"]).status_code == 200
    again = client.post(f"/portal/tickets/{ticket_id}/rating", data={"csrf_token": csrf, "score": "2"},
                        follow_redirects=False)
    assert again.status_code == 303
    rows = desk.scalar("select count(*) from ticket_ratings where ticket_id = :t", t=ticket_id)
    assert rows == 1
    assert desk.scalar("select score from ticket_ratings where ticket_id = :t", t=ticket_id) == 2
    assert desk.scalar("select comment from ticket_ratings where ticket_id = :t", t=ticket_id) is None
    assert "You rated this 2 of 5" in client.get(f"/portal/tickets/{ticket_id}").text


def test_only_the_requester_rates_their_request(client: Client, desk: Desk) -> None:
    ticket_id = _new_ticket(desk, "Docking station dead")
    _resolve(desk, ticket_id)
    csrf = _as(client, COLLEAGUE)  # sees the request through the organization
    assert client.get(f"/portal/tickets/{ticket_id}").status_code == 200
    refused = client.post(f"/portal/tickets/{ticket_id}/rating", data={"csrf_token": csrf, "score": "1"})
    assert refused.status_code == 403
    assert "Only the person who made a request can rate it." in refused.text
    csrf = _as(client, OTHER)
    assert client.post(f"/portal/tickets/{ticket_id}/rating",
                       data={"csrf_token": csrf, "score": "1"}).status_code == 404
    assert desk.scalar("select count(*) from ticket_ratings where ticket_id = :t", t=ticket_id) == 0


def test_the_portal_speaks_german(client: Client) -> None:
    _as(client, REQUESTER)
    client.cookies.set("tessera_lang", "de")
    page = client.get("/portal").text
    assert "<h1>Meine Anfragen</h1>" in page
    assert "In Bearbeitung" in page


@pytest.fixture(scope="module")
def articles(desk: Desk) -> dict[str, int]:
    kb, alex = KbArticles(desk.compiled, desk.engine), desk.agent()

    def published(values: dict[str, Any], translation_of: int | None = None) -> int:
        made = kb.translate(alex, translation_of, values) if translation_of else kb.create(alex, values)
        return int(kb.publish(alex, made["id"], made["version"])["id"])

    reset = published({"title": "Reset your VPN password", "visibility": "public", "language": "en",
                       "problem": "The VPN client refuses your password.",
                       "solution": "Open **Settings** and choose *Reset*.\n\n<script>alert('x')</script>\n\n"
                                   "- one\n- [help](javascript:alert(1))"})
    german = published({"language": "de", "title": "VPN-Passwort zurücksetzen",
                        "problem": "Der VPN-Client lehnt Ihr Passwort ab.",
                        "solution": "Öffnen Sie **Einstellungen**."}, translation_of=reset)
    internal = published({"title": "Internal escalation list", "problem": "Who to call.", "solution": "Call Bea.",
                          "visibility": "internal"})
    draft = int(kb.create(alex, {"title": "Draft about printers", "problem": "p", "solution": "s",
                                 "visibility": "public"})["id"])
    return {"reset": reset, "german": german, "internal": internal, "draft": draft}


def test_public_articles_are_listed_searched_and_rendered_safely(client: Client, articles: dict[str, int]) -> None:
    listing = client.get("/articles").text
    assert "Reset your VPN password" in listing
    assert "VPN-Passwort zurücksetzen" not in listing  # one entry per article, in the visitor's language
    assert "Internal escalation list" not in listing
    assert "Draft about printers" not in listing
    found = client.get("/articles", params={"q": "vpn password"}).text
    assert f'href="/articles/{articles["reset"]}"' in found
    page = client.get(f"/articles/{articles['reset']}")
    assert page.status_code == 200
    assert problems(page.text) == []
    assert problems(found) == []
    assert "<strong>Settings</strong>" in page.text
    assert "&lt;script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert "javascript:" not in page.text
    assert f'href="/articles/{articles["german"]}?language=de"' in page.text
    for hidden_article in ("internal", "draft"):
        assert client.get(f"/articles/{articles[hidden_article]}").status_code == 404


def test_articles_come_in_the_visitors_language_where_translated(client: Client, articles: dict[str, int]) -> None:
    client.cookies.set("tessera_lang", "de")
    assert "VPN-Passwort zurücksetzen" in client.get("/articles").text
    page = client.get(f"/articles/{articles['reset']}").text
    assert "<h1>VPN-Passwort zurücksetzen</h1>" in page
    assert "Öffnen Sie <strong>Einstellungen</strong>." in page
    original = client.get(f"/articles/{articles['reset']}?language=en").text
    assert "<h1>Reset your VPN password</h1>" in original
