"""``cli.py import`` and ``cli.py intake list|retry`` on SQLite and PostgreSQL: counts by outcome, reasons, exit
codes; an mbox, a Maildir and single files alike."""

from __future__ import annotations

import mailbox
from pathlib import Path

import pytest

import cli
from runtime.intake.store import QUARANTINED
from tests.intake.mail_fixtures import IntakeDesk, intake_desk, mail

GARBAGE = b"not a mail\r\n\r\n"


@pytest.fixture
def intake(tmp_path: Path, database_url: str) -> IntakeDesk:
    return intake_desk(tmp_path, database_url)


def run(intake: IntakeDesk, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    url = intake.desk.engine.url.render_as_string(hide_password=False)
    code = cli.main(["--root", str(intake.desk.compiled.root), "--database-url", url, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_import_reads_files_mbox_and_maildir_and_counts_outcomes(intake: IntakeDesk, tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    single = tmp_path / "one.eml"
    single.write_bytes(mail(subject="From a file"))
    box = mailbox.mbox(tmp_path / "archive.mbox")
    for i in range(2):
        box.add(mail(subject=f"From an mbox {i}"))
    box.add(mail(subject="Vacation", headers={"Auto-Submitted": "auto-replied"}))
    box.close()
    maildir = mailbox.Maildir(tmp_path / "Maildir", create=True)
    maildir.add(mail(subject="From a Maildir"))
    maildir.add(GARBAGE)
    code, out, err = run(intake, capsys, "import", str(single), str(tmp_path / "archive.mbox"),
                         str(tmp_path / "Maildir"))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == "6 messages: ticket: 4, ignored: 1, quarantined: 1"
    assert lines[1].startswith(f"  quarantined {tmp_path / 'Maildir'}/")
    assert lines[1].endswith(": Unprocessable: no sender address (From, Sender, Reply-To and Return-Path are "
                             "missing or unreadable)")
    code, out, _ = run(intake, capsys, "import", str(single))
    assert (code, out.splitlines()[0]) == (0, "1 message: done before: 1")


def test_import_into_a_named_mailbox_uses_its_type(intake: IntakeDesk, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.eml").write_bytes(mail(to="someone@example.org"))
    assert run(intake, capsys, "import", "--mailbox", "care", str(tmp_path / "a.eml"))[0] == 0
    assert intake.rows("tickets")[-1]["type"] == "customer_complaint"


def test_import_refuses_unknown_mailboxes_and_missing_paths(intake: IntakeDesk, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert run(intake, capsys, "import", str(tmp_path / "nowhere.eml")) == (
        2, "", f"no such file or folder: {tmp_path / 'nowhere.eml'}\n")
    (tmp_path / "a.eml").write_bytes(mail())
    assert run(intake, capsys, "import", "--mailbox", "sales", str(tmp_path / "a.eml")) == (
        2, "", "no mailbox 'sales' in tessera.yaml; there are: it, care\n")


def test_list_shows_quarantined_messages_with_their_reason(intake: IntakeDesk, capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    bad = intake.deliver(GARBAGE)
    intake.deliver(mail())
    code, out, _ = run(intake, capsys, "intake", "list", "--state", "quarantined")
    assert code == 0
    header, row = out.splitlines()
    assert header == "id\tstate\tchannel\tsource\treceived\tticket\texternal id\treason"
    assert row.startswith(f"{bad.message_id}\tquarantined\temail\timport\t")
    assert row.endswith("\tUnprocessable: no sender address (From, Sender, Reply-To and Return-Path are missing or "
                        "unreadable)")
    assert run(intake, capsys, "intake", "list", "--state", "lost")[0] == 2
    code, out, _ = run(intake, capsys, "intake", "list", "--state", "quarantined", "--channel", "webhook")
    assert (code, out) == (0, "no messages in state quarantined from channel webhook\n")
    code, out, _ = run(intake, capsys, "intake", "list", "--channel", "email")
    assert len(out.splitlines()) == 3  # the header and both mails
    assert run(intake, capsys, "intake", "list", "--channel", "fax")[0] == 2


def test_retry_processes_quarantined_messages_again(intake: IntakeDesk, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.tickets.service import TicketService

    def unavailable(*_: object, **__: object) -> None:
        raise OSError("database went away")

    with monkeypatch.context() as patch:
        patch.setattr(TicketService, "create_in", unavailable)
        first = intake.deliver(mail(subject="One"))
        second = intake.deliver(mail(subject="Two"))
    assert {r["state"] for r in intake.rows("intake_messages")} == {QUARANTINED}
    code, out, _ = run(intake, capsys, "intake", "retry", str(first.message_id))
    assert (code, out.splitlines()[-1]) == (0, "1 message retried: ticket: 1")
    code, out, _ = run(intake, capsys, "intake", "retry", "--all")
    assert (code, out.splitlines()[-1]) == (0, "1 message retried: ticket: 1")
    assert {r["state"] for r in intake.rows("intake_messages")} == {"processed"}
    code, out, _ = run(intake, capsys, "intake", "retry", str(second.message_id))
    assert out.splitlines()[0].startswith(f"message {second.message_id}: done before (ticket ")
    assert run(intake, capsys, "intake", "retry")[0] == 2


def test_retry_all_takes_every_channel_but_leaves_api_requests_in_flight(
        intake: IntakeDesk, capsys: pytest.CaptureFixture[str]) -> None:
    from runtime.intake.api_flow import IN_FLIGHT
    from runtime.intake.store import Inbound

    store = intake.pipeline.store
    hook, api = store.store([Inbound("webhook", "monitoring", "delivery-1", b'{"alert": {}}'),
                             Inbound("api", "agent:1", "key-1", b"{}")])
    store.finish(store.load(hook.id), QUARANTINED, reason="secret was missing")  # type: ignore[arg-type]
    store.finish(store.load(api.id), QUARANTINED, reason=IN_FLIGHT)  # type: ignore[arg-type]
    code, out, _ = run(intake, capsys, "intake", "retry", "--all")
    assert code == 0
    assert out.splitlines()[-1] == "1 message retried: quarantined: 1"
    [webhook_row] = intake.rows("intake_messages", id=hook.id)
    assert "alert.summary" in webhook_row["error"]  # processed again: now its mapping tells what is missing
    assert intake.rows("intake_messages", id=api.id)[0]["error"] == IN_FLIGHT
