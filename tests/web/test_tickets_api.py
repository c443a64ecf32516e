"""The ticket API end to end on SQLite and PostgreSQL: every shipped type, errors as problem details."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.web.api_client import Api, api_for

PAYLOADS: dict[str, dict[str, Any]] = {
    "it_support": {"title": "VPN drops", "operating_system": "macos", "software": ["GlobalProtect"],
                   "asset_number": "LT-004711", "users_affected": 2},
    "equipment_maintenance": {"title": "Line 2 stops", "equipment": 1, "fault_code": "PK-104",
                              "labour_cost": "120.50", "scheduled_for": "2026-12-01T08:00:00+01:00",
                              "downtime": 5400, "spare_parts": ["belt"]},
    "customer_complaint": {"title": "Broken glass", "complaint_level": "level_2", "compensation_amount": 12.5,
                           "customer_email": "jonas.weber@contoso.example.org", "order_date": "2026-11-02",
                           "order_snapshot": {"lines": 5}},
    "admin_request": {"title": "ERP access", "request_kind": "access", "systems": ["erp", "vpn"],
                      "needed_by": "2026-12-07", "cost_centre": "4100", "estimated_cost": "0.00"},
}


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    with api_for(tmp_path, database_url) as api:
        yield api


@pytest.mark.parametrize("type_name", sorted(PAYLOADS))
def test_typed_create_read_update_for_every_shipped_type(api: Api, type_name: str) -> None:
    created = api.call("POST", f"/api/v1/types/{type_name}/tickets", json=PAYLOADS[type_name])
    assert created.status_code == 201, created.text
    ticket = created.json()
    for name, value in PAYLOADS[type_name].items():
        if name not in ("labour_cost", "compensation_amount", "scheduled_for", "estimated_cost"):
            assert ticket[name] == value, name
    read = api.call("GET", f"/api/v1/types/{type_name}/tickets/{ticket['id']}").json()
    assert read["number"] == ticket["number"]
    patched = api.call("PATCH", f"/api/v1/types/{type_name}/tickets/{ticket['id']}",
                       json={"version": 1, "priority": "P1", "tags": ["api"]})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["priority"], patched.json()["version"], patched.json()["tags"]) == ("P1", 2, ["api"])


def test_decimals_and_times_come_back_exactly(api: Api) -> None:
    ticket = api.call("POST", "/api/v1/types/equipment_maintenance/tickets",
                      json=PAYLOADS["equipment_maintenance"]).json()
    assert ticket["labour_cost"] == "120.50"
    again = api.call("GET", f"/api/v1/tickets/{ticket['id']}").json()
    assert again["scheduled_for"] == "2026-12-01T07:00:00+00:00"
    assert again["labour_cost"] == "120.50"


def test_invalid_body_is_a_422_problem_naming_each_field(api: Api) -> None:
    response = api.call("POST", "/api/v1/types/customer_complaint/tickets",
                        json={"title": "x", "complaint_level": "level_9", "order_number": "??"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 422
    assert sorted(e["field"] for e in body["errors"]) == ["complaint_level", "order_number"]


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b'{"title": 5}', b""])
def test_malformed_bodies_are_4xx_problems(api: Api, content: bytes) -> None:
    response = api.client.post("/api/v1/types/it_support/tickets", content=content,
                               headers={"Content-Type": "application/json",
                                        "Authorization": f"Bearer {api.token('alex')}"})
    assert 400 <= response.status_code < 500
    assert response.json()["status"] == response.status_code


def test_missing_bad_and_underscoped_tokens(api: Api) -> None:
    assert api.call("GET", "/api/v1/tickets", username=None).status_code == 401
    bad = api.client.get("/api/v1/tickets", headers={"Authorization": "Bearer tsr_nope"})
    assert bad.status_code == 401
    assert bad.json()["title"] == "Not authenticated"
    read_only = ("tickets:read",)
    assert api.call("GET", "/api/v1/tickets", scopes=read_only).status_code == 200
    refused = api.call("POST", "/api/v1/types/it_support/tickets", scopes=read_only, json={"title": "x"})
    assert refused.status_code == 403
    assert "tickets:write" in refused.json()["detail"]


def test_stale_version_is_409(api: Api) -> None:
    ticket = api.call("POST", "/api/v1/types/it_support/tickets", json={"title": "Race"}).json()
    path = f"/api/v1/types/it_support/tickets/{ticket['id']}"
    assert api.call("PATCH", path, json={"version": 1, "priority": "P0"}).status_code == 200
    conflict = api.call("PATCH", path, json={"version": 1, "priority": "P3"})
    assert conflict.status_code == 409
    assert "is at version 2, not 1" in conflict.json()["detail"]


def test_transitions_comments_and_events(api: Api) -> None:
    ticket = api.call("POST", "/api/v1/types/it_support/tickets", json={"title": "Screen flickers"}).json()
    base = f"/api/v1/tickets/{ticket['id']}"
    assert [t["name"] for t in api.call("GET", f"{base}/transitions").json()] == ["cancel"]
    refused = api.call("POST", f"{base}/transitions/start", json={"version": 1})
    assert refused.status_code == 409
    assert "field 'assignee_id' must be set" in refused.json()["detail"]
    alex_id = api.desk.id_of("agents", "username", "alex")
    moved = api.call("POST", f"{base}/transitions/assign", json={"version": 1, "fields": {"assignee_id": alex_id}})
    assert moved.status_code == 200, moved.text
    assert moved.json()["status"] == "assigned"
    reply = api.call("POST", f"{base}/comments", json={"body": "Looking into it"})
    assert reply.status_code == 201
    assert [c["body"] for c in api.call("GET", f"{base}/comments").json()] == ["Looking into it"]
    actions = [e["action"] for e in api.call("GET", f"{base}/events").json()]
    assert actions[0] == "create"
    assert "transition:assign" in actions
    assert "first_response" in actions


def test_list_filters_pages_and_hides_other_teams(api: Api) -> None:
    for index in range(5):
        api.call("POST", "/api/v1/types/it_support/tickets", json={"title": f"Batch {index}", "tags": ["batch"]})
    first = api.call("GET", "/api/v1/tickets", params={"tag": "batch", "limit": 3, "sort": "created_at"}).json()
    assert first["total"] == 5
    second = api.call("GET", "/api/v1/tickets", params={"tag": "batch", "limit": 3, "sort": "created_at",
                                                        "cursor": first["next_cursor"]}).json()
    titles = [t["title"] for t in first["items"] + second["items"]]
    assert titles == [f"Batch {i}" for i in range(5)]
    assert second["next_cursor"] is None
    assert api.call("GET", "/api/v1/tickets", params={"impact": "site"}).json()["total"] == 0
    bad = api.call("GET", "/api/v1/tickets", params={"sort": "title"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "sort"
    service_desk = api.call("POST", "/api/v1/types/it_support/tickets",
                            json={"title": "Team only", "team_id": api.desk.id_of("teams", "name", "service_desk")})
    hidden = api.call("GET", f"/api/v1/tickets/{service_desk.json()['id']}", username="bea")
    assert hidden.status_code == 404


def test_unknown_routes_and_types_are_404_problems(api: Api) -> None:
    assert api.call("GET", "/api/v1/types/nope/tickets/1").status_code == 404
    missing = api.call("GET", "/api/v1/tickets/999999")
    assert missing.status_code == 404
    assert missing.json()["title"] == "Not found"
