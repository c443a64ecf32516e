"""Form submissions on SQLite and PostgreSQL: signed tokens, one ticket per token, the honeypot, the rate limit
for anonymous visitors, refused fields echoed back, and who may submit which form."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.intake.form_tokens import SECRET_ENV, FormTokens, TokenRefused, desk_key
from tests.intake.intake_http import count, intake_api, intake_desk, rows
from tests.tickets.service_fixtures import SeededDesk
from tests.web.api_client import Api

FORM = "/api/v1/intake/forms/it_support"
VISITOR = {"email": "Visitor.One@Example.com", "name": "Visitor One"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> SeededDesk:
    return intake_desk(tmp_path_factory.mktemp("forms"), module_database_url)


@pytest.fixture
def api(desk: SeededDesk) -> Iterator[Api]:
    """A new app per test: the per-address limit counts from zero."""
    with intake_api(desk) as api:
        yield api


def token(api: Api, path: str = FORM, **kwargs: Any) -> str:
    response = api.client.get(f"{path}/token", **kwargs)
    assert response.status_code == 200, response.text
    issued: str = response.json()["token"]
    return issued


def submit(api: Api, fields: dict[str, Any], path: str = FORM, **kwargs: Any) -> Any:
    return api.client.post(path, json=fields, **kwargs)


def test_an_anonymous_visitor_gets_one_ticket_per_token(api: Api, desk: SeededDesk) -> None:
    issued = token(api)
    fields = {"token": issued, "title": "Monitor flickers", "description": "Since Monday", **VISITOR}
    tickets = count(desk, "tickets")
    first = submit(api, fields)
    assert first.status_code == 202, first.text
    assert first.json() == {"message_id": first.json()["message_id"], "state": "accepted", "ticket_id": None,
                            "ticket_number": None, "reason": None}  # a visitor learns no more than that
    again = submit(api, fields)  # a double click, or the browser sending it again
    other = submit(api, {**fields, "title": "Monitor flickers (edited)"})  # the same token, other content
    assert (again.status_code, again.json()) == (200, first.json())
    assert (other.status_code, other.json()) == (200, first.json())
    assert count(desk, "tickets") == tickets + 1
    stored = rows(desk, "intake_messages", id=first.json()["message_id"])[0]
    assert (stored["channel"], stored["source"], stored["external_id"], stored["state"]) == (
        "form", "it_support", issued, "processed")
    made = rows(desk, "tickets", id=stored["ticket_id"])[0]
    assert (made["title"], made["source"], made["source_name"]) == ("Monitor flickers", "form", "it_support")
    contact = rows(desk, "contacts", id=made["requester_id"])[0]
    assert (contact["email"], contact["name"]) == ("visitor.one@example.com", "Visitor One")


def test_a_filled_honeypot_looks_accepted_but_is_ignored(api: Api, desk: SeededDesk) -> None:
    tickets = count(desk, "tickets")
    fields = {"token": token(api), "title": "Cheap watches", "website": "http://spam.example", **VISITOR}
    response = submit(api, fields)
    assert response.status_code == 202
    assert response.json()["state"] == "accepted"
    stored = rows(desk, "intake_messages", id=response.json()["message_id"])[0]
    assert (stored["state"], stored["error"], stored["ticket_id"]) == ("ignored", "honeypot", None)
    assert count(desk, "tickets") == tickets


def test_refused_fields_are_named_echoed_and_the_token_stays_usable(api: Api, desk: SeededDesk) -> None:
    issued = token(api)
    sent = {"token": issued, "title": "Laptop", "users_affected": 0, "operating_system": "beos",
            "email": "not-an-address"}
    stored = count(desk, "intake_messages")
    response = submit(api, sent)
    assert response.status_code == 422
    problem = response.json()
    assert sorted(e["field"] for e in problem["errors"]) == ["email", "operating_system", "users_affected"]
    assert problem["submitted"] == sent
    assert count(desk, "intake_messages") == stored
    fixed = submit(api, {**sent, "users_affected": 3, "operating_system": "linux", **VISITOR})
    assert fixed.status_code == 202, fixed.text


def test_requesters_cannot_choose_who_handles_their_ticket(api: Api) -> None:
    response = submit(api, {"token": token(api), "title": "Route me", "assignee_id": 1, **VISITOR})
    assert response.status_code == 422
    assert response.json()["errors"] == [{"field": "assignee_id", "reason": "set by the desk, not by the requester"}]


def test_tokens_missing_forged_for_another_form_or_expired_are_refused(api: Api, desk: SeededDesk) -> None:
    fields = {"title": "Keyboard", **VISITOR}
    missing = submit(api, fields)
    forged = submit(api, {**fields, "token": "1700000000.abc.def"})
    elsewhere = submit(api, {**fields, "token": token(api, "/api/v1/intake/forms/customer_complaint")})
    max_age = desk.compiled.definitions.project.intake.form_token_max_age_seconds
    old, _ = FormTokens(lambda: desk_key(desk.compiled.root), max_age, clock=lambda: 1_000_000_000.0).issue(
        "it_support")
    expired = submit(api, {**fields, "token": old})
    assert (missing.status_code, forged.status_code, elsewhere.status_code, expired.status_code) == (
        400, 403, 403, 403)
    assert "no token" in missing.json()["detail"]
    assert "not issued for the form 'it_support'" in forged.json()["detail"]
    assert "expired" in expired.json()["detail"]


def test_anonymous_submissions_beyond_the_rate_are_refused_with_retry_after(api: Api, desk: SeededDesk) -> None:
    limit = desk.compiled.definitions.project.intake.form_per_address_per_minute
    for _ in range(limit):
        assert submit(api, {"title": "x"}).status_code == 400  # no token: refused, but counted
    refused = submit(api, {"token": token(api), "title": "One too many", **VISITOR})
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    # A signed-in person is not an anonymous visitor.
    bearer = {"Authorization": f"Bearer {api.token('alex')}"}
    assert submit(api, {"token": token(api), "title": "Signed in"}, headers=bearer).status_code == 202


def test_a_form_that_is_not_public_needs_a_signed_in_person(api: Api, desk: SeededDesk) -> None:
    path = "/api/v1/intake/forms/admin_request"
    assert api.client.get(f"{path}/token").status_code == 401
    bearer = {"Authorization": f"Bearer {api.token('alex')}"}
    issued = token(api, path, headers=bearer)
    fields = {"token": issued, "title": "ERP access", "request_kind": "access"}
    assert submit(api, fields, path).status_code == 401
    response = submit(api, fields, path, headers=bearer)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert (answer["state"], answer["ticket_number"][:4]) == ("processed", "ADM-")
    made = rows(desk, "tickets", id=answer["ticket_id"])[0]
    assert (made["type"], made["source"]) == ("admin_request", "form")
    assert rows(desk, "ticket_events", ticket_id=made["id"], action="create")[0]["actor"] == "agent:alex"


def test_unknown_forms_are_not_found(api: Api) -> None:
    assert api.client.get("/api/v1/intake/forms/no_such_type/token").status_code == 404
    assert submit(api, {"title": "x"}, "/api/v1/intake/forms/no_such_type").status_code == 404


def test_the_key_comes_from_tessera_secret_else_from_a_file_made_once(tmp_path: Path) -> None:
    from_secret = desk_key(tmp_path, {SECRET_ENV: "s3cret"})
    assert from_secret == desk_key(tmp_path, {SECRET_ENV: "s3cret"}) != desk_key(tmp_path, {SECRET_ENV: "other"})
    assert not (tmp_path / "var").exists()
    made = desk_key(tmp_path, {})
    assert len(made) == 32
    assert made == desk_key(tmp_path, {})
    assert (tmp_path / "var" / "form-token.key").stat().st_mode & 0o077 == 0
    assert [p.name for p in (tmp_path / "var").iterdir()] == ["form-token.key"]


def test_a_token_is_good_for_its_form_until_it_expires() -> None:
    now = [1_800_000_000.0]
    tokens = FormTokens(lambda: b"k" * 32, 3600, clock=lambda: now[0])
    issued, expires = tokens.issue("it_support")
    assert expires == 1_800_003_600
    tokens.check("it_support", issued)
    now[0] += 3600
    tokens.check("it_support", issued)
    now[0] += 1
    with pytest.raises(TokenRefused, match="expired"):
        tokens.check("it_support", issued)
    with pytest.raises(TokenRefused, match="not issued for the form 'admin_request'"):
        FormTokens(lambda: b"k" * 32, 3600, clock=lambda: 1_800_000_000.0).check("admin_request", issued)
    assert json.dumps(issued).strip('"') == issued  # safe to put in a form field or JSON as it is
