"""Acknowledgements, caught by a real SMTP server: a mail that opens a ticket is answered once with the ticket's
number, as an auto-reply in the customer's thread; the customer's answer to it lands on the ticket; auto-replies,
bounced and our own addresses get nothing; one sender gets at most the hourly limit, however many mails."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.db.engine import write_transaction
from runtime.intake.acknowledge import Acknowledger
from runtime.intake.draft import Draft
from runtime.notify.email import LOOP_HEADER
from tests.intake.mail_fixtures import JONAS, MARIA, mail, message_id_of
from tests.intake.outbound_fixtures import MailDesk, comments, count, mail_desk, text_of

LIMIT = 3


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[MailDesk]:
    with mail_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db",
                   acknowledge=f"{{enabled: true, per_sender_per_hour: {LIMIT}}}") as made:
        yield made


def opened(desk: MailDesk, raw: bytes) -> int:
    outcome = desk.intake.deliver(raw)
    assert outcome.kind == "ticket", outcome
    assert outcome.ticket_id is not None
    return outcome.ticket_id


def words() -> str:
    """Text no other mail shares, so that no two of them look like near duplicates."""
    return " ".join(uuid.uuid4().hex[i:i + 8] for i in range(0, 32, 8))


def test_ack_answers_the_opening_mail_and_the_answer_to_it_threads_back(tmp_path: Path, database_url: str) -> None:
    with mail_desk(tmp_path, database_url) as desk:
        first = mail(subject="Printer jams")
        ticket_id = opened(desk, first)
        number = desk.intake.ticket(ticket_id)["number"]
        [ack] = desk.sent()
        assert ack["To"].addresses[0].addr_spec == MARIA
        assert str(ack["Subject"]) == f"[{number}] Printer jams"
        assert ack["Auto-Submitted"] == "auto-replied"
        assert ack[LOOP_HEADER]
        assert ack["In-Reply-To"] == message_id_of(first)
        assert ack["References"] == message_id_of(first)
        assert ack["Reply-To"] == "it@example.org"  # the mailbox the ticket came in through
        assert number in text_of(ack)
        assert "Maria Lopez" in text_of(ack)
        # Kept where threading looks for the Message-IDs we sent, and out of the requester's sight.
        [note] = [c for c in comments(desk, ticket_id) if c["message_id"] == ack["Message-ID"]]
        assert (note["public"], note["direction"], note["channel"]) == (False, "outbound", "email")
        assert count(desk, "intake_acks", address=MARIA, ticket_id=ticket_id) == 1

        answer = mail(subject=f"Re: {ack['Subject']}", in_reply_to=ack["Message-ID"], body="It is an HP 4250.")
        outcome = desk.intake.deliver(answer)
        assert (outcome.kind, outcome.ticket_id) == ("comment", ticket_id)
        inbound = [c for c in comments(desk, ticket_id) if c["direction"] == "inbound"]
        assert [(c["body"], c["message_id"]) for c in inbound] == [("It is an HP 4250.", message_id_of(answer))]
        assert desk.sent() == []  # a comment is not acknowledged


def test_an_auto_responders_answer_to_the_ack_is_ignored(desk: MailDesk) -> None:
    ticket_id = opened(desk, mail())
    [ack] = desk.sent()
    out_of_office = mail(subject=f"Out of office: {ack['Subject']}", in_reply_to=ack["Message-ID"],
                         body="I am away until Monday.", headers={"Auto-Submitted": "auto-replied"})
    assert desk.intake.deliver(out_of_office).kind == "ignored"
    assert [c for c in comments(desk, ticket_id) if c["direction"] == "inbound"] == []
    assert desk.sent() == []
    assert count(desk, "intake_acks") == 1


def test_a_storm_from_one_sender_gets_at_most_the_hourly_limit(desk: MailDesk) -> None:
    # An auto-responder that marks nothing passes the loop guard: every mail opens a ticket, few are answered.
    tickets = {opened(desk, mail(sender=JONAS, subject=words(), body=words())) for _ in range(20)}
    assert len(tickets) == 20
    sent = desk.sent()
    assert len(sent) == LIMIT
    assert {m["To"].addresses[0].addr_spec for m in sent} == {JONAS}
    assert count(desk, "intake_acks", address=JONAS) == LIMIT
    opened(desk, mail(subject=words(), body=words()))  # another sender is not held back by the storm
    [ack] = desk.sent()
    assert ack["To"].addresses[0].addr_spec == MARIA


def test_only_the_last_hours_acks_count_against_the_limit(desk: MailDesk) -> None:
    acks = desk.desk.compiled.table("intake_acks")
    now = dt.datetime.now(dt.UTC)
    with write_transaction(desk.desk.engine) as connection:
        connection.execute(sa.insert(acks), [{"address": MARIA, "sent_at": now - dt.timedelta(minutes=61)}] * LIMIT
                           + [{"address": JONAS, "sent_at": now - dt.timedelta(minutes=50)}] * LIMIT)
    opened(desk, mail(sender=MARIA, subject=words(), body=words()))
    opened(desk, mail(sender=JONAS, subject=words(), body=words()))
    assert [m["To"].addresses[0].addr_spec for m in desk.sent()] == [MARIA]
    with desk.desk.engine.connect() as connection:  # Maria's expired rows went when her new one came
        left = connection.execute(sa.select(acks.c.address, sa.func.count()).group_by(acks.c.address)).all()
    assert sorted((address, n) for address, n in left) == sorted([(MARIA, 1), (JONAS, LIMIT)])


def test_a_bounced_contact_gets_no_ack(desk: MailDesk) -> None:
    contacts = desk.desk.compiled.table("contacts")
    with write_transaction(desk.desk.engine) as connection:
        connection.execute(sa.update(contacts).where(contacts.c.email == MARIA)
                           .values(bounced_at=dt.datetime.now(dt.UTC)))
    ticket_id = opened(desk, mail())
    assert desk.sent() == []
    assert desk.jobs() == []
    assert comments(desk, ticket_id) == []
    assert count(desk, "intake_acks") == 0
    # Her writing shows the address works again: the mark goes, and her next mail is acknowledged.
    with desk.desk.engine.connect() as connection:
        assert connection.execute(sa.select(contacts.c.bounced_at).where(contacts.c.email == MARIA)).scalar() is None
    opened(desk, mail(subject="Another thing", body="The scanner too."))
    assert len(desk.sent()) == 1


def test_disabled_acknowledgements_send_nothing(tmp_path: Path) -> None:
    with mail_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db", acknowledge="{enabled: false}") as desk:
        opened(desk, mail())
        assert desk.sent() == []
        assert desk.jobs() == []


def test_the_desks_templates_word_the_ack(tmp_path: Path) -> None:
    subject = json.dumps("Received: {{ ticket.number }} ({{ desk.name }})")
    body = json.dumps("Dear {{ requester.name }},\nyour {{ ticket.priority or 'normal' }} request "
                      "{{ ticket.number }} is {{ ticket.status }}.\n")
    with mail_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db",
                   acknowledge=f"{{subject: {subject}, body: {body}}}") as desk:
        ticket = desk.intake.ticket(opened(desk, mail()))
        [ack] = desk.sent()
    assert str(ack["Subject"]) == f"Received: {ticket['number']} (Tessera demo desk)"
    assert text_of(ack) == (f"Dear Maria Lopez,\nyour {ticket['priority'] or 'normal'} request "
                                  f"{ticket['number']} is {ticket['status']}.\n")


def test_a_failing_or_unsafe_template_falls_back_to_the_built_in_text(tmp_path: Path) -> None:
    # The sandbox refuses the way out to Python's classes; a template that fails still acknowledges.
    body = json.dumps("{{ ''.__class__.__mro__[1].__subclasses__() }}")
    with mail_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db",
                   acknowledge=f"{{subject: '{{{{ 1 / 0 }}}}', body: {body}}}") as desk:
        number = desk.intake.ticket(opened(desk, mail()))["number"]
        [ack] = desk.sent()
    assert str(ack["Subject"]) == f"[{number}] Printer jams"
    assert "<class" not in text_of(ack)
    assert f"opened ticket {number}" in text_of(ack)


def queue(desk: MailDesk, channel: str, requester: str = MARIA) -> bool:
    """The acknowledger on its own, for a ticket a channel other than mail made for ``requester``."""
    actor = desk.desk.contact(requester)
    ticket = desk.desk.service.create(actor, "it_support", {"title": "Form request", "description": "Hi"},
                                      channel=channel)
    draft = Draft(channel, "it_support", {"title": "Form request"}, external_ref=f"{channel}-1",
                  sender_email=requester)
    with write_transaction(desk.desk.engine) as connection:
        return Acknowledger(desk.desk.compiled).queue(connection, ticket, draft, dt.datetime.now(dt.UTC))


def test_form_requesters_are_acknowledged_webhook_and_api_requesters_are_not(desk: MailDesk) -> None:
    assert not queue(desk, "webhook")
    assert not queue(desk, "api")
    assert desk.jobs() == []
    assert queue(desk, "form")
    [ack] = desk.sent()
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["In-Reply-To"] is None  # a form's id is no Message-ID to answer
    assert ack["Reply-To"] == "it@example.org"  # the default mailbox: answers still reach intake


def test_no_ack_to_our_own_mailbox_address(desk: MailDesk) -> None:
    contacts = desk.desk.compiled.table("contacts")
    now = dt.datetime.now(dt.UTC)
    with write_transaction(desk.desk.engine) as connection:
        connection.execute(sa.insert(contacts).values(email="care@example.org", created_at=now, updated_at=now))
    assert not queue(desk, "form", "care@example.org")
    assert desk.jobs() == []
