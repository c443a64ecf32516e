"""The ticket service on SQLite and PostgreSQL: typed writes, audit, versions, workflow, comments."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.tickets.errors import Forbidden, InvalidTicket, StaleVersion, TicketNotFound, TransitionRefused
from tests.tickets.service_fixtures import SeededDesk, seeded_desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    return seeded_desk(tmp_path, database_url)


def new_it_ticket(desk: SeededDesk, **fields: object) -> dict[str, Any]:
    alex = desk.agent("alex")
    payload = {"title": "Printer jams", "asset_number": "LT-004711", "operating_system": "linux",
               "team_id": desk.id_of("teams", "name", "service_desk"), **fields}
    return desk.service.create(alex, "it_support", payload)


def events(desk: SeededDesk, ticket_id: int) -> list[tuple[str, str | None]]:
    table = desk.compiled.table("ticket_events")
    with desk.engine.connect() as connection:
        rows = connection.execute(sa.select(table.c.action, table.c.field).where(table.c.ticket_id == ticket_id)
                                  .order_by(table.c.id))
        return [tuple(r) for r in rows]


def test_create_stores_master_and_extension_fields_as_one_ticket(desk: SeededDesk) -> None:
    created = new_it_ticket(desk, software=["CUPS"], users_affected=3)
    assert created["number"] == "IT-000003"  # the demo seeded two IT tickets
    ticket = desk.service.get(desk.agent("alex"), int(created["id"]))
    assert (ticket["status"], ticket["status_category"], ticket["priority"]) == ("new", "open", "P2")
    assert (ticket["asset_number"], ticket["software"], ticket["users_affected"]) == ("LT-004711", ["CUPS"], 3)
    assert ticket["impact"] == "single_user"  # a master field's default
    assert ("create", "asset_number") in events(desk, ticket["id"])


def test_invalid_fields_are_all_reported_with_reasons(desk: SeededDesk) -> None:
    with pytest.raises(InvalidTicket) as caught:
        desk.service.create(desk.agent("chen"), "customer_complaint",
                            {"title": "", "complaint_level": "level_9", "order_number": "x", "colour": "red"})
    fields = sorted(e["field"] for e in caught.value.errors)
    assert fields == ["colour", "complaint_level", "order_number", "title"]


def test_a_relation_to_nothing_is_refused_naming_the_field(desk: SeededDesk) -> None:
    with pytest.raises(InvalidTicket) as caught:
        desk.service.create(desk.agent("bea"), "equipment_maintenance", {"title": "Leak", "equipment": 999})
    assert caught.value.errors == [{"field": "equipment", "reason": "no ref_assets record with id 999"}]


def test_update_audits_each_changed_field_and_bumps_the_version(desk: SeededDesk) -> None:
    ticket = new_it_ticket(desk)
    updated = desk.service.update(desk.agent("alex"), int(ticket["id"]),
                                  {"version": 1, "priority": "P1", "os_version": "24.04", "asset_number": "LT-004711"})
    assert updated["version"] == 2
    assert [e for e in events(desk, updated["id"]) if e[0] == "update"] == [("update", "priority"),
                                                                           ("update", "os_version")]


def test_a_stale_version_gets_a_conflict_not_a_lost_update(desk: SeededDesk) -> None:
    ticket = new_it_ticket(desk)
    alex = desk.agent("alex")
    desk.service.update(alex, int(ticket["id"]), {"version": 1, "priority": "P1"})
    with pytest.raises(StaleVersion, match="is at version 2, not 1"):
        desk.service.update(alex, int(ticket["id"]), {"version": 1, "priority": "P3"})
    assert desk.service.get(alex, int(ticket["id"]))["priority"] == "P1"


def test_workflow_guards_explain_refusals_and_timestamps_follow_the_state(desk: SeededDesk) -> None:
    alex = desk.agent("alex")
    ticket_id = int(new_it_ticket(desk)["id"])
    with pytest.raises(TransitionRefused, match="field 'assignee_id' must be set"):
        desk.service.transition(alex, ticket_id, "start", 1)
    with pytest.raises(TransitionRefused, match="does not leave state 'new'"):
        desk.service.transition(alex, ticket_id, "close", 1)
    ticket = desk.service.transition(alex, ticket_id, "assign", 1, {"assignee_id": alex.id})
    ticket = desk.service.transition(alex, ticket_id, "start", ticket["version"])
    ticket = desk.service.transition(alex, ticket_id, "resolve", ticket["version"])
    assert ticket["status_category"] == "resolved"
    assert ticket["resolved_at"] is not None
    ticket = desk.service.transition(alex, ticket_id, "close", ticket["version"])
    assert ticket["closed_at"] is not None
    ticket = desk.service.transition(alex, ticket_id, "reopen", ticket["version"])
    assert (ticket["status"], ticket["resolved_at"], ticket["closed_at"]) == ("in_progress", None, None)


def test_role_restricted_transition(desk: SeededDesk) -> None:
    ticket = desk.service.create(desk.agent("bea"), "equipment_maintenance", {"title": "Noise", "equipment": 1})
    with pytest.raises(TransitionRefused, match="needs one of the roles admin, supervisor"):
        desk.service.transition(desk.agent("bea"), int(ticket["id"]), "cancel", 1)
    cancelled = desk.service.transition(desk.agent("alex"), int(ticket["id"]), "cancel", 1)
    assert cancelled["status_category"] == "closed"


def test_first_public_agent_reply_sets_first_response_and_notes_do_not(desk: SeededDesk) -> None:
    alex = desk.agent("alex")
    ticket_id = int(new_it_ticket(desk)["id"])
    desk.service.comment(alex, ticket_id, "Checking the logs", public=False)
    assert desk.service.get(alex, ticket_id)["first_response_at"] is None
    desk.service.comment(alex, ticket_id, "We are on it")
    assert desk.service.get(alex, ticket_id)["first_response_at"] is not None


def test_requester_sees_own_tickets_and_public_comments_only(desk: SeededDesk) -> None:
    maria = desk.contact("maria.lopez@northwind.example.org")
    aiko = desk.contact("aiko.tanaka@example.org")
    mine = desk.service.create(maria, "it_support", {"title": "Mouse broken"})
    ticket_id = int(mine["id"])
    assert mine["requester_id"] == maria.id
    assert "assignee_id" not in mine
    alex = desk.agent("alex")
    desk.service.comment(alex, ticket_id, "internal: replace it", public=False)
    desk.service.comment(alex, ticket_id, "A new mouse is on its way")
    assert [c["body"] for c in desk.service.list_comments(maria, ticket_id)] == ["A new mouse is on its way"]
    with pytest.raises(TicketNotFound):
        desk.service.get(aiko, ticket_id)
    with pytest.raises(Forbidden):
        desk.service.update(maria, ticket_id, {"version": 1, "title": "x"})
    with pytest.raises(Forbidden):
        desk.service.list_events(maria, ticket_id)


def test_agents_see_their_teams_and_the_unrouted_queue(desk: SeededDesk) -> None:
    it_ticket = int(new_it_ticket(desk)["id"])
    with pytest.raises(TicketNotFound):
        desk.service.get(desk.agent("bea"), it_ticket)  # service desk team, bea is field service
    unrouted = desk.service.create(desk.agent("alex"), "it_support", {"title": "Who takes this?"})
    assert desk.service.get(desk.agent("bea"), int(unrouted["id"]))["title"] == "Who takes this?"


def test_a_required_field_cannot_be_emptied_by_an_update(desk: SeededDesk) -> None:
    bea = desk.agent("bea")
    ticket = desk.service.create(bea, "equipment_maintenance", {"title": "Belt", "equipment": 1})
    with pytest.raises(InvalidTicket) as caught:
        desk.service.update(bea, int(ticket["id"]), {"version": 1, "equipment": None})
    assert caught.value.errors == [{"field": "equipment", "reason": "required: it cannot be emptied"}]
