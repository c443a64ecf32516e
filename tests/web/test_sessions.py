"""Signing in from a browser: password check, the session cookie, CSRF on every write, sign-out, expiry,
throttling, and requesters who see only what the access rules let them see."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.auth.accounts import set_password
from runtime.auth.throttle import PER_LOGIN, WINDOW, LoginThrottle
from runtime.web.auth import SESSION_COOKIE
from tests.web.api_client import Api, api_for

PASSWORD = "a long passphrase"
MARIA = "maria.lopez@northwind.example.org"
JONAS = "jonas.weber@contoso.example.org"
NEW_TICKET = {"title": "Scanner jams", "description": "The scanner on floor 2 jams on every page."}


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    with api_for(tmp_path, database_url) as api:
        with api.desk.engine.begin() as connection:
            for kind, login in (("agent", "alex"), ("agent", "bea"), ("contact", MARIA), ("contact", JONAS)):
                assert set_password(connection, api.desk.compiled, kind, login, PASSWORD)
        yield api


def sign_in(api: Api, login: str, password: str = PASSWORD) -> dict[str, Any]:
    api.client.cookies.clear()
    response = api.client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def csrf(body: dict[str, Any]) -> dict[str, str]:
    return {"X-CSRF-Token": body["csrf_token"]}


def stored_sessions(api: Api) -> list[sa.Row[Any]]:
    sessions = api.desk.compiled.table("web_sessions")
    with api.desk.engine.connect() as connection:
        return list(connection.execute(sa.select(sessions).order_by(sessions.c.id)))


def test_an_agent_signs_in_by_username_or_email_and_the_cookie_identifies_them(api: Api) -> None:
    body = sign_in(api, "alex")
    assert (body["kind"], body["name"], body["csrf_header"]) == ("agent", "alex", "x-csrf-token")
    assert "supervisor" in body["roles"]
    cookie = api.client.cookies.get(SESSION_COOKIE)
    assert cookie
    assert cookie.startswith("tss_")
    assert api.client.get("/api/v1/auth/session").json()["id"] == body["id"]
    assert api.client.get("/api/v1/tickets").status_code == 200
    assert sign_in(api, "ALEX@Example.org")["name"] == "alex"  # by email, whatever its case
    # The secret itself is never stored, only its hash.
    assert all(cookie not in str(tuple(row)) for row in stored_sessions(api))


def test_the_login_response_sets_a_httponly_samesite_cookie(api: Api) -> None:
    response = api.client.post("/api/v1/auth/login", json={"login": "alex", "password": PASSWORD})
    header = response.headers["set-cookie"].lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "path=/" in header


@pytest.mark.parametrize(("login", "password"), [("alex", "wrong password!"), ("nobody", PASSWORD),
                                                 ("chen", PASSWORD)])  # chen has no password
def test_a_wrong_login_or_password_is_401_and_says_not_which(api: Api, login: str, password: str) -> None:
    response = api.client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert response.status_code == 401
    assert response.json()["detail"] == "the login or the password is wrong"
    assert SESSION_COOKIE not in response.cookies
    assert stored_sessions(api) == []


@pytest.mark.parametrize("body", [{}, {"login": "alex"}, {"login": "", "password": "x"},
                                  {"login": "alex", "password": PASSWORD, "remember": True}, [1], "text"])
def test_a_malformed_login_is_a_4xx_with_a_reason(api: Api, body: Any) -> None:
    response = api.client.post("/api/v1/auth/login", json=body)
    assert response.status_code in (400, 422)
    assert response.json()["detail"]


def test_a_form_post_from_another_site_cannot_sign_in(api: Api) -> None:
    response = api.client.post("/api/v1/auth/login", data={"login": "alex", "password": PASSWORD})
    assert response.status_code in (400, 415, 422)
    assert stored_sessions(api) == []


def test_writes_need_the_csrf_token_and_reads_do_not(api: Api) -> None:
    body = sign_in(api, "alex")
    path = "/api/v1/types/it_support/tickets"
    ticket = {**NEW_TICKET, "requester_id": api.desk.id_of("contacts", "email", MARIA)}
    missing = api.client.post(path, json=ticket)
    assert missing.status_code == 403
    assert "x-csrf-token" in missing.json()["detail"]
    token = body["csrf_token"]
    altered = token[:-1] + ("B" if token.endswith("A") else "A")  # always differs from the real one
    wrong = api.client.post(path, json=ticket, headers={"X-CSRF-Token": altered})
    assert wrong.status_code == 403
    created = api.client.post(path, json=ticket, headers=csrf(body))
    assert created.status_code == 201, created.text
    assert api.client.get(f"/api/v1/tickets/{created.json()['id']}").status_code == 200


def test_a_csrf_token_of_another_session_is_refused(api: Api) -> None:
    other = sign_in(api, "bea")
    sign_in(api, "alex")
    response = api.client.post("/api/v1/types/it_support/tickets", json=NEW_TICKET, headers=csrf(other))
    assert response.status_code == 403


def test_a_bearer_token_needs_no_csrf_token(api: Api) -> None:
    sign_in(api, "bea")
    ticket = {**NEW_TICKET, "requester_id": api.desk.id_of("contacts", "email", MARIA)}
    response = api.call("POST", "/api/v1/types/it_support/tickets", json=ticket)
    assert response.status_code == 201, response.text


def test_signing_out_ends_the_session_at_once(api: Api) -> None:
    body = sign_in(api, "alex")
    cookie = api.client.cookies.get(SESSION_COOKIE)
    assert api.client.post("/api/v1/auth/logout").status_code == 403  # without the CSRF token
    response = api.client.post("/api/v1/auth/logout", headers=csrf(body))
    assert (response.status_code, response.json()) == (200, {"signed_out": True})
    assert 'max-age=0' in response.headers["set-cookie"].lower()
    api.client.cookies.set(SESSION_COOKIE, cookie or "")
    assert api.client.get("/api/v1/tickets").status_code == 401
    assert api.client.get("/api/v1/auth/session").status_code == 401
    assert stored_sessions(api)[0].revoked_at is not None


def test_signing_in_again_makes_a_new_session(api: Api) -> None:
    first = sign_in(api, "alex")
    second = sign_in(api, "alex")
    assert first["csrf_token"] != second["csrf_token"]
    assert len({row.secret_hash for row in stored_sessions(api)}) == 2


def test_a_new_password_signs_the_person_out_everywhere(api: Api) -> None:
    sign_in(api, "alex")
    with api.desk.engine.begin() as connection:
        set_password(connection, api.desk.compiled, "agent", "alex", "another long passphrase")
    api.client.cookies.set(SESSION_COOKIE, api.client.cookies.get(SESSION_COOKIE) or "")
    # The per-process cache may answer for a few seconds; the session itself is over.
    assert all(row.revoked_at is not None for row in stored_sessions(api))
    assert api.client.post("/api/v1/auth/login", json={"login": "alex", "password": PASSWORD}).status_code == 401


@pytest.mark.parametrize("column", ["expires_at", "last_seen_at"])
def test_an_expired_or_idle_session_is_refused(api: Api, column: str) -> None:
    sign_in(api, "bea")
    sessions = api.desk.compiled.table("web_sessions")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    with api.desk.engine.begin() as connection:
        connection.execute(sa.update(sessions).values({column: past}))
    assert api.client.get("/api/v1/auth/session").status_code == 401


def test_a_deactivated_agent_is_signed_out(api: Api) -> None:
    sign_in(api, "bea")
    agents = api.desk.compiled.table("agents")
    with api.desk.engine.begin() as connection:
        connection.execute(sa.update(agents).where(agents.c.username == "bea").values(active=False))
    assert api.client.get("/api/v1/auth/session").status_code == 401
    assert api.client.post("/api/v1/auth/login", json={"login": "bea", "password": PASSWORD}).status_code == 401


def test_a_requester_signs_in_by_email_and_sees_only_their_own_tickets(api: Api) -> None:
    maria_id = api.desk.id_of("contacts", "email", MARIA)
    body = sign_in(api, MARIA.upper())
    assert (body["kind"], body["id"], body["scopes"]) == ("contact", maria_id, ["tickets:read", "tickets:write"])
    created = api.client.post("/api/v1/types/it_support/tickets", json=NEW_TICKET, headers=csrf(body))
    assert created.status_code == 201, created.text
    assert created.json()["requester_id"] == maria_id
    listed = api.client.get("/api/v1/tickets", params={"limit": 200}).json()
    assert listed["items"]
    assert {item["requester_id"] for item in listed["items"]} == {maria_id}
    jonas = sign_in(api, JONAS)
    assert api.client.get(f"/api/v1/tickets/{created.json()['id']}").status_code == 404
    assert jonas["kind"] == "contact"


def test_a_requesters_session_cannot_reach_people(api: Api) -> None:
    sign_in(api, MARIA)
    response = api.client.get("/api/v1/agents")
    assert response.status_code == 403
    assert "people:read" in response.json()["detail"]


def test_an_agent_session_reads_people_and_only_an_admin_writes_them(api: Api) -> None:
    body = sign_in(api, "bea")
    assert api.client.get("/api/v1/agents").status_code == 200
    response = api.client.post("/api/v1/organizations", json={"name": "Initech"}, headers=csrf(body))
    assert response.status_code == 403


def test_repeated_failures_lock_the_login_with_retry_after(api: Api) -> None:
    for _ in range(PER_LOGIN):
        assert api.client.post("/api/v1/auth/login",
                               json={"login": "alex", "password": "wrong password!"}).status_code == 401
    locked = api.client.post("/api/v1/auth/login", json={"login": "alex", "password": PASSWORD})
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= WINDOW
    # Another login from the same address is not locked by these failures.
    assert api.client.post("/api/v1/auth/login", json={"login": "bea", "password": PASSWORD}).status_code == 200


def test_the_throttle_forgets_failures_after_the_window() -> None:
    now = [1000.0]
    throttle = LoginThrottle(clock=lambda: now[0])
    for _ in range(PER_LOGIN):
        throttle.failed("Alex", "10.0.0.1")
    assert throttle.retry_after("alex", "10.0.0.2") > 0  # the login is locked from any address
    now[0] += WINDOW + 1
    assert throttle.retry_after("alex", "10.0.0.1") == 0
    throttle.failed("alex", "10.0.0.1")
    throttle.succeeded("alex")
    assert throttle.retry_after("alex", "10.0.0.1") == 0
