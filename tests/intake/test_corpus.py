"""Every sample message through the pipeline, on SQLite and PostgreSQL: each one stored and ending as a ticket,
a comment, a duplicate, or an ignored or quarantined message with its reason; none lost, none crashing it.

The samples are real mail from two projects' test suites, kept outside the repository: the mail gem's fixtures
(github.com/mikel/mail, MIT licence, © Mikel Lindsaar) and talon's (github.com/mailgun/talon, Apache-2.0).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from runtime.intake.mail.headers import Address
from runtime.intake.mail.quotes import strip_signature
from runtime.intake.pipeline import Outcome
from runtime.intake.store import FINAL, QUARANTINED
from tests.intake.mail_fixtures import MAIL_DATA, IntakeDesk, intake_desk, mail, require_data

FOLDERS = ("mikel/attachment_emails", "mikel/error_emails", "mikel/mime_emails", "mikel/multi_charset",
           "mikel/multipart_report_emails", "mikel/plain_emails", "mikel/rfc2822", "mikel/rfc6532",
           "talon/standard_replies")
KINDS = {"ticket", "comment", "duplicate", "ignored", "quarantined", "done before"}
BOUNCED = "edwin@zzzzzzz.com"  # a failed recipient in mikel/multipart_report_emails/report_530.eml


@dataclass
class Imported:
    intake: IntakeDesk
    outcomes: dict[str, Outcome] = field(default_factory=dict)  # by path under MAIL_DATA


def sample_files(folder: str) -> list[Path]:
    return sorted((MAIL_DATA / folder).glob("*.eml"))


@pytest.fixture(scope="module")
def imported(module_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Imported:
    """The seeded desk after importing every sample message there is, one by one, in file order."""
    intake = intake_desk(tmp_path_factory.mktemp("corpus"), module_database_url)
    intake.pipeline.requesters.identify(Address("Edwin", BOUNCED))
    result = Imported(intake)
    for folder in FOLDERS:
        for path in sample_files(folder):
            where = path.relative_to(MAIL_DATA).as_posix()
            stored = intake.pipeline.receive([path.read_bytes()], "import", [{"file": where}])[0]
            if not stored.new and stored.state in FINAL:
                result.outcomes[where] = Outcome(stored.id, "done before")
            else:
                result.outcomes[where] = intake.pipeline.process(stored.id)
    return result


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_sample_message_is_stored_and_ends_with_a_recorded_outcome(imported: Imported, folder: str) -> None:
    require_data(MAIL_DATA / folder)
    rows = {r["id"]: r for r in imported.intake.rows("intake_messages")}
    files = sample_files(folder)
    assert files, f"no .eml files in {folder}"
    for path in files:
        outcome = imported.outcomes[path.relative_to(MAIL_DATA).as_posix()]
        row = rows[outcome.message_id]
        assert outcome.kind in KINDS, (path.name, outcome)
        if outcome.kind != "done before":
            assert bytes(row["raw"]) == path.read_bytes(), path.name
        assert row["state"] in (*FINAL, QUARANTINED), (path.name, row["state"])
        if row["state"] == "processed":
            assert row["ticket_id"] is not None, path.name
            assert imported.intake.rows("tickets", id=row["ticket_id"]), path.name
        else:
            assert row["error"], (path.name, row["state"])


def test_no_sample_message_is_lost(imported: Imported) -> None:
    present = [path for folder in FOLDERS for path in sample_files(folder)]
    if not present:
        require_data(MAIL_DATA / FOLDERS[0])
    kept = {hashlib.sha256(bytes(r["raw"])).hexdigest() for r in imported.intake.rows("intake_messages")}
    assert {hashlib.sha256(p.read_bytes()).hexdigest() for p in present} <= kept


def test_sample_outcomes_are_the_expected_ones(imported: Imported) -> None:
    require_data(MAIL_DATA / "mikel")
    kinds = {where: o.kind for where, o in imported.outcomes.items()}
    reports = [w for w in kinds if w.startswith("mikel/multipart_report_emails/")]
    # multi_address_bounce2 is byte for byte bounce1: stored once, ignored once.
    assert reports
    assert all(kinds[w] in ("ignored", "done before") for w in reports)
    assert all(imported.outcomes[w].ticket_id is None for w in reports)
    assert kinds["mikel/mime_emails/raw_email_with_mimepart_without_content_type.eml"] == "ignored"  # a DSN
    assert kinds["mikel/error_emails/bad_date_header.eml"] == "ignored"  # Precedence: junk
    for no_sender in ("mikel/error_emails/bad_encoded_subject.eml", "mikel/plain_emails/raw_email_incorrect_header.eml",
                      "mikel/rfc2822/example13.eml"):
        assert (kinds[no_sender], imported.outcomes[no_sender].reason) == (
            "quarantined", "Unprocessable: no sender address (From, Sender, Reply-To and Return-Path are missing or "
                           "unreadable)")
    assert imported.intake.rows("contacts", email=BOUNCED)[0]["bounced_at"] is not None


def _ticket_of(imported: Imported, where: str) -> dict[str, object]:
    outcome = imported.outcomes[where]
    assert outcome.kind == "ticket", outcome
    return imported.intake.ticket(outcome.ticket_id or 0)


@pytest.mark.parametrize(("where", "files"), [
    ("mikel/attachment_emails/attachment_pdf.eml", [("broken.pdf", "application/pdf")]),
    ("mikel/attachment_emails/attachment_with_quoted_filename.eml", [("Eelanalüüsi päring.jpg", "image/jpeg")]),
    ("mikel/attachment_emails/attachment_message_rfc822_inline_image.eml",
     [("img.png", "image/png"), ("Testmail.eml", "text/plain; charset=utf-8")]),  # the store sniffs the type
    ("mikel/multi_charset/japanese_attachment.eml", [("てすと.txt", "text/plain; charset=utf-8")]),
])
def test_sample_files_are_attached_to_their_tickets(imported: Imported, where: str,
                                                    files: list[tuple[str, str]]) -> None:
    require_data(MAIL_DATA / where)
    ticket = _ticket_of(imported, where)
    attachments = imported.intake.rows("attachments", ticket_id=ticket["id"])
    assert [(a["filename"], a["content_type"]) for a in attachments] == files


@pytest.mark.parametrize(("where", "title", "text"), [
    ("mikel/multi_charset/japanese.eml", "まみむめも", "かきくえこ"),
    ("mikel/multi_charset/japanese_shift_jis.eml", "test", "あいうえお"),
    ("mikel/multi_charset/ks_c_5601-1987.eml", "test", "스티해"),
    ("mikel/rfc6532/utf8_headers.eml", "Säying Hello", "body"),
    ("mikel/plain_emails/raw_email.eml", "NOTE: 한국말로 하는 것", "제 이름은 Jamis입니다."),
])
def test_sample_charsets_are_decoded(imported: Imported, where: str, title: str, text: str) -> None:
    require_data(MAIL_DATA / where)
    ticket = _ticket_of(imported, where)
    assert ticket["title"] == title
    assert text in str(ticket["description"])


def test_talon_replies_become_comments_with_their_expected_text(tmp_path: Path, database_url: str) -> None:
    """Each talon reply, made a reply to a ticket its sender opened, adds a comment holding the reply's own text
    (talon's expected text, minus the signature, which comments also drop)."""
    folder = require_data(MAIL_DATA / "talon" / "standard_replies")
    intake = intake_desk(tmp_path, database_url)
    matched = []
    for path in sorted(folder.glob("*.eml")):
        raw = path.read_bytes()
        sender = re.search(rb"^From:.*?([\w.+-]+@[\w.-]+)", raw, re.MULTILINE | re.IGNORECASE)
        assert sender is not None, path.name
        original_id = f"<original-{path.stem}@desk.example.org>"
        opened = intake.deliver(mail(sender=sender.group(1).decode(), subject="Test", message_id=original_id))
        assert opened.kind == "ticket", (path.name, opened)
        reply = intake.deliver(f"In-Reply-To: {original_id}\r\n".encode() + raw)
        assert (reply.kind, reply.ticket_id) == ("comment", opened.ticket_id), (path.name, reply)
        expected_file = path.with_name(path.stem + "_reply_text")
        expected = expected_file.read_text().strip() if expected_file.exists() else "Hello"
        body = intake.rows("comments", ticket_id=opened.ticket_id)[-1]["body"]
        matched.append(body == strip_signature(expected))
    assert len(matched) == 12
    assert all(matched)
