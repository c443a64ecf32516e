"""``cli.py export`` writes every ticket with what hangs off it, and ``import tickets`` reads an export back as it
was: a desk with worked tickets (every kind of field, replies and notes, files on tickets and comments, an
attachment field, transitions, a link, a merge, a rating, imported history) exported, imported into a fresh desk
with the same people and exported again gives the same file, byte for byte, on SQLite and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.tickets.actors import contact_actor
from runtime.tickets.files import TicketFiles
from runtime.tickets.relations import TicketRelations
from runtime.tickets.service import TicketService
from tests.conftest import _pg_database
from tests.tickets.service_fixtures import SeededDesk, migrated_desk
from tests.transfer.transfer_fixtures import Desk

MARIA = "maria.lopez@northwind.example.org"
HISTORY = """\
Id,Subject,Requester,Created,Solved
H-1,Old printer trouble,someone.new@elsewhere.example,2024-05-02 09:00,2024-05-02 15:00
"""
HISTORY_MAPPING = """\
source: old-desk
external_ref: Id
type: it_support
status: {value: resolved}
fields: {title: Subject}
requester: Requester
timestamps: {created_at: Created, resolved_at: Solved}
"""


def work(seeded: SeededDesk) -> None:
    """A few days of a desk's life, through the services the API uses."""
    service, alex = seeded.service, seeded.agent("alex")
    maria = seeded.contact(MARIA)
    team = seeded.id_of("teams", "name", "service_desk")
    requester = seeded.id_of("contacts", "email", MARIA)
    files = TicketFiles(seeded.compiled, seeded.engine)
    laptop = service.create(alex, "it_support", {
        "title": "Laptop fan is loud", "description": "Since Monday", "priority": "P1", "team_id": team,
        "requester_id": requester, "tags": ["hardware", "noise"], "software": ["BIOS"], "users_affected": 2})
    screenshot = files.attach(alex, laptop["id"], b"\x89PNG fake", "fan.png", "image/png")
    laptop = service.update(alex, laptop["id"], {"error_screenshot": [screenshot["id"]], "version": laptop["version"]})
    service.transition(alex, laptop["id"], "assign", laptop["version"], {"assignee_id": alex.id})
    reply = service.comment(alex, laptop["id"], "Please send a photo of the label.")
    answer = service.comment(maria, laptop["id"], "Here it is.")
    files.attach(maria, laptop["id"], b"label photo", "label.jpg", "image/jpeg", comment_id=answer["id"])
    service.comment(alex, laptop["id"], "Spare fan in stock.", public=False)
    current = service.get(alex, laptop["id"])
    service.transition(alex, current["id"], "start", current["version"])
    current = service.get(alex, laptop["id"])
    service.transition(alex, current["id"], "resolve", current["version"])
    assert reply["public"]
    complaint = service.create(alex, "customer_complaint", {
        "title": "Glasses broken", "requester_id": requester, "order_number": "CR-2026-1182",
        "complaint_level": "level_2", "compensation_amount": Decimal("12.50"), "compensation_type": "refund",
        "customer_email": "maria@example.org", "order_date": dt.date(2026, 11, 2),
        "product_url": "https://shop.example/glass", "order_snapshot": {"items": [{"sku": "G-1", "qty": 5}]}})
    duplicate = service.create(maria, "customer_complaint", {"title": "Glasses broken (again)",
                                                             "order_number": "CR-2026-1182"})
    relations = TicketRelations(seeded.compiled, seeded.engine)
    relations.link(alex, complaint["id"], laptop["id"], "related")
    relations.merge(alex, duplicate["id"], complaint["id"], duplicate["version"])
    service.create(alex, "equipment_maintenance", {
        "title": "Line 2 stops", "equipment": seeded.id_of("ref_assets", "asset_tag", "MC-10021"),
        "fault_code": "PK-104", "maintenance_type": "corrective", "spare_parts": ["belt"], "downtime": 5400,
        "safety_risk": True, "scheduled_for": dt.datetime(2026, 12, 1, 7, 30, tzinfo=dt.UTC),
        "labour_cost": Decimal("120.00")})
    service.create(alex, "admin_request", {
        "title": "Badge for a new starter", "request_kind": "access", "approver": seeded.id_of("agents", "username",
                                                                                              "bea"),
        "systems": ["building_badge", "vpn"], "needed_by": dt.date(2026, 12, 1), "cost_centre": "4711"})
    with seeded.engine.begin() as connection:
        connection.execute(sa.insert(seeded.compiled.table("ticket_ratings")).values(
            ticket_id=laptop["id"], contact_id=requester, score=4, comment="Quick, thanks",
            rated_at=dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)))
        contact_actor(connection, seeded.compiled, requester)


@pytest.fixture(scope="module")
def desks(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[tuple[Desk, Desk]]:
    """The worked desk, and an empty one with the same people, on the same kind of database."""
    root, compiled, engine = migrated_desk(tmp_path_factory.mktemp("source"), module_database_url)
    seeded = SeededDesk(compiled, engine, TicketService(compiled, engine))
    work(seeded)
    with (_pg_database() if engine.dialect.name == "postgresql" else _sqlite(tmp_path_factory)) as other_url:
        other_root, other_compiled, other_engine = migrated_desk(tmp_path_factory.mktemp("target"), other_url)
        with other_engine.begin() as connection:
            connection.execute(sa.delete(other_compiled.table("tickets")))
        yield Desk(root, compiled, engine), Desk(other_root, other_compiled, other_engine)
        other_engine.dispose()
    engine.dispose()


class _sqlite:  # noqa: N801 - used like the context manager it stands beside
    def __init__(self, factory: pytest.TempPathFactory) -> None:
        self.url = f"sqlite:///{factory.mktemp('target-db')}/tessera.db"

    def __enter__(self) -> str:
        return self.url

    def __exit__(self, *_: object) -> None:
        return None


def test_export_import_export_gives_the_same_lines(desks: tuple[Desk, Desk], tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    source, target = desks
    (tmp_path / "old.csv").write_text(HISTORY, encoding="utf-8")
    (tmp_path / "old.yaml").write_text(HISTORY_MAPPING, encoding="utf-8")
    code, out, _ = source.run(capsys, "import", "tickets", "--from", str(tmp_path / "old.csv"), "--mapping",
                              str(tmp_path / "old.yaml"))
    assert (code, out.split(" (")[0]) == (0, "imported 1 tickets, skipped 0 already there, rejected 0")
    first = tmp_path / "first.jsonl"
    code, out, _ = source.run(capsys, "export", "--to", str(first))
    total = source.count("tickets")
    assert (code, out.split(" in ")[0]) == (0, f"exported {total} tickets")
    lines = [json.loads(line) for line in first.read_text(encoding="utf-8").splitlines()]
    by_title = {line["title"]: line for line in lines}
    laptop = by_title["Laptop fan is loud"]
    assert [c["author"] for c in laptop["comments"]] == [
        {"agent": "alex"}, {"contact": MARIA, "name": "Maria Lopez", "organization": "Northwind Logistics"},
        {"agent": "alex"}]
    assert [(a["filename"], a["comment"]) for a in laptop["attachments"]] == [("fan.png", None), ("label.jpg", 1)]
    assert laptop["fields"]["error_screenshot"] == [{"attachment": 0}]
    assert laptop["rating"]["contact"]["contact"] == MARIA
    assert {e["action"] for e in laptop["events"]} >= {"create", "update", "transition:assign", "public_reply",
                                                       "note", "attachment", "transition:resolve"}
    assert any(c["events"] for c in laptop["sla"])
    merged = by_title["Glasses broken (again)"]
    assert merged["duplicate_of"] == {"ticket": by_title["Glasses broken"]["number"]}
    complaint = by_title["Glasses broken"]
    assert complaint["links"][0]["ticket"] == {"ticket": laptop["number"]}
    link = next(e for e in complaint["events"] if e["action"] == "link")
    assert (link["field"], link["new_value"]) == ("related", {"ticket": laptop["number"]})
    assert by_title["Badge for a new starter"]["fields"]["approver"] == {"agent": "bea"}
    assert by_title["Old printer trouble"]["events"][0]["action"] == "imported"

    code, out, _ = target.run(capsys, "import", "tickets", "--from", str(first))
    assert (code, out.split(" (")[0]) == (0, f"imported {total} tickets, skipped 0 already there, rejected 0")
    second = tmp_path / "second.jsonl"
    assert target.run(capsys, "export", "--to", str(second))[0] == 0
    assert second.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")

    code, out, _ = target.run(capsys, "import", "tickets", "--from", str(first))
    assert out.split(" (")[0] == f"imported 0 tickets, skipped {total} already there, rejected 0"
    assert target.count("tickets") == total


def test_export_to_standard_output_by_type_and_creation(desks: tuple[Desk, Desk],
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    source, _ = desks
    code, out, err = source.run(capsys, "export", "--type", "customer_complaint")
    lines = [json.loads(line) for line in out.splitlines()]
    assert code == 0
    assert {line["type"] for line in lines} == {"customer_complaint"}
    assert err.startswith(f"exported {len(lines)} tickets in ")
    code, out, _ = source.run(capsys, "export", "--since", "2100-01-01")
    assert (code, out) == (0, "")
    assert source.run(capsys, "export", "--type", "nothing")[0] == 2


def test_an_export_line_that_names_an_unknown_agent_is_rejected(desks: tuple[Desk, Desk], tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    source, target = desks
    code, out, _ = source.run(capsys, "export", "--type", "admin_request")
    line = json.loads(out.splitlines()[0])
    line |= {"number": "ADM-900001", "assignee": {"agent": "nobody"}}
    broken = tmp_path / "broken.jsonl"
    broken.write_text(json.dumps(line) + "\n" + '{"not": "an export"}\n', encoding="utf-8")
    code, out, _ = target.run(capsys, "import", "tickets", "--from", str(broken), "--mapping", "tessera")
    assert (code, out.split(" (")[0]) == (0, "imported 0 tickets, skipped 0 already there, rejected 2")
    report = [json.loads(r) for r in (tmp_path / "broken.rejected.jsonl").read_text().splitlines()]
    assert report == [
        {"line": 1, "key": "ADM-900001", "reasons": ["assignee: no agent with username 'nobody' in this desk"]},
        {"line": 2, "key": "", "reasons": ['not a line of a Tessera export (no "format": "tessera-export/1"); a file '
                                           "from elsewhere needs --mapping"]}]
