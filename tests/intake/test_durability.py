"""On SQLite, processing a stored mail commits without waiting for the disk (the stored bytes are the durable
record); storing it, and every other channel's ticket, which a caller is told about at once, wait for it."""

from __future__ import annotations

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


def test_a_mail_ticket_commits_without_an_fsync(intake: IntakeDesk, seen: list[int]) -> None:
    assert intake.deliver(mail()).kind == "ticket"
    assert seen == [NORMAL]
    with intake.desk.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        assert raw.execute("PRAGMA synchronous").fetchone()[0] == FULL  # and the connection is back to FULL


def test_a_webhook_or_form_ticket_is_on_disk_before_its_caller_hears_of_it(intake: IntakeDesk,
                                                                             seen: list[int]) -> None:
    creator = intake.pipeline.creator
    contact = intake.desk.contact(MARIA)
    for channel in ("webhook", "form", "api"):
        [stored] = creator.store.store([Inbound(channel, "test", f"{channel}-1", b"{}")])
        message = creator.store.load(stored.id)
        assert message is not None
        draft = Draft(channel, "it_support", {"title": f"From the {channel}"})
        assert creator.ticket(message, contact, draft, {}).kind == "ticket"
    assert seen == [FULL, FULL, FULL]
