"""Mail no person wrote, or that answers our own: stored and marked ignored, never a ticket.

Answering such mail is how mail loops start (our acknowledgement triggers their auto-reply, which opens a ticket,
which is acknowledged …), so each rule names what it saw.
"""

from __future__ import annotations

from runtime.intake.mail import headers
from runtime.intake.mail.message import ParsedMail
from runtime.notify.email import LOOP_HEADER

BULK_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
AUTO_REPLY_HEADERS = ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress")


def ignore_reason(mail: ParsedMail, own_addresses: frozenset[str]) -> str | None:
    """Why ``mail`` must not open a ticket or add a comment, or None when a person wrote it."""
    message = mail.headers
    if headers.text(message, LOOP_HEADER):
        return f"our own mail ({LOOP_HEADER} header)"
    if mail.delivery_report:
        return "delivery status report" + (f": failed for {', '.join(mail.bounced)}" if mail.bounced else "")
    report_type = str(message.get_param("report-type") or "") if message.get_content_type() == "multipart/report" \
        else ""
    if report_type:
        return f"{report_type} report (multipart/report)"
    auto_submitted = headers.text(message, "Auto-Submitted").split(";")[0].strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted} (RFC 3834)"
    precedence = headers.text(message, "Precedence").strip().lower()
    if precedence in BULK_PRECEDENCE:
        return f"Precedence: {precedence}"
    for name in AUTO_REPLY_HEADERS:
        value = headers.text(message, name)
        if value:
            return f"{name}: {value}"
    return_path = headers.text(message, "Return-Path")
    if return_path.replace(" ", "") == "<>":
        return "empty Return-Path: a delivery notification"
    if mail.sender is not None and mail.sender.email in own_addresses:
        return f"sent from our own mailbox {mail.sender.email}"
    return None
