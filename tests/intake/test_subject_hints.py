"""A type that takes mail from a mailbox by a subject hint: mail to that mailbox whose subject carries the hint
opens that type instead of the mailbox's own; other mail to it does not."""

from __future__ import annotations

import shutil
from pathlib import Path

from runtime.artifacts import migration_paths
from runtime.compile.desk import load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.demo.seed import seed_demo
from runtime.intake.pipeline import MailPipeline
from runtime.tickets.service import TicketService
from tests.desk_fixtures import SHIPPED, copy_shipped_desk
from tests.intake.mail_fixtures import IntakeDesk, mail
from tests.tickets.service_fixtures import SeededDesk


def desk_with_hint(tmp_path: Path) -> IntakeDesk:
    root = copy_shipped_desk(tmp_path / "desk")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    complaints = root / "ticket_types" / "customer_complaint.yaml"
    text = complaints.read_text(encoding="utf-8")
    assert "  email: {mailbox: care}\n" in text
    # Complaints also reach the IT mailbox, marked in the subject by the shop's web form.
    hinted = '  email: {mailbox: it, subject_hint: "[Shop]"}\n'
    complaints.write_text(text.replace("  email: {mailbox: care}\n", hinted), encoding="utf-8")
    compiled = load_compiled(root)
    engine = make_engine(f"sqlite:///{tmp_path}/desk.db", root)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    desk = SeededDesk(compiled, engine, TicketService(compiled, engine))
    return IntakeDesk(desk, MailPipeline(compiled, engine, desk.service))


def test_a_subject_hint_opens_its_type_from_another_mailbox(tmp_path: Path) -> None:
    intake = desk_with_hint(tmp_path)
    hinted = intake.deliver(mail(to="it@example.org", subject="[shop] Order 1182 arrived broken"))
    plain = intake.deliver(mail(to="it@example.org", subject="Printer jams again"))
    assert hinted.ticket_id is not None
    assert plain.ticket_id is not None
    assert intake.ticket(hinted.ticket_id)["type"] == "customer_complaint"
    assert intake.ticket(plain.ticket_id)["type"] == "it_support"
    assert intake.ticket(hinted.ticket_id)["source_name"] == "it"  # it still came through the IT mailbox
