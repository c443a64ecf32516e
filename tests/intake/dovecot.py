"""A real Dovecot IMAP server for the tests, run in the foreground from a scratch folder (see
/work/shared/notes/test-servers.md): one per test process, with an account per test."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.conftest import _missing

START_WAIT = 20.0  # seconds: a bound for a loaded machine, not a speed figure
LOG_WAIT = 10.0
PASSWORD = "secret"
ACCOUNTS = 40  # per server, that is per test process
# Without MOVE and UIDPLUS, as older servers are: moving becomes COPY, \Deleted and a plain EXPUNGE.
PLAIN_CAPABILITIES = "IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ NAMESPACE"


@dataclass(frozen=True)
class Account:
    username: str
    password: str
    port: int

    def client(self) -> IMAPClient:
        client = IMAPClient("127.0.0.1", self.port, ssl=False, timeout=30)
        client.login(self.username, self.password)
        return client

    def append(self, raws: Sequence[bytes], folder: str = "INBOX") -> None:
        client = self.client()
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            for raw in raws:
                client.append(folder, raw)
        finally:
            client.logout()

    def messages(self, folder: str = "INBOX") -> dict[int, tuple[bytes, tuple[bytes, ...]]]:
        """UID → (raw bytes, flags) of every message in the folder; empty when it does not exist."""
        client = self.client()
        try:
            if not client.folder_exists(folder):
                return {}
            client.select_folder(folder, readonly=True)
            found = client.fetch(client.search("ALL"), ["BODY.PEEK[]", "FLAGS"])
            return {uid: (bytes(data[b"BODY[]"]), tuple(data[b"FLAGS"])) for uid, data in found.items()}
        finally:
            client.logout()


class Dovecot:
    """A running server; ``account()`` gives each test a user with an empty mailbox."""

    def __init__(self, binary: str, folder: Path, capabilities: str | None = None) -> None:
        self.folder = folder
        self.port = _free_port()
        root = os.getuid() == 0
        # As root, mail is stored by nobody (Dovecot refuses uid 0 for mail); otherwise by whoever runs the tests.
        self.uid, self.gid = (65534, 65534) if root else (os.getuid(), os.getgid())
        user = "nobody" if root else pwd.getpwuid(os.getuid()).pw_name
        group = "nogroup" if root else user
        (folder / "run").mkdir()
        (folder / "state").mkdir()
        # Every account is written before the start: Dovecot rereads a changed password file, but not reliably
        # when it changes twice within a second.
        self.accounts = iter([self._add_user(f"user{n}") for n in range(1, ACCOUNTS + 1)])
        (folder / "dovecot.conf").write_text(_config(folder, self.port, user, group, capabilities))
        self.process = subprocess.Popen([binary, "-F", "-c", str(folder / "dovecot.conf")],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self._wait_ready()

    def account(self) -> Account:
        """An account of its own for the asking test."""
        try:
            return next(self.accounts)
        except StopIteration:
            pytest.fail(f"the test Dovecot has only {ACCOUNTS} accounts: raise ACCOUNTS in {__file__}")

    def _add_user(self, name: str) -> Account:
        home = self.folder / "home" / name
        home.mkdir(parents=True)
        if os.getuid() == 0:
            os.chown(home, self.uid, self.gid)
        with (self.folder / "passwd").open("a") as passwd:
            passwd.write(f"{name}:{{PLAIN}}{PASSWORD}:{self.uid}:{self.gid}::{home}\n")
        return Account(name, PASSWORD, self.port)

    def log(self) -> str:
        path = self.folder / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def logged(self, *parts: str) -> bool:
        """Whether a line of the server's log holds every one of ``parts``; waits a little for the line, which
        a session writes as it ends."""
        deadline = time.monotonic() + LOG_WAIT
        while True:
            if any(all(part in line for part in parts) for line in self.log().splitlines()):
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_WAIT
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                errors = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                pytest.fail(f"dovecot exited with {self.process.returncode}: {errors}{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=2) as probe:
                    if probe.recv(64).startswith(b"* OK"):
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(f"dovecot did not answer on 127.0.0.1:{self.port} within {START_WAIT:.0f} s: {self.log()}")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr:
            self.process.stderr.close()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _config(folder: Path, port: int, user: str, group: str, capabilities: str | None) -> str:
    override = f"imap_capability = {capabilities}\n" if capabilities else ""
    return f"""base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
mail_fsync = never
# IDLE learns of new mail through inotify; should that be unavailable, this bounds how late it hears.
mailbox_idle_check_interval = 1 secs
# No keep-alive within a test's bounds: a wait can then end only because of what the test did.
imap_idle_notify_interval = 10 mins
default_internal_user = {user}
default_login_user = {user}
default_internal_group = {group}
{override}passdb {{
  driver = passwd-file
  args = {folder}/passwd
}}
userdb {{
  driver = passwd-file
  args = {folder}/passwd
}}
service anvil {{
  chroot =
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


def _start(capabilities: str | None = None) -> Iterator[Dovecot]:
    # /usr/sbin is not on every user's PATH, and Debian installs Dovecot there.
    binary = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if binary is None:
        _missing("Dovecot", "no dovecot on PATH or in /usr/sbin (apt-get install dovecot-imapd)")
    # Not under pytest's temp folder: that one is private to its owner, and Dovecot's mail processes run as
    # another user that must reach the homes.
    folder = Path(tempfile.mkdtemp(prefix="tessera-dovecot-"))
    folder.chmod(0o755)
    server = None
    try:
        assert binary is not None
        server = Dovecot(binary, folder, capabilities)
        yield server
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


# Test modules import these (by their function names) and ask for them as ``dovecot`` and ``plain_dovecot``.
@pytest.fixture(scope="session", name="dovecot")
def dovecot_server() -> Iterator[Dovecot]:
    yield from _start()


@pytest.fixture(scope="session", name="plain_dovecot")
def plain_dovecot_server() -> Iterator[Dovecot]:
    """A server that announces neither MOVE nor UIDPLUS."""
    yield from _start(PLAIN_CAPABILITIES)
