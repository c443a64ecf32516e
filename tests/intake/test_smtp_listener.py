"""The SMTP listener in real SMTP sessions: a message is committed before the 250 and becomes a ticket after it,
only the mailboxes' addresses are taken (550 for others), and mail over the size limit is refused with 552."""

from __future__ import annotations

import os
import re
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from runtime.intake.smtp_server import SmtpListener
from runtime.intake.store import RECEIVED
from tests.desk_fixtures import SHIPPED
from tests.intake.imap_desk import imap_desk
from tests.intake.mail_fixtures import JONAS, MARIA, IntakeDesk, intake_desk, mail

WAIT = 60.0  # seconds: a bound for a loaded machine, not a speed figure
LIMIT = 64 * 1024


@contextmanager
def running(desk: IntakeDesk) -> Iterator[SmtpListener]:
    listener = SmtpListener(desk.pipeline, "127.0.0.1", 0, LIMIT).start()
    try:
        yield listener
    finally:
        listener.stop()


@pytest.fixture
def desk(tmp_path: Path) -> IntakeDesk:
    return intake_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")


@pytest.fixture
def listener(desk: IntakeDesk) -> Iterator[SmtpListener]:
    with running(desk) as listening:
        yield listening


def session(port: int) -> smtplib.SMTP:
    client = smtplib.SMTP("127.0.0.1", port, timeout=30)
    client.ehlo("client.example.net")
    return client


def on_the_wire(raw: bytes) -> bytes:
    """The bytes as SMTP carries them: every line ending CRLF."""
    return re.sub(rb"(?<!\r)\n", b"\r\n", raw)


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_an_accepted_message_is_committed_before_the_250_and_then_becomes_a_ticket(tmp_path: Path,
                                                                                   database_url: str) -> None:
    desk = intake_desk(tmp_path, database_url)
    raw = on_the_wire(mail(sender=JONAS, subject="VPN drops every hour"))
    with running(desk) as listener:
        client = session(listener.port)
        try:
            assert client.mail(JONAS)[0] == 250
            assert client.rcpt("it@example.org")[0] == 250
            code, reply = client.data(raw)
            assert code == 250
            found = re.search(rb"stored as intake message (\d+)", reply)
            assert found is not None, reply
            # The reply names the row: it was committed, with the bytes sent, before the sender heard 250.
            row = desk.rows("intake_messages", id=int(found.group(1)))[0]
        finally:
            client.quit()
        assert wait_until(lambda: desk.rows("intake_messages", id=row["id"])[0]["state"] != RECEIVED)
    assert (bytes(row["raw"]), row["source"], row["channel"]) == (raw, "it", "email")
    assert (row["metadata"]["envelope_from"], row["metadata"]["envelope_to"]) == (JONAS, ["it@example.org"])
    ticket = desk.ticket(desk.rows("intake_messages", id=row["id"])[0]["ticket_id"])
    assert (ticket["title"], ticket["source"], ticket["source_name"]) == ("VPN drops every hour", "email", "it")


def test_recipients_match_without_regard_to_case_or_a_plus_tag(desk: IntakeDesk, listener: SmtpListener) -> None:
    client = session(listener.port)
    try:
        refused = client.sendmail(MARIA, ["Care+Returns@EXAMPLE.org"], mail(to="care+returns@example.org"))
    finally:
        client.quit()
    assert refused == {}
    assert [r["source"] for r in desk.rows("intake_messages")] == ["care"]


def test_mail_for_an_address_that_is_no_mailbox_is_refused_with_550(desk: IntakeDesk,
                                                                     listener: SmtpListener) -> None:
    client = session(listener.port)
    try:
        client.mail(MARIA)
        unknown = client.rcpt("nobody@example.org")
        elsewhere = client.rcpt("it@example.net")
        client.rset()
        # With one good recipient the message goes through, for that one only.
        refused = client.sendmail(MARIA, ["typo@example.org", "it@example.org"], mail())
    finally:
        client.quit()
    assert (unknown[0], elsewhere[0]) == (550, 550)
    assert b"no such mailbox" in unknown[1]
    assert list(refused) == ["typo@example.org"]
    assert [r["metadata"]["envelope_to"] for r in desk.rows("intake_messages")] == [["it@example.org"]]


def test_a_message_over_the_size_limit_is_refused_with_552_and_not_stored(desk: IntakeDesk,
                                                                          listener: SmtpListener) -> None:
    large = mail(body="line of text\n" * (LIMIT // 13 + 100))
    assert len(large) > LIMIT
    client = session(listener.port)
    try:
        assert "size" in client.esmtp_features  # announced, so that senders know before sending
        client.mail(MARIA)  # without SIZE=: the limit is then enforced while the data arrives
        client.rcpt("it@example.org")
        code, _ = client.data(on_the_wire(large))
        client.rset()
        sized = client.mail(MARIA, [f"SIZE={len(large)}"])
    finally:
        client.quit()
    assert (code, sized[0]) == (552, 552)
    assert desk.rows("intake_messages") == []


def test_cli_intake_smtp_listens_on_the_configured_port(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"sqlite:///{tmp_path}/tessera.db"
    desk = imap_desk(tmp_path, url, {}, listener={"host": "127.0.0.1", "port": port, "max_size_mb": 1})
    server = subprocess.Popen(
        [sys.executable, str(SHIPPED / "cli.py"), "--root", str(desk.desk.compiled.root), "--database-url", url,
         "intake", "smtp"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert server.stdout is not None
        assert server.stdout.readline().decode().strip() == f"listening for mail on 127.0.0.1:{port}"
        client = session(port)
        try:
            assert client.sendmail(MARIA, ["it@example.org"], mail(subject="Badge reader broken")) == {}
        finally:
            client.quit()
        assert wait_until(lambda: any(t["title"] == "Badge reader broken" for t in desk.rows("tickets")))
    finally:
        server.send_signal(signal.SIGTERM)
        _, errors = server.communicate(timeout=30)
    assert server.returncode == 0, errors.decode()
    assert b"Traceback" not in errors
