"""The knowledge-base API on SQLite and PostgreSQL: writing, review and publication over HTTP, search, a ticket's
recommendations, the public portal's deflection (suggestions while typing, "this solved it") within its limits,
translations and bad input as 4xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from runtime.web.app import create_app
from tests.ai.triage_fixtures import TriageDesk, triage_desk
from tests.web.api_client import Api

ARTICLES = "/api/v1/kb/articles"
VPN = {"title": "VPN drops every few minutes", "problem": "The VPN tunnel drops every few minutes at home.",
       "solution": "Install **VPN client 5.2** from the software centre and restart.", "category": "network",
       "keywords": ["vpn", "tunnel"], "visibility": "public"}


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> TriageDesk:
    return triage_desk(tmp_path_factory.mktemp("kb-api"), module_database_url)


@pytest.fixture(scope="module")
def api(desk: TriageDesk) -> Iterator[Api]:
    with TestClient(app=create_app(desk.compiled, desk.engine), raise_server_exceptions=False) as client:
        yield Api(desk, client)


def _published(api: Api, **more: Any) -> dict[str, Any]:
    made = api.call("POST", ARTICLES, "bea", json=VPN | more)
    assert made.status_code == 201, made.text
    done = api.call("POST", f"{ARTICLES}/{made.json()['id']}/publish", "alex", json={"version": 1})
    assert done.status_code == 200, done.text
    result: dict[str, Any] = done.json()
    return result


def test_an_article_is_written_edited_reviewed_and_published(api: Api) -> None:
    made = api.call("POST", ARTICLES, "bea", json=VPN | {"title": "Printer jams on every page",
                                                          "problem": "The printer jams.", "category": "hardware"})
    assert made.status_code == 201
    article = made.json()
    assert (article["status"], article["version"]) == ("draft", 1)
    path = f"{ARTICLES}/{article['id']}"
    edited = api.call("PATCH", path, "bea", json={"version": 1, "solution": "Open tray 2 and remove the paper.",
                                                  "note": "clearer steps"})
    assert edited.json()["version"] == 2
    assert api.call("PATCH", path, "bea", json={"version": 1, "title": "x"}).status_code == 409
    assert api.call("POST", f"{path}/publish", "bea", json={"version": 2}).status_code == 403
    assert api.call("POST", f"{path}/publish", "alex", json={"version": 2}).json()["status"] == "published"
    versions = api.call("GET", f"{path}/versions", "alex").json()
    assert [(v["version"], v["note"]) for v in versions] == [(1, "created"), (2, "clearer steps"), (3, "published")]
    assert api.call("DELETE", path, "alex").status_code == 409  # published: archive it instead
    assert api.call("POST", f"{path}/archive", "alex", json={"version": 3}).json()["status"] == "archived"


def test_bad_input_is_a_4xx_with_the_reason(api: Api) -> None:
    assert api.call("POST", ARTICLES, "bea", json={"title": "x"}).status_code == 422
    wrong = api.call("POST", ARTICLES, "bea", json=VPN | {"category": "weather"})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "category"
    assert api.call("GET", f"{ARTICLES}/999999999", "alex").status_code == 404
    assert api.call("PATCH", f"{ARTICLES}/1", "alex", json={"colour": "red", "version": 1}).status_code == 422
    assert api.call("GET", ARTICLES, "alex", params={"q": "\"' OR 1=1 -- *"}).status_code == 200


def test_search_and_the_public_suggestions_show_what_each_may_see(api: Api) -> None:
    public = _published(api)
    internal = _published(api, title="VPN certificate for admins", visibility="internal",
                          problem="Admins need the VPN certificate.")
    draft = api.call("POST", ARTICLES, "bea", json=VPN | {"title": "VPN draft"}).json()
    found = api.call("GET", ARTICLES, "alex", params={"q": "vpn tunnel drops"}).json()["items"]
    ids = [i["id"] for i in found]
    assert public["id"] in ids
    assert internal["id"] in ids
    assert draft["id"] not in ids
    assert found[0]["passage"]

    suggested = api.call("GET", "/api/v1/kb/public/suggest", None, params={"q": "my vpn keeps dropping"})
    assert suggested.status_code == 200
    items = suggested.json()["items"]
    assert items[0]["id"] == public["id"]
    assert {i["visibility"] for i in items} == {"public"}
    assert "tunnel" in items[0]["passage"].lower() or "vpn" in items[0]["passage"].lower()
    assert api.call("GET", "/api/v1/kb/public/suggest", None).json() == {"items": []}

    read = api.call("GET", f"/api/v1/kb/public/articles/{public['id']}", None)
    assert read.json()["views"] == 1
    assert api.call("GET", f"/api/v1/kb/public/articles/{internal['id']}", None).status_code == 404
    solved = api.call("POST", f"/api/v1/kb/public/articles/{public['id']}/solved", None,
                      json={"query": "my vpn keeps dropping"})
    assert solved.json()["helpful"] == 1
    assert api.call("POST", f"/api/v1/kb/public/articles/{internal['id']}/solved", None, json={}).status_code == 404


def test_a_ticket_gets_articles_and_similar_resolved_tickets(api: Api, desk: TriageDesk) -> None:
    article = _published(api, title="Wifi drops in meeting rooms", problem="The wifi in meeting rooms drops.",
                         solution="Connect to the 5 GHz network 'corp-5'.", keywords=["wifi"])
    solved = desk.create("Wifi drops in meeting room 3", "The wifi in meeting room 3 drops all the time.")
    desk.resolve(solved["id"], "We replaced the access point in room 3.")
    ticket = desk.create("Wifi keeps dropping in the meeting room", "In the big meeting room the wifi drops.")
    answer = api.call("GET", f"/api/v1/tickets/{ticket['id']}/recommendations", "alex")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["articles"][0]["id"] == article["id"]
    assert body["articles"][0]["score"] > 0
    assert [t["number"] for t in body["tickets"]] == [solved["number"]]
    assert body["tickets"][0]["passage"] == "We replaced the access point in room 3."
    suggestion = api.call("POST", f"/api/v1/tickets/{ticket['id']}/ai/reply", "alex").json()
    assert {c["kind"] for c in suggestion["retrieved"]} == {"article", "ticket"}


def test_translations_by_hand_and_the_refusal_without_a_translator(api: Api) -> None:
    article = _published(api, title="Password reset", problem="I forgot my password.",
                         solution="Use the reset link on the sign-in page.", category="access")
    path = f"{ARTICLES}/{article['id']}/translations"
    refused = api.call("POST", path, "alex", json={"language": "de"})
    assert refused.status_code == 422
    assert "llm provider" in refused.json()["detail"]
    made = api.call("POST", path, "alex", json={"language": "de", "title": "Passwort zurücksetzen",
                                                "problem": "Ich habe mein Passwort vergessen.",
                                                "solution": "Den Link auf der Anmeldeseite verwenden."})
    assert made.status_code == 201
    assert made.json()["translation_of_id"] == article["id"]
    again = api.call("POST", path, "alex", json={"language": "de", "title": "t", "problem": "p", "solution": "s"})
    assert again.status_code == 409
    # Readers get their language once the translation is published, the original until then.
    reader = f"/api/v1/kb/public/articles/{article['id']}"
    assert api.call("GET", reader, None, params={"language": "de"}).json()["id"] == article["id"]
    api.call("POST", f"{ARTICLES}/{made.json()['id']}/publish", "alex", json={"version": 1})
    german = api.call("GET", reader, None, params={"language": "de"}).json()
    assert (german["id"], german["title"]) == (made.json()["id"], "Passwort zurücksetzen")
    assert api.call("GET", f"{ARTICLES}/{article['id']}", "alex", params={"language": "de"}).json()["id"] == \
        made.json()["id"]


def test_the_public_routes_are_rate_limited(api: Api) -> None:
    answers = [api.call("GET", "/api/v1/kb/public/suggest", None, params={"q": "vpn"}).status_code
               for _ in range(70)]
    assert 429 in answers
    assert answers[0] == 200
