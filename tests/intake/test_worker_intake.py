"""Stored mail processed by ``cli.py worker`` processes: exactly once per message when a worker is killed halfway
and started again, and when two workers share the queue on PostgreSQL; a message another process holds is left to
it; a running worker fetches IMAP mail as soon as IDLE reports it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.intake.claims import claims
from runtime.intake.processing import IntakeProcessor
from runtime.intake.store import PROCESSED, RECEIVED
from tests.desk_fixtures import SHIPPED
from tests.intake.dovecot import Dovecot, dovecot_server  # noqa: F401 - a fixture, asked for as dovecot
from tests.intake.imap_desk import PASSWORD_ENV, imap_desk, imap_settings
from tests.intake.mail_fixtures import IntakeDesk, intake_desk, mail

WAIT = 90.0  # seconds: a bound for a loaded machine, not a speed figure


def requests(count: int) -> list[bytes]:
    """Mail from as many senders of as many organizations, so that no two are near duplicates of each other."""
    return [mail(sender=f"person{i}@org{i}.example.net", subject=f"Request {i}: badge {i * 7919} rejected",
                 body=f"Door {i} refuses badge {i * 7919} since {i % 24}:00; reader model R{i}.")
            for i in range(count)]


def states(desk: IntakeDesk) -> dict[str, int]:
    return desk.pipeline.store.counts()


def wait_until(condition: Callable[[], bool], pause: float = 0.1) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(pause)
    return condition()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Callable[[IntakeDesk], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(desk: IntakeDesk) -> subprocess.Popen[bytes]:
        url = desk.desk.engine.url.render_as_string(hide_password=False)
        process = subprocess.Popen(
            [sys.executable, str(SHIPPED / "cli.py"), "--root", str(desk.desk.compiled.root), "--database-url", url,
             "worker"], stdout=subprocess.DEVNULL, stderr=(tmp_path / f"worker{len(started)}.err").open("wb"),
            env={**os.environ, "PYTHONUNBUFFERED": "1", PASSWORD_ENV: "secret"})
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    errors = "".join(path.read_text(errors="replace") for path in sorted(tmp_path.glob("worker*.err")))
    assert "Traceback" not in errors, errors


def assert_each_has_its_ticket(desk: IntakeDesk, raws: list[bytes]) -> None:
    """None lost: every message processed, each into a ticket of its own."""
    rows = desk.rows("intake_messages")
    assert len(rows) == len(raws)
    assert {r["state"] for r in rows} == {PROCESSED}
    ticket_ids = [r["ticket_id"] for r in rows]
    assert None not in ticket_ids
    assert len(set(ticket_ids)) == len(raws)
    assert desk.rows("comments", channel="email") == []


def unrecorded_tickets(desk: IntakeDesk) -> list[int]:
    """Tickets made from the messages but recorded by none: a message processed twice leaves one."""
    rows = desk.rows("intake_messages")
    external, recorded = {r["external_id"] for r in rows}, {r["ticket_id"] for r in rows}
    return [t["id"] for t in desk.rows("tickets") if t["external_ref"] in external and t["id"] not in recorded]


def test_a_worker_killed_halfway_and_started_again_processes_every_message_once(
        tmp_path: Path, workers: Callable[[IntakeDesk], subprocess.Popen[bytes]]) -> None:
    desk = intake_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")
    raws = requests(300)
    desk.pipeline.receive(raws, "it")
    first = workers(desk)
    assert wait_until(lambda: states(desk).get(PROCESSED, 0) > 0, pause=0.01)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert states(desk).get(RECEIVED, 0) > 0  # killed with work left
    workers(desk)
    assert wait_until(lambda: RECEIVED not in states(desk))
    assert_each_has_its_ticket(desk, raws)
    assert unrecorded_tickets(desk) == []


def test_two_workers_on_postgresql_process_each_message_once(
        tmp_path: Path, pg_url: str, workers: Callable[[IntakeDesk], subprocess.Popen[bytes]]) -> None:
    desk = intake_desk(tmp_path, pg_url)
    raws = requests(100)
    desk.pipeline.receive(raws, "it")
    workers(desk)
    workers(desk)
    assert wait_until(lambda: RECEIVED not in states(desk))
    assert_each_has_its_ticket(desk, raws)
    assert unrecorded_tickets(desk) == []
    desk.desk.engine.dispose()


HOLD = """
import sys
from runtime.db.engine import make_engine
from runtime.intake.claims import claims
from pathlib import Path
with claims(make_engine(sys.argv[1], Path.cwd())) as held:
    print("held" if held.claim(int(sys.argv[2])) else "refused", flush=True)
    sys.stdin.read()
"""


def test_a_message_another_process_holds_is_left_to_it(tmp_path: Path, database_url: str) -> None:
    desk = intake_desk(tmp_path, database_url)
    first, second = desk.pipeline.receive([mail(subject="Monitor flickers"), mail(subject="Dock is dead")], "it")
    url = desk.desk.engine.url.render_as_string(hide_password=False)
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url, str(first.id)], cwd=SHIPPED,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    processor = IntakeProcessor(desk.pipeline)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        assert [o.message_id for o in processor.process_waiting(10)] == [second.id]
        assert desk.rows("intake_messages", id=first.id)[0]["state"] == RECEIVED
    finally:
        holder.communicate(b"")  # the holder ends, and its claim with it
    [outcome] = processor.process_waiting(10)
    assert (outcome.message_id, outcome.kind) == (first.id, "ticket")
    desk.desk.engine.dispose()


def test_cli_retry_leaves_a_message_another_process_holds_to_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/tessera.db"
    desk = intake_desk(tmp_path, url)
    stored = desk.pipeline.receive([mail(subject="Keyboard missing keys")], "it")[0]
    holder = subprocess.Popen([sys.executable, "-c", HOLD, url, str(stored.id)], cwd=SHIPPED,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline() == b"held\n"
        retry = subprocess.run([sys.executable, str(SHIPPED / "cli.py"), "--root", str(desk.desk.compiled.root),
                                "--database-url", url, "intake", "retry", str(stored.id)],
                               capture_output=True, text=True, timeout=120)
    finally:
        holder.communicate(b"")
    assert retry.returncode == 0, retry.stderr
    assert retry.stdout == (f"message {stored.id}: being processed by another process, left to it\n"
                            "1 message retried: in progress elsewhere: 1\n")
    assert desk.rows("intake_messages", id=stored.id)[0]["state"] == RECEIVED


def test_threads_of_one_process_do_not_share_a_claim(tmp_path: Path) -> None:
    desk = intake_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")
    with claims(desk.desk.engine) as one, claims(desk.desk.engine) as other:
        assert one.claim(7)
        assert not other.claim(7)
        one.release(7)
        assert other.claim(7)


def test_a_quarantined_message_is_not_taken_up_again_by_the_worker(tmp_path: Path) -> None:
    desk = intake_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")
    stored = desk.pipeline.receive([b"\x00\xff not a mail \x00"], "it")[0]
    processor = IntakeProcessor(desk.pipeline)
    assert [o.kind for o in processor.process([stored.id])] == ["quarantined"]
    assert processor.process([stored.id]) == []  # waits for a person: cli.py intake retry


def test_a_running_worker_fetches_mail_as_soon_as_idle_reports_it(
        tmp_path: Path, dovecot: Dovecot, workers: Callable[[IntakeDesk], subprocess.Popen[bytes]]) -> None:
    account = dovecot.account()
    # Ten minutes between polls: within the test's bound only IDLE can bring the mail in.
    desk = imap_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db",
                     {"it": imap_settings(account, idle=True, poll_every="10m")})
    cursors = desk.desk.compiled.table("intake_cursors")

    def polled_once() -> Any:
        with desk.desk.engine.connect() as connection:
            return connection.execute(sa.select(cursors.c.mailbox)).first()

    account.append(requests(1))
    workers(desk)
    assert wait_until(polled_once)
    account.append([mail(subject="Projector lamp is out")])
    assert wait_until(lambda: any(t["title"] == "Projector lamp is out" for t in desk.rows("tickets")))
    assert len(desk.rows("tickets", source_name="it")) == 2
