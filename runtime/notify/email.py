"""Sending a queued email through the SMTP server in ``tessera.yaml`` (``mail.outgoing``)."""

from __future__ import annotations

import os
import smtplib
import uuid
from dataclasses import asdict, dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir

TIMEOUT = 30  # seconds
# Marks everything we send, so that our own intake recognises and ignores it (loop guard) and so that
# auto-responders do not answer it (RFC 3834).
LOOP_HEADER = "X-Tessera-Loop"
AUTO_GENERATED, AUTO_REPLIED = "auto-generated", "auto-replied"  # RFC 3834 Auto-Submitted values


class MailNotConfigured(RuntimeError):
    pass


@dataclass(frozen=True)
class MailHeaders:
    """Headers the queuer chooses. Everything defaults to what notifications have always carried, so a job
    queued without them (SLA notices, jobs from before) is sent as before."""

    # Chosen at queue time and stored by the queuer, so that a retried send keeps it and answers thread back.
    message_id: str | None = None
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    reply_to: str | None = None
    auto_submitted: str | None = AUTO_GENERATED  # None: written by a person, no header (RFC 3834)

    def payload(self) -> dict[str, Any]:
        return {**asdict(self), "references": list(self.references)}

    @classmethod
    def of(cls, payload: dict[str, Any]) -> MailHeaders:
        return cls(message_id=payload.get("message_id"), in_reply_to=payload.get("in_reply_to"),
                   references=tuple(payload.get("references") or ()), reply_to=payload.get("reply_to"),
                   auto_submitted=payload.get("auto_submitted", AUTO_GENERATED))


def _smtp(compiled: CompiledDesk) -> ir.Smtp:
    smtp = compiled.definitions.project.smtp
    if smtp is None:
        msg = "no mail.outgoing server in tessera.yaml: email notifications cannot be sent"
        raise MailNotConfigured(msg)
    return smtp


def new_message_id(compiled: CompiledDesk) -> str:
    """A Message-ID in the sender's domain, for a mail about to be queued."""
    domain = _smtp(compiled).sender.rsplit("@", 1)[-1].strip("> ")
    return make_msgid(idstring=uuid.uuid4().hex[:12], domain=domain or None)


def message(compiled: CompiledDesk, to: str, subject: str, body: str, headers: MailHeaders | None = None
            ) -> EmailMessage:
    smtp = _smtp(compiled)
    headers = headers or MailHeaders()
    mail = EmailMessage()
    # A line break in a header value would be refused at every retry: templates and titles get one line.
    mail["From"], mail["To"], mail["Subject"] = smtp.sender, to, " ".join(subject.split())
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = headers.message_id or new_message_id(compiled)
    if headers.in_reply_to:
        mail["In-Reply-To"] = headers.in_reply_to
    if headers.references:
        mail["References"] = " ".join(headers.references)
    if headers.reply_to:
        mail["Reply-To"] = headers.reply_to
    if headers.auto_submitted:
        mail["Auto-Submitted"] = headers.auto_submitted
    mail[LOOP_HEADER] = compiled.definitions.project.name
    mail.set_content(body)
    return mail


def send_email(compiled: CompiledDesk, _connection: sa.Connection, payload: dict[str, Any]) -> None:
    """The worker's handler for ``email`` jobs; raises on failure so that the worker retries."""
    mail = message(compiled, payload["to"], payload["subject"], payload["body"], MailHeaders.of(payload))
    smtp = _smtp(compiled)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT) as server:
        if smtp.starttls:
            server.starttls()
        if smtp.username:
            server.login(smtp.username, os.environ.get(smtp.password_env or "", ""))
        server.send_message(mail)
