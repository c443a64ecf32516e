"""``GET /api/v1/tickets?q=…``: full-text search through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.web.api_client import Api, api_for


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[Api]:
    with api_for(tmp_path_factory.mktemp("search_api"), module_database_url) as api:
        yield api


def new_ticket(api: Api, title: str, description: str = "") -> dict[str, Any]:
    team = api.desk.id_of("teams", "name", "service_desk")
    created = api.call("POST", "/api/v1/types/it_support/tickets",
                       json={"title": title, "description": description, "team_id": team})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def listed(api: Api, **params: Any) -> dict[str, Any]:
    response = api.call("GET", "/api/v1/tickets", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_search_by_prefix_and_by_a_comment_ranked_by_relevance(api: Api) -> None:
    in_title = new_ticket(api, "Kettlebell scanner jammed")
    in_comment = new_ticket(api, "Scanner jammed")
    reply = api.call("POST", f"/api/v1/tickets/{in_comment['id']}/comments", json={"body": "A kettlebell fell on it."})
    assert reply.status_code == 201, reply.text
    newest_first = listed(api, q="kettleb")
    assert [t["number"] for t in newest_first["items"]] == [in_comment["number"], in_title["number"]]
    assert newest_first["total"] == 2
    best_first = listed(api, q="kettleb", sort="relevance")
    assert [t["number"] for t in best_first["items"]] == [in_title["number"], in_comment["number"]]


def test_relevance_pages_follow_the_cursor(api: Api) -> None:
    numbers = {new_ticket(api, f"Quasar {index}", "quasar " * index)["number"] for index in range(5)}
    seen: list[str] = []
    params: dict[str, Any] = {"q": "quasar", "sort": "relevance", "limit": 2}
    for _ in range(5):
        page = listed(api, **params)
        seen += [t["number"] for t in page["items"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert sorted(seen) == sorted(numbers)
    assert len(seen) == len(set(seen))


HOSTILE = ['"', "'", "(", "a) OR (b", "NEAR(x y)", "x AND", "OR", "NOT", "*", "a*", "-", "-x", "x:*", "!x",
           "x & y", "x | y", "x <-> y", "\\", "%", "%25", "_", "' OR 1=1 --", "🙂", "\u0301", "z" * 2000,
           "w " * 1000, "", " ", "{title}: x", "^x", "x\ty"]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_search_text_never_fails_the_server(api: Api, text: str) -> None:
    for sort in ("-created_at", "relevance"):
        response = api.call("GET", "/api/v1/tickets", params={"q": text, "sort": sort})
        assert response.status_code in (200, 400, 422), response.text
        if response.status_code != 200:
            assert response.headers["content-type"].startswith("application/problem+json")


def test_a_nul_character_in_the_search_is_refused_naming_q(api: Api) -> None:
    response = api.call("GET", "/api/v1/tickets", params={"q": "printer\x00"})
    assert response.status_code == 422, response.text
    assert "q" in response.text


def test_relevance_without_a_search_is_refused(api: Api) -> None:
    response = api.call("GET", "/api/v1/tickets", params={"sort": "relevance"})
    assert response.status_code == 422, response.text
    assert "sort" in response.text
