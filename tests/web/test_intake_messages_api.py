"""The intake messages API on SQLite and PostgreSQL: who may read stored messages, filtering and paging them
without their bytes, and what may be retried."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from runtime.intake.claims import claims
from runtime.intake.pipeline import IntakePipeline
from runtime.intake.store import Inbound, IntakeStore
from tests.intake.intake_http import add_agent, intake_api, intake_desk
from tests.tickets.service_fixtures import SeededDesk
from tests.web.api_client import Api

MESSAGES = "/api/v1/intake/messages"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> SeededDesk:
    desk = intake_desk(tmp_path_factory.mktemp("intake-api"), module_database_url)
    add_agent(desk, "root", ["agent", "admin"])
    return desk


@pytest.fixture(scope="module")
def api(desk: SeededDesk) -> Iterator[Api]:
    with intake_api(desk) as api:
        yield api


def key() -> str:
    return f"key-{uuid.uuid4().hex}"


def test_supervisors_and_admins_page_through_messages_by_state_and_channel(api: Api, desk: SeededDesk) -> None:
    store = IntakeStore(desk.compiled, desk.engine)
    source = f"paging-{uuid.uuid4().hex[:6]}"
    ids = [s.id for s in store.store([Inbound("form", source, f"t-{i}", b'{"title": "x"}') for i in range(5)])]
    seen: list[int] = []
    cursor = None
    while True:
        query = f"{MESSAGES}?channel=form&state=received&limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", query, "root").json()
        seen += [m["id"] for m in page["items"] if m["source"] == source]
        assert all((m["channel"], m["state"]) == ("form", "received") for m in page["items"])
        assert all(len(page["items"]) <= 2 and "raw" not in m and "metadata" not in m for m in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert api.call("GET", f"{MESSAGES}?state=lost").status_code == 422
    assert api.call("GET", f"{MESSAGES}?cursor=abc").status_code == 422


def test_agents_without_the_roles_and_requesters_may_not_read_messages(api: Api, desk: SeededDesk) -> None:
    stored = IntakeStore(desk.compiled, desk.engine).store([Inbound("form", "roles", key(), b"{}")])[0]
    assert api.call("GET", MESSAGES, "bea").status_code == 403
    assert api.call("GET", f"{MESSAGES}/{stored.id}", "bea").status_code == 403
    assert api.call("GET", f"{MESSAGES}/{stored.id}/raw", "bea").status_code == 403
    assert api.call("GET", f"{MESSAGES}/{stored.id}", "alex").status_code == 200
    assert api.call("GET", f"{MESSAGES}/{10**12}", "alex").status_code == 404


def test_only_quarantined_messages_are_retried(api: Api, desk: SeededDesk) -> None:
    stored = IntakeStore(desk.compiled, desk.engine).store([Inbound("form", "it_support", key(), b"{}")])[0]
    response = api.call("POST", f"{MESSAGES}/{stored.id}/retry", "root")
    assert response.status_code == 409
    assert "is received, not quarantined" in response.json()["detail"]


def test_a_message_another_process_holds_is_left_to_it(api: Api, desk: SeededDesk) -> None:
    pipeline = IntakePipeline(desk.compiled, desk.engine)
    stored = pipeline.store.store([Inbound("form", "retired_form", key(), b'{"title": "x"}')])[0]
    assert pipeline.process(stored.id).kind == "quarantined"  # its type is not (or no longer) defined
    retry = f"{MESSAGES}/{stored.id}/retry"
    with claims(desk.engine) as held:
        assert held.claim(stored.id)
        busy = api.call("POST", retry, "root")
    assert busy.status_code == 409
    assert "being processed by another process" in busy.json()["detail"]
    again = api.call("POST", retry, "root")
    assert again.status_code == 200
    assert again.json()["state"] == "quarantined"
    assert "'retired_form' is no longer defined" in again.json()["reason"]
