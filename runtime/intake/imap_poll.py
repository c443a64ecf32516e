"""Polling the mailboxes that have ``imap:``: new messages are committed, then flagged, moved or deleted on the
server, then the folder's cursor moves past them.

That order is what makes a crash harmless. Until the cursor moves, the next poll fetches the same UIDs again and
the store finds each one already kept (one row per channel, mailbox and Message-ID), so nothing is doubled; and
nothing is flagged, moved or deleted on the server before its bytes are committed, so nothing is lost. The same
holds when the server renumbers the folder (a new UIDVALIDITY): everything is fetched again and found kept.

A mailbox whose server is down, refuses the login or lacks its password is reported in one line and tried again
at its next poll; the other mailboxes go on.
"""

from __future__ import annotations

import logging
import re
import select
import socket
import time
from collections.abc import Callable, Sequence

from runtime.config import ir
from runtime.intake.claims import claims, mailbox_key
from runtime.intake.imap_cursors import Cursors
from runtime.intake.imap_session import SERVER_ERRORS, FolderSession, MissingPassword
from runtime.intake.pipeline import MailPipeline
from runtime.intake.store import Stored

log = logging.getLogger("tessera.intake.imap")
BATCH = 25  # messages per fetch and per transaction: bounds the memory a folder full of large mail takes
# Per poll: a first poll of a folder holding years of mail goes on in the next rounds, and the worker's other
# duties (SLA clocks, jobs) get their turn in between.
PER_POLL = 500
Clock = Callable[[], float]
POLL_ERRORS: tuple[type[BaseException], ...] = (*SERVER_ERRORS, MissingPassword)


class MailboxPoller:
    """One mailbox; its connection stays open between polls, idling where the server can."""

    def __init__(self, pipeline: MailPipeline, cursors: Cursors, mailbox: ir.Mailbox,
                 clock: Clock = time.monotonic) -> None:
        assert mailbox.imap is not None
        self.pipeline = pipeline
        self.cursors = cursors
        self.mailbox = mailbox
        self.settings: ir.Imap = mailbox.imap
        self.clock = clock
        self.session: FolderSession | None = None
        self.next_poll = clock()  # due at once
        self.failing = False

    @property
    def name(self) -> str:
        return self.mailbox.name

    def due(self) -> bool:
        return self.clock() >= self.next_poll

    def postpone(self) -> None:
        self.next_poll = self.clock() + self.settings.poll_seconds

    def poll(self) -> list[Stored]:
        """Store what arrived since the last poll; the rows of the messages fetched."""
        self.next_poll = self.clock() + self.settings.poll_seconds
        if self.session is not None:
            try:
                return self._poll(self.session)
            except SERVER_ERRORS:
                # A connection kept since the last poll may have been dropped by the server meanwhile (a restart,
                # an idle timeout): one fresh attempt before calling the server unreachable.
                self.close()
        self.session = FolderSession(self.settings)
        return self._poll(self.session)

    def _poll(self, session: FolderSession) -> list[Stored]:
        folder = self.settings.folder
        uidvalidity = session.select()
        stored: list[Stored] = []
        uids = session.new_uids(self.cursors.start_after(self.name, folder, uidvalidity))
        if len(uids) > PER_POLL:
            uids, self.next_poll = uids[:PER_POLL], self.clock()
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            fetched = session.fetch(batch)
            if fetched:
                stored += self.pipeline.receive(
                    [f.raw for f in fetched], source=self.name,
                    metadata=[{"imap_uid": f.uid, "folder": folder, "uidvalidity": uidvalidity} for f in fetched])
                session.finish([f.uid for f in fetched])
            self.cursors.advance(self.name, folder, uidvalidity, batch[-1])
        if self.failing:
            log.info("mailbox %s: %s reachable again", self.name, self._server())
            self.failing = False
        return stored

    def idle_socket(self) -> socket.socket | None:
        """Wait with IDLE where possible: the socket to watch for the server's news. None when there is nothing to
        watch, or when mail has come already (the mailbox is then due)."""
        if self.session is None:
            return None
        try:
            news, sock = self.session.watch()
        except SERVER_ERRORS as exc:
            self.fail(exc)
            return None
        if news:
            self.next_poll = self.clock()
        return sock

    def wake(self) -> None:
        """The idle connection has something to say: poll now if it is news."""
        try:
            if self.session is not None and self.session.news():
                self.next_poll = self.clock()
        except SERVER_ERRORS:
            self.next_poll = self.clock()  # the poll will reconnect and report what is wrong

    def fail(self, exc: BaseException) -> None:
        """Report in one line, drop the connection; the next poll starts afresh."""
        log.warning("mailbox %s: cannot poll %s: %s", self.name, self._server(), _describe(exc))
        self.failing = True
        self.close()

    def close(self) -> None:
        if self.session is not None:
            self.session.close()
            self.session = None

    def _server(self) -> str:
        return f"{self.settings.host}:{self.settings.port} ({self.settings.username}, {self.settings.folder})"


def _describe(exc: BaseException) -> str:
    if isinstance(exc, MissingPassword):
        return str(exc)
    # imaplib's errors carry the server's words as bytes, which IMAPClient passes on in their repr: b'…'.
    text = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
    quoted = re.fullmatch(r"b(['\"])(.*)\1", text.strip(), re.DOTALL)
    return f"{type(exc).__name__}: {(quoted.group(2) if quoted else text).strip() or 'no details'}"


class ImapPolling:
    """Every mailbox with ``imap:`` (or the ones named): polled when due, and sooner when IDLE reports mail."""

    def __init__(self, pipeline: MailPipeline, names: Sequence[str] | None = None,
                 clock: Clock = time.monotonic) -> None:
        cursors = Cursors(pipeline.compiled, pipeline.engine)
        mailboxes = [m for m in pipeline.compiled.definitions.project.mailboxes
                     if m.imap is not None and (names is None or m.name in names)]
        self.pollers = [MailboxPoller(pipeline, cursors, m, clock) for m in mailboxes]
        self.clock = clock
        self.engine = pipeline.engine

    def poll_due(self) -> list[Stored]:
        """Poll every mailbox that is due and that no other process is polling; one that fails is reported and
        skipped."""
        stored: list[Stored] = []
        due = [poller for poller in self.pollers if poller.due()]
        if not due:
            return stored
        with claims(self.engine) as held:
            for poller in due:
                key = mailbox_key(poller.name)
                if not held.claim(key):
                    poller.postpone()  # another worker polls it now; its turn comes round again
                    continue
                try:
                    stored += poller.poll()
                except POLL_ERRORS as exc:
                    poller.fail(exc)
                except Exception:
                    log.exception("mailbox %s: polling failed", poller.name)
                    poller.close()
                finally:
                    held.release(key)
        return stored

    def wait(self, seconds: float) -> None:
        """Wait up to ``seconds``, or until the next poll is due, or until an idling server reports mail."""
        watched = {}
        for poller in self.pollers:
            sock = poller.idle_socket()
            if sock is not None:
                watched[sock] = poller
        timeout = max(0.0, min([seconds, *(p.next_poll - self.clock() for p in self.pollers)]))
        if not watched:
            time.sleep(timeout)
            return
        readable, _, _ = select.select(list(watched), [], [], timeout)
        for sock in readable:
            watched[sock].wake()

    def close(self) -> None:
        for poller in self.pollers:
            poller.close()
