"""Agents' public replies go to the requester by mail, caught by a real SMTP server: in the customer's thread,
with a Message-ID kept on the comment so that the answer comes back to the ticket. Internal notes, the
requester's own comments and bounced addresses send nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.db.engine import write_transaction
from runtime.notify.email import LOOP_HEADER, MailHeaders, message
from tests.intake.mail_fixtures import MARIA, intake_desk, mail, message_id_of
from tests.intake.outbound_fixtures import MailDesk, comments, mail_desk, text_of


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[MailDesk]:
    # Without acknowledgements, what the server receives is the replies alone.
    with mail_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db", acknowledge="{enabled: false}") as made:
        yield made


def opened(desk: MailDesk, raw: bytes) -> int:
    outcome = desk.intake.deliver(raw)
    assert outcome.kind == "ticket", outcome
    assert outcome.ticket_id is not None
    return outcome.ticket_id


def reply(desk: MailDesk, ticket_id: int, body: str, *, public: bool = True) -> dict[str, object]:
    return desk.desk.service.comment(desk.desk.agent("alex"), ticket_id, body, public=public)


def test_an_agents_reply_is_mailed_and_the_answer_threads_back(tmp_path: Path, database_url: str) -> None:
    with mail_desk(tmp_path, database_url, acknowledge="{enabled: false}") as desk:
        first = mail(subject="Printer jams")
        ticket_id = opened(desk, first)
        number = desk.intake.ticket(ticket_id)["number"]
        comment = reply(desk, ticket_id, "Please send us the printer's model.")
        [out] = desk.sent()
        assert out["To"].addresses[0].addr_spec == MARIA
        assert str(out["Subject"]) == f"Re: [{number}] Printer jams"
        assert out["Message-ID"] == comment["message_id"]
        assert [c["message_id"] for c in comments(desk, ticket_id) if c["id"] == comment["id"]] == [out["Message-ID"]]
        assert (out["In-Reply-To"], out["References"]) == (message_id_of(first), message_id_of(first))
        assert out["Auto-Submitted"] is None  # a person wrote it (RFC 3834)
        assert out[LOOP_HEADER]
        assert text_of(out).startswith("Please send us the printer's model.\n")
        assert "Alex Morgan" in text_of(out)

        answer = mail(subject=f"Re: {out['Subject']}", in_reply_to=out["Message-ID"], body="An HP 4250.")
        outcome = desk.intake.deliver(answer)
        assert (outcome.kind, outcome.ticket_id) == ("comment", ticket_id)
        assert desk.sent() == []  # the customer's own comment does not go back to them

        # The next reply answers the customer's latest mail, and names the whole thread.
        reply(desk, ticket_id, "Thanks, a technician is on the way.")
        [second] = desk.sent()
        assert second["In-Reply-To"] == message_id_of(answer)
        assert second["References"] == f"{message_id_of(first)} {message_id_of(answer)}"


def test_an_internal_note_sends_nothing(desk: MailDesk) -> None:
    ticket_id = opened(desk, mail())
    note = reply(desk, ticket_id, "Looks like the fuser again.", public=False)
    assert note["message_id"] is None
    assert desk.jobs() == []
    assert desk.sent() == []


def test_the_requesters_own_comment_sends_nothing(desk: MailDesk) -> None:
    ticket_id = opened(desk, mail())
    own = desk.desk.service.comment(desk.desk.contact(MARIA), ticket_id, "Any news?", channel="api")
    assert own["message_id"] is None
    assert desk.jobs() == []


def test_a_bounced_requester_gets_no_mail(desk: MailDesk) -> None:
    ticket_id = opened(desk, mail())
    contacts = desk.desk.compiled.table("contacts")
    with write_transaction(desk.desk.engine) as connection:
        connection.execute(sa.update(contacts).where(contacts.c.email == MARIA)
                           .values(bounced_at=dt.datetime.now(dt.UTC)))
    assert reply(desk, ticket_id, "Can you hear us?")["message_id"] is None
    assert desk.jobs() == []


def test_a_reply_on_a_ticket_that_did_not_come_by_mail_starts_the_thread(desk: MailDesk) -> None:
    maria = desk.desk.id_of("contacts", "email", MARIA)
    ticket = desk.desk.service.create(desk.desk.agent("alex"), "it_support", {
        "title": "Laptop order", "description": "Called in.", "requester_id": maria,
        "team_id": desk.desk.id_of("teams", "name", "service_desk")})
    comment = reply(desk, int(ticket["id"]), "Your laptop is ordered.")
    [out] = desk.sent()
    assert str(out["Subject"]) == f"[{ticket['number']}] Laptop order"
    assert (out["In-Reply-To"], out["References"]) == (None, None)
    assert out["Message-ID"] == comment["message_id"]
    answer = mail(subject="Re: laptop", in_reply_to=out["Message-ID"], body="When will it arrive?")
    outcome = desk.intake.deliver(answer)
    assert (outcome.kind, outcome.ticket_id) == ("comment", ticket["id"])


def test_without_an_outgoing_server_replies_are_not_queued(tmp_path: Path) -> None:
    intake = intake_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")
    assert intake.desk.compiled.definitions.project.smtp is None
    ticket_id = intake.deliver(mail()).ticket_id
    assert ticket_id is not None
    made = intake.desk.service.comment(intake.desk.agent("alex"), ticket_id, "We are on it.")
    assert made["message_id"] is None
    assert intake.rows("jobs") == []


def test_a_retried_job_sends_the_same_message_id_and_old_jobs_send_as_before(desk: MailDesk) -> None:
    compiled = desk.desk.compiled
    payload = {"to": MARIA, "subject": "s", "body": "b", **MailHeaders(message_id="<fixed@example.org>").payload()}
    assert {message(compiled, MARIA, "s", "b", MailHeaders.of(payload))["Message-ID"] for _ in range(2)} == {
        "<fixed@example.org>"}
    old = message(compiled, MARIA, "s", "b", MailHeaders.of({"to": MARIA, "subject": "s", "body": "b"}))
    assert old["Auto-Submitted"] == "auto-generated"
    assert (old["In-Reply-To"], old["References"], old["Reply-To"]) == (None, None, None)
