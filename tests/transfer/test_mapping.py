"""Mapping files are checked against the desk before any row is read: every mistake at once, each with the file,
line, column, key, what was expected and a hint, as the definitions' errors are; a CSV whose header lacks a mapped
column is refused at the line that names it. No database is touched."""

from __future__ import annotations

from pathlib import Path

import pytest

import cli
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.errors import ConfigInvalid
from runtime.transfer.mapping import load_mapping
from tests.desk_fixtures import SHIPPED

BROKEN = """\
source: classic
external_ref: Id
type:
  column: Kind
  values: {Incident: it_suport, Complaint: customer_complaint}
status:
  column: Status
  values: {open: new, solved: solved}
fields:
  title: Subject
  priorty: Priority
  priority: {column: Prio, values: {Urgent: P5}}
  requester_id: Email
  impact: {column: Impact, by: name}
timestamps: {created_at: Created, timezone: Mars/Olympus}
assignee: {column: Owner, by: nickname}
"""

EXPECTED = """\
mapping.yaml:5:22 type.values.Incident: 'it_suport' is not a ticket type
    expected: one of admin_request, customer_complaint, equipment_maintenance, it_support
    found: 'it_suport'
    hint: did you mean 'it_support'?
mapping.yaml:8:31 status.values.solved: 'solved' is not a state of the mapped types' workflows
    expected: one of assigned, cancelled, closed, in_progress, new, resolved, waiting
    found: 'solved'
    hint: did you mean 'resolved'?
mapping.yaml:11:3 fields.priorty: 'priorty' is not a field
    hint: did you mean 'priority'?
mapping.yaml:12:45 fields.priority.values.Urgent: 'P5' is not a value of 'priority'
    expected: one of P0, P1, P2, P3
    found: 'P5'
mapping.yaml:13:3 fields.requester_id: 'requester_id' is not a field
    hint: use 'requester:' (by email)
mapping.yaml:14:28 fields.impact.by: 'by' is for relation fields; 'impact' is not one
    hint: remove 'by'
mapping.yaml:15:45 timestamps.timezone: 'Mars/Olympus' is not a time zone
    expected: an IANA time zone such as UTC or Europe/Berlin
    found: 'Mars/Olympus'
mapping.yaml:16:31 assignee.by: assignees are not found by 'nickname'
    expected: one of username, email
    found: 'nickname'
8 errors in the mapping"""


@pytest.fixture(scope="module")
def compiled() -> CompiledDesk:
    return load_compiled(SHIPPED)


def report_of(tmp_path: Path, text: str, compiled: CompiledDesk) -> str:
    (tmp_path / "mapping.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigInvalid) as raised:
        load_mapping(Path("mapping.yaml"), compiled)
    return raised.value.report


def test_every_mistake_is_reported_with_its_place_and_a_hint(tmp_path: Path, compiled: CompiledDesk,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = report_of(tmp_path, BROKEN, compiled)
    # An unknown field is told every field of the desk (expected) and itself (found): long lines, left out here.
    listing = ("    expected: one of approver", "    found: 'priorty'", "    found: 'requester_id'")
    assert "\n".join(line for line in report.splitlines() if not line.startswith(listing)) == EXPECTED


def test_structure_errors_come_first_with_the_allowed_keys(tmp_path: Path, compiled: CompiledDesk,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = report_of(tmp_path, "source: classic\ntype: it_support\nextrnal_ref: Id\n", compiled)
    assert report.splitlines()[0] == "mapping.yaml:1:1 external_ref: required key 'external_ref' is missing"
    assert "mapping.yaml:3:1 extrnal_ref: unknown key 'extrnal_ref'" in report
    assert "    hint: did you mean 'external_ref'?" in report
    assert report.endswith("2 errors in the mapping")


def test_fields_of_one_type_are_checked_against_that_type(tmp_path: Path, compiled: CompiledDesk,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = report_of(tmp_path, "source: classic\nexternal_ref: Id\ntype: it_support\ntypes:\n  it_support:\n"
                                 "    fields: {order_number: Order, error_screenshot: Shot}\n  it_suport: {}\n",
                       compiled)
    assert "mapping.yaml:6:14 types.it_support.fields.order_number: 'order_number' is not a field of it_support" \
        in report
    assert ("mapping.yaml:6:35 types.it_support.fields.error_screenshot: 'error_screenshot' holds attachments, "
            "which a mapping cannot import") in report
    assert "mapping.yaml:7:3 types.it_suport: 'it_suport' is not a ticket type" in report


def test_the_command_refuses_a_bad_mapping_and_a_csv_without_a_mapped_column(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tickets.csv").write_text("Id,Subject\n1,Printer\n", encoding="utf-8")
    (tmp_path / "mapping.yaml").write_text(BROKEN, encoding="utf-8")
    # The database is never opened: the mapping and the header are checked first.
    argv = ["--root", str(SHIPPED), "--database-url", f"sqlite:///{tmp_path / 'never.db'}", "import", "tickets",
            "--from", "tickets.csv", "--mapping", "mapping.yaml"]
    assert cli.main(argv) == 1
    assert capsys.readouterr().err.endswith("8 errors in the mapping\n")
    (tmp_path / "mapping.yaml").write_text("source: classic\nexternal_ref: Id\ntype: it_support\n"
                                           "fields: {title: Subjet}\n", encoding="utf-8")
    assert cli.main(argv) == 1
    assert capsys.readouterr().err == (
        "mapping.yaml:4:17 fields.title: the file has no column 'Subjet'\n"
        "    expected: one of Id, Subject\n"
        "    found: 'Subjet'\n"
        "    hint: did you mean 'Subject'?\n"
        "1 error in the mapping\n")
    assert not (tmp_path / "never.db").exists()
