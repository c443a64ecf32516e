"""IMAP polling against a real Dovecot: new mail becomes tickets once, what ``after`` says happens on the server
only once the mail is stored, a renumbered folder doubles nothing, a server that is down stops no other mailbox,
and IDLE cuts the wait short."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.intake import imap_poll
from runtime.intake.claims import mailbox_key
from runtime.intake.imap_poll import ImapPolling
from runtime.intake.processing import IntakeProcessor
from runtime.intake.store import PROCESSED
from tests.desk_fixtures import SHIPPED
from tests.intake.dovecot import (  # noqa: F401 - fixtures, asked for as dovecot and plain_dovecot
    Account,
    Dovecot,
    dovecot_server,
    plain_dovecot_server,
)
from tests.intake.imap_desk import PASSWORD_ENV, imap_desk, imap_settings
from tests.intake.mail_fixtures import JONAS, IntakeDesk, mail, message_id_of
from tests.intake.test_worker_intake import HOLD

SEEN = rb"\Seen"


class Clock:
    """Time that moves only when told, so that a mailbox falls due exactly when a test says."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float = 3600) -> None:
        self.now += seconds


@pytest.fixture(autouse=True)
def _password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "secret")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/tessera.db"


def requests(count: int, start: int = 0) -> list[bytes]:
    return [mail(sender=JONAS, subject=f"Request {i}", body=f"Request number {i}: the scanner {i} is offline.")
            for i in range(start, start + count)]


def tickets_from(desk: IntakeDesk, mailbox: str) -> list[dict[str, Any]]:
    return desk.rows("tickets", source_name=mailbox)


def free_port() -> int:
    """A port where nothing listens."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cursors(desk: IntakeDesk) -> list[dict[str, Any]]:
    table = desk.desk.compiled.table("intake_cursors")
    with desk.desk.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(table).order_by(table.c.mailbox))]


def poll_and_process(polling: ImapPolling, desk: IntakeDesk) -> list[int]:
    """One poll of every due mailbox; the ids of the messages new to the desk, processed."""
    new = [s.id for s in polling.poll_due() if s.new]
    IntakeProcessor(desk.pipeline).process(new)
    return new


def test_polling_turns_new_mail_into_tickets_and_fetches_each_uid_once(tmp_path: Path, database_url: str,
                                                                       dovecot: Dovecot) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, database_url, {"it": imap_settings(account)})
    account.append(requests(3))
    clock = Clock()
    polling = ImapPolling(desk.pipeline, clock=clock)
    try:
        assert len(poll_and_process(polling, desk)) == 3
        made = tickets_from(desk, "it")
        assert sorted(t["title"] for t in made) == ["Request 0", "Request 1", "Request 2"]
        clock.advance()
        assert polling.poll_due() == []  # the cursor is past them: not even fetched again
        account.append(requests(1, start=3))
        clock.advance()
        new = poll_and_process(polling, desk)
    finally:
        polling.close()
    assert len(new) == 1
    row = desk.rows("intake_messages", id=new[0])[0]
    assert (row["source"], row["metadata"]["imap_uid"], row["metadata"]["folder"]) == ("it", 4, "INBOX")
    assert len(tickets_from(desk, "it")) == 4
    cursor = cursors(desk)
    assert [(c["mailbox"], c["folder"], c["last_uid"]) for c in cursor] == [("it", "INBOX", 4)]


def test_a_full_folder_is_read_over_several_polls_in_a_row(tmp_path: Path, dovecot: Dovecot, sqlite_url: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imap_poll, "PER_POLL", 2)
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account)})
    account.append(requests(5))
    polling = ImapPolling(desk.pipeline, clock=Clock())  # the clock stands still: due again only while behind
    try:
        counts = [len(polling.poll_due()) for _ in range(4)]
    finally:
        polling.close()
    assert counts == [2, 2, 1, 0]


def test_after_flag_marks_stored_mail_seen_and_leaves_it_in_place(tmp_path: Path, dovecot: Dovecot,
                                                                  sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, after="flag")})
    account.append(requests(2))
    polling = ImapPolling(desk.pipeline)
    try:
        poll_and_process(polling, desk)
    finally:
        polling.close()
    account.append(requests(1, start=2))  # arrived after the poll: not stored, so not marked
    flags = [SEEN in flagged for _, flagged in account.messages().values()]
    assert flags == [True, True, False]


def test_after_move_moves_stored_mail_to_the_folder(tmp_path: Path, dovecot: Dovecot, sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, after="move", move_to="Processed")})
    sent = requests(2)
    account.append(sent)
    polling = ImapPolling(desk.pipeline)
    try:
        poll_and_process(polling, desk)
    finally:
        polling.close()
    assert account.messages() == {}
    moved = sorted(message_id_of(raw) for raw, _ in account.messages("Processed").values())
    assert moved == sorted(message_id_of(raw) for raw in sent)
    assert len(tickets_from(desk, "it")) == 2


def test_after_move_on_a_server_without_move_copies_then_deletes(tmp_path: Path, plain_dovecot: Dovecot,
                                                                  sqlite_url: str) -> None:
    account = plain_dovecot.account()
    client = account.client()
    try:
        assert not client.has_capability("MOVE")
        assert not client.has_capability("UIDPLUS")
    finally:
        client.logout()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, after="move", move_to="Done")})
    sent = requests(3)
    account.append(sent)
    polling = ImapPolling(desk.pipeline)
    try:
        poll_and_process(polling, desk)
    finally:
        polling.close()
    assert account.messages() == {}
    moved = sorted(message_id_of(raw) for raw, _ in account.messages("Done").values())
    assert moved == sorted(message_id_of(raw) for raw in sent)
    assert len(tickets_from(desk, "it")) == 3
    # Dovecot counts messages marked \Deleted and expunged per session: MOVE does neither, the fallback both.
    assert plain_dovecot.logged(f"imap({account.username})", "deleted=3 expunged=3")


def test_after_delete_removes_stored_mail(tmp_path: Path, dovecot: Dovecot, sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, after="delete")})
    account.append(requests(2))
    polling = ImapPolling(desk.pipeline)
    try:
        poll_and_process(polling, desk)
    finally:
        polling.close()
    assert account.messages() == {}
    assert [r["state"] for r in desk.rows("intake_messages")] == [PROCESSED, PROCESSED]


def test_a_renumbered_folder_is_read_again_without_doubling_tickets(tmp_path: Path, dovecot: Dovecot,
                                                                    sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, folder="Support")})
    old = requests(2)
    account.append(old, folder="Support")
    clock = Clock()
    polling = ImapPolling(desk.pipeline, clock=clock)
    try:
        poll_and_process(polling, desk)
        first_validity = cursors(desk)[0]["uidvalidity"]
        # The folder made anew (as after a server migration): a new UIDVALIDITY, and the new mail gets UID 1,
        # below the cursor's old position.
        client = account.client()
        try:
            client.delete_folder("Support")
        finally:
            client.logout()
        account.append([*requests(1, start=2), *old], folder="Support")
        clock.advance()
        new = poll_and_process(polling, desk)
    finally:
        polling.close()
    assert len(new) == 1
    assert sorted(t["title"] for t in tickets_from(desk, "it")) == ["Request 0", "Request 1", "Request 2"]
    cursor = cursors(desk)[0]
    assert (cursor["last_uid"], cursor["uidvalidity"] != first_validity) == (3, True)


def test_a_server_that_is_down_is_reported_and_the_other_mailbox_is_still_polled(
        tmp_path: Path, dovecot: Dovecot, sqlite_url: str, caplog: pytest.LogCaptureFixture) -> None:
    dead_port = free_port()
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": {**imap_settings(account), "port": dead_port},
                                            "care": imap_settings(account)})
    account.append([mail(sender=JONAS, to="care@example.org", subject="Parcel arrived broken")])
    polling = ImapPolling(desk.pipeline)
    with caplog.at_level(logging.WARNING, logger="tessera.intake.imap"):
        try:
            poll_and_process(polling, desk)
        finally:
            polling.close()
    assert [t["title"] for t in tickets_from(desk, "care")] == ["Parcel arrived broken"]
    reports = [r for r in caplog.records if r.name == "tessera.intake.imap"]
    assert len(reports) == 1
    assert reports[0].exc_info is None  # one line, no traceback
    assert f"mailbox it: cannot poll 127.0.0.1:{dead_port}" in reports[0].getMessage()
    assert "ConnectionRefusedError" in reports[0].getMessage()


def test_cli_intake_poll_once_fetches_processes_and_reports_a_failing_mailbox(
        tmp_path: Path, dovecot: Dovecot, sqlite_url: str) -> None:
    account = dovecot.account()
    dead_port = free_port()
    desk = imap_desk(tmp_path, sqlite_url, {"it": {**imap_settings(account), "port": dead_port},
                                            "care": imap_settings(account)})
    account.append([mail(sender=JONAS, to="care@example.org", subject="Invoice twice")])
    result = subprocess.run(
        [sys.executable, str(SHIPPED / "cli.py"), "--root", str(desk.desk.compiled.root), "--database-url",
         sqlite_url, "intake", "poll", "--once"], capture_output=True, text=True, timeout=120,
        env={**os.environ, PASSWORD_ENV: "secret"})
    assert (result.returncode, result.stdout) == (1, "1 message fetched: ticket: 1\n"), result.stderr
    warnings = [line for line in result.stderr.splitlines() if "WARNING" in line]
    assert len(warnings) == 1, result.stderr
    assert f"mailbox it: cannot poll 127.0.0.1:{dead_port}" in warnings[0]
    assert [t["title"] for t in tickets_from(desk, "care")] == ["Invoice twice"]


def test_a_missing_password_is_reported_without_stopping_the_poll(
        tmp_path: Path, dovecot: Dovecot, sqlite_url: str, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, password_env="TESSERA_TEST_UNSET"),
                                            "care": imap_settings(account)})
    monkeypatch.delenv("TESSERA_TEST_UNSET", raising=False)
    account.append(requests(1))
    polling = ImapPolling(desk.pipeline)
    with caplog.at_level(logging.WARNING, logger="tessera.intake.imap"):
        try:
            poll_and_process(polling, desk)
        finally:
            polling.close()
    assert len(tickets_from(desk, "care")) == 1
    assert [r.getMessage() for r in caplog.records if r.name == "tessera.intake.imap"] == [
        f"mailbox it: cannot poll 127.0.0.1:{account.port} ({account.username}, INBOX): the environment variable "
        "TESSERA_TEST_UNSET (the IMAP password) is not set"]


def test_idle_ends_the_wait_as_soon_as_mail_arrives(tmp_path: Path, dovecot: Dovecot, sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, idle=True, poll_every="10m")})
    clock = Clock()  # stands still: only the server's news can make the mailbox due again
    polling = ImapPolling(desk.pipeline, clock=clock)
    try:
        assert poll_and_process(polling, desk) == []
        assert polling.pollers[0].idle_socket() is not None  # idling from here on
        account.append(requests(1))
        polling.wait(60)  # a bound for a loaded machine; returns as soon as the server reports the mail
        assert polling.pollers[0].due()
        assert len(poll_and_process(polling, desk)) == 1
    finally:
        polling.close()
    assert len(tickets_from(desk, "it")) == 1


def test_mail_that_came_before_idle_began_ends_the_wait_too(tmp_path: Path, dovecot: Dovecot,
                                                            sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, idle=True, poll_every="10m")})
    clock = Clock()
    polling = ImapPolling(desk.pipeline, clock=clock)
    try:
        assert poll_and_process(polling, desk) == []
        # Arrives while the worker is still busy after its poll: Dovecot's IDLE would never mention it.
        account.append(requests(1))
        polling.wait(60)
        assert polling.pollers[0].due()
        assert len(poll_and_process(polling, desk)) == 1
    finally:
        polling.close()


def test_a_mailbox_with_idle_off_is_not_watched(tmp_path: Path, dovecot: Dovecot, sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account, idle=False)})
    polling = ImapPolling(desk.pipeline, clock=Clock())
    try:
        poll_and_process(polling, desk)
        assert polling.pollers[0].idle_socket() is None
    finally:
        polling.close()



def test_a_mailbox_another_process_is_polling_is_left_to_it(tmp_path: Path, dovecot: Dovecot,
                                                             sqlite_url: str) -> None:
    account = dovecot.account()
    desk = imap_desk(tmp_path, sqlite_url, {"it": imap_settings(account)})
    account.append(requests(2))
    clock = Clock()
    polling = ImapPolling(desk.pipeline, clock=clock)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, sqlite_url, str(mailbox_key("it"))], cwd=SHIPPED,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        assert polling.poll_due() == []  # another process polls 'it' right now: left to it, nothing fetched
        holder.communicate(b"")  # that process is done, and its claim goes with it
        clock.advance()
        assert len(poll_and_process(polling, desk)) == 2
    finally:
        if holder.poll() is None:
            holder.kill()
        polling.close()
