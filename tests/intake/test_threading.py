"""Threading on SQLite and PostgreSQL: replies find their ticket by header, or by number from a participant only."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.tickets.relations import TicketRelations
from tests.intake.mail_fixtures import JONAS, MARIA, IntakeDesk, intake_desk, mail, message_id_of

STRANGER = "someone.else@example.net"


@pytest.fixture
def intake(tmp_path: Path, database_url: str) -> IntakeDesk:
    return intake_desk(tmp_path, database_url)


def opened(intake: IntakeDesk, **fields: object) -> tuple[int, str, bytes]:
    """A ticket opened by mail: its id, number and the mail that opened it."""
    raw = mail(**fields)  # type: ignore[arg-type]
    outcome = intake.deliver(raw)
    assert outcome.kind == "ticket", outcome
    assert outcome.ticket_id is not None
    return outcome.ticket_id, intake.ticket(outcome.ticket_id)["number"], raw


def test_new_mail_opens_a_ticket_of_the_mailbox_type_and_team_as_its_sender(intake: IntakeDesk) -> None:
    ticket_id, number, raw = opened(intake, to="Customer care <care@example.org>", subject="Order arrived broken",
                                    body="Two glasses were broken.\n\n-- \nMaria")
    ticket = intake.ticket(ticket_id)
    assert number.startswith("CC-")
    assert (ticket["type"], ticket["source"]) == ("customer_complaint", "email")
    assert (ticket["source_name"], ticket["external_ref"]) == ("care", message_id_of(raw))
    assert ticket["title"] == "Order arrived broken"
    assert ticket["requester_id"] == intake.desk.id_of("contacts", "email", MARIA)
    assert ticket["team_id"] == intake.desk.id_of("teams", "name", "customer_care")
    assert ticket["description"] == "Two glasses were broken.\n\n-- \nMaria"  # a new ticket keeps the whole text
    events = intake.rows("ticket_events", ticket_id=ticket_id)
    assert {(e["action"], e["actor"], e["channel"]) for e in events} >= {
        ("create", f"contact:{MARIA}", "email"), ("update", "system:system", "email")}


def test_mail_to_an_address_without_a_mailbox_goes_to_the_default_mailbox(intake: IntakeDesk) -> None:
    ticket_id, number, _ = opened(intake, to="maintenance@example.org")
    assert number.startswith("IT-")
    assert intake.ticket(ticket_id)["team_id"] == intake.desk.id_of("teams", "name", "service_desk")


def test_reply_by_in_reply_to_becomes_a_comment_without_the_quoted_history(intake: IntakeDesk) -> None:
    ticket_id, _, first = opened(intake)
    reply = mail(subject="Re: Printer jams", in_reply_to=message_id_of(first),
                 body="It also jams on floor 3.\n\nOn Mon, 2 Mar 2026 at 09:00, Maria <m@x.org> wrote:\n> old text\n")
    outcome = intake.deliver(reply)
    assert (outcome.kind, outcome.ticket_id) == ("comment", ticket_id)
    comments = intake.rows("comments", ticket_id=ticket_id)
    assert [(c["body"], c["direction"], c["channel"], c["public"]) for c in comments] == [
        ("It also jams on floor 3.", "inbound", "email", True)]
    assert comments[0]["message_id"] == message_id_of(reply)
    assert comments[0]["author_contact_id"] == intake.desk.id_of("contacts", "email", MARIA)


def test_reply_to_a_reply_threads_through_the_comment_message_id(intake: IntakeDesk) -> None:
    ticket_id, _, first = opened(intake)
    second = mail(subject="Re: Printer jams", in_reply_to=message_id_of(first), body="Second note")
    intake.deliver(second)
    third = mail(subject="Re: Printer jams", in_reply_to=message_id_of(second),
                 references=f"{message_id_of(first)} {message_id_of(second)}", body="Third note")
    assert (intake.deliver(third).kind, [c["body"] for c in intake.rows("comments", ticket_id=ticket_id)]) == (
        "comment", ["Second note", "Third note"])


def test_reply_to_our_own_outgoing_message_id_threads_by_references(intake: IntakeDesk) -> None:
    ticket_id, _, _ = opened(intake)
    ours = "<notice-1@desk.example.org>"
    agent_reply = intake.desk.service.comment(intake.desk.agent("alex"), ticket_id, "Which printer model?")
    comments = intake.desk.compiled.table("comments")
    with intake.desk.engine.begin() as connection:  # as the outgoing mail of that reply will record it
        connection.execute(sa.update(comments).where(comments.c.id == agent_reply["id"]).values(message_id=ours))
    answer = mail(subject="Re: your ticket", references=f"<unknown@elsewhere> {ours}", body="An HP LaserJet.")
    assert (intake.deliver(answer).kind, intake.rows("comments", ticket_id=ticket_id)[-1]["body"]) == (
        "comment", "An HP LaserJet.")


def test_subject_reference_from_the_requester_becomes_a_comment(intake: IntakeDesk) -> None:
    ticket_id, number, _ = opened(intake)
    outcome = intake.deliver(mail(subject=f"More about [{number}]", body="Now it smokes."))
    assert (outcome.kind, outcome.ticket_id) == ("comment", ticket_id)


def test_subject_reference_from_a_contact_who_wrote_on_the_ticket_becomes_a_comment(intake: IntakeDesk) -> None:
    ticket_id, number, _ = opened(intake)
    colleague = "carla.diaz@northwind.example.org"
    intake.deliver(mail(sender=colleague, subject="Hello", body="First mail, so that I am a contact."))
    contacts = intake.desk.compiled.table("contacts")
    with intake.desk.engine.begin() as connection:  # Maria's colleague may see the organization's tickets
        connection.execute(sa.update(contacts).where(contacts.c.email == colleague)
                           .values(sees_organization_tickets=True))
    intake.desk.service.comment(intake.desk.contact(colleague), ticket_id, "Same here on floor 4.")
    outcome = intake.deliver(mail(sender=colleague, subject=f"Re: [{number}] Printer jams", body="Fixed for me."))
    assert (outcome.kind, outcome.ticket_id) == ("comment", ticket_id)


def test_reply_with_ticket_reference_from_another_sender_opens_new_ticket(intake: IntakeDesk) -> None:
    ticket_id, number, _ = opened(intake)
    outcome = intake.deliver(mail(sender=STRANGER, subject=f"Re: [{number}] Printer jams", body="Me too!"))
    assert outcome.kind == "ticket"
    assert outcome.ticket_id != ticket_id
    assert intake.rows("comments", ticket_id=ticket_id) == []
    links = TicketRelations(intake.desk.compiled, intake.desk.engine).list(intake.desk.agent("alex"), ticket_id)
    assert links == [{"other_id": outcome.ticket_id, "relation": "related"}]
    assert intake.ticket(outcome.ticket_id or 0)["requester_id"] == intake.desk.id_of("contacts", "email", STRANGER)


def test_header_reply_from_a_sender_who_may_not_see_the_ticket_opens_a_related_ticket(intake: IntakeDesk) -> None:
    ticket_id, _, first = opened(intake)
    outcome = intake.deliver(mail(sender=JONAS, subject="Re: Printer jams", in_reply_to=message_id_of(first),
                                  body="Forwarded to me by Maria: ours jams too."))
    assert outcome.kind == "ticket"
    assert intake.rows("comments", ticket_id=ticket_id) == []
    links = intake.rows("ticket_links", ticket_id=outcome.ticket_id)
    assert [(link["other_id"], link["relation"]) for link in links] == [(ticket_id, "related")]


def test_unknown_ticket_number_in_the_subject_opens_a_plain_new_ticket(intake: IntakeDesk) -> None:
    outcome = intake.deliver(mail(subject="Re: [IT-999999] old thing"))
    assert outcome.kind == "ticket"
    assert intake.rows("ticket_links", ticket_id=outcome.ticket_id) == []


def test_reply_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(intake: IntakeDesk) -> None:
    original_id, _, _ = opened(intake, subject="Printer jams")
    duplicate_id, _, duplicate_mail = opened(intake, subject="Printer still jams")
    relations = TicketRelations(intake.desk.compiled, intake.desk.engine)
    relations.merge(intake.desk.agent("alex"), duplicate_id, original_id, intake.ticket(duplicate_id)["version"])
    outcome = intake.deliver(mail(subject="Re: Printer still jams", in_reply_to=message_id_of(duplicate_mail),
                                  body="Any news?"))
    assert (outcome.kind, outcome.ticket_id) == ("comment", original_id)


def test_a_mailbox_routing_to_a_team_that_does_not_exist_says_so(intake: IntakeDesk,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    teams = intake.desk.compiled.table("teams")
    with intake.desk.engine.begin() as connection:
        connection.execute(sa.delete(teams).where(teams.c.name == "customer_care"))
    with caplog.at_level("WARNING", logger="tessera.intake"):
        ticket_id, _, _ = opened(intake, to="care@example.org", subject="Parcel lost")
    assert intake.ticket(ticket_id)["team_id"] is None
    assert "mailbox care routes to team 'customer_care', which does not exist" in caplog.text
