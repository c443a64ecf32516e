"""The agents' knowledge pages: the list with its filters, search and the count of proposals waiting for review;
an article with its translations, source tickets, history and verdicts; new, edit (a new version, a stale edit a
conflict), translate, publish, archive and delete, each a CSRF-checked form through the knowledge base's rules.

One seeded SQLite desk serves the module; each test makes the articles it changes, so the tests run in any order
(and on any xdist worker)."""

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
from runtime.db.engine import write_transaction
from runtime.kb.articles import KbArticles
from runtime.kb.capture import CAPTURER
from runtime.kb.translate import TranslationFailed
from runtime.pages import knowledge_actions, knowledge_list
from runtime.tickets.actors import Actor
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from runtime.worker.loop import Worker
from tests.pages.html_checks import problems
from tests.pages.page_client import AGENT, REQUESTER, agent_named, contact_named, give_passwords, sign_in
from tests.tickets.service_fixtures import migrated_desk

Client = TestClient[Litestar]
PLAIN_AGENT = "bea"  # an agent without the supervisor or admin role (no reviewer), who reads German


@dataclass
class Desk:
    compiled: CompiledDesk
    engine: sa.Engine
    app: Litestar

    @property
    def kb(self) -> KbArticles:
        return KbArticles(self.compiled, self.engine)

    def agent(self, username: str = AGENT) -> Actor:
        return agent_named(self.compiled, self.engine, username)

    def contact(self, email: str = REQUESTER) -> Actor:
        return contact_named(self.compiled, self.engine, email)

    def article(self, title: str, *, publish: bool = False, by: str = AGENT, **values: Any) -> dict[str, Any]:
        made = self.kb.create(self.agent(by), {"title": title, "problem": f"The problem of {title}.",
                                               "solution": f"The solution of {title}."} | values)
        return self.kb.publish(self.agent(), made["id"], made["version"]) if publish else made

    def proposals(self) -> int:
        """Drafts capture proposed, counted apart from the pages' own query."""
        with self.engine.connect() as connection:
            return int(connection.execute(sa.text(
                "select count(*) from kb_articles a where a.status = 'draft' and (a.update_of_id is not null or "
                "exists (select 1 from kb_article_sources s where s.article_id = a.id and s.kind = 'captured'))")
            ).scalar_one())


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    tmp = tmp_path_factory.mktemp("knowledge")
    _, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    give_passwords(compiled, engine, ("agent", AGENT), ("agent", PLAIN_AGENT), ("contact", REQUESTER))
    return Desk(compiled, engine, create_app(compiled, engine))


@pytest.fixture(scope="module")
def library(desk: Desk) -> dict[str, int]:
    """Articles the read-only tests look at (none of them is changed by a test)."""
    alex = desk.agent()
    reset = desk.article("Reset your VPN password", publish=True, visibility="public", category="network",
                         keywords=["vpn", "password"],
                         solution="Open **Settings** and choose *Reset*.\n\n<script>alert('x')</script>\n\n"
                                  "- one\n- [help](javascript:alert(1))")
    german = desk.kb.translate(alex, reset["id"], {"language": "de", "title": "VPN-Passwort zurücksetzen",
                                                   "problem": "Der VPN-Client lehnt Ihr Passwort ab.",
                                                   "solution": "Öffnen Sie **Einstellungen**."})
    internal = desk.article("Escalation list for outages", publish=True, visibility="internal")
    printer = desk.article("Printer jams on tray two", by=PLAIN_AGENT, category="hardware")
    fax = desk.article("Old fax machine instructions", publish=True)
    desk.kb.archive(alex, fax["id"], fax["version"])
    return {"reset": reset["id"], "german": german["id"], "internal": internal["id"], "printer": printer["id"],
            "fax": fax["id"]}


@pytest.fixture
def client(desk: Desk) -> Iterator[Client]:
    with TestClient(desk.app) as client:
        yield client


def _as(client: Client, login: str = AGENT) -> str:
    client.cookies.clear()
    return sign_in(client, login)


def _links(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'href="/knowledge/(\d+)"', page)}


def _captured(desk: Desk, title: str) -> tuple[int, int]:
    """A ticket resolved with a public answer, and the draft capture proposed from it: (ticket id, article id)."""
    service, alex = TicketService(desk.compiled, desk.engine), desk.agent()
    ticket = service.create(desk.contact(), "it_support", {
        "title": title, "description": f"{title}. It happens every morning since the update. Nothing else changed."},
        "web")
    ticket = service.transition(alex, ticket["id"], "assign", ticket["version"], {"assignee_id": alex.id})
    ticket = service.transition(alex, ticket["id"], "start", ticket["version"])
    service.comment(alex, ticket["id"], "Hello Maria,\n\nplease clear the cache in the settings and restart the "
                    "app.\n\nKind regards\nAlex", public=True)
    ticket = service.get(alex, ticket["id"])
    service.transition(alex, ticket["id"], "resolve", ticket["version"])
    Worker(desk.compiled, desk.engine).run_due()
    with desk.engine.connect() as connection:
        article_id = connection.execute(sa.text(
            "select article_id from kb_article_sources where ticket_id = :t and kind = 'captured'"),
            {"t": ticket["id"]}).scalar_one()
    return int(ticket["id"]), int(article_id)


def test_the_pages_are_for_signed_in_agents(client: Client, library: dict[str, int]) -> None:
    answer = client.get("/knowledge", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login")
    _as(client, REQUESTER)
    assert client.get(f"/knowledge/{library['reset']}", follow_redirects=False).headers["location"] == "/portal"


def test_the_list_shows_current_articles_and_filters_them(client: Client, library: dict[str, int]) -> None:
    _as(client)
    page = client.get("/knowledge")
    assert page.status_code == 200
    assert problems(page.text) == []
    shown = _links(page.text)
    assert {library["reset"], library["german"], library["internal"], library["printer"]} <= shown
    assert library["fax"] not in shown  # archived: only on request
    archived = _links(client.get("/knowledge", params={"status": "archived"}).text)
    assert library["fax"] in archived
    assert library["reset"] not in archived
    assert library["printer"] in _links(client.get("/knowledge", params={"status": "draft"}).text)
    assert library["reset"] not in _links(client.get("/knowledge", params={"status": "draft"}).text)
    internal = _links(client.get("/knowledge", params={"visibility": "internal"}).text)
    assert library["internal"] in internal
    assert library["reset"] not in internal
    german = _links(client.get("/knowledge", params={"language": "de"}).text)
    assert german >= {library["german"]}
    assert library["reset"] not in german
    hardware = client.get("/knowledge", params={"category": "hardware"})
    assert _links(hardware.text) == {library["printer"]}
    assert '<option value="hardware" selected>Hardware</option>' in hardware.text


def test_search_uses_the_index_within_the_filters(client: Client, library: dict[str, int]) -> None:
    _as(client)
    found = client.get("/knowledge", params={"q": "vpn password"})
    assert found.status_code == 200
    assert problems(found.text) == []
    assert library["reset"] in _links(found.text)
    assert library["printer"] not in _links(found.text)
    assert "found for “vpn password”" in found.text
    # Drafts are searched too, and the status filter narrows the search.
    assert library["printer"] in _links(client.get("/knowledge", params={"q": "printer jams"}).text)
    assert library["printer"] not in _links(client.get("/knowledge", params={"q": "printer jams",
                                                                             "status": "published"}).text)
    # The language filter keeps the German version of the group the search finds.
    assert _links(client.get("/knowledge", params={"q": "vpn", "language": "de"}).text) == {library["german"]}


def test_the_list_pages_back_by_id(client: Client, desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(knowledge_list, "PAGE_SIZE", 2)
    made = [desk.article(f"Purchase order {n} is stuck", category="purchasing")["id"] for n in range(3)]
    _as(client)
    first = client.get("/knowledge", params={"category": "purchasing"}).text
    assert _links(first) == {made[2], made[1]}
    older = re.search(r'<p class="pager"><a href="([^"]+)">Older articles</a>', first)
    assert older
    assert html.unescape(older.group(1)) == f"/knowledge?category=purchasing&after={made[1]}"
    second = client.get(html.unescape(older.group(1))).text
    assert _links(second) == {made[0]}
    assert 'class="pager"' not in second


def test_bad_filters_are_refused_with_their_reason(client: Client) -> None:
    _as(client)
    for params, reason in (({"status": "gone"}, "status: one of"), ({"category": "nope"}, "category: one of"),
                           ({"after": "x"}, "after: an article id"), ({"q": "x" * 501}, "q: at most 500")):
        answer = client.get("/knowledge", params=params)
        assert answer.status_code == 400, params
        assert reason in answer.text


def test_an_article_shows_its_text_safely_with_translations_and_history(client: Client,
                                                                        library: dict[str, int]) -> None:
    _as(client)
    page = client.get(f"/knowledge/{library['reset']}")
    assert page.status_code == 200
    assert problems(page.text) == []
    assert '<h1 lang="en">Reset your VPN password</h1>' in page.text
    assert "<strong>Settings</strong>" in page.text
    assert "&lt;script&gt;" in page.text
    assert "<script>alert" not in page.text
    assert "javascript:" not in page.text
    assert f'href="/knowledge/{library["german"]}" hreflang="de"' in page.text
    assert "<dd>Public</dd>" in page.text
    assert "<dd>Network</dd>" in page.text
    history = page.text.split('id="history-title"', 1)[1]
    assert re.search(r"<td[^>]*>2</td>\s*<td[^>]*>Published</td>", history)  # the publication is version 2
    assert ">published</td>" in history
    # A German translation links back to its original.
    german = client.get(f"/knowledge/{library['german']}").text
    assert f'href="/knowledge/{library["reset"]}" hreflang="en"' in german


def test_unknown_or_impossible_articles_are_404_pages(client: Client) -> None:
    _as(client)
    for path in ("/knowledge/999999", "/knowledge/99999999999999999999999", "/knowledge/999999/edit",
                 "/knowledge/999999/translate"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "<h1>Not found</h1>" in answer.text
        assert problems(answer.text) == []


def test_a_capture_proposal_is_counted_and_a_reviewer_publishes_it(client: Client, desk: Desk) -> None:
    ticket_id, proposal = _captured(desk, "Mail app freezes at start")
    waiting = desk.proposals()
    assert waiting >= 1
    _as(client)
    listing = client.get("/knowledge").text
    assert re.search(rf'id="kb-proposals"><strong class="kb-count">{waiting}</strong>', listing)
    proposed = client.get("/knowledge", params={"status": "proposed"}).text
    assert proposal in _links(proposed)
    assert 'class="pill kb-proposal">proposal</span>' in proposed
    page = client.get(f"/knowledge/{proposal}")
    assert problems(page.text) == []
    assert f'href="/tickets/{ticket_id}"' in page.text
    assert "Capture from a resolved ticket" in page.text
    assert "clear the cache in the settings" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    answer = client.post(f"/knowledge/{proposal}/publish", data={"csrf_token": token.group(1), "version": "1"},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/knowledge/{proposal}?done=published"
    assert desk.kb.get(desk.agent(), proposal)["status"] == "published"
    assert desk.proposals() == waiting - 1
    after = client.get("/knowledge").text
    assert re.search(rf'id="kb-proposals"><strong class="kb-count">{waiting - 1}</strong>', after)
    # Publishing it again, from the stale page, is refused on the article with the reason.
    again = client.post(f"/knowledge/{proposal}/publish", data={"csrf_token": token.group(1), "version": "1"})
    assert again.status_code == 409
    assert "Only a draft can be published." in again.text
    assert problems(again.text) == []


def test_an_update_proposal_is_published_into_its_article(client: Client, desk: Desk) -> None:
    target = desk.article("Calendar does not sync", publish=True)
    with write_transaction(desk.engine) as connection:
        proposal = desk.kb.create_in(connection, CAPTURER, {
            "title": "Calendar does not sync", "problem": target["problem"],
            "solution": "Remove the account and add it again."}, update_of_id=target["id"])
    csrf = _as(client)
    page = client.get(f"/knowledge/{proposal['id']}").text
    assert 'id="update-of"' in page
    assert "Publish into the article" in page
    answer = client.post(f"/knowledge/{proposal['id']}/publish", data={"csrf_token": csrf, "version": "1"},
                         follow_redirects=False)
    assert answer.headers["location"] == f"/knowledge/{target['id']}?done=published"
    merged = desk.kb.get(desk.agent(), target["id"])
    assert (merged["version"], merged["solution"]) == (target["version"] + 1, "Remove the account and add it again.")
    assert desk.kb.get(desk.agent(), proposal["id"])["status"] == "archived"


def test_editing_saves_a_new_version_shown_in_the_history(client: Client, desk: Desk) -> None:
    article = desk.article("Teams camera is black")
    csrf = _as(client)
    form = client.get(f"/knowledge/{article['id']}/edit")
    assert form.status_code == 200
    assert problems(form.text) == []
    assert 'value="Teams camera is black"' in form.text
    assert 'name="version" value="1"' in form.text
    answer = client.post(f"/knowledge/{article['id']}/edit", data={
        "csrf_token": csrf, "version": "1", "title": "Teams camera shows a black picture",
        "problem": article["problem"], "solution": "Close other apps that use the camera.", "category": "software",
        "keywords": "teams, camera", "visibility": "public", "note": "clearer title"}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/knowledge/{article['id']}?done=saved"
    saved = desk.kb.get(desk.agent(), article["id"])
    assert (saved["version"], saved["title"], saved["keywords"], saved["visibility"], saved["category"]) == (
        2, "Teams camera shows a black picture", ["teams", "camera"], "public", "software")
    page = client.get(answer.headers["location"]).text
    assert "Your changes are saved as a new version." in page
    history = page.split('id="history-title"', 1)[1]
    assert re.search(r"<td[^>]*>2</td>.*Teams camera shows a black picture.*clearer title", history, re.S)
    assert re.search(r"<td[^>]*>1</td>.*Teams camera is black", history, re.S)


def test_a_stale_edit_is_a_conflict_that_keeps_the_text(client: Client, desk: Desk) -> None:
    article = desk.article("Scanner sends empty pages")
    desk.kb.update(desk.agent(), article["id"], {"solution": "Clean the glass."}, 1, "meanwhile")
    csrf = _as(client)
    answer = client.post(f"/knowledge/{article['id']}/edit", data={
        "csrf_token": csrf, "version": "1", "title": "Scanner sends empty pages", "problem": article["problem"],
        "solution": "My own careful answer.", "category": "", "keywords": "", "visibility": "internal"})
    assert answer.status_code == 409
    assert problems(answer.text) == []
    assert "Someone else saved this article meanwhile" in answer.text
    assert "It is now at version 2" in answer.text
    assert ">My own careful answer.</textarea>" in answer.text
    assert "Clean the glass." in answer.text  # the current text, to compare
    assert 'name="version" value="2"' in answer.text  # saving again replaces it, knowingly
    assert desk.kb.get(desk.agent(), article["id"])["solution"] == "Clean the glass."


def test_edit_errors_stand_beside_their_fields_with_the_text_kept(client: Client, desk: Desk) -> None:
    article = desk.article("Docking station not detected")
    csrf = _as(client)
    answer = client.post(f"/knowledge/{article['id']}/edit", data={
        "csrf_token": csrf, "version": "1", "title": "  ", "problem": "Still typed here",
        "solution": "x", "category": "nonsense", "keywords": "", "visibility": "internal"})
    assert answer.status_code == 422
    assert problems(answer.text) == []
    assert re.search(r'id="article-title"[^>]*aria-describedby="article-title-error" aria-invalid="true"', answer.text)
    assert '<p class="field-error" id="article-title-error">Please fill in this field.</p>' in answer.text
    assert 'id="article-category-error">Choose one of the desk' in answer.text
    assert ">Still typed here</textarea>" in answer.text
    assert desk.kb.get(desk.agent(), article["id"])["version"] == 1


def test_a_new_article_is_a_draft_of_its_author(client: Client, desk: Desk) -> None:
    csrf = _as(client, PLAIN_AGENT)
    form = client.get("/knowledge/new")
    assert form.status_code == 200
    assert problems(form.text) == []
    refused = client.post("/knowledge/new", data={"csrf_token": csrf, "title": "Badge reader beeps twice",
                                                  "problem": "", "solution": "Hold the badge still.",
                                                  "language": "en", "visibility": "internal"})
    assert refused.status_code == 422
    assert 'id="article-problem-error"' in refused.text
    assert 'value="Badge reader beeps twice"' in refused.text
    answer = client.post("/knowledge/new", data={
        "csrf_token": csrf, "title": "Badge reader beeps twice", "problem": "The door stays shut.",
        "solution": "Hold the badge still.", "language": "de", "visibility": "internal", "category": "facilities",
        "keywords": "badge, door"}, follow_redirects=False)
    assert answer.status_code == 303
    article_id = int(answer.headers["location"].split("/")[2].split("?")[0])
    made = desk.kb.get(desk.agent(), article_id)
    assert (made["status"], made["author_agent_id"], made["language"], made["keywords"]) == (
        "draft", desk.agent(PLAIN_AGENT).id, "de", ["badge", "door"])
    page = client.get(f"/knowledge/{article_id}").text
    assert f'href="/knowledge/{article_id}/edit"' in page  # its author edits it …
    assert f'action="/knowledge/{article_id}/publish"' not in page  # … but does not publish it


def test_a_translation_is_a_linked_draft(client: Client, desk: Desk) -> None:
    original = desk.article("Wi-Fi drops in meeting rooms", publish=True)
    csrf = _as(client)
    form = client.get(f"/knowledge/{original['id']}/translate", params={"language": "de"})
    assert form.status_code == 200
    assert problems(form.text) == []
    assert '<option value="de" selected>Deutsch</option>' in form.text
    # The demo desk's provider is local: without text there is no one to translate it.
    by_machine = client.post(f"/knowledge/{original['id']}/translate", data={"csrf_token": csrf, "language": "de"})
    assert by_machine.status_code == 422
    assert "machine translation needs the desk" in html.unescape(by_machine.text)
    taken = client.post(f"/knowledge/{original['id']}/translate", data={
        "csrf_token": csrf, "language": "en", "title": "x", "problem": "y", "solution": "z"})
    assert taken.status_code == 422
    assert 'id="article-language-error"' in taken.text
    answer = client.post(f"/knowledge/{original['id']}/translate", data={
        "csrf_token": csrf, "language": "de", "title": "WLAN bricht in Besprechungsräumen ab",
        "problem": "Die Verbindung reißt ab.", "solution": "Das Gäste-WLAN meiden."}, follow_redirects=False)
    assert answer.status_code == 303
    translation = int(answer.headers["location"].split("/")[2].split("?")[0])
    made = desk.kb.get(desk.agent(), translation)
    assert (made["language"], made["translation_of_id"], made["status"]) == ("de", original["id"], "draft")
    page = client.get(f"/knowledge/{original['id']}").text
    assert f'href="/knowledge/{translation}" hreflang="de"' in page
    assert 'id="translate-language"' not in page  # every language of the desk has a version now


def test_a_failed_machine_translation_keeps_the_form(client: Client, desk: Desk,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(*_args: Any) -> dict[str, Any]:
        raise TranslationFailed("the translation failed: HTTP 500")

    monkeypatch.setattr(knowledge_actions, "translate", failing)
    original = desk.article("Projector shows no picture", publish=True)
    csrf = _as(client)
    answer = client.post(f"/knowledge/{original['id']}/translate", data={"csrf_token": csrf, "language": "de",
                                                                         "title": "Beamer zeigt kein Bild"})
    assert answer.status_code == 502
    assert problems(answer.text) == []
    assert "No machine translation (the translation failed: HTTP 500)" in answer.text
    assert 'value="Beamer zeigt kein Bild"' in answer.text


def test_archive_feedback_and_delete(client: Client, desk: Desk) -> None:
    article = desk.article("Monitor flickers", publish=True)
    draft = desk.article("Monitor flickers after sleep")
    csrf = _as(client)
    for kind in ("helpful", "helpful", "not_helpful"):
        assert client.post(f"/knowledge/{article['id']}/feedback", data={"csrf_token": csrf, "kind": kind},
                           follow_redirects=False).status_code == 303
    page = client.get(f"/knowledge/{article['id']}").text
    assert '<dd id="kb-helpful">2</dd>' in page
    assert '<dd id="kb-not-helpful">1</dd>' in page
    assert client.post(f"/knowledge/{article['id']}/feedback", data={"csrf_token": csrf, "kind": "solved!"}
                       ).status_code == 400
    answer = client.post(f"/knowledge/{article['id']}/archive", data={"csrf_token": csrf, "version": "2"},
                         follow_redirects=False)
    assert answer.status_code == 303
    assert desk.kb.get(desk.agent(), article["id"])["status"] == "archived"
    assert article["id"] not in _links(client.get("/knowledge").text)
    assert client.post(f"/knowledge/{article['id']}/archive", data={"csrf_token": csrf, "version": "3"}
                       ).status_code == 409
    assert client.post(f"/knowledge/{draft['id']}/publish", data={"csrf_token": csrf}).status_code == 400
    gone = client.post(f"/knowledge/{draft['id']}/delete", data={"csrf_token": csrf, "version": "1"},
                       follow_redirects=False)
    assert gone.headers["location"] == "/knowledge?done=deleted"
    assert client.get(f"/knowledge/{draft['id']}").status_code == 404


def test_a_plain_agent_may_not_review_or_edit_anothers_article(client: Client, desk: Desk) -> None:
    article = desk.article("Keyboard layout switches")
    csrf = _as(client, PLAIN_AGENT)
    page = client.get(f"/knowledge/{article['id']}").text
    assert f'action="/knowledge/{article["id"]}/publish"' not in page
    assert f'href="/knowledge/{article["id"]}/edit"' not in page
    assert client.get(f"/knowledge/{article['id']}/edit").status_code == 403
    refused = client.post(f"/knowledge/{article['id']}/publish", data={"csrf_token": csrf, "version": "1"})
    assert refused.status_code == 403
    assert "Das ist Prüfenden vorbehalten" in refused.text  # Bea's account reads German
    assert desk.kb.get(desk.agent(), article["id"])["status"] == "draft"


def test_changes_without_the_sessions_token_are_refused(client: Client, desk: Desk) -> None:
    article = desk.article("Headset not recognised")
    _as(client)
    for path, data in ((f"/knowledge/{article['id']}/publish", {"version": "1"}),
                       (f"/knowledge/{article['id']}/edit", {"version": "1", "title": "Forged", "problem": "p",
                                                             "solution": "s", "visibility": "public"}),
                       ("/knowledge/new", {"title": "Forged", "problem": "p", "solution": "s", "language": "en"}),
                       (f"/knowledge/{article['id']}/feedback", {"kind": "helpful", "csrf_token": "wrong"})):
        answer = client.post(path, data=data)
        assert answer.status_code == 403, path
        assert "The form has expired" in answer.text
    after = desk.kb.get(desk.agent(), article["id"])
    assert (after["status"], after["title"], after["helpful"]) == ("draft", "Headset not recognised", 0)


def test_the_pages_speak_german(client: Client, library: dict[str, int]) -> None:
    _as(client)
    client.cookies.set("tessera_lang", "de")
    listing = client.get("/knowledge").text
    assert "<h1>Wissensdatenbank</h1>" in listing
    assert "Veröffentlicht und Entwürfe" in listing
    assert problems(listing) == []
    page = client.get(f"/knowledge/{library['reset']}").text
    assert "Versionsverlauf" in page
    assert "<dd>Öffentlich</dd>" in page
    assert "<dd>Netzwerk</dd>" in page
    assert ">veröffentlicht</td>" in page
    assert "Neuer Artikel" in client.get("/knowledge/new").text
