"""The parts of a MIME message: which text is the body, which parts are files, what a delivery report says.

Nothing is dropped: a part that is not the body (an attachment, an inline image, an attached message, a
signature, a second alternative we did not choose as text) is kept as a file unless it is the HTML twin of the
chosen text.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import quopri
from dataclasses import dataclass, field
from email.message import Message

from runtime.intake.mail import headers
from runtime.intake.mail.charsets import decode, redecode_surrogates
from runtime.intake.mail.html_text import html_to_text

TEXT_TYPES = ("text/plain", "text/html")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    data: bytes
    inline: bool = False  # shown inside the HTML body (cid:) rather than offered as a file


@dataclass
class Body:
    text_parts: list[str] = field(default_factory=list)
    html_parts: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    bounced: list[str] = field(default_factory=list)  # recipients a delivery report says failed for good
    delivery_report: bool = False

    @property
    def text(self) -> str:
        return "\n\n".join(t for t in self.text_parts if t.strip())

    @property
    def html(self) -> str | None:
        return "\n".join(self.html_parts) if self.html_parts else None


def _payload(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:  # a transfer encoding that cannot be undone: keep the bytes as they came
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", errors="surrogateescape") if isinstance(raw, str) else b""


def _text_of(part: Message) -> str:
    text = decode(_payload(part), part.get_content_charset())
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # a malformed RFC 2231 parameter
        name = None
    if name:
        # RFC 2231 is undone by the parser; RFC 2047 words in a filename are not standard but common.
        return headers.decode_words(redecode_surrogates(str(name))).strip() or None
    return None


def _default_name(part: Message, index: int) -> str:
    content_type = part.get_content_type()
    extension = ".eml" if content_type == "message/rfc822" else mimetypes.guess_extension(content_type) or ".bin"
    return f"part-{index}{extension}"


def _is_attachment(part: Message) -> bool:
    disposition = (part.get_content_disposition() or "").lower()
    return disposition == "attachment" or (_filename(part) is not None and disposition != "inline") or \
        part.get_content_type() not in TEXT_TYPES


def _children(part: Message) -> list[Message] | None:
    """The subparts of a multipart or message/* part; None for a leaf (or a multipart without its boundary)."""
    payload = part.get_payload() if part.is_multipart() else None
    return [p for p in payload if isinstance(p, Message)] if isinstance(payload, list) else None


def _message_bytes(part: Message) -> bytes:
    """An attached message as the bytes of an .eml file.

    RFC 2046 forbids encoding a message/rfc822 part, but some mailers base64 it anyway; the parser then reads
    the encoded text as a message without headers, so it is decoded here instead."""
    inner = _children(part)
    encoding = str(part.get("Content-Transfer-Encoding", "")).strip().lower()
    if inner and encoding in ("base64", "quoted-printable"):
        encoded = inner[0].as_string().encode("ascii", errors="ignore")
        try:
            return base64.b64decode(encoded) if encoding == "base64" else quopri.decodestring(encoded)
        except (binascii.Error, ValueError):
            return encoded
    return _serialized(inner[0]) if inner else _payload(part)


def _serialized(part: Message) -> bytes:
    try:
        return part.as_bytes(policy=headers.POLICY)
    except Exception:  # a part the generator cannot write back: its text is enough
        return str(part).encode("utf-8", errors="replace")


def _delivery_status(part: Message, body: Body) -> None:
    """Recipients marked as failed (RFC 3464: Action failed, or a permanent 5.x.x status)."""
    body.delivery_report = True
    for block in _children(part) or []:
        action = headers.text(block, "Action").lower()
        status = headers.text(block, "Status")
        recipient = headers.text(block, "Final-Recipient") or headers.text(block, "Original-Recipient")
        if recipient and (action == "failed" or status.startswith("5")):
            address = recipient.split(";", 1)[-1].strip().strip("<>").lower()
            if "@" in address:
                body.bounced.append(address)


class _Walker:
    def __init__(self) -> None:
        self.body = Body()
        self.index = 0

    def attach(self, part: Message, data: bytes | None = None) -> None:
        self.index += 1
        cid = headers.text(part, "Content-ID")
        inline = bool(cid) and (part.get_content_disposition() or "inline") == "inline"
        self.body.attachments.append(Attachment(
            filename=_filename(part) or _default_name(part, self.index),
            content_type=part.get_content_type(), data=_payload(part) if data is None else data, inline=inline))

    def walk(self, part: Message, *, twin: bool = False) -> None:
        """Collect ``part``; with ``twin`` it is the HTML twin of a text already chosen, so its text is not
        taken again (its HTML is kept for display, its images as files)."""
        content_type = part.get_content_type()
        children = _children(part)
        if content_type == "message/rfc822":
            self.attach(part, _message_bytes(part))
        elif content_type == "message/delivery-status":
            _delivery_status(part, self.body)
            self.attach(part, _serialized(part))
        elif children is not None:
            if content_type == "multipart/alternative" and not twin:
                self.alternative(children)
            else:
                for child in children:
                    self.walk(child, twin=twin)
        elif content_type.startswith("multipart/") or (content_type in TEXT_TYPES and not _is_attachment(part)):
            # A multipart without its boundary is read as text, as a mail program would show it.
            self.text(part, html=content_type == "text/html", twin=twin)
        else:
            self.attach(part)

    def text(self, part: Message, *, html: bool, twin: bool = False) -> None:
        content = _text_of(part)
        if html:
            self.body.html_parts.append(content)
        if not twin:
            self.body.text_parts.append(html_to_text(content) if html else content)

    def alternative(self, children: list[Message]) -> None:
        """Prefer the plain text (the sender's own line breaks and quote marks); the rest is its twin."""
        plain = next((c for c in children if c.get_content_type() == "text/plain" and _text_of(c).strip()), None)
        if plain is None:
            # The richest version (the last, RFC 2046) is the body: HTML, or a related/mixed tree around it.
            chosen = next((c for c in reversed(children) if c.get_content_type() != "text/plain"), None)
            if chosen is None:
                return
            self.walk(chosen)
            for child in children:
                if child is not chosen and child.get_content_type() not in TEXT_TYPES:
                    self.walk(child, twin=True)
            return
        self.body.text_parts.append(_text_of(plain))
        for child in children:
            if child is not plain and child.get_content_type() != "text/plain":
                self.walk(child, twin=True)


def read_body(message: Message) -> Body:
    """The message's text, HTML, files and delivery-report findings."""
    walker = _Walker()
    walker.walk(message)
    return walker.body
