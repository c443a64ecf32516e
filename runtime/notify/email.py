"""Sending a queued email through the SMTP server in ``tessera.yaml`` (``mail.outgoing``)."""

from __future__ import annotations

import os
import smtplib
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk

TIMEOUT = 30  # seconds
# Marks everything we send, so that our own intake recognises and ignores it (loop guard) and so that
# auto-responders do not answer it (RFC 3834).
LOOP_HEADER = "X-Tessera-Loop"


class MailNotConfigured(RuntimeError):
    pass


def message(compiled: CompiledDesk, to: str, subject: str, body: str) -> EmailMessage:
    smtp = compiled.definitions.project.smtp
    if smtp is None:
        msg = "no mail.outgoing server in tessera.yaml: email notifications cannot be sent"
        raise MailNotConfigured(msg)
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = smtp.sender, to, subject
    mail["Date"] = formatdate(localtime=False)
    mail["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain=smtp.sender.rsplit("@", 1)[-1]
                                    .strip("> ") or None)
    mail["Auto-Submitted"] = "auto-generated"
    mail[LOOP_HEADER] = compiled.definitions.project.name
    mail.set_content(body)
    return mail


def send_email(compiled: CompiledDesk, _connection: sa.Connection, payload: dict[str, Any]) -> None:
    """The worker's handler for ``email`` jobs; raises on failure so that the worker retries."""
    mail = message(compiled, payload["to"], payload["subject"], payload["body"])
    smtp = compiled.definitions.project.smtp
    assert smtp is not None
    with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT) as server:
        if smtp.starttls:
            server.starttls()
        if smtp.username:
            server.login(smtp.username, os.environ.get(smtp.password_env or "", ""))
        server.send_message(mail)
