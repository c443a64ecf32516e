"""A mail's external id, read before the message is parsed: its Message-ID, else a hash of its bytes.

Storing the raw message must not depend on the parser (a message the parser chokes on is still stored), so
the Message-ID is found by a scan of the header bytes alone.
"""

from __future__ import annotations

import hashlib
import re

from runtime.intake.mail.headers import message_ids

_HEADER_END = re.compile(rb"\r?\n\r?\n")
_MESSAGE_ID = re.compile(rb"^message-id[ \t]*:(.*(?:\r?\n[ \t].*)*)", re.IGNORECASE | re.MULTILINE)


def header_block(raw: bytes) -> bytes:
    end = _HEADER_END.search(raw)
    return raw[:end.start()] if end else raw


def mail_external_id(raw: bytes) -> str:
    """``<id@host>`` from the Message-ID header, or ``sha256:…`` of the whole message when it has none."""
    match = _MESSAGE_ID.search(header_block(raw))
    if match:
        found = message_ids(match.group(1).decode("utf-8", errors="replace"))
        if found:
            return found[0]
    return "sha256:" + hashlib.sha256(raw).hexdigest()
