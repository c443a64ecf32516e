"""The T-shaped model compiled from the shipped desk: master, extensions, references and runtime tables."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateIndex, CreateTable

from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.config.core_columns import CORE_COLUMNS
from runtime.db.naming import short_name
from tests.desk_fixtures import SHIPPED, snapshot_matches

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.fixture(scope="module")
def compiled() -> CompiledDesk:
    return load_compiled(SHIPPED)


def test_master_table_has_core_columns_then_builder_fields(compiled: CompiledDesk) -> None:
    columns = [c.name for c in compiled.table("tickets").columns]
    assert columns == [*CORE_COLUMNS, "impact", "channel_reference", "location"]


def test_extension_table_is_one_to_one_with_tickets(compiled: CompiledDesk) -> None:
    table = compiled.table("ticket_equipment_maintenance")
    assert [c.name for c in table.primary_key.columns] == ["ticket_id"]
    [fk] = table.c.ticket_id.foreign_keys
    assert (fk.target_fullname, fk.ondelete) == ("tickets.id", "CASCADE")
    [equipment_fk] = table.c.equipment.foreign_keys
    assert equipment_fk.target_fullname == "ref_assets.id"


def test_each_field_kind_gets_its_column_type(compiled: CompiledDesk) -> None:
    it = compiled.table("ticket_it_support").c
    eq = compiled.table("ticket_equipment_maintenance").c
    cc = compiled.table("ticket_customer_complaint").c
    adm = compiled.table("ticket_admin_request").c
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    ddl = {name: str(col.type.compile(dialect)) for name, col in {
        "string": it.asset_number, "choice": it.operating_system, "list": it.software,
        "attachments": it.error_screenshot, "integer": it.users_affected, "relation": eq.equipment,
        "duration": eq.downtime, "boolean": eq.safety_risk,
        "datetime": eq.scheduled_for, "decimal": eq.labour_cost, "attachment": eq.service_report,
        "email": cc.customer_email, "phone": cc.customer_phone, "text": cc.root_cause_notes, "date": cc.order_date,
        "url": cc.product_url, "json": cc.order_snapshot, "multichoice": adm.systems,
    }.items()}
    assert ddl == {
        "string": "VARCHAR(32)", "choice": "VARCHAR(64)", "list": "JSONB", "attachments": "JSONB", "integer": "BIGINT",
        "relation": "BIGINT", "duration": "BIGINT", "boolean": "BOOLEAN", "datetime": "TIMESTAMP WITH TIME ZONE",
        "decimal": "NUMERIC(10, 2)", "attachment": "BIGINT", "email": "VARCHAR(320)", "phone": "VARCHAR(40)",
        "text": "TEXT", "date": "DATE", "url": "VARCHAR(2048)", "json": "JSONB", "multichoice": "JSONB",
    }


def test_master_has_indexes_for_the_usual_queue_filters(compiled: CompiledDesk) -> None:
    indexes = {str(i.name): [c.name for c in i.columns] for i in compiled.table("tickets").indexes}
    assert indexes["ix_tickets_status_category_priority_updated_at"] == ["status_category", "priority", "updated_at"]
    assert indexes["ix_tickets_assignee_id_status_category"] == ["assignee_id", "status_category"]
    assert indexes["ix_tickets_impact"] == ["impact"]  # a builder field marked indexed


def test_long_constraint_names_are_shortened_the_same_way_everywhere() -> None:
    name = "ix_ticket_" + "very_long_type_name_" * 4 + "field"
    short = short_name(name)
    assert len(short.encode()) == 63
    assert short == short_name(name)
    assert short != short_name(name + "2")
    assert short_name("ix_short") == "ix_short"


@pytest.mark.parametrize("dialect_name", ["sqlite", "postgresql"])
def test_ddl_matches_the_stored_snapshot(compiled: CompiledDesk, dialect_name: str) -> None:
    dialect = {"sqlite": sqlite.dialect, "postgresql": postgresql.dialect}[dialect_name]()
    parts = []
    for table in compiled.metadata.sorted_tables:
        parts.append(str(CreateTable(table).compile(dialect=dialect)).strip() + ";")
        parts += [str(CreateIndex(ix).compile(dialect=dialect)) + ";" for ix in sorted(table.indexes,
                                                                                      key=lambda i: str(i.name))]
    ddl = "\n\n".join(parts) + "\n"
    assert snapshot_matches(SNAPSHOTS / f"ddl_{dialect_name}.sql", ddl), "DDL changed: review and rerun with " \
        "TESSERA_UPDATE_SNAPSHOTS=1"


def test_compiled_metadata_creates_on_sqlite(compiled: CompiledDesk) -> None:
    engine = sa.create_engine("sqlite://")
    compiled.metadata.create_all(engine)
    assert len(sa.inspect(engine).get_table_names()) == len(compiled.metadata.tables)
