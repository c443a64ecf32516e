"""Nothing lost, nothing twice, on SQLite and PostgreSQL: raw messages are kept whatever happens to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.intake.importer import import_mail
from runtime.intake.store import DUPLICATE, PROCESSED, QUARANTINED
from runtime.tickets.errors import InvalidTicket
from tests.intake.mail_fixtures import IntakeDesk, intake_desk, mail, message_id_of

GARBAGE = b"\x00\xff\xfe this is not a mail at all \x00\r\n\r\n\xff"


@pytest.fixture
def intake(tmp_path: Path, database_url: str) -> IntakeDesk:
    return intake_desk(tmp_path, database_url)


def test_importing_the_same_files_twice_makes_no_second_ticket(intake: IntakeDesk, tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    folder.mkdir()
    for i in range(3):
        (folder / f"{i}.eml").write_bytes(mail(subject=f"Request {i}"))
    tickets = intake.count("tickets")
    first = import_mail(intake.pipeline, [folder])
    second = import_mail(intake.pipeline, [folder])
    assert (dict(first.outcomes), dict(second.outcomes)) == ({"ticket": 3}, {"done before": 3})
    assert intake.count("tickets") == tickets + 3
    assert intake.count("intake_messages") == 3


def test_processing_a_processed_message_again_does_nothing(intake: IntakeDesk) -> None:
    outcome = intake.deliver(mail())
    before = (intake.count("tickets"), intake.count("ticket_events"), intake.rows("intake_messages")[0])
    again = intake.pipeline.process(outcome.message_id)
    assert (again.kind, again.ticket_id) == ("done before", outcome.ticket_id)
    assert (intake.count("tickets"), intake.count("ticket_events"), intake.rows("intake_messages")[0]) == before


def test_the_same_mail_to_two_mailboxes_makes_one_ticket(intake: IntakeDesk) -> None:
    raw = mail(to="it@example.org, care@example.org")
    first = intake.deliver(raw, source="it")
    second = intake.deliver(raw, source="care")
    assert (first.kind, second.kind, second.ticket_id) == ("ticket", "duplicate", first.ticket_id)
    row = intake.rows("intake_messages", id=second.message_id)[0]
    assert (row["state"], row["ticket_id"]) == (DUPLICATE, first.ticket_id)
    assert row["error"] == f"same message as intake message {first.message_id} (via another mailbox or source)"


def test_a_reply_delivered_twice_makes_one_comment(intake: IntakeDesk) -> None:
    first = mail()
    ticket_id = intake.deliver(first).ticket_id
    reply = mail(subject="Re: Printer jams", in_reply_to=message_id_of(first), body="Still jams.")
    assert intake.deliver(reply, source="it").kind == "comment"
    assert intake.deliver(reply, source="care").kind == "duplicate"
    assert len(intake.rows("comments", ticket_id=ticket_id)) == 1


def test_different_bytes_under_a_taken_message_id_are_kept_as_a_copy(intake: IntakeDesk) -> None:
    first = intake.deliver(mail(message_id="<same@example.net>", subject="First"))
    second = intake.deliver(mail(message_id="<same@example.net>", subject="Second, other text"))
    assert (second.kind, second.ticket_id) == ("duplicate", first.ticket_id)
    rows = intake.rows("intake_messages")
    assert [r["external_id"].split(" ")[0] for r in rows] == ["<same@example.net>", "<same@example.net>"]
    assert b"Second, other text" in rows[1]["raw"]
    assert rows[1]["metadata"]["copy_of"] == first.message_id


def test_a_malformed_message_is_stored_and_quarantined_never_dropped(intake: IntakeDesk) -> None:
    outcome = intake.deliver(GARBAGE)
    assert outcome.kind == "quarantined"
    row = intake.rows("intake_messages", id=outcome.message_id)[0]
    assert (row["state"], bytes(row["raw"]), row["external_id"].startswith("sha256:")) == (QUARANTINED, GARBAGE, True)
    assert row["error"] == ("Unprocessable: no sender address (From, Sender, Reply-To and Return-Path are missing "
                            "or unreadable)")
    assert intake.pipeline.process(outcome.message_id).kind == "quarantined"  # retrying keeps it, with its reason


def test_a_message_the_ticket_type_refuses_is_quarantined_with_each_field(intake: IntakeDesk,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise InvalidTicket("1 field not valid", [{"field": "title", "reason": "too long"}])

    monkeypatch.setattr(intake.pipeline.creator.service, "prepare", refuse)
    outcome = intake.deliver(mail())
    assert (outcome.kind, outcome.reason) == ("quarantined", "InvalidTicket: 1 field not valid (title: too long)")
    monkeypatch.undo()
    retried = intake.pipeline.process(outcome.message_id)
    assert retried.kind == "ticket"
    assert intake.rows("intake_messages", id=outcome.message_id)[0]["state"] == PROCESSED


def test_a_message_that_failed_after_its_ticket_was_made_resumes_without_a_second_ticket(
        intake: IntakeDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    number = intake.ticket(1)["number"]
    raw = mail(sender="someone.else@example.net", subject=f"Re: [{number}]", body="See the log.",
               files=[("log.txt", "text/plain", b"line 1\nline 2\n")])

    def broken_link(*_: object, **__: object) -> None:
        raise OSError("the disk is full")

    monkeypatch.setattr(intake.pipeline.creator.relations, "link", broken_link)
    tickets = intake.count("tickets")
    outcome = intake.deliver(raw)
    assert (outcome.kind, outcome.reason) == ("quarantined", "OSError: the disk is full")
    row = intake.rows("intake_messages", id=outcome.message_id)[0]
    assert row["metadata"]["ticket_id"] == row["ticket_id"]  # the ticket was made and noted before the failure
    monkeypatch.undo()
    retried = intake.pipeline.process(outcome.message_id)
    assert (retried.kind, retried.ticket_id) == ("ticket", row["ticket_id"])
    assert intake.count("tickets") == tickets + 1
    assert [a["filename"] for a in intake.rows("attachments", ticket_id=row["ticket_id"])] == ["log.txt"]
    assert intake.pipeline.process(outcome.message_id).kind == "done before"


def test_a_file_that_cannot_be_kept_is_noted_and_the_message_still_processed(intake: IntakeDesk) -> None:
    raw = mail(files=[("big.bin", "application/octet-stream", b"x" * 100)])
    intake.pipeline.creator.files.store.max_bytes = 10  # as attachments.max_size_mb would, at a smaller scale
    outcome = intake.deliver(raw)
    assert outcome.kind == "ticket"
    row = intake.rows("intake_messages", id=outcome.message_id)[0]
    assert row["state"] == PROCESSED
    assert row["metadata"]["warnings"][0].startswith("big.bin: AttachmentTooLarge")
