"""Mailboxes in tessera.yaml: every mistake reported at once, with file, line, column and a hint."""

from __future__ import annotations

from pathlib import Path

from runtime.config.desk import validate
from runtime.config.errors import render_report
from tests.desk_fixtures import SHIPPED, overlay_desk

HEAD = "name: Minimal desk\nlanguages: [en, de]\ndefault_language: en\nroles: [agent, supervisor]\n"


def report_for(tmp_path: Path, mail_section: str, repair_type: str | None = None) -> str:
    case = tmp_path / "case"
    case.mkdir()
    (case / "tessera.yaml").write_text(HEAD + mail_section)
    if repair_type is not None:
        (case / "ticket_types").mkdir()
        (case / "ticket_types" / "repair.yaml").write_text(repair_type)
    desk, errors = validate(overlay_desk(case, tmp_path / "desk"))
    assert (desk is None) == bool(errors)
    return render_report(errors) if errors else "ok"


def test_mailbox_mistakes_are_all_reported_with_their_lines(tmp_path: Path) -> None:
    report = report_for(tmp_path, """mail:
  mailboxes:
    repairs: {address: repairs@example.org, type: repairs}
    again: {address: Repairs@Example.org, type: repair}
    broken: {address: "Desk <desk@example.org>", type: repair}
  default_mailbox: front
""")
    assert report == """tessera.yaml:7:51 mail.mailboxes.repairs.type: mailbox for an unknown ticket type
    expected: one of repair
    found: 'repairs'
    hint: did you mean 'repair'?
tessera.yaml:8:22 mail.mailboxes.again.address: address already belongs to another mailbox
    found: 'Repairs@Example.org'
    hint: mailbox 'repairs' has it (addresses ignore case); one address feeds one mailbox
tessera.yaml:9:23 mail.mailboxes.broken.address: not an email address
    expected: name@example.org
    found: 'Desk <desk@example.org>'
    hint: write the bare address, without a display name or <>
tessera.yaml:10:20 mail.default_mailbox: default mailbox is not declared
    expected: one of repairs, again, broken
    found: 'front'
4 errors in the definitions"""


def test_mailboxes_without_a_default_are_refused(tmp_path: Path) -> None:
    report = report_for(tmp_path, "mail:\n  mailboxes:\n    repairs: {address: repairs@example.org, type: repair}\n")
    assert report == """tessera.yaml:6:3 mail.mailboxes: no default mailbox
    expected: mail.default_mailbox: the mailbox for mail addressed to none of them
    hint: add 'default_mailbox: repairs' under 'mail:'
1 error in the definitions"""


def test_a_type_with_a_required_field_mail_cannot_fill_is_refused(tmp_path: Path) -> None:
    repair = (SHIPPED / "tests" / "fixtures" / "minimal" / "ticket_types" / "repair.yaml").read_text()
    repair = repair.replace("to: assets}", "to: assets, required: true}")
    report = report_for(tmp_path, "mail:\n  mailboxes:\n    repairs: {address: repairs@example.org, type: repair}\n"
                                  "  default_mailbox: repairs\n", repair)
    assert report == """\
tessera.yaml:7:51 mail.mailboxes.repairs.type: mail cannot fill this ticket type's required fields
    expected: a ticket type whose required fields all have a default
    found: 'repair' requires asset
    hint: give those fields a default, or let the mailbox open another type
1 error in the definitions"""


def test_a_valid_mail_section_loads_into_the_project(tmp_path: Path) -> None:
    assert report_for(tmp_path, "mail:\n  mailboxes:\n    repairs: {address: Repairs@example.org, type: repair, "
                                "team: workshop}\n  default_mailbox: repairs\n") == "ok"
    desk, _ = validate(tmp_path / "desk")
    assert desk is not None
    mailbox = desk.project.mailbox("repairs")
    assert mailbox is not None
    assert (mailbox.address, mailbox.type, mailbox.team, desk.project.default_mailbox) == (
        "Repairs@example.org", "repair", "workshop", "repairs")
