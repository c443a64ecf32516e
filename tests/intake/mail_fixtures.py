"""Mail for the intake tests: messages built to order, a seeded desk with the pipeline, the sample corpus."""

from __future__ import annotations

import os
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.intake.pipeline import MailPipeline, Outcome
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

MAIL_DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "mail"
REQUIRE_ALL = os.environ.get("TESSERA_REQUIRE_ALL") == "1"
MARIA = "maria.lopez@northwind.example.org"  # a seeded requester with two tickets
JONAS = "jonas.weber@contoso.example.org"


def require_data(path: Path) -> Path:
    """The sample mail at ``path``; skipped where it is not installed, but a failure under TESSERA_REQUIRE_ALL=1,
    so that CI cannot pass without having read it."""
    if not path.exists():
        message = f"sample mail {path} is not available"
        if REQUIRE_ALL:
            pytest.fail(f"{message} (TESSERA_REQUIRE_ALL=1 forbids skipping)")
        pytest.skip(message)
    return path


def mail(*, sender: str = MARIA, to: str = "it@example.org", subject: str = "Printer jams",
         body: str = "The printer on floor 2 jams on every page.", message_id: str | None = None,
         in_reply_to: str | None = None, references: str | None = None, html: str | None = None,
         headers: dict[str, str] | None = None, files: list[tuple[str, str, bytes]] | None = None) -> bytes:
    """A message as a mail program sends it: plain text (and HTML), optional threading headers and files."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id or make_msgid(domain="mail.example.net")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for filename, content_type, data in files or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def message_id_of(raw: bytes) -> str:
    from runtime.intake.mail.identity import mail_external_id

    return mail_external_id(raw)


@dataclass
class IntakeDesk:
    desk: SeededDesk
    pipeline: MailPipeline

    def deliver(self, raw: bytes, source: str = "import") -> Outcome:
        stored = self.pipeline.receive([raw], source)[0]
        return self.pipeline.process(stored.id)

    def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        t = self.desk.compiled.table(table)
        query = sa.select(t).order_by(t.c.id)
        for column, value in where.items():
            query = query.where(t.c[column] == value)
        with self.desk.engine.connect() as connection:
            return [dict(r._mapping) for r in connection.execute(query)]

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return self.rows("tickets", id=ticket_id)[0]

    def count(self, table: str) -> int:
        t = self.desk.compiled.table(table)
        with self.desk.engine.connect() as connection:
            return int(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())


def intake_desk(tmp: Path, database_url: str) -> IntakeDesk:
    desk = seeded_desk(tmp, database_url)
    return IntakeDesk(desk, MailPipeline(desk.compiled, desk.engine, desk.service))
