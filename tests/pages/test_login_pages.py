"""Signing in and out from the pages, the language switch, and the CSRF rules that guard both."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from runtime.compile.desk import CompiledDesk
from runtime.web.app import create_app
from tests.pages.page_client import AGENT, PASSWORD, REQUESTER, give_passwords, hidden, sign_in
from tests.tickets.service_fixtures import migrated_desk


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledDesk, sa.Engine]:
    tmp = tmp_path_factory.mktemp("login")
    _, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    give_passwords(compiled, engine, ("agent", AGENT), ("agent", "bea"), ("contact", REQUESTER))
    return compiled, engine


@pytest.fixture
def client(desk: tuple[CompiledDesk, sa.Engine]) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(*desk)) as client:
        yield client


def _login_form(client: TestClient) -> str:  # type: ignore[type-arg]
    return hidden(client.get("/login").text, "login_token")


def test_sign_in_returns_to_the_page_that_asked_for_it(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/login?next=/tickets/1")
    assert page.status_code == 200
    assert 'name="next" value="/tickets/1"' in page.text
    signed = client.post("/login", data={"login": AGENT, "password": PASSWORD, "next": "/tickets/1",
                                         "login_token": hidden(page.text, "login_token")}, follow_redirects=False)
    assert signed.status_code == 303
    assert signed.headers["location"] == "/tickets/1"


def test_a_wrong_password_shows_the_form_again_with_the_login_kept(client: TestClient) -> None:  # type: ignore[type-arg]
    answer = client.post("/login", data={"login": AGENT, "password": "nope", "login_token": _login_form(client)})
    assert answer.status_code == 401
    assert "The user name or the password is wrong." in answer.text
    assert f'value="{AGENT}"' in answer.text
    assert client.get("/api/v1/auth/session").status_code == 401


def test_sign_in_refuses_a_form_without_its_cookie_token(client: TestClient) -> None:  # type: ignore[type-arg]
    """Another site cannot post the sign-in form: the token in it must match the cookie set with the form."""
    _login_form(client)
    answer = client.post("/login", data={"login": AGENT, "password": PASSWORD, "login_token": "forged"})
    assert answer.status_code == 403
    assert client.get("/api/v1/auth/session").status_code == 401


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "/\\evil.example"])
def test_sign_in_never_redirects_off_the_site(client: TestClient, target: str) -> None:  # type: ignore[type-arg]
    answer = client.post("/login", data={"login": AGENT, "password": PASSWORD, "next": target,
                                         "login_token": _login_form(client)}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/queue"


def test_requesters_land_on_the_portal_and_agents_on_the_queue(client: TestClient) -> None:  # type: ignore[type-arg]
    answer = client.post("/login", data={"login": REQUESTER, "password": PASSWORD,
                                         "login_token": _login_form(client)}, follow_redirects=False)
    assert answer.headers["location"] == "/portal"
    assert client.get("/login", follow_redirects=False).headers["location"] == "/portal"


def test_sign_out_needs_the_csrf_token_and_ends_the_session(client: TestClient) -> None:  # type: ignore[type-arg]
    csrf = sign_in(client, AGENT)
    refused = client.post("/logout", data={"csrf_token": "wrong"})
    assert refused.status_code == 403
    assert "The form has expired" in refused.text
    assert client.get("/api/v1/auth/session").status_code == 200
    done = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert client.get("/api/v1/auth/session").status_code == 401


def test_the_language_switch_is_kept_on_the_account(client: TestClient, desk: tuple[CompiledDesk, sa.Engine]) -> None:  # type: ignore[type-arg]
    compiled, engine = desk
    csrf = sign_in(client, "bea")
    assert client.post("/language", data={"language": "de", "next": "/login"}).status_code == 403  # no token
    switched = client.post("/language", data={"language": "de", "next": "/x", "csrf_token": csrf},
                           follow_redirects=False)
    assert switched.status_code == 303
    assert switched.headers["location"] == "/x"
    agents = compiled.table("agents")
    with engine.connect() as connection:
        assert connection.execute(sa.select(agents.c.language).where(agents.c.username == "bea")).scalar() == "de"
    client.cookies.clear()
    page = client.get("/login")
    assert "Benutzername oder E-Mail" not in page.text  # a new browser without the cookie: English
    signed = client.post("/login", data={"login": "bea", "password": PASSWORD,
                                         "login_token": hidden(page.text, "login_token")}, follow_redirects=False)
    assert signed.cookies.get("tessera_lang") == "de"  # the account's language comes back at sign-in


def test_anonymous_visitors_choose_a_language_by_cookie_or_browser(client: TestClient) -> None:  # type: ignore[type-arg]
    assert 'lang="de"' in client.get("/login", headers={"accept-language": "de-AT,de;q=0.9,en;q=0.5"}).text
    assert 'lang="en"' in client.get("/login", headers={"accept-language": "fr, ja;q=0.4"}).text
    client.post("/language", data={"language": "de", "next": "/login"})
    page = client.get("/login")
    assert "Benutzername oder E-Mail" in page.text
    assert client.post("/language", data={"language": "xx"}, follow_redirects=False).status_code == 303


def test_static_files_are_served_from_the_package_with_a_versioned_link(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/login").text
    assert "/static/htmx.min.js?v=" in page
    assert "http://" not in page  # nothing from a CDN
    assert "https://" not in page
    script = client.get("/static/htmx.min.js")
    assert script.status_code == 200
    assert "htmx" in script.text[:200]
    assert "max-age" in script.headers.get("cache-control", "")


def test_the_pages_are_not_in_the_openapi_document(client: TestClient) -> None:  # type: ignore[type-arg]
    paths = client.get("/schema/openapi.json").json()["paths"]
    assert not any(path in paths for path in ("/login", "/logout", "/language"))
