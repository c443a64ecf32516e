"""What the import's bulk writing must not lose: rows written many to a statement are all in the full-text index
(tickets and comments), a row rejected in the middle of a batch leaves the batch's other rows written, and the
ticket numbers a desk hands out continue after the imported ones."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from runtime.tickets.actors import agent_actor
from runtime.tickets.listing import ListQuery, list_tickets
from runtime.tickets.service import TicketService
from runtime.transfer import bulk_insert
from runtime.transfer.incoming import Incoming
from runtime.transfer.writer import BatchWriter
from tests.tickets.service_fixtures import migrated_desk
from tests.transfer.test_import_csv import MAPPING, write_csv
from tests.transfer.transfer_fixtures import Desk

WORDS = ("aardvark", "bobolink", "caracal", "dugong", "echidna", "fossa", "gharial")


def row(ref: str, title: str, *, users: str = "", comments: str = "") -> tuple[str, ...]:
    return (ref, "", "Incident", "Open", title, "x", "Low", "Net", "", "", users, "", "bulk@example.org", "", "", "",
            "", "2025-05-01 10:00", "", "", "", comments, "")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[Desk]:
    root, compiled, engine = migrated_desk(tmp_path_factory.mktemp("bulk"), module_database_url)
    yield Desk(root, compiled, engine)
    engine.dispose()


def found(desk: Desk, text: str) -> list[str]:
    with desk.engine.connect() as connection:
        alex = agent_actor(connection, desk.compiled, desk.rows("agents")[0]["id"])
        return [t["external_ref"] for t in list_tickets(connection, desk.compiled, alex, ListQuery(text=text)).items]


def test_rows_written_many_to_a_statement_are_all_searchable(desk: Desk, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    # Two tickets (and a few comments) per statement, so that seven rows take several statements and a last short one.
    monkeypatch.setattr(bulk_insert, "SQLITE_VARIABLES", 2 * len(desk.compiled.table("tickets").columns))
    rows = [row(f"S-{i}", f"Sighting of a {word}",
                comments=json.dumps([{"text": f"Photo of the {word} {i} attached", "by": "alex",
                                      "at": "2025-05-01 11:00"}])) for i, word in enumerate(WORDS)]
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    code, out, _ = desk.run(capsys, "import", "tickets", "--from", str(write_csv(tmp_path / "s.csv", rows)),
                            "--mapping", str(tmp_path / "mapping.yaml"))
    assert (code, out.split(" (")[0]) == (0, "imported 7 tickets, skipped 0 already there, rejected 0")
    for i, word in enumerate(WORDS):
        assert found(desk, word) == [f"S-{i}"]  # by the title, and by the comment's words
        assert found(desk, f"photo {word} {i}") == [f"S-{i}"]
    assert desk.count("comments") >= len(WORDS)


def test_a_row_rejected_in_the_middle_of_a_batch_leaves_the_others_written(desk: Desk, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row(f"M-{i}", f"Middle {i}", users="many" if i == 2 else str(i + 1)) for i in range(5)]
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    code, out, _ = desk.run(capsys, "import", "tickets", "--from", str(write_csv(tmp_path / "m.csv", rows)),
                            "--mapping", str(tmp_path / "mapping.yaml"), "--batch", "5")
    assert (code, out.split(" (")[0]) == (0, "imported 4 tickets, skipped 0 already there, rejected 1")
    tickets = desk.compiled.table("tickets")
    written = desk.rows("tickets", tickets.c.external_ref.like("M-%"))
    assert sorted(t["external_ref"] for t in written) == ["M-0", "M-1", "M-3", "M-4"]
    extension = desk.compiled.table("ticket_it_support")
    users = {r["ticket_id"]: r["users_affected"] for r in desk.rows(
        "ticket_it_support", extension.c.ticket_id.in_([t["id"] for t in written]), order="ticket_id")}
    assert sorted(users.values()) == [1, 2, 4, 5]
    assert (tmp_path / "m.rejected.csv").read_text(encoding="utf-8").splitlines()[1].startswith("4,M-2,users_affected")


def test_numbers_continue_after_the_imported_tickets(desk: Desk, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    rows = [row(f"N-{i}", f"Numbered {i}") for i in range(3)]
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    code, _, _ = desk.run(capsys, "import", "tickets", "--from", str(write_csv(tmp_path / "n.csv", rows)),
                          "--mapping", str(tmp_path / "mapping.yaml"))
    assert code == 0
    tickets = desk.compiled.table("tickets")
    numbers = sorted(t["number"] for t in desk.rows("tickets", tickets.c.type == "it_support"))
    service = TicketService(desk.compiled, desk.engine)
    with desk.engine.connect() as connection:
        alex = agent_actor(connection, desk.compiled, desk.rows("agents")[0]["id"])
    created = service.create(alex, "it_support", {"title": "After the bulk import"})
    assert created["number"] == f"IT-{int(numbers[-1][3:]) + 1:06d}"


def test_a_row_the_database_itself_refuses_is_found_and_the_rest_written(desk: Desk, tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    # A ticket without a title gets past no check of ours: here it reaches the database, which refuses it inside
    # the batch's multi-row insert (SQLite) or COPY (PostgreSQL).
    real = BatchWriter.prepare

    def untitled(self: BatchWriter, row: Incoming, organization: str | None, now: dt.datetime) -> None:
        real(self, row, organization, now)
        if row.key == "Q-2":
            assert row.ready is not None
            row.ready.ticket[self.inserts["tickets"].index["title"]] = None

    monkeypatch.setattr(BatchWriter, "prepare", untitled)
    rows = [row(f"Q-{i}", f"Queued {i}") for i in range(1, 4)]
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    code, out, _ = desk.run(capsys, "import", "tickets", "--from", str(write_csv(tmp_path / "q.csv", rows)),
                            "--mapping", str(tmp_path / "mapping.yaml"))
    assert (code, out.split(" (")[0]) == (0, "imported 2 tickets, skipped 0 already there, rejected 1")
    with (tmp_path / "q.rejected.csv").open(newline="", encoding="utf-8") as handle:
        report = list(csv.reader(handle))[1:]
    assert [line[:2] for line in report] == [["3", "Q-2"]]
    assert report[0][2].startswith("the database refused it: ")
    assert "title" in report[0][2]
    tickets = desk.compiled.table("tickets")
    assert sorted(t["external_ref"] for t in desk.rows("tickets", tickets.c.external_ref.like("Q-%"))) == ["Q-1", "Q-3"]
