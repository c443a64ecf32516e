"""The SMTP listener's decisions (an aiosmtpd handler): which recipients it takes, how large a message may be, and
that a message is committed before the sender hears ``250``.

Only the mailboxes' own addresses are taken (compared without regard to case, ``it+vpn@`` counting as ``it@``):
mail for any other address is refused with 550 at RCPT, even when the desk has a default mailbox. The listener
speaks for the desk's addresses only; taking every address would make it a sink for typos and spam, and the
sender could not learn that the address is wrong. (The default mailbox still serves mail that reached one of our
addresses with other addresses in its headers, as IMAP and imports deliver it.)

A message is committed to ``intake_messages`` before the ``250`` is sent, so a message the sender was told we
have is never lost; when it cannot be committed the answer is ``451`` and the sender tries again later. Turning
it into a ticket comes after the answer (``on_stored``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from typing import Any

from runtime.config import ir
from runtime.intake.mailboxes import Mailboxes
from runtime.intake.pipeline import MailPipeline
from runtime.intake.store import RECEIVED

log = logging.getLogger("tessera.intake.smtp")
OnStored = Callable[[Sequence[int]], None]


class IntakeHandler:
    def __init__(self, pipeline: MailPipeline, max_bytes: int, on_stored: OnStored) -> None:
        self.pipeline = pipeline
        self.max_bytes = max_bytes
        self.on_stored = on_stored
        self.by_address = Mailboxes(pipeline.compiled).by_address

    def mailbox_for(self, address: str) -> ir.Mailbox | None:
        local, _, domain = address.strip().lower().rpartition("@")
        return self.by_address.get(f"{local}@{domain}") or self.by_address.get(f"{local.split('+', 1)[0]}@{domain}")

    async def handle_RCPT(self, _server: Any, _session: Any, envelope: Any, address: str,  # noqa: N802 (aiosmtpd's name)
                          _rcpt_options: list[str]) -> str:
        if self.mailbox_for(address) is None:
            return f"550 5.1.1 <{address}>: no such mailbox here"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, _server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        raw: bytes = envelope.original_content or b""
        if len(raw) > self.max_bytes:
            return f"552 5.3.4 message larger than {self.max_bytes} bytes"
        mailbox = next(m for m in map(self.mailbox_for, envelope.rcpt_tos) if m is not None)
        metadata = {"envelope_from": envelope.mail_from, "envelope_to": list(envelope.rcpt_tos),
                    "peer": str(session.peer[0]) if session.peer else None}
        try:
            # The database call blocks: in a thread, so that other sessions go on meanwhile.
            stored = await asyncio.get_running_loop().run_in_executor(
                None, lambda: self.pipeline.receive([raw], mailbox.name, [metadata])[0])
        except Exception:
            log.exception("a message for %s could not be stored; the sender was asked to try again", mailbox.name)
            return "451 4.3.0 cannot store the message now; try again later"
        if stored.state == RECEIVED:
            self.on_stored([stored.id])
        return f"250 2.0.0 OK: stored as intake message {stored.id}"
