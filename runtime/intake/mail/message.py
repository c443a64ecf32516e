"""One inbound mail, parsed: who sent it to whom, what it answers, its text, its files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.parser import BytesParser
from functools import cached_property

from runtime.intake.mail import headers
from runtime.intake.mail.headers import Address
from runtime.intake.mail.mime import Attachment, read_body
from runtime.intake.mail.quotes import new_text

# Where the address the mail was delivered to shows, most exact first.
RECIPIENT_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "To", "Cc")
REFERENCES_KEPT = 30  # a long thread's References list: the newest ids are the ones worth matching
_FORWARD = re.compile(r"^\s*(fwd?|fw|wg|tr|rv|enc|i|doorst)\s*:", re.IGNORECASE)


@dataclass(frozen=True)
class ParsedMail:
    headers: Message  # kept for the loop guard, which asks for headers by name
    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    sender: Address | None
    recipients: tuple[str, ...]
    text: str
    html: str | None
    attachments: tuple[Attachment, ...]
    bounced: tuple[str, ...]
    delivery_report: bool

    @property
    def forwarded(self) -> bool:
        return bool(_FORWARD.match(self.subject))

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """The ids this mail answers, the most direct first: In-Reply-To, then References newest first."""
        seen = dict.fromkeys((*self.in_reply_to, *reversed(self.references)))
        return tuple(seen)

    @cached_property
    def reply_text(self) -> str:
        """The text without quoted history and signature: what goes into a comment."""
        return new_text(self.text, forwarded=self.forwarded)


def _sender(message: Message) -> Address | None:
    for name in ("From", "Sender", "Reply-To", "Return-Path"):
        found = headers.addresses(message, name)
        if found:
            return found[0]
    return None


def _recipients(message: Message) -> tuple[str, ...]:
    found: dict[str, None] = {}
    for name in RECIPIENT_HEADERS:
        for address in headers.addresses(message, name):
            found.setdefault(address.email, None)
    return tuple(found)


def parse_mail(raw: bytes) -> ParsedMail:
    """Parse the bytes of one message; tolerant of every defect the standard library tolerates, and more."""
    message = BytesParser(policy=headers.POLICY).parsebytes(raw)
    body = read_body(message)
    message_ids = headers.message_ids(headers.text(message, "Message-ID"))
    return ParsedMail(
        headers=message,
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=headers.message_ids(headers.text(message, "In-Reply-To")),
        references=headers.message_ids(" ".join(headers.values(message, "References")))[-REFERENCES_KEPT:],
        subject=headers.text(message, "Subject"),
        sender=_sender(message),
        recipients=_recipients(message),
        text=body.text,
        html=body.html,
        attachments=tuple(body.attachments),
        bounced=tuple(body.bounced),
        delivery_report=body.delivery_report,
    )
