"""Mail we send, caught as it leaves: a desk whose mail.outgoing points at an aiosmtpd server on a free local
port, and the worker that delivers the queued jobs to it."""

from __future__ import annotations

import email
import email.policy
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from runtime.compile.desk import load_compiled
from runtime.intake.pipeline import MailPipeline
from runtime.tickets.service import TicketService
from runtime.worker.loop import Worker
from tests.intake.mail_fixtures import IntakeDesk
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

SENDER = "Tessera desk <desk@example.org>"
ACKNOWLEDGE = re.compile(r"\n  acknowledge: [^\n]*\n")


@dataclass
class Inbox:
    """What the SMTP server received, in order."""

    received: list[Any] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.received.append(envelope)
        return "250 OK"


@dataclass
class MailDesk:
    intake: IntakeDesk
    inbox: Inbox
    worker: Worker
    seen: int = 0

    @property
    def desk(self) -> SeededDesk:
        return self.intake.desk

    def sent(self) -> list[EmailMessage]:
        """Run every due job, then return the mail that reached the server since the last call."""
        self.worker.run_due()  # returns after each server's "250 OK", so the mail is in the inbox
        new, self.seen = self.inbox.received[self.seen:], len(self.inbox.received)
        return [email.message_from_bytes(e.content, policy=email.policy.default) for e in new]

    def jobs(self) -> list[dict[str, Any]]:
        return self.intake.rows("jobs")


def free_port() -> int:
    # aiosmtpd checks its own start by connecting to the port it was given, so it needs a real one.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(text: str, port: int, acknowledge: str | None) -> str:
    outgoing = f"  outgoing: {{host: 127.0.0.1, port: {port}, sender: '{SENDER}'}}\n"
    text = text.replace("\nmail:\n", "\nmail:\n" + outgoing, 1)
    if acknowledge is not None:
        line = f"\n  acknowledge: {acknowledge}\n"
        text = ACKNOWLEDGE.sub(lambda _: line, text, count=1) if ACKNOWLEDGE.search(text) \
            else text.replace("\nmail:\n", "\nmail:" + line, 1)
    return text


@contextmanager
def mail_desk(tmp: Path, database_url: str, *, acknowledge: str | None = None) -> Iterator[MailDesk]:
    """The shipped desk, seeded, sending through a local SMTP server; ``acknowledge`` replaces the
    ``mail.acknowledge`` settings (a YAML flow mapping)."""
    seeded = seeded_desk(tmp, database_url)
    inbox = Inbox()
    port = free_port()
    settings = seeded.compiled.root / "tessera.yaml"
    settings.write_text(_settings(settings.read_text(encoding="utf-8"), port, acknowledge), encoding="utf-8")
    compiled = load_compiled(seeded.compiled.root)
    assert compiled.definitions.project.smtp is not None
    assert compiled.definitions.project.smtp.port == port
    service = TicketService(compiled, seeded.engine)
    desk = SeededDesk(compiled, seeded.engine, service)
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield MailDesk(IntakeDesk(desk, MailPipeline(compiled, seeded.engine, service)), inbox,
                       Worker(compiled, seeded.engine))
    finally:
        server.stop()
        seeded.engine.dispose()


def text_of(mail: EmailMessage) -> str:
    """The plain-text body as written, before SMTP made its line ends CRLF."""
    body = mail.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\r\n", "\n")


def comments(desk: MailDesk, ticket_id: int) -> list[dict[str, Any]]:
    return desk.intake.rows("comments", ticket_id=ticket_id)


def count(desk: MailDesk, table: str, **where: Any) -> int:
    t = desk.desk.compiled.table(table)
    query = sa.select(sa.func.count()).select_from(t)
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    with desk.desk.engine.connect() as connection:
        return int(connection.execute(query).scalar_one())
