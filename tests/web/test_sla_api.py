"""The SLA figures over HTTP (SQLite and PostgreSQL): per grouping and at risk, for agents only, over the tickets
the caller may see; a bad parameter is a 4xx problem, never a 500. The figures are those of
tests/sla/sla_history.py, checked by hand in tests/sla/test_metrics.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.auth.accounts import set_password
from runtime.tickets import service as service_module
from runtime.web import sla_api
from tests.sla.sla_history import HOUR, MARIA, NOW, Clockwork, berlin, script_history
from tests.web.api_client import Api, api_for

PASSWORD = "a long passphrase"
Scripted = tuple[Api, dict[str, dict[str, Any]]]


def empty() -> dict[str, Any]:
    return {"met": 0, "breached": 0, "compliance": None, "open": 0, "open_breached": 0, "cancelled": 0,
            "mean_seconds": None, "median_seconds": None}


@pytest.fixture(scope="module")
def scripted(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scripted]:
    with api_for(tmp_path_factory.mktemp("sla_api"), module_database_url) as api, \
            pytest.MonkeyPatch.context() as patch:
        clock = Clockwork()
        patch.setattr(service_module, "_now", clock.now)
        tickets = script_history(api.desk, clock)
        patch.setattr(sla_api, "_now", lambda: NOW)
        with api.desk.engine.begin() as connection:
            assert set_password(connection, api.desk.compiled, "contact", MARIA, PASSWORD)
        yield api, tickets


@pytest.fixture(scope="module")
def api(scripted: Scripted) -> Api:
    return scripted[0]


def test_figures_by_priority(api: Api) -> None:
    response = api.call("GET", "/api/v1/sla/metrics", params={"group_by": "priority"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["group_by"], body["since"], body["until"], body["computed_at"]) == (
        "priority", None, None, NOW.isoformat())
    p1, p2 = body["groups"]
    assert (p1["key"], p1["name"], p1["breaches"]) == ("P1", "P1", 3)
    assert p1["metrics"]["first_response"] == {
        "met": 2, "breached": 1, "compliance": pytest.approx(2 / 3), "open": 1, "open_breached": 1,
        "cancelled": 0, "mean_seconds": 2600, "median_seconds": 1800}
    assert p1["metrics"]["resolution"] == {
        "met": 2, "breached": 1, "compliance": pytest.approx(2 / 3), "open": 1, "open_breached": 0,
        "cancelled": 0, "mean_seconds": 15900, "median_seconds": 7200}
    assert p2 == {"key": "P2", "name": "P2", "breaches": 0, "metrics": {
        "first_response": {**empty(), "open": 1}, "next_response": empty(), "resolution": {**empty(), "open": 1}}}


def test_figures_by_agent_over_a_window(api: Api) -> None:
    response = api.call("GET", "/api/v1/sla/metrics", params={
        "group_by": "agent", "since": "2026-11-16", "until": "2026-11-17T00:00:00+01:00"})
    body = response.json()
    assert (body["since"], body["until"]) == ("2026-11-16T00:00:00+00:00", "2026-11-16T23:00:00+00:00")
    assert [(g["name"], g["metrics"]["first_response"]["met"], g["metrics"]["first_response"]["breached"])
            for g in body["groups"]] == [("alex", 2, 0), ("bea", 0, 1)]  # Tuesday's C and D are outside


def test_the_at_risk_list_is_soonest_due_first(scripted: Scripted) -> None:
    api, tickets = scripted
    response = api.call("GET", "/api/v1/sla/at-risk", params={"limit": 3})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [(i["number"], i["metric"], i["remaining_seconds"], i["overdue"]) for i in items] == [
        (tickets["D"]["number"], "first_response", -3 * HOUR, True),
        (tickets["C"]["number"], "first_response", HOUR, False),
        (tickets["D"]["number"], "resolution", 4 * HOUR, False)]
    assert items[0]["due_at"] == berlin(17, 9).isoformat()


def test_an_agent_of_another_team_gets_no_figures(api: Api) -> None:
    for group_by in ("policy", "type", "team", "agent", "priority"):
        response = api.call("GET", "/api/v1/sla/metrics", "chen", params={"group_by": group_by})
        assert (response.status_code, response.json()["groups"]) == (200, [])
    assert api.call("GET", "/api/v1/sla/at-risk", "chen").json()["items"] == []
    assert len(api.call("GET", "/api/v1/sla/at-risk", "alex").json()["items"]) == 4


def test_requesters_are_refused(api: Api) -> None:
    api.client.cookies.clear()
    signed_in = api.client.post("/api/v1/auth/login", json={"login": MARIA, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    try:
        for path in ("/api/v1/sla/metrics", "/api/v1/sla/at-risk"):
            response = api.client.get(path)
            assert response.status_code == 403, path
            assert response.json()["detail"] == "SLA figures are for agents"
    finally:
        api.client.cookies.clear()


def test_a_token_without_the_read_scope_is_refused(api: Api) -> None:
    response = api.call("GET", "/api/v1/sla/metrics", scopes=("people:read",))
    assert response.status_code == 403
    assert "tickets:read" in response.json()["detail"]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/sla/metrics", {"group_by": "status"}, "group_by"),
    ("/api/v1/sla/metrics", {"since": "yesterday"}, "since"),
    ("/api/v1/sla/metrics", {"until": "2026-11-31"}, "until"),
    ("/api/v1/sla/metrics", {"since": "2026-11-16\x00"}, "since"),
    ("/api/v1/sla/metrics", {"since": "0001-01-01T00:00:00+01:00"}, "since"),
    ("/api/v1/sla/metrics", {"since": "2026-11-17", "until": "2026-11-16"}, "until"),
    ("/api/v1/sla/at-risk", {"limit": "0"}, "limit"),
    ("/api/v1/sla/at-risk", {"limit": "201"}, "limit"),
    ("/api/v1/sla/at-risk", {"limit": "many"}, "limit"),
])
def test_a_bad_parameter_is_a_problem_naming_it(api: Api, path: str, params: dict[str, str], field: str) -> None:
    response = api.call("GET", path, params=params)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [error["field"] for error in response.json()["errors"]] == [field]
