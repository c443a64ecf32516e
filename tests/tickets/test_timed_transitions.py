"""Timed transitions from YAML: resolved tickets close after three days unless the requester replied."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from runtime.tickets.timed import run_timed_transitions
from tests.tickets.service_fixtures import SeededDesk, seeded_desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    return seeded_desk(tmp_path, database_url)


def resolved_ticket(desk: SeededDesk, requester: str | None = None) -> int:
    alex = desk.agent("alex")
    payload: dict[str, object] = {"title": "Resolved soon"}
    if requester:
        payload["requester_id"] = desk.id_of("contacts", "email", requester)
    ticket = desk.service.create(alex, "it_support", payload)
    ticket = desk.service.transition(alex, int(ticket["id"]), "assign", 1, {"assignee_id": alex.id})
    ticket = desk.service.transition(alex, int(ticket["id"]), "resolve", ticket["version"])
    return int(ticket["id"])


def test_resolved_tickets_close_after_three_days_once(desk: SeededDesk) -> None:
    ticket_id = resolved_ticket(desk)
    now = dt.datetime.now(dt.UTC)
    assert run_timed_transitions(desk.compiled, desk.engine, now + dt.timedelta(days=2, hours=23)) == 0
    # The demo's resolved complaint CC-000001 closes in the same sweep.
    assert run_timed_transitions(desk.compiled, desk.engine, now + dt.timedelta(days=3, minutes=1)) == 2
    ticket = desk.service.get(desk.agent("alex"), ticket_id)
    assert (ticket["status"], ticket["status_category"]) == ("closed", "closed")
    assert run_timed_transitions(desk.compiled, desk.engine, now + dt.timedelta(days=9)) == 0
    actions = [e["action"] for e in desk.service.list_events(desk.agent("alex"), ticket_id)]
    assert actions[-1] == "transition:auto_close"


def test_a_requester_reply_cancels_the_automatic_close(desk: SeededDesk) -> None:
    email = "maria.lopez@northwind.example.org"
    ticket_id = resolved_ticket(desk, requester=email)
    desk.service.comment(desk.contact(email), ticket_id, "It is still broken")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=4)
    assert run_timed_transitions(desk.compiled, desk.engine, later) == 1  # only the demo's CC-000001
    # Not closed: the reply reopened it (the workflow's reopen runs on: [requester_reply]).
    assert desk.service.get(desk.agent("alex"), ticket_id)["status"] == "in_progress"


def test_agents_cannot_run_the_system_transition_by_hand(desk: SeededDesk) -> None:
    ticket_id = resolved_ticket(desk)
    alex = desk.agent("alex")
    names = [t["name"] for t in desk.service.available_transitions(alex, ticket_id)]
    assert "auto_close" not in names
    assert "close" in names
