"""The generated form pages: agents' internal form for every type (created through the service), the public forms
through the form intake (token, honeypot, rate limit), errors next to their fields with everything typed kept, and
the interface in German."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from runtime.compile.desk import CompiledDesk
from runtime.pages.form_fields import TypeForm
from runtime.pages.i18n import Translator
from runtime.tickets.actors import agent_actor
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from tests.pages.html_checks import problems
from tests.pages.page_client import AGENT, REQUESTER, give_passwords, hidden, sign_in
from tests.tickets.service_fixtures import migrated_desk

Client = TestClient[Litestar]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledDesk, sa.Engine]:
    tmp = tmp_path_factory.mktemp("forms")
    _, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    give_passwords(compiled, engine, ("agent", AGENT), ("contact", REQUESTER))
    return compiled, engine


@pytest.fixture(scope="module")
def app(desk: tuple[CompiledDesk, sa.Engine]) -> Litestar:
    return create_app(*desk)


@pytest.fixture
def client(app: Litestar) -> Iterator[Client]:
    with TestClient(app) as client:
        yield client


def _count(engine: sa.Engine, table: str, **where: Any) -> int:
    with engine.connect() as connection:
        t = sa.table(table, *(sa.column(k) for k in where))
        query = sa.select(sa.func.count()).select_from(t)
        for key, value in where.items():
            query = query.where(t.c[key] == value)
        return int(connection.execute(query).scalar_one())


def _field_error(page: str, name: str) -> str:
    found = re.search(rf'<p class="field-error" id="f-{name}-error">([^<]*)</p>', page)
    assert found, f"no error next to {name}"
    return html.unescape(found.group(1))


def _labels_shown(page: str, form: TypeForm, language: str) -> None:
    """Every field of the form has its label, bound to its control."""
    t = Translator(language)
    layout = form.layout(t)
    assert layout.widgets
    for widget in layout.widgets:
        label = html.escape(widget.label, quote=False)
        if widget.control == "checkboxes":
            assert f"<legend>{label}</legend>" in page, widget.name
        else:
            assert re.search(rf'<label for="{widget.id}"[^>]*>(<input[^>]*> )?{re.escape(label)}', page), widget.name
        assert f'id="{widget.id}"' in page


def test_agents_choose_a_type_and_see_every_types_form(client: Client, desk: tuple[CompiledDesk, sa.Engine]
                                                       ) -> None:
    compiled, _ = desk
    assert client.get("/tickets/new", follow_redirects=False).headers["location"].startswith("/login")
    sign_in(client, AGENT)
    chooser = client.get("/tickets/new")
    assert chooser.status_code == 200
    assert problems(chooser.text) == []
    for ticket_type in compiled.definitions.types:
        assert f'href="/tickets/new/{ticket_type.name}"' in chooser.text
        page = client.get(f"/tickets/new/{ticket_type.name}")
        assert page.status_code == 200, page.text
        form = TypeForm(compiled.definitions, ticket_type, "agent")
        _labels_shown(page.text, form, "en")
    assert client.get("/tickets/new/no_such_type").status_code == 404
    # Relations to short tables are choices by name: the requester is picked, not typed as an id.
    form_page = client.get("/tickets/new/it_support").text
    assert re.search(r'<select id="f-requester_id"[^>]*>.*Maria Lopez', form_page, re.S)


def test_an_invalid_field_comes_back_beside_the_field_with_everything_kept(
        client: Client, desk: tuple[CompiledDesk, sa.Engine]) -> None:
    _, engine = desk
    csrf = sign_in(client, AGENT)
    before = _count(engine, "tickets")
    sent = {"csrf_token": csrf, "title": "Printer on floor 3 <jammed>", "description": "Paper jam\nagain",
            "users_affected": "many", "asset_number": "lt-1", "software": "Word, Excel", "category": "hardware",
            "priority": "P3", "operating_system": "linux"}
    answer = client.post("/tickets/new/it_support", data=sent)
    assert answer.status_code == 422
    assert _field_error(answer.text, "users_affected") == "Enter a whole number."
    assert _field_error(answer.text, "asset_number") == "This does not have the expected format."
    assert 'aria-invalid="true"' in answer.text
    assert 'value="Printer on floor 3 &lt;jammed&gt;"' in answer.text
    assert ">Paper jam\nagain</textarea>" in answer.text
    assert 'value="many"' in answer.text
    assert 'value="Word, Excel"' in answer.text
    assert '<option value="linux" selected>' in answer.text
    assert '<option value="P3" selected>' in answer.text
    assert _count(engine, "tickets") == before


def test_a_valid_internal_form_creates_the_ticket_as_the_agent(
        client: Client, desk: tuple[CompiledDesk, sa.Engine]) -> None:
    compiled, engine = desk
    csrf = sign_in(client, AGENT)
    answer = client.post("/tickets/new/admin_request", data={
        "csrf_token": csrf, "title": "Badge for the new colleague", "request_kind": "access",
        "systems": ["vpn", "building_badge"], "estimated_cost": "12,50", "needed_by": "2030-01-15",
        "cost_centre": "4711"}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    ticket_id = int(answer.headers["location"].rsplit("/", 1)[1])
    with engine.connect() as connection:
        alex = agent_actor(connection, compiled, 1)
    ticket = TicketService(compiled, engine).get(alex, ticket_id)
    assert ticket["title"] == "Badge for the new colleague"
    assert ticket["systems"] == ["vpn", "building_badge"]
    assert str(ticket["estimated_cost"]) == "12.50"
    assert ticket["needed_by"].isoformat() == "2030-01-15"
    assert ticket["source"] == "form"


def test_files_chosen_on_the_internal_form_land_in_their_field(
        client: Client, desk: tuple[CompiledDesk, sa.Engine]) -> None:
    compiled, engine = desk
    csrf = sign_in(client, AGENT)
    answer = client.post("/tickets/new/admin_request",
                         data={"csrf_token": csrf, "title": "Laptop order", "request_kind": "purchase"},
                         files={"quote": ("offer.txt", b"one laptop, 1200 EUR", "text/plain")},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    ticket_id = int(answer.headers["location"].rsplit("/", 1)[1])
    with engine.connect() as connection:
        alex = agent_actor(connection, compiled, 1)
        quote = TicketService(compiled, engine).get(alex, ticket_id)["quote"]
        name = connection.execute(sa.text("select filename from attachments where id = :id"), {"id": quote}).scalar()
    assert name == "offer.txt"


def test_the_internal_form_refuses_a_post_without_the_csrf_token(
        client: Client, desk: tuple[CompiledDesk, sa.Engine]) -> None:
    _, engine = desk
    sign_in(client, AGENT)
    before = _count(engine, "tickets")
    answer = client.post("/tickets/new/it_support", data={"title": "Forged"})
    assert answer.status_code == 403
    assert _count(engine, "tickets") == before


def test_public_forms_list_only_public_types_and_render_every_field(
        client: Client, desk: tuple[CompiledDesk, sa.Engine]) -> None:
    compiled, _ = desk
    listing = client.get("/forms")
    assert listing.status_code == 200
    public = [t for t in compiled.definitions.types if t.public_form]
    assert {t.name for t in public} == {"it_support", "customer_complaint"}
    for ticket_type in compiled.definitions.types:
        assert (f'href="/forms/{ticket_type.name}"' in listing.text) == ticket_type.public_form
    assert "Problems with computers, software, accounts and the network." in listing.text
    assert client.get("/forms/admin_request").status_code == 404
    for ticket_type in public:
        page = client.get(f"/forms/{ticket_type.name}")
        assert page.status_code == 200
        _labels_shown(page.text, TypeForm(compiled.definitions, ticket_type, "public"), "en")
        assert '<label for="f-email" class="required">Your email address' in page.text
        assert 'name="website" value="" tabindex="-1"' in page.text  # the honeypot, out of sight
        assert hidden(page.text, "token")
        for internal in ("assignee_id", "team_id", "requester_id", "order_snapshot"):
            assert f'name="{internal}"' not in page.text


def _public_form(client: Client, type_name: str = "customer_complaint") -> str:
    return hidden(client.get(f"/forms/{type_name}").text, "token")


def test_a_public_submission_with_errors_keeps_its_token_and_what_was_typed(
        client: Client, desk: tuple[CompiledDesk, sa.Engine]) -> None:
    _, engine = desk
    token = _public_form(client)
    before = _count(engine, "tickets")
    answer = client.post("/forms/customer_complaint", data={
        "token": token, "email": "not an address", "name": "Kim Doe", "title": "Parcel never arrived",
        "order_number": "order 17", "complaint_level": "level_2", "description": "Ordered in May."})
    assert answer.status_code == 422
    assert problems(answer.text) == []
    assert _field_error(answer.text, "email") == "Enter your email address, so that we can answer you."
    assert _field_error(answer.text, "order_number") == "This does not have the expected format."
    assert hidden(answer.text, "token") == token  # unused: the corrected form is sent with it
    for kept in ('value="not an address"', 'value="Kim Doe"', 'value="Parcel never arrived"', 'value="order 17"',
                 '<option value="level_2" selected>', ">Ordered in May.</textarea>"):
        assert kept in answer.text
    assert _count(engine, "tickets") == before
    corrected = client.post("/forms/customer_complaint", data={
        "token": token, "email": "kim.doe@example.org", "name": "Kim Doe", "title": "Parcel never arrived",
        "order_number": "ORD-17", "complaint_level": "level_2", "description": "Ordered in May."})
    assert corrected.status_code == 200, corrected.text
    assert problems(corrected.text) == []
    assert 'id="reference"' in corrected.text
    assert "kim.doe@example.org" in corrected.text
    assert _count(engine, "tickets") == before + 1
    with engine.connect() as connection:
        row = connection.execute(sa.text(
            "select t.title, t.source from tickets t join contacts c on c.id = t.requester_id "
            "where c.email = 'kim.doe@example.org'")).one()
    assert tuple(row) == ("Parcel never arrived", "form")
    # The same token again is refused: nothing new is stored.
    again = client.post("/forms/customer_complaint", data={
        "token": token, "email": "kim.doe@example.org", "title": "Parcel never arrived, second try"})
    assert again.status_code == 409
    assert "submitted before" in again.text
    assert _count(engine, "tickets") == before + 1


def test_the_honeypot_makes_no_ticket_and_looks_like_success(
        client: Client, desk: tuple[CompiledDesk, sa.Engine]) -> None:
    _, engine = desk
    before = _count(engine, "tickets")
    answer = client.post("/forms/it_support", data={
        "token": _public_form(client, "it_support"), "email": "robot@example.org", "title": "Cheap pills",
        "website": "https://spam.example"})
    assert answer.status_code == 200
    assert "has been received" in answer.text
    assert _count(engine, "tickets") == before
    assert _count(engine, "intake_messages", state="ignored") >= 1


def test_a_forged_token_is_refused_with_a_new_form_and_the_values_kept(client: Client) -> None:
    answer = client.post("/forms/it_support", data={"token": "1.forged.token", "email": "a@example.org",
                                                    "title": "VPN down"})
    assert answer.status_code == 403
    assert "This form has expired" in answer.text
    assert hidden(answer.text, "token") != "1.forged.token"
    assert 'value="VPN down"' in answer.text


def test_anonymous_submissions_are_limited_per_address(desk: tuple[CompiledDesk, sa.Engine]) -> None:
    limit = desk[0].definitions.project.intake.form_per_address_per_minute
    with TestClient(create_app(*desk)) as client:
        answers = [client.post("/forms/it_support", data={"title": ""}) for _ in range(limit + 1)]
    assert {a.status_code for a in answers[:limit]} == {400}  # no token: refused, but counted
    assert answers[-1].status_code == 429
    assert int(answers[-1].headers["retry-after"]) >= 1
    assert "Too many submissions" in answers[-1].text


def test_signed_in_visitors_are_sent_to_their_own_form(client: Client) -> None:
    sign_in(client, REQUESTER)
    answer = client.get("/forms/it_support", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/portal/new/it_support"


def test_forms_speak_german_with_the_language_cookie(client: Client) -> None:
    client.cookies.set("tessera_lang", "de")
    page = client.get("/forms/it_support")
    assert '<label for="f-asset_number">Inventarnummer</label>' in page.text
    assert '<label for="f-title" class="required">Titel' in page.text
    assert "Absenden" in page.text
    assert "Ihre E-Mail-Adresse" in page.text
    refused = client.post("/forms/it_support", data={"token": hidden(page.text, "token"), "email": "x@example.org",
                                                     "title": "Drucker", "users_affected": "viele"})
    assert refused.status_code == 422
    assert _field_error(refused.text, "users_affected") == "Geben Sie eine ganze Zahl ein."
