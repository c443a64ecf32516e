"""Loop guard on SQLite and PostgreSQL: mail no person wrote is stored and ignored, never a ticket or comment."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.intake.store import IGNORED
from runtime.notify.email import LOOP_HEADER
from tests.intake.mail_fixtures import MARIA, IntakeDesk, intake_desk, mail, message_id_of

DSN = b"""From: Mail Delivery System <MAILER-DAEMON@mx.example.net>
To: it@example.org
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce-1@mx.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b1"

--b1
Content-Type: text/plain

Your message could not be delivered.
--b1
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.net

Final-Recipient: rfc822; maria.lopez@northwind.example.org
Action: failed
Status: 5.1.1

Final-Recipient: rfc822; later@example.net
Action: delayed
Status: 4.2.2
--b1--
"""


@pytest.fixture
def intake(tmp_path: Path, database_url: str) -> IntakeDesk:
    return intake_desk(tmp_path, database_url)


@pytest.mark.parametrize(("headers", "reason"), [
    ({"Auto-Submitted": "auto-replied"}, "Auto-Submitted: auto-replied (RFC 3834)"),
    ({"Auto-Submitted": "auto-generated; type=vacation"}, "Auto-Submitted: auto-generated (RFC 3834)"),
    ({"Precedence": "bulk"}, "Precedence: bulk"),
    ({"Precedence": "junk"}, "Precedence: junk"),
    ({"Precedence": "list"}, "Precedence: list"),
    ({"X-Autoreply": "yes"}, "X-Autoreply: yes"),
    ({"X-Autorespond": "Out of office"}, "X-Autorespond: Out of office"),
    ({"X-Auto-Response-Suppress": "All"}, "X-Auto-Response-Suppress: All"),
    ({LOOP_HEADER: "Tessera demo desk"}, f"our own mail ({LOOP_HEADER} header)"),
    ({"Return-Path": "<>"}, "empty Return-Path: a delivery notification"),
], ids=lambda value: str(value))
def test_automatic_mail_is_stored_and_ignored_with_the_reason(intake: IntakeDesk, headers: dict[str, str],
                                                              reason: str) -> None:
    tickets_before = intake.count("tickets")
    outcome = intake.deliver(mail(subject="Out of office", headers=headers))
    assert (outcome.kind, outcome.reason) == ("ignored", reason)
    row = intake.rows("intake_messages", id=outcome.message_id)[0]
    assert (row["state"], row["error"], row["ticket_id"]) == (IGNORED, reason, None)
    assert intake.count("tickets") == tickets_before


def test_auto_submitted_no_is_a_person_writing(intake: IntakeDesk) -> None:
    assert intake.deliver(mail(headers={"Auto-Submitted": "no"})).kind == "ticket"


def test_auto_replies_to_a_ticket_thread_add_no_comment(intake: IntakeDesk) -> None:
    first = mail()
    ticket_id = intake.deliver(first).ticket_id
    vacation = mail(subject="Re: Printer jams", in_reply_to=message_id_of(first), body="I am away until Monday.",
                    headers={"Auto-Submitted": "auto-replied"})
    assert intake.deliver(vacation).kind == "ignored"
    assert intake.rows("comments", ticket_id=ticket_id) == []


def test_auto_reply_storm_makes_no_ticket_and_queues_no_mail(intake: IntakeDesk) -> None:
    tickets, jobs = intake.count("tickets"), intake.count("jobs")
    raws = [mail(sender=f"robot{i % 5}@example.net", subject=f"Automatic reply: {i}",
                 headers={"Auto-Submitted": "auto-replied", "X-Autoreply": "yes"}) for i in range(60)]
    stored = intake.pipeline.receive(raws, "import")
    outcomes = intake.pipeline.process_all([s.id for s in stored])
    assert {o.kind for o in outcomes} == {"ignored"}
    assert (intake.count("tickets"), intake.count("jobs")) == (tickets, jobs)


def test_mail_from_our_own_mailbox_is_ignored(intake: IntakeDesk) -> None:
    outcome = intake.deliver(mail(sender="Service desk <it@example.org>", to="care@example.org"))
    assert (outcome.kind, outcome.reason) == ("ignored", "sent from our own mailbox it@example.org")


def test_delivery_report_records_the_bounce_on_the_contact_and_makes_no_ticket(intake: IntakeDesk) -> None:
    tickets = intake.count("tickets")
    outcome = intake.deliver(DSN)
    assert (outcome.kind, outcome.reason) == ("ignored", f"delivery status report: failed for {MARIA}")
    maria = intake.rows("contacts", email=MARIA)[0]
    assert maria["bounced_at"] is not None
    assert intake.rows("intake_messages", id=outcome.message_id)[0]["metadata"]["bounces_recorded"] == 1
    assert intake.count("tickets") == tickets


def test_read_receipt_report_is_ignored(intake: IntakeDesk) -> None:
    receipt = DSN.replace(b"report-type=delivery-status", b"report-type=disposition-notification").replace(
        b"message/delivery-status", b"message/disposition-notification")
    outcome = intake.deliver(receipt)
    assert (outcome.kind, outcome.reason) == ("ignored", "disposition-notification report (multipart/report)")
