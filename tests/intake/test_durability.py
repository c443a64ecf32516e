"""On SQLite, processing a stored mail commits without waiting for the disk (the stored bytes are the durable
record); storing it, and every other channel's ticket, which a caller is told about at once, wait for it: their
write-ahead log is synced before the caller hears of them."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.intake.draft import Draft
from runtime.intake.store import Inbound
from runtime.tickets.service import TicketService
from tests.intake.mail_fixtures import MARIA, IntakeDesk, intake_desk, mail

FULL, NORMAL = 2, 1


@pytest.fixture
def intake(tmp_path: Path) -> IntakeDesk:
    return intake_desk(tmp_path, f"sqlite:///{tmp_path}/desk.db")


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """PRAGMA synchronous inside each transaction that inserts a ticket."""
    levels: list[int] = []
    original = TicketService.create_in

    def watching(self: TicketService, connection: sa.Connection, *args: Any, **kwargs: Any) -> dict[str, Any]:
        raw = connection.connection.driver_connection
        assert raw is not None
        levels.append(int(raw.execute("PRAGMA synchronous").fetchone()[0]))
        return original(self, connection, *args, **kwargs)

    monkeypatch.setattr(TicketService, "create_in", watching)
    return levels


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files synced by the engine module (write transactions sync their log when they are done)."""
    synced: list[str] = []
    real = os.fdatasync

    def watched(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fdatasync", watched)
    return synced


def test_a_mail_ticket_commits_without_an_fsync(intake: IntakeDesk, seen: list[int], syncs: list[str]) -> None:
    [message] = intake.pipeline.receive([mail()], "import")
    stored = len(syncs)
    assert stored >= 1  # the raw message is on disk before anything else happens to it
    assert intake.pipeline.process(message.id).kind == "ticket"
    assert seen == [NORMAL]
    assert len(syncs) == stored  # processing it waited for no disk
    with intake.desk.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == FULL  # and the connection is back to FULL


def test_a_webhook_or_form_ticket_is_on_disk_before_its_caller_hears_of_it(
        intake: IntakeDesk, tmp_path: Path, seen: list[int], syncs: list[str]) -> None:
    creator = intake.pipeline.creator
    contact = intake.desk.contact(MARIA)
    for channel in ("webhook", "form", "api"):
        [stored] = creator.store.store([Inbound(channel, "test", f"{channel}-1", b"{}")])
        message = creator.store.load(stored.id)
        assert message is not None
        draft = Draft(channel, "it_support", {"title": f"From the {channel}"})
        before = len(syncs)
        assert creator.ticket(message, contact, draft, {}).kind == "ticket"
        assert syncs[before:] == [str(tmp_path / "desk.db-wal")]  # synced once committed, before it returned
    # Committed without waiting for the disk while holding the write lock; the sync came after it was let go.
    assert seen == [NORMAL, NORMAL, NORMAL]
