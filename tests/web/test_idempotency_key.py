"""The typed create with an Idempotency-Key, on SQLite and PostgreSQL: the same key from the same caller makes one
ticket, a failed request is tried again, a key reused for another request is a conflict."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from tests.intake.intake_http import count, intake_api, intake_desk, rows
from tests.tickets.service_fixtures import SeededDesk
from tests.web.api_client import Api

CREATE = "/api/v1/types/it_support/tickets"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> SeededDesk:
    return intake_desk(tmp_path_factory.mktemp("idempotency"), module_database_url)


@pytest.fixture(scope="module")
def api(desk: SeededDesk) -> Iterator[Api]:
    with intake_api(desk) as api:
        yield api


def key() -> str:
    return f"key-{uuid.uuid4().hex}"


def create(api: Api, body: dict[str, Any], idempotency_key: str | None, username: str = "alex",
           path: str = CREATE) -> Any:
    headers = {"Authorization": f"Bearer {api.token(username)}"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    return api.client.post(path, json=body, headers=headers)


def test_the_same_idempotency_key_returns_the_first_ticket(api: Api, desk: SeededDesk) -> None:
    sent, same = {"title": "VPN drops", "users_affected": 2}, key()
    tickets = count(desk, "tickets")
    first = create(api, sent, same)
    again = create(api, sent, same)
    assert (first.status_code, again.status_code) == (201, 201)
    assert (again.json()["id"], again.json()["number"]) == (first.json()["id"], first.json()["number"])
    assert count(desk, "tickets") == tickets + 1
    stored = rows(desk, "intake_messages", channel="api", external_id=same)
    assert [(m["state"], m["ticket_id"]) for m in stored] == [("processed", first.json()["id"])]


def test_a_key_is_the_callers_own_and_without_one_every_request_creates(api: Api, desk: SeededDesk) -> None:
    sent, same = {"title": "Printer offline"}, key()
    tickets = count(desk, "tickets")
    by_alex = create(api, sent, same)
    by_bea = create(api, sent, same, "bea")
    plain = [create(api, sent, None).json()["id"] for _ in range(2)]
    assert by_alex.json()["id"] != by_bea.json()["id"]
    assert len(set(plain)) == 2
    assert count(desk, "tickets") == tickets + 4


def test_a_key_sent_again_with_another_request_is_a_conflict(api: Api, desk: SeededDesk) -> None:
    same = key()
    create(api, {"title": "First"}, same)
    tickets = count(desk, "tickets")
    other = create(api, {"title": "Second"}, same)
    elsewhere = create(api, {"title": "First", "request_kind": "access"}, same,
                       path="/api/v1/types/admin_request/tickets")
    assert (other.status_code, elsewhere.status_code) == (409, 409)
    assert "different request" in other.json()["detail"]
    assert count(desk, "tickets") == tickets


def test_a_failed_request_is_tried_again_with_its_key(api: Api, desk: SeededDesk) -> None:
    same, location = key(), 880 + count(desk, "ref_locations")
    sent = {"title": "At the new site", "location": location}  # a location the desk does not have yet
    for _ in range(2):
        failed = create(api, sent, same)
        assert failed.status_code == 422
        assert failed.json()["errors"][0]["field"] == "location"
    stored = rows(desk, "intake_messages", channel="api", external_id=same)
    assert [m["state"] for m in stored] == ["quarantined"]
    assert "location" in stored[0]["error"]
    with desk.engine.begin() as connection:
        connection.execute(sa.insert(desk.compiled.table("ref_locations")).values(
            id=location, code=f"S-{location}", name="New site", active=True, created_at=sa.func.now(),
            updated_at=sa.func.now()))
    made = create(api, sent, same)
    assert made.status_code == 201, made.text
    stored = rows(desk, "intake_messages", channel="api", external_id=same)
    assert [(m["state"], m["ticket_id"], m["error"]) for m in stored] == [("processed", made.json()["id"], None)]


def test_an_empty_or_overlong_key_is_refused(api: Api) -> None:
    for bad in ("", "k" * 201):
        response = create(api, {"title": "x"}, bad)
        assert response.status_code == 422, bad
        assert [e["field"] for e in response.json()["errors"]] == ["idempotency_key"], response.text


def test_a_key_whose_request_died_midway_is_taken_over_by_the_next_request(api: Api, desk: SeededDesk) -> None:
    from runtime.intake.api_flow import IN_FLIGHT

    same = key()
    alex = rows(desk, "agents", username="alex")[0]["id"]
    # What a request leaves when its process is killed after reserving the key and before making the ticket.
    with desk.engine.begin() as connection:
        connection.execute(sa.insert(desk.compiled.table("intake_messages")).values(
            channel="api", source=f"agent:{alex}", external_id=same, raw=b'{"title": "Dock is dead"}',
            metadata={"type": "it_support"}, state="quarantined", error=IN_FLIGHT, received_at=sa.func.now()))
    made = create(api, {"title": "Dock is dead"}, same)
    assert made.status_code == 201, made.text
    stored = rows(desk, "intake_messages", channel="api", external_id=same)
    assert [(m["state"], m["ticket_id"]) for m in stored] == [("processed", made.json()["id"])]
    assert create(api, {"title": "Dock is dead"}, same).json()["id"] == made.json()["id"]
