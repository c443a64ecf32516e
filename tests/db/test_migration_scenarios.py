"""Every schema change a builder makes, applied for real on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.errors import MigrationRefused
from tests.db.desk_under_change import DeskUnderChange
from tests.desk_fixtures import overlay_desk

TYPE_FILE = "ticket_types/repair.yaml"
NOW = "'2026-11-26 10:00:00'"


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> DeskUnderChange:
    root = _copy_minimal(tmp_path)
    desk = DeskUnderChange(root, database_url)
    assert desk.generate() is not None
    desk.migrate()
    desk.execute(
        "INSERT INTO tickets (id, number, type, title, description, status, status_category, priority, source, "
        f"tags, created_at, updated_at, version, impact) VALUES (1, 'RP-000001', 'repair', 'Pump leaks', '', 'open', "
        f"'open', 'P2', 'manual', '[]', {NOW}, {NOW}, 1, 'low')"
    )
    desk.execute("INSERT INTO ticket_repair (ticket_id, fault) VALUES (1, 'E-17')")
    return desk


def _copy_minimal(tmp_path: Path) -> Path:
    empty = tmp_path / "no_changes"
    empty.mkdir()
    return overlay_desk(empty, tmp_path / "desk")


def test_generating_again_without_a_change_writes_nothing(desk: DeskUnderChange) -> None:
    revisions = sorted((desk.root / "generated/migrations").glob("*.py"))
    assert desk.plan() == []
    assert desk.generate() is None
    assert sorted((desk.root / "generated/migrations").glob("*.py")) == revisions


def test_add_a_ticket_type_creates_its_extension_table(desk: DeskUnderChange) -> None:
    desk.write("ticket_types/loan.yaml", "type: loan\nlabel: Loan\nnumber_prefix: LN\nworkflow: simple\n"
               "fields:\n  device: {kind: relation, to: assets, indexed: true}\n  due: {kind: date}\n")
    assert [c.describe() for c in desk.plan()] == [
        "+ create table ticket_loan",
    ]
    desk.generate()
    desk.migrate()
    assert desk.drift() == []
    assert desk.columns("ticket_loan") == ["ticket_id", "device", "due"]
    assert "ix_ticket_loan_device" in desk.indexes("ticket_loan")


def test_add_a_field_with_a_default_fills_existing_tickets(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "  fault: {kind: string, max_length: 32}",
              "  fault: {kind: string, max_length: 32}\n  urgent: {kind: boolean, default: false}\n"
              "  hours: {kind: integer, min: 0}")
    described = [c.describe() for c in desk.plan()]
    assert described == ["+ add column ticket_repair.urgent BOOLEAN — existing rows set to False",
                         "+ add column ticket_repair.hours BIGINT"]
    desk.generate()
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT urgent, hours FROM ticket_repair") in ([(False, None)], [(0, None)])


def test_rename_a_field_keeps_its_values(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "  fault: {kind: string, max_length: 32}",
              "  fault_code: {kind: string, max_length: 32, renamed_from: fault}")
    desk.edit(TYPE_FILE, "[title, asset, fault]", "[title, asset, fault_code]")
    assert [c.describe() for c in desk.plan()] == [
        "~ rename column ticket_repair.fault → fault_code (values kept)"]
    desk.generate()
    desk.migrate()
    assert desk.drift() == []
    assert "fault" not in desk.columns("ticket_repair")
    assert desk.rows("SELECT fault_code FROM ticket_repair WHERE ticket_id = 1") == [("E-17",)]


def test_change_choice_options_adding_is_safe_removing_needs_the_flag(desk: DeskUnderChange) -> None:
    desk.edit("ticket_types/_master.yaml", "options: [low, high]", "options: [low, high, critical]")
    [change] = desk.plan()
    assert change.describe() == "~ change options of tickets.impact — added critical"
    assert not change.destructive
    desk.generate()
    desk.migrate()
    assert desk.drift() == []
    desk.edit("ticket_types/_master.yaml", "options: [low, high, critical]", "options: [low, critical]")
    with pytest.raises(MigrationRefused, match="removed high"):
        desk.generate()
    assert desk.generate(allow_destructive=True) is not None
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT impact FROM tickets") == [("low",)]


def test_add_an_index(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "  fault: {kind: string, max_length: 32}", "  fault: {kind: string, max_length: 32, "
              "indexed: true}")
    assert [c.describe() for c in desk.plan()] == [
        "+ create index ix_ticket_repair_fault on ticket_repair (fault)"]
    desk.generate()
    desk.migrate()
    assert desk.drift() == []
    assert desk.indexes("ticket_repair")["ix_ticket_repair_fault"] == ["fault"]


def test_drop_a_field_is_refused_then_archived_and_restorable(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "  fault: {kind: string, max_length: 32}\n", "")
    desk.edit(TYPE_FILE, "[title, asset, fault]", "[title, asset]")
    with pytest.raises(MigrationRefused, match=r"drop column ticket_repair\.fault"):
        desk.generate()
    assert desk.plan()[0].destructive
    revision = desk.generate(allow_destructive=True)
    assert revision is not None
    assert revision.name.startswith("0002_")
    desk.migrate()
    assert desk.drift() == []
    assert "fault" not in desk.columns("ticket_repair")
    assert desk.rows("SELECT ticket_id, fault FROM arc_0002_ticket_repair_fault") == [(1, "E-17")]
    first = sorted((desk.root / "generated/migrations").glob("0001_*.py"))[0].read_text()
    first_revision = first.split("revision = '")[1].split("'")[0]
    desk.downgrade(first_revision)
    assert desk.rows("SELECT fault FROM ticket_repair WHERE ticket_id = 1") == [("E-17",)]
    assert "arc_0002_ticket_repair_fault" not in desk.tables()
    desk.migrate()  # forward again: archives afresh
    assert desk.rows("SELECT ticket_id, fault FROM arc_0002_ticket_repair_fault") == [(1, "E-17")]


def test_drop_a_ticket_type_archives_its_rows(desk: DeskUnderChange) -> None:
    (desk.root / TYPE_FILE).unlink()
    with pytest.raises(MigrationRefused, match="drop table ticket_repair"):
        desk.generate()
    desk.generate(allow_destructive=True)
    desk.migrate()
    assert desk.drift() == []
    assert "ticket_repair" not in desk.tables()
    assert desk.rows("SELECT ticket_id, fault FROM arc_0002_ticket_repair") == [(1, "E-17")]
    desk.downgrade("-1")
    assert desk.rows("SELECT ticket_id, fault FROM ticket_repair") == [(1, "E-17")]
    assert "arc_0002_ticket_repair" not in desk.tables()


def test_narrowing_a_type_is_destructive_and_keeps_old_values(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "max_length: 32}", "max_length: 8}")
    [change] = desk.plan()
    assert change.describe() == ("! change type of ticket_repair.fault: VARCHAR(32) → VARCHAR(8) — existing values may "
                                 "not fit; old values archived")
    desk.generate(allow_destructive=True)
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT fault FROM arc_0002_ticket_repair_fault") == [("E-17",)]


def test_widening_a_type_is_safe(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "max_length: 32}", "max_length: 200}")
    [change] = desk.plan()
    assert not change.destructive
    desk.generate()
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT fault FROM ticket_repair") == [("E-17",)]


def test_making_a_field_required_without_default_needs_the_flag(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "max_length: 32}", "max_length: 32, required: true}")
    with pytest.raises(MigrationRefused, match=r"make ticket_repair\.fault required"):
        desk.generate()
    desk.edit(TYPE_FILE, "required: true}", "required: true, default: unknown}")
    [change] = desk.plan()
    assert not change.destructive
    desk.generate()
    desk.execute("INSERT INTO tickets (id, number, type, title, description, status, status_category, priority, "
                 f"source, tags, created_at, updated_at, version) VALUES (2, 'RP-000002', 'repair', 'Noise', '', "
                 f"'open', 'open', 'P3', 'manual', '[]', {NOW}, {NOW}, 1)")
    desk.execute("INSERT INTO ticket_repair (ticket_id) VALUES (2)")
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT ticket_id, fault FROM ticket_repair ORDER BY ticket_id") == [(1, "E-17"), (2, "unknown")]


def test_rename_a_ticket_type_keeps_its_rows(desk: DeskUnderChange) -> None:
    text = (desk.root / TYPE_FILE).read_text().replace("type: repair", "type: fix\nrenamed_from: repair")
    (desk.root / TYPE_FILE).unlink()
    desk.write("ticket_types/fix.yaml", text)
    assert desk.plan()[0].describe() == "~ rename table ticket_repair → ticket_fix"
    desk.generate()
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT ticket_id, fault FROM ticket_fix") == [(1, "E-17")]


def test_rename_and_narrow_in_one_step_archives_and_restores_the_old_column(desk: DeskUnderChange) -> None:
    desk.edit(TYPE_FILE, "  fault: {kind: string, max_length: 32}",
              "  fault_code: {kind: string, max_length: 16, renamed_from: fault}")
    desk.edit(TYPE_FILE, "[title, asset, fault]", "[title, asset, fault_code]")
    desk.generate(allow_destructive=True)
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT fault_code FROM ticket_repair") == [("E-17",)]
    assert desk.rows("SELECT ticket_id, fault FROM arc_0002_ticket_repair_fault") == [(1, "E-17")]
    desk.downgrade("-1")
    assert desk.rows("SELECT fault FROM ticket_repair") == [("E-17",)]


def test_rebuilding_the_master_table_keeps_every_dependent_row(desk: DeskUnderChange) -> None:
    # SQLite rebuilds `tickets` by copy-and-drop here; with foreign keys on, the drop would cascade.
    desk.edit("ticket_types/_master.yaml", "    kind: choice\n    options: [low, high]\n",
              "    kind: string\n    max_length: 10\n")
    desk.generate(allow_destructive=True)
    desk.migrate()
    assert desk.drift() == []
    assert desk.rows("SELECT impact FROM tickets") == [("low",)]
    assert desk.rows("SELECT ticket_id, fault FROM ticket_repair") == [(1, "E-17")]
