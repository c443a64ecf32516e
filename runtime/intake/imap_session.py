"""One logged-in IMAP connection to a mailbox's folder: new UIDs, their raw bytes, what happens to them once
stored (flag, move, delete), and IMAP IDLE between polls."""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError
from imapclient.imapclient import DELETED, SEEN, SocketTimeout

from runtime.config import ir
from runtime.errors import TesseraError

CONNECT_SECONDS = 10.0  # a server that does not answer must not hold up the worker's other duties for long
READ_SECONDS = 60.0
IDLE_REFRESH = 60.0  # seconds between fresh IDLE commands (see ``watch``)
# The errors of an unreachable, refusing or misbehaving server (as opposed to bugs): reported in one line.
SERVER_ERRORS: tuple[type[BaseException], ...] = (OSError, IMAPClientError)


class MissingPassword(TesseraError):
    """The environment variable that should hold a mailbox's IMAP password is not set."""


@dataclass(frozen=True)
class Fetched:
    uid: int
    raw: bytes


def password_of(settings: ir.Imap) -> str:
    password = os.environ.get(settings.password_env)
    if not password:
        msg = f"the environment variable {settings.password_env} (the IMAP password) is not set"
        raise MissingPassword(msg)
    return password


class FolderSession:
    def __init__(self, settings: ir.Imap) -> None:
        self.settings = settings
        password = password_of(settings)
        self.client = IMAPClient(settings.host, settings.port, ssl=settings.ssl,
                                 timeout=SocketTimeout(connect=CONNECT_SECONDS, read=READ_SECONDS))
        self.idling = False
        self.idle_since = 0.0
        self._target_ready = False
        try:
            self.client.login(settings.username, password)
        except BaseException:
            self.close()
            raise

    @property
    def can_idle(self) -> bool:
        return self.settings.idle and bool(self.client.has_capability("IDLE"))

    def select(self) -> int:
        """Select the folder (again: that is how a server tells what arrived since); its UIDVALIDITY."""
        self.stop_idle()
        status: dict[bytes, Any] = self.client.select_folder(self.settings.folder)
        return int(status[b"UIDVALIDITY"])

    def new_uids(self, after: int) -> list[int]:
        # "n:*" always matches the newest message, even when its UID is below n: hence the filter.
        found = self.client.search(["UID", f"{after + 1}:*", "UNDELETED"])
        return sorted(uid for uid in found if uid > after)

    def fetch(self, uids: Sequence[int]) -> list[Fetched]:
        """The raw messages; PEEK leaves them unread, so a message that was never stored is not marked seen.
        A message removed by someone else since the search is missing from the result."""
        data: dict[int, dict[bytes, Any]] = self.client.fetch(list(uids), ["BODY.PEEK[]"])
        return [Fetched(uid, bytes(data[uid][b"BODY[]"])) for uid in sorted(data) if b"BODY[]" in data[uid]]

    def finish(self, uids: Sequence[int]) -> None:
        """What the mailbox's ``after`` says, for messages already committed to the database."""
        if not uids:
            return
        after = self.settings.after
        if after == "flag":
            self.client.add_flags(list(uids), [SEEN], silent=True)
        elif after == "move":
            self._move(uids)
        else:
            self.client.add_flags(list(uids), [DELETED], silent=True)
            self._expunge(uids)

    def _move(self, uids: Sequence[int]) -> None:
        target = self.settings.move_to or ""
        if not self._target_ready:
            if not self.client.folder_exists(target):
                self.client.create_folder(target)
            self._target_ready = True
        if self.client.has_capability("MOVE"):
            self.client.move(list(uids), target)
            return
        # The same in three steps; a crash between them leaves a copy in both folders, never none.
        self.client.copy(list(uids), target)
        self.client.add_flags(list(uids), [DELETED], silent=True)
        self._expunge(uids)

    def _expunge(self, uids: Sequence[int]) -> None:
        if self.client.has_capability("UIDPLUS"):
            self.client.uid_expunge(list(uids))
        else:
            # Without UIDPLUS only the whole folder can be expunged: messages someone else marked deleted go too,
            # which is what their mark asked for.
            self.client.expunge()

    def watch(self) -> tuple[bool, socket.socket | None]:
        """Idle where the mailbox wants it and the server has it: (news already, the socket to watch meanwhile)."""
        if not self.can_idle:
            return False, None
        if self.idling and time.monotonic() - self.idle_since < IDLE_REFRESH:
            return False, self._socket()
        news = False
        if self.idling:
            self.idling = False
            news = _arrived(self.client.idle_done()[1])
        # Dovecot reports in IDLE only what changes after IDLE begins: mail that came since the last command (while
        # the poll's messages were processed, say) is asked for first, and IDLE is begun again now and then so that
        # mail arriving in the instant between the two is not left for the next poll.
        if news or _arrived(self.client.noop()[1]):
            return True, None
        self.client.idle()
        self.idling, self.idle_since = True, time.monotonic()
        return False, self._socket()

    def _socket(self) -> socket.socket:
        sock: socket.socket = self.client.socket()
        return sock

    def news(self) -> bool:
        """Once the idle socket is readable: did the server report mail (or hang up)? Does not wait."""
        if not self.idling:
            return False
        responses = self.client.idle_check(timeout=0)
        # Nothing at all on a readable socket means the server hung up: worth a poll, which finds out.
        return not responses or _arrived(responses)

    def stop_idle(self) -> None:
        if self.idling:
            self.idling = False
            self.client.idle_done()

    def close(self) -> None:
        try:
            self.stop_idle()
            self.client.logout()
        except Exception:  # the connection is going away anyway; a server that already left is no news
            with contextlib.suppress(Exception):
                self.client.shutdown()


def _arrived(responses: Sequence[Any]) -> bool:
    """Whether the server's untagged responses announce new mail (``* n EXISTS``)."""
    return any(len(r) > 1 and r[1] == b"EXISTS" for r in responses)
