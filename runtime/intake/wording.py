"""The words a mail turns into: a ticket's title and description, a comment's body, a failure's reason."""

from __future__ import annotations

from typing import Any

from runtime.intake.mail.message import ParsedMail
from runtime.tickets.errors import TicketError

TITLE_MAX = 300  # the tickets.title column
DESCRIPTION_MAX = 100_000  # the create model's limit
NO_SUBJECT = "(no subject)"


def _files_note(mail: ParsedMail) -> str:
    count = len(mail.attachments)
    if not count:
        return "(empty message)"
    return f"(no text; {count} file{'s' if count != 1 else ''} attached)"


def _fit(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    note = "\n\n[… cut here: the full message is kept with the intake message]"
    return text[: limit - len(note)] + note


def ticket_payload(mail: ParsedMail) -> dict[str, Any]:
    """A new ticket from a mail: the subject as title, the whole text (history included) as description."""
    title = mail.subject.strip() or NO_SUBJECT
    if len(title) > TITLE_MAX:
        title = title[: TITLE_MAX - 1] + "…"
    return {"title": title, "description": _fit(mail.text.strip() or _files_note(mail), DESCRIPTION_MAX)}


def comment_body(mail: ParsedMail) -> str:
    """A reply's comment: only what is new in it; the whole text when stripping left nothing."""
    return _fit(mail.reply_text or mail.text.strip() or _files_note(mail), DESCRIPTION_MAX)


def describe_failure(exc: BaseException) -> str:
    """One line saying why a message could not be processed, with each refused field for service errors."""
    if isinstance(exc, TicketError):
        fields = "; ".join(f"{e.get('field')}: {e.get('reason')}" for e in exc.errors)
        return f"{type(exc).__name__}: {exc.detail}" + (f" ({fields})" if fields else "")
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
