"""The agent's ticket page: fields by the type's sections, the timeline, transitions, field edits with their
version, the composer with its outbound check and canned responses, the AI panel, and the access and CSRF rules,
driven through Litestar's TestClient after signing in through the form like a browser."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from runtime.compile.desk import CompiledDesk
from runtime.pages import ticket_canned
from runtime.pages.i18n import Translator
from runtime.pages.ticket_view import TicketView
from runtime.tickets.actors import Actor, agent_actor
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from tests.pages.html_checks import problems
from tests.pages.page_client import AGENT, give_passwords, sign_in
from tests.tickets.service_fixtures import migrated_desk

Client = TestClient[Litestar]
HTMX = {"hx-request": "true"}
# The demo's seeded tickets: IT-000001 is in progress with Alex's service desk, IT-000002 is new and unrouted,
# EQ-000003 belongs to the field service team, CC-000005 is resolved with Chen's customer care.
IN_PROGRESS, NEW, FIELD_SERVICE, RESOLVED_COMPLAINT = 1, 2, 3, 5


class Desk:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled, self.engine = compiled, engine
        self.app = create_app(compiled, engine)
        self.service = TicketService(compiled, engine)

    def agent(self, username: str) -> Actor:
        agents = self.compiled.table("agents")
        with self.engine.connect() as connection:
            agent_id = connection.execute(sa.select(agents.c.id).where(agents.c.username == username)).scalar_one()
            return agent_actor(connection, self.compiled, agent_id)

    def new_ticket(self, title: str = "Printer on floor 2 jams", **fields: Any) -> dict[str, Any]:
        """An IT ticket in Alex's service desk, assigned to Alex and in progress."""
        alex = self.agent(AGENT)
        ticket = self.service.create(alex, "it_support", {"title": title, "description": "It jams on every page.",
                                                          "team_id": 1, "assignee_id": alex.id, **fields})
        return self.service.transition(alex, ticket["id"], "start", ticket["version"])

    def ticket(self, ticket_id: int, username: str = AGENT) -> dict[str, Any]:
        return self.service.get(self.agent(username), ticket_id)

    def comments(self, ticket_id: int) -> list[dict[str, Any]]:
        return self.service.list_comments(self.agent(AGENT), ticket_id)

    def queued_triage(self, ticket_id: int, changes: dict[str, list[Any]]) -> int:
        """A triage proposal waiting for a person, as the worker stores one below the confidence to apply it."""
        decisions = self.compiled.table("ai_decisions")
        output = {"proposal": {"urgency": "high", "sentiment": "negative", "summary": "printer jams"},
                  "changes": changes, "field_confidence": dict.fromkeys(changes, 0.55),
                  "reasons": dict.fromkeys(changes, "words like 'jam' and 'printer'"), "kept": {},
                  "queued_because": "confidence 0.55 is below 0.70", "fallback": None}
        with self.engine.begin() as connection:
            return int(connection.execute(sa.insert(decisions).returning(decisions.c.id), {
                "ticket_id": ticket_id, "kind": "triage", "provider": "local", "model": "tessera-ngram",
                "output": output, "confidence": 0.55, "explanation": "proposed from similar tickets",
                "applied": False, "review": "queued", "created_at": dt.datetime.now(dt.UTC)}).scalar_one())

    def decision(self, decision_id: int) -> dict[str, Any]:
        decisions = self.compiled.table("ai_decisions")
        with self.engine.connect() as connection:
            return dict(connection.execute(sa.select(decisions).where(decisions.c.id == decision_id)).one()._mapping)


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Desk:
    tmp: Path = tmp_path_factory.mktemp("ticket_pages")
    _, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    give_passwords(compiled, engine, ("agent", AGENT), ("agent", "chen"))
    return Desk(compiled, engine)


@pytest.fixture(scope="module")
def alex(desk: Desk) -> Iterator[tuple[Client, str]]:
    """Alex signed in once for the module (signing in hashes a password, the slowest step of a test)."""
    with TestClient(desk.app) as client:
        yield client, sign_in(client, AGENT)


def _form(csrf: str, **values: Any) -> dict[str, Any]:
    return {"csrf_token": csrf, **{k: str(v) for k, v in values.items()}}


def _edit_form(page: str) -> dict[str, Any]:
    """The values the edit form of a page would send as they stand (text inputs, selected options, textareas)."""
    start = re.search(r'action="/tickets/\d+/fields"', page)
    assert start, "no edit form on the page"
    form = page[start.start():]
    form = form[:form.index("</form>")]
    values: dict[str, Any] = {}
    for name, value in re.findall(r'<input type="(?:text|number|hidden|email|url|tel|date)"[^>]*?name="([^"]+)" '
                                  r'value="([^"]*)"', form):
        values[name] = value
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', form):
        values[name] = value
    for name, body in re.findall(r'<select id="[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        values[name] = chosen.group(1) if chosen else ""
    for name, text in re.findall(r'<textarea id="[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        values[name] = text.replace("&#39;", "'")
    return values


def test_page_lays_out_every_section_and_field_of_the_type_in_its_state(desk: Desk, alex: tuple[Client, str]
                                                                          ) -> None:
    client, _ = alex
    page = client.get(f"/tickets/{IN_PROGRESS}")
    assert page.status_code == 200
    html = page.text
    assert "IT-000001" in html
    assert "IT support" in html
    assert "In progress" in html
    assert "Maria Lopez" in html
    assert "Alex Morgan" in html
    assert "Service desk" in html
    ticket_type = desk.compiled.definitions.ticket_type("it_support")
    assert ticket_type is not None
    for section in ticket_type.sections:
        assert f"<h3>{dict(section.title)['en']}</h3>" in html
    for field in ticket_type.fields:
        assert f"<dt>{dict(field.label)['en']}</dt>" in html
    assert "<dd>LT-004711</dd>" in html
    # The clocks carry what tessera.js counts down: the business seconds left, and whether they are running now,
    # which they are only while the clock's calendar is open (as the API says: the test runs at any hour).
    api = client.get(f"/api/v1/tickets/{IN_PROGRESS}/sla")
    assert api.status_code == 200
    clocks = {c["metric"]: c for c in api.json()}
    clock_item = r'data-metric="(\w+)">(?:(?!</li>).)*?data-sla-remaining="(-?\d+)" data-sla-running="(true|false)"'
    shown = re.findall(clock_item, html, re.DOTALL)
    assert shown
    for metric, remaining, running in shown:
        assert running == ("true" if clocks[metric]["counting"] else "false")
        assert abs(int(remaining) - clocks[metric]["remaining_seconds"]) <= 5
    for key in ('data-key="r"', 'data-key="n"', 'data-key="e"', "data-composer", "<kbd>r</kbd>"):
        assert key in html


def test_a_section_visible_only_in_later_states_is_hidden_on_a_new_ticket(alex: tuple[Client, str]) -> None:
    client, _ = alex
    new = client.get(f"/tickets/{NEW}").text
    assert "<h3>Device</h3>" in new
    assert "<h3>Handling</h3>" not in new
    assert 'name="assignee_id"' not in new
    assert "<h3>Handling</h3>" in client.get(f"/tickets/{IN_PROGRESS}").text


def test_timeline_shows_reply_note_and_change_in_time_order_with_the_note_marked_internal(
        desk: Desk, alex: tuple[Client, str]) -> None:
    client, csrf = alex
    ticket = desk.new_ticket()
    path = f"/tickets/{ticket['id']}"
    sent = client.post(f"{path}/comments", data=_form(csrf, body="We are on it.", public=1), follow_redirects=False)
    assert sent.status_code == 303
    noted = client.post(f"{path}/comments", data=_form(csrf, body="Toner is low too.", public=0),
                        follow_redirects=False)
    assert noted.status_code == 303
    form = _edit_form(client.get(path).text)
    saved = client.post(f"{path}/fields", data={**form, "priority": "P1"}, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    html = client.get(path).text
    reply, note, change = (html.index(text) for text in ("We are on it.", "Toner is low too.", "Changed fields"))
    assert reply < note < change
    note_entry = re.search(r'<li id="comment-\d+" class="entry note" data-kind="note">(.*?)</li>', html, re.S)
    assert note_entry
    assert "Internal note" in note_entry.group(1)
    assert "Toner is low too." in note_entry.group(1)
    reply_entry = re.search(r'<li id="comment-\d+" class="entry reply public" data-kind="reply">(.*?)</li>', html,
                            re.S)
    assert reply_entry
    assert "Public reply" in reply_entry.group(1)
    assert "Alex Morgan" in reply_entry.group(1)
    assert re.search(r"Priority</span>: <del>P2</del>.*?<ins>P1</ins>", html, re.S)
    stored = desk.comments(ticket["id"])
    assert [(c["public"], c["body"]) for c in stored] == [(True, "We are on it."), (False, "Toner is low too.")]


def test_transitions_move_the_ticket_and_only_those_allowed_to_this_agent_show(desk: Desk) -> None:
    with TestClient(desk.app) as client:
        csrf = sign_in(client, "chen")
        page = client.get(f"/tickets/{RESOLVED_COMPLAINT}").text
        shown = re.findall(r'data-transition="(\w+)"', page)
        # auto_close is the system's and cancel a supervisor's: Chen is neither.
        assert shown == ["close", "reopen"]
        version = desk.ticket(RESOLVED_COMPLAINT, "chen")["version"]
        moved = client.post(f"/tickets/{RESOLVED_COMPLAINT}/transition",
                            data=_form(csrf, name="close", version=version), follow_redirects=False)
        assert moved.status_code == 303
        assert desk.ticket(RESOLVED_COMPLAINT, "chen")["status"] == "closed"
        after = client.get(moved.headers["location"]).text
        assert "The ticket moved on." in after
        assert "Closed" in after
        refused = client.post(f"/tickets/{RESOLVED_COMPLAINT}/transition",
                              data=_form(csrf, name="cancel", version=version + 1))
        assert refused.status_code == 409
        assert "needs one of the roles" in refused.text
    with TestClient(desk.app) as client:
        sign_in(client, AGENT)
        assert "cancel" in re.findall(r'data-transition="(\w+)"', client.get(f"/tickets/{IN_PROGRESS}").text)


def test_a_transition_whose_required_field_is_empty_shows_the_page_with_the_reason(
        desk: Desk, alex: tuple[Client, str]) -> None:
    client, csrf = alex
    alex_actor = desk.agent(AGENT)
    ticket = desk.service.create(alex_actor, "it_support", {"title": "Monitor flickers", "team_id": 1})
    page = client.get(f"/tickets/{ticket['id']}").text
    assert 'data-transition="assign"' not in page  # not offered while nobody is assigned
    refused = client.post(f"/tickets/{ticket['id']}/transition",
                          data=_form(csrf, name="assign", version=ticket["version"]))
    assert refused.status_code == 409
    assert "field &#39;assignee_id&#39; must be set first" in refused.text
    assert 'id="ticket-header"' in refused.text  # the ticket page, not a bare error page
    assert desk.ticket(ticket["id"])["status"] == "new"


def test_a_stale_version_on_field_edit_shows_the_conflict_and_changes_nothing(desk: Desk, alex: tuple[Client, str]
                                                                               ) -> None:
    client, _ = alex
    ticket = desk.new_ticket("Scanner offline")
    form = _edit_form(client.get(f"/tickets/{ticket['id']}").text)
    # Another agent changes the ticket after the page was loaded.
    desk.service.update(desk.agent(AGENT), ticket["id"], {"os_version": "14.2", "version": ticket["version"]})
    answer = client.post(f"/tickets/{ticket['id']}/fields", data={**form, "title": "Scanner offline since Monday"})
    assert answer.status_code == 409
    assert "Someone changed this ticket meanwhile" in answer.text
    assert 'value="Scanner offline since Monday"' in answer.text  # what was typed is kept
    assert "<dd>14.2</dd>" in answer.text  # the current value is shown
    current = desk.ticket(ticket["id"])
    assert current["title"] == "Scanner offline"
    assert current["os_version"] == "14.2"
    assert f'name="version" value="{current["version"]}"' in answer.text


def test_an_invalid_field_is_refused_next_to_it_with_everything_typed_kept(desk: Desk, alex: tuple[Client, str]
                                                                            ) -> None:
    client, _ = alex
    ticket = desk.new_ticket("Docking station dead")
    form = _edit_form(client.get(f"/tickets/{ticket['id']}").text)
    answer = client.post(f"/tickets/{ticket['id']}/fields",
                         data={**form, "asset_number": "not an asset", "os_version": "Sonoma"})
    assert answer.status_code == 422
    assert re.search(r'id="edit-asset_number"[^>]*aria-describedby="[^"]*edit-asset_number-error"[^>]*'
                     r'aria-invalid="true"', answer.text)
    assert 'id="edit-asset_number-error"' in answer.text
    assert 'value="not an asset"' in answer.text
    assert 'value="Sonoma"' in answer.text
    assert desk.ticket(ticket["id"])["os_version"] is None
    saved = client.post(f"/tickets/{ticket['id']}/fields", data={**form, "asset_number": "DS-12345"},
                        follow_redirects=False)
    assert saved.status_code == 303
    assert desk.ticket(ticket["id"])["asset_number"] == "DS-12345"


def test_the_composer_refuses_a_reply_with_a_secret_and_keeps_the_text(desk: Desk, alex: tuple[Client, str]
                                                                        ) -> None:
    client, csrf = alex
    ticket = desk.new_ticket("VPN token")
    body = "Your new password: Winter2026!x - please change it."
    answer = client.post(f"/tickets/{ticket['id']}/comments", data=_form(csrf, body=body, public=1))
    assert answer.status_code == 422
    assert "The reply was not sent: it contains a secret." in answer.text
    assert re.search(r'<textarea id="reply-body"[^>]*aria-invalid="true"[^>]*>' + re.escape(body), answer.text)
    assert 'id="reply-error"' in answer.text
    assert desk.comments(ticket["id"]) == []


def test_a_hostile_tone_is_sent_and_then_warned_about(desk: Desk, alex: tuple[Client, str]) -> None:
    client, csrf = alex
    ticket = desk.new_ticket("Mouse lag")
    sent = client.post(f"/tickets/{ticket['id']}/comments",
                       data=_form(csrf, body="Read the manual, this is not our problem.", public=1))
    assert sent.status_code == 200  # followed to the page
    assert "Sent, but please check the tone:" in sent.text
    assert "not our problem" in sent.text
    assert len(desk.comments(ticket["id"])) == 1


def test_a_canned_response_is_filled_with_the_tickets_fields(alex: tuple[Client, str]) -> None:
    client, _ = alex
    box = client.get(f"/tickets/{IN_PROGRESS}/canned/restart_first", headers=HTMX)
    assert box.status_code == 200
    assert box.text.startswith('<div id="reply-box"')
    assert "IT-000001" in box.text
    assert "Hello Maria Lopez," in box.text
    assert "LT-004711" in box.text
    assert "Alex Morgan" in box.text
    # Without JavaScript the select's form leads to the page with the reply filled in.
    plain = client.get(f"/tickets/{IN_PROGRESS}/canned?name=ask_asset_number", follow_redirects=False)
    assert plain.status_code == 303
    page = client.get(plain.headers["location"]).text
    assert re.search(r'<textarea id="reply-body"[^>]*>Hello Maria Lopez,\s+thank you for your request IT-000001',
                     page)
    client.cookies.set("tessera_lang", "de")
    try:
        german = client.get(f"/tickets/{IN_PROGRESS}/canned/ask_asset_number", headers=HTMX)
    finally:
        client.cookies.delete("tessera_lang")
    assert "danke für Ihre Anfrage IT-000001" in german.text
    unknown = client.get(f"/tickets/{IN_PROGRESS}/canned/no_such_response", headers=HTMX)
    assert unknown.status_code == 200
    assert 'id="canned-error"' in unknown.text


def test_a_canned_response_that_fails_to_render_gives_a_message_not_an_error(
        alex: tuple[Client, str], monkeypatch: pytest.MonkeyPatch) -> None:
    client, _ = alex
    broken = jinja2.sandbox.SandboxedEnvironment().from_string("{{ ticket.users_affected + 'x' }}")
    monkeypatch.setattr(ticket_canned, "_template", lambda *_args: broken)
    answer = client.get(f"/tickets/{IN_PROGRESS}/canned/restart_first", headers=HTMX)
    assert answer.status_code == 200
    assert "The canned response could not be filled in" in answer.text


def test_accepting_and_overriding_triage_change_the_decision_and_the_ticket(desk: Desk, alex: tuple[Client, str]
                                                                            ) -> None:
    client, csrf = alex
    first = desk.new_ticket("Cannot print")
    accepted = desk.queued_triage(first["id"], {"priority": ["P2", "P1"]})
    page = client.get(f"/tickets/{first['id']}").text
    assert "Waiting for a person&#39;s review" in page
    assert "55 %" in page
    assert "words like" in page
    version = desk.ticket(first["id"])["version"]
    answer = client.post(f"/tickets/{first['id']}/ai/{accepted}/review",
                         data=_form(csrf, verdict="accept", version=version), follow_redirects=False)
    assert answer.status_code == 303
    assert desk.decision(accepted)["review"] == "accepted"
    assert desk.ticket(first["id"])["priority"] == "P1"

    second = desk.new_ticket("Cannot scan")
    overridden = desk.queued_triage(second["id"], {"priority": ["P2", "P1"], "category": [None, "software"]})
    version = desk.ticket(second["id"])["version"]
    answer = client.post(f"/tickets/{second['id']}/ai/{overridden}/review",
                         data=_form(csrf, verdict="override", version=version, value_priority="P0",
                                    value_category="hardware"), follow_redirects=False)
    assert answer.status_code == 303
    decision, ticket = desk.decision(overridden), desk.ticket(second["id"])
    assert decision["review"] == "overridden"
    assert decision["reviewed_by"]
    assert (ticket["priority"], ticket["category"]) == ("P0", "hardware")
    # A verdict on a decision of another ticket is refused, and nothing changes.
    other = desk.queued_triage(first["id"], {"priority": ["P1", "P3"]})
    refused = client.post(f"/tickets/{second['id']}/ai/{other}/review",
                          data=_form(csrf, verdict="accept", version=ticket["version"]))
    assert refused.status_code == 422
    assert desk.decision(other)["review"] == "queued"


def test_a_suggested_reply_goes_into_the_composer_with_its_id(desk: Desk, alex: tuple[Client, str]) -> None:
    client, csrf = alex
    ticket = desk.new_ticket("Outlook does not start")
    made = client.post(f"/tickets/{ticket['id']}/ai/reply", data=_form(csrf), follow_redirects=False)
    assert made.status_code == 303
    page = client.get(made.headers["location"]).text
    suggestion = re.search(r'data-suggestion="(\d+)"', page)
    assert suggestion
    assert "A reply was suggested." in page
    box = client.get(f"/tickets/{ticket['id']}/composer?suggestion={suggestion.group(1)}", headers=HTMX).text
    assert f'name="suggestion_id" value="{suggestion.group(1)}"' in box
    assert re.search(r'<textarea id="reply-body"[^>]*>\S', box)


def test_an_htmx_action_answers_with_the_parts_it_changed(desk: Desk, alex: tuple[Client, str]) -> None:
    client, csrf = alex
    ticket = desk.new_ticket("Keyboard missing keys")
    answer = client.post(f"/tickets/{ticket['id']}/comments", data=_form(csrf, body="New one is on its way."),
                         headers=HTMX)
    assert answer.status_code == 200
    assert "<html" not in answer.text
    for part in ("ticket-header", "ticket-timeline", "ticket-composer", "ticket-transitions", "ticket-sla"):
        assert re.search(rf'id="{part}"[^>]*hx-swap-oob="true"', answer.text), part
    assert "New one is on its way." in answer.text
    assert "The reply was sent." in answer.text


def test_a_change_without_the_csrf_token_is_refused(desk: Desk, alex: tuple[Client, str]) -> None:
    client, _ = alex
    ticket = desk.new_ticket("Phone unlock")
    answer = client.post(f"/tickets/{ticket['id']}/comments", data={"body": "Unlocked.", "public": "1"})
    assert answer.status_code == 403
    moved = client.post(f"/tickets/{ticket['id']}/transition",
                        data={"name": "resolve", "version": str(ticket["version"])})
    assert moved.status_code == 403
    assert desk.comments(ticket["id"]) == []
    assert desk.ticket(ticket["id"])["status"] == "in_progress"


def test_another_teams_ticket_is_not_found(alex: tuple[Client, str]) -> None:
    client, csrf = alex
    assert client.get(f"/tickets/{FIELD_SERVICE}").status_code == 404
    assert client.post(f"/tickets/{FIELD_SERVICE}/comments", data=_form(csrf, body="hello")).status_code == 404
    assert client.get(f"/tickets/{FIELD_SERVICE}/canned/x", headers=HTMX).status_code == 404


def test_the_page_speaks_german_with_the_language_cookie(desk: Desk) -> None:
    with TestClient(desk.app, cookies={"tessera_lang": "de"}) as client:
        sign_in(client, AGENT)
        client.cookies.set("tessera_lang", "de")
        html = client.get(f"/tickets/{IN_PROGRESS}").text
    for text in ("<h3>Gerät</h3>", "<dt>Inventarnummer</dt>", "In Bearbeitung", "Öffentliche Antwort",
                 "Interne Notiz", "Nach der Inventarnummer fragen", "Lösen"):
        assert text in html, text


def test_the_similar_tickets_page_works_without_javascript(alex: tuple[Client, str]) -> None:
    client, _ = alex
    page = client.get(f"/tickets/{IN_PROGRESS}/similar")
    assert page.status_code == 200
    assert "Similar to IT-000001" in page.text


def test_a_file_chosen_in_the_edit_form_is_attached_and_linked_for_download(desk: Desk, alex: tuple[Client, str]
                                                                             ) -> None:
    client, _ = alex
    ticket = desk.new_ticket("Error dialog on start")
    form = _edit_form(client.get(f"/tickets/{ticket['id']}").text)
    saved = client.post(f"/tickets/{ticket['id']}/fields", data=form, follow_redirects=False,
                        files={"error_screenshot": ("dialog.png", b"\x89PNG\r\n\x1a\nnot really", "image/png")})
    assert saved.status_code == 303, saved.text
    stored = desk.ticket(ticket["id"])["error_screenshot"]
    assert isinstance(stored, list)
    assert len(stored) == 1
    page = client.get(f"/tickets/{ticket['id']}").text
    link = f'<a href="/api/v1/attachments/{stored[0]}" download>dialog.png</a>'
    assert page.count(link) == 2  # beside its field and as a file in the timeline
    assert client.get(f"/api/v1/attachments/{stored[0]}").content == b"\x89PNG\r\n\x1a\nnot really"


def test_the_page_in_its_fullest_states_has_nothing_a_screen_reader_would_stumble_over(
        desk: Desk, alex: tuple[Client, str]) -> None:
    """Every panel filled: a triage proposal waiting with its override form, a suggested reply, refused fields."""
    client, csrf = alex
    ticket = desk.new_ticket("Laptop fan loud")
    desk.queued_triage(ticket["id"], {"priority": ["P2", "P3"], "category": [None, "hardware"]})
    client.post(f"/tickets/{ticket['id']}/ai/reply", data=_form(csrf))
    form = _edit_form(client.get(f"/tickets/{ticket['id']}").text)
    refused = client.post(f"/tickets/{ticket['id']}/fields", data={**form, "users_affected": "-3"})
    assert refused.status_code == 422
    assert 'name="value_category"' in refused.text
    assert "data-suggestion=" in refused.text
    assert problems(refused.text) == []


@pytest.mark.parametrize(("state", "remaining", "counting", "shown"), [
    ("running", 3 * 3600, True, (False, False, "3h 0m", True)),
    ("running", 3 * 3600, False, (False, False, "3h 0m", False)),  # running, but the calendar is closed now
    ("running", 1200, True, (True, False, "20m", True)),  # under a fifth of the 4 h target left
    ("running", -900, True, (False, True, "-15m", True)),  # late before the sweep marks it
    ("breached", -7200, False, (False, True, "-2h 0m", False)),
    ("paused", 600, False, (False, False, "10m", False)),
])
def test_a_clock_warns_when_due_soon_and_shows_a_breach(state: str, remaining: int, counting: bool,
                                                        shown: tuple[bool, bool, str, bool]) -> None:
    """(warning, breached, remaining as text, counting down) for a 4 h resolution target."""
    raw = {"metric": "resolution", "state": state, "target_seconds": 4 * 3600, "remaining_seconds": remaining,
           "due_at": None, "counting": counting}
    clock = TicketView.clock(raw, Translator("en"))
    assert (clock.warning, clock.breached, clock.remaining_text, clock.counting) == shown
    assert clock.label == "Resolution"
