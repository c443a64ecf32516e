"""Transitions the workflow runs on a requester's reply (on: [requester_reply]): a reply to a resolved or closed
ticket reopens it, one to a ticket waiting for the requester resumes it; as the system, audited, in the
comment's transaction; agents' replies and internal notes run nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.intake.mail_fixtures import IntakeDesk, intake_desk, mail
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

MARIA = "maria.lopez@northwind.example.org"


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    return seeded_desk(tmp_path, database_url)


def ticket_in(desk: SeededDesk, *transitions: str) -> int:
    alex = desk.agent("alex")
    ticket = desk.service.create(alex, "it_support", {"title": "Dock flickers",
                                                      "requester_id": desk.id_of("contacts", "email", MARIA)})
    ticket = desk.service.transition(alex, int(ticket["id"]), "assign", 1, {"assignee_id": alex.id})
    for name in transitions:
        ticket = desk.service.transition(alex, int(ticket["id"]), name, ticket["version"])
    return int(ticket["id"])


def status_and_last_event(desk: SeededDesk, ticket_id: int) -> tuple[str, str, str]:
    alex = desk.agent("alex")
    last = desk.service.list_events(alex, ticket_id)[-1]
    return desk.service.get(alex, ticket_id)["status"], last["action"], last["actor"]


def test_a_reply_to_a_resolved_ticket_reopens_it_as_the_system(desk: SeededDesk) -> None:
    ticket_id = ticket_in(desk, "start", "resolve")
    desk.service.comment(desk.contact(MARIA), ticket_id, "Still flickering, sorry.")
    assert status_and_last_event(desk, ticket_id) == ("in_progress", "transition:reopen", "system:system")
    assert desk.service.get(desk.agent("alex"), ticket_id)["resolved_at"] is None


def test_a_reply_to_a_closed_ticket_reopens_it_too(desk: SeededDesk) -> None:
    ticket_id = ticket_in(desk, "start", "resolve", "close")
    desk.service.comment(desk.contact(MARIA), ticket_id, "It came back.")
    assert status_and_last_event(desk, ticket_id)[:2] == ("in_progress", "transition:reopen")


def test_the_awaited_answer_resumes_a_waiting_ticket(desk: SeededDesk) -> None:
    ticket_id = ticket_in(desk, "start", "wait")
    desk.service.comment(desk.contact(MARIA), ticket_id, "Serial number is 4711.")
    assert status_and_last_event(desk, ticket_id)[:2] == ("in_progress", "transition:resume")


def test_replies_that_are_not_the_requesters_run_nothing(desk: SeededDesk) -> None:
    ticket_id = ticket_in(desk, "start", "resolve")
    alex = desk.agent("alex")
    desk.service.comment(alex, ticket_id, "Glad it works now.")
    desk.service.comment(alex, ticket_id, "Closing soon.", public=False)
    assert desk.service.get(alex, ticket_id)["status"] == "resolved"
    open_one = ticket_in(desk, "start")
    desk.service.comment(desk.contact(MARIA), open_one, "Any news?")  # no transition leaves in_progress on a reply
    assert status_and_last_event(desk, open_one)[:2] == ("in_progress", "public_reply")


def test_a_mailed_reply_reopens_the_ticket_it_threads_to(tmp_path: Path, database_url: str) -> None:
    intake: IntakeDesk = intake_desk(tmp_path, database_url)
    first = intake.deliver(mail(subject="Dock flickers", message_id="<dock-1@mail.example.net>"))
    assert first.ticket_id is not None
    desk, alex = intake.desk, intake.desk.agent("alex")
    ticket = desk.service.transition(alex, first.ticket_id, "assign", desk.service.get(alex, first.ticket_id)
                                     ["version"], {"assignee_id": alex.id})
    desk.service.transition(alex, first.ticket_id, "resolve", ticket["version"])
    reply = intake.deliver(mail(subject="Re: Dock flickers", in_reply_to="<dock-1@mail.example.net>",
                                body="It is back."))
    assert (reply.kind, reply.ticket_id) == ("comment", first.ticket_id)
    assert desk.service.get(alex, first.ticket_id)["status"] == "in_progress"
