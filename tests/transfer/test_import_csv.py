"""``cli.py import tickets`` from another desk's CSV through a mapping, on SQLite and PostgreSQL: good rows become
tickets with their states, timestamps, people, fields, comments and SLA clocks; bad rows are in the report with
their line and every reason and stop nothing; a second import skips what is there; a dry run writes nothing; kept
and new numbers leave the counters right for the next ticket created."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

import cli
from runtime.sla.history import histories
from runtime.sla.replay import ScratchClocks
from runtime.tickets.actors import agent_actor
from runtime.tickets.listing import ListQuery, list_tickets
from runtime.tickets.service import TicketService
from runtime.transfer.incoming import Incoming
from runtime.transfer.writer import BatchWriter
from tests.tickets.service_fixtures import migrated_desk
from tests.transfer.transfer_fixtures import Desk

MAPPING = """\
source: classic
external_ref: Id
number: Number
type:
  column: Kind
  values: {Incident: it_support, Complaint: customer_complaint}
status:
  column: Status
  values: {Open: new, Pending: waiting, Solved: resolved, Closed: closed}
fields:
  title: Subject
  description: Body
  priority: {column: Priority, values: {Urgent: P0, High: P1, Normal: P2, Low: P3}}
  category: {column: Category, values: {HW: hardware, Net: network, Delivery: delivery}}
  tags: Tags
  location: {column: Site, by: code}
types:
  it_support:
    fields: {asset_number: Asset, users_affected: Users}
  customer_complaint:
    fields: {order_number: Order}
requester: {email: Requester, name: Requester name, organization: Company}
assignee: {column: Owner, missing: reject}
team: {column: Group, values: {Desk: service_desk}}
timestamps:
  created_at: Created
  updated_at: Updated
  first_response_at: First reply
  resolved_at: Solved at
  timezone: Europe/Berlin
comments: {column: Comments, body: text, public: public, author: by, created_at: at}
"""
HEADER = ("Id", "Number", "Kind", "Status", "Subject", "Body", "Priority", "Category", "Tags", "Asset", "Users",
          "Order", "Requester", "Requester name", "Company", "Owner", "Group", "Created", "Updated", "First reply",
          "Solved at", "Comments", "Site")
THREAD = json.dumps([
    {"text": "We are on it.", "public": True, "by": "alex", "at": "2025-03-03 09:30"},
    {"text": "Thanks!", "public": True, "by": "new.person@acme.example", "at": "2025-03-03 10:00"},
    {"text": "Toner ordered.", "public": False, "by": "bea@example.org", "at": "2025-03-03 11:00"}])
ROWS = [
    # line 2 (two lines: the body has a line break)
    ("C-1", "IT-000500", "Incident", "Solved", "Printer jams", "The printer on floor 2\njams every morning", "High",
     "HW", "printer;floor 2", "LT-004711", "3", "", "new.person@acme.example", "New Person", "Acme Corp", "alex",
     "Desk", "2025-03-03 09:00", "2025-03-04 10:00", "", "2025-03-04 10:00", THREAD, "BER-HQ"),
    # line 4
    ("C-2", "", "Complaint", "Open", "Broken glasses", "Two of five glasses broken", "Normal", "Delivery", "", "",
     "", "NW-1182", "maria.lopez@northwind.example.org", "", "", "", "", "2025-03-05T10:00:00+01:00", "", "", "",
     ""),
    # line 5: a state the mapping does not know
    ("C-3", "", "Incident", "Escalated", "Unknown state", "x", "Low", "Net", "", "", "", "", "a@b.example", "", "",
     "", "", "2025-03-05 10:00", "", "", "", ""),
    # line 6: two reasons at once
    ("C-4", "", "Incident", "Open", "Bad values", "x", "Low", "Net", "", "", "many", "", "a@b.example", "", "",
     "nobody", "", "2025-03-05 10:00", "", "", "", "", "NOWHERE"),
    # line 7: solved before it was created
    ("C-5", "", "Incident", "Solved", "Time travel", "x", "Low", "Net", "", "", "", "", "a@b.example", "", "", "",
     "", "2025-03-05 10:00", "", "", "2025-03-01 10:00", ""),
    # line 8: the same reference again: already there
    ("C-1", "", "Incident", "Open", "Printer jams again", "x", "Low", "HW", "", "", "", "", "a@b.example", "", "",
     "", "", "2025-03-06 10:00", "", "", "", ""),
    # line 9: not an email address
    ("C-6", "", "Incident", "Open", "Who?", "x", "Low", "Net", "", "", "", "", "nobody at all", "", "", "", "",
     "2025-03-06 10:00", "", "", "", ""),
    # line 10: waiting for the requester, with a number that is not written as ours (a new one is given)
    ("C-7", "IT-12", "Incident", "Pending", "VPN drops", "VPN drops at noon", "Low", "Net", "", "", "", "",
     "aiko.tanaka@example.org", "", "", "bea", "Desk", "2025-03-06 09:00", "2025-03-06 15:00", "2025-03-06 09:20",
     "", ""),
]
REPORT = [
    ["line", "key", "reasons"],
    ["5", "C-3", "status: 'Escalated' is not a state of this type's workflow (new, assigned, in_progress, waiting, "
                 "resolved, closed, cancelled) nor mapped to one"],
    ["6", "C-4", "assignee: no agent with username 'nobody' in this desk"],
    ["7", "C-5", "resolved_at before created_at (2025-03-05T09:00:00+00:00)"],
    ["9", "C-6", "requester: 'nobody at all' is not an email address"],
]


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def write_csv(path: Path, rows: Sequence[tuple[str, ...]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> Iterator[Desk]:
    root, compiled, engine = migrated_desk(tmp_path_factory.mktemp("import"), module_database_url)
    yield Desk(root, compiled, engine)
    engine.dispose()


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("files")
    (folder / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    write_csv(folder / "classic.csv", ROWS)
    return folder


@pytest.fixture(scope="module")
def first_run(desk: Desk, files: Path) -> tuple[int, str, str]:
    """The module's import, run once for all the tests below (capsys is for one test only)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--root", str(desk.root), "--database-url", desk.url, "import", "tickets", "--from",
                         str(files / "classic.csv"), "--mapping", str(files / "mapping.yaml"), "--progress"])
    return code, out.getvalue(), err.getvalue()


def imported(desk: Desk) -> dict[str, dict[str, Any]]:
    tickets = desk.compiled.table("tickets")
    return {row["external_ref"]: row for row in desk.rows("tickets", tickets.c.source_name == "classic")}


def test_good_rows_are_imported_and_bad_ones_reported_with_their_line_and_reasons(
        first_run: tuple[int, str, str], files: Path) -> None:
    code, out, err = first_run
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("imported 3 tickets, skipped 1 already there, rejected 4 (8 rows in ")
    assert lines[1] == f"rejected rows and their reasons: {files / 'classic.rejected.csv'}"
    assert "import 100% |" in err  # the progress bar, asked for with --progress
    with (files / "classic.rejected.csv").open(newline="", encoding="utf-8") as handle:
        report = list(csv.reader(handle))
    assert report[0] == REPORT[0]
    assert report[1:4:2] == REPORT[1:4:2]
    line_6 = report[2]
    assert line_6[:2] == ["6", "C-4"]
    assert set(line_6[2].split("; ")) == {"assignee: no agent with username 'nobody' in this desk",
                                          "location: no ref_locations with code 'NOWHERE' in this desk",
                                          "users_affected: Input should be a valid integer (found 'many')"}
    assert report[4] == REPORT[4]


@pytest.mark.usefixtures("first_run")
def test_tickets_keep_their_state_timestamps_people_fields_and_comments(desk: Desk) -> None:
    tickets = imported(desk)
    assert sorted(tickets) == ["C-1", "C-2", "C-7"]
    printer = tickets["C-1"]
    assert (printer["number"], printer["type"], printer["status"], printer["status_category"]) == (
        "IT-000500", "it_support", "resolved", "resolved")
    assert (printer["title"], printer["description"]) == ("Printer jams", "The printer on floor 2\njams every morning")
    assert (printer["priority"], printer["category"], printer["tags"]) == ("P1", "hardware", ["printer", "floor 2"])
    # Berlin time in the file, UTC in the desk; the first response is the first public answer of an agent.
    assert (printer["created_at"], printer["first_response_at"], printer["resolved_at"], printer["updated_at"]) == (
        utc("2025-03-03 08:00"), utc("2025-03-03 08:30"), utc("2025-03-04 09:00"), utc("2025-03-04 09:00"))
    assert printer["closed_at"] is None
    contact = desk.rows("contacts", desk.compiled.table("contacts").c.email == "new.person@acme.example")[0]
    organization = desk.rows("organizations", desk.compiled.table("organizations").c.id == contact["organization_id"])
    assert (contact["name"], organization[0]["name"]) == ("New Person", "Acme Corp")
    assert (printer["requester_id"], printer["organization_id"]) == (contact["id"], contact["organization_id"])
    agents = {row["username"]: row["id"] for row in desk.rows("agents")}
    assert printer["assignee_id"] == agents["alex"]
    assert printer["team_id"] == desk.rows("teams", desk.compiled.table("teams").c.name == "service_desk")[0]["id"]
    locations = desk.compiled.table("ref_locations")
    assert printer["location"] == desk.rows("ref_locations", locations.c.code == "BER-HQ")[0]["id"]
    extension = desk.rows("ticket_it_support", desk.compiled.table("ticket_it_support").c.ticket_id == printer["id"],
                          order="ticket_id")[0]
    assert (extension["asset_number"], extension["users_affected"]) == ("LT-004711", 3)
    comments = desk.rows("comments", desk.compiled.table("comments").c.ticket_id == printer["id"])
    assert [(c["body"], c["public"], c["direction"], c["author_agent_id"], c["author_contact_id"]) for c in comments] \
        == [("We are on it.", True, "outbound", agents["alex"], None),
            ("Thanks!", True, "inbound", None, contact["id"]),
            ("Toner ordered.", False, "outbound", agents["bea"], None)]
    complaint = tickets["C-2"]
    assert (complaint["number"][:3], complaint["status"], complaint["priority"], complaint["assignee_id"]) == (
        "CC-", "new", "P2", None)
    maria = desk.rows("contacts", desk.compiled.table("contacts").c.email == "maria.lopez@northwind.example.org")[0]
    assert (complaint["requester_id"], complaint["organization_id"]) == (maria["id"], maria["organization_id"])
    waiting = tickets["C-7"]
    assert (waiting["status"], waiting["status_category"], waiting["status_changed_at"]) == (
        "waiting", "paused", utc("2025-03-06 14:00"))


@pytest.mark.usefixtures("first_run")
def test_each_import_is_audited_and_searchable(desk: Desk) -> None:
    printer = imported(desk)["C-1"]
    events = desk.rows("ticket_events", desk.compiled.table("ticket_events").c.ticket_id == printer["id"])
    assert [(e["actor"], e["action"], e["new_value"]) for e in events] == [
        ("system:import", "imported", {"source": "classic", "ref": "C-1", "file": "classic.csv", "line": 2})]
    with desk.engine.connect() as connection:
        alex = agent_actor(connection, desk.compiled, desk.rows("agents")[0]["id"])
        found = list_tickets(connection, desk.compiled, alex, ListQuery(text="jams floor"))
    assert [t["number"] for t in found.items] == ["IT-000500"]


@pytest.mark.usefixtures("first_run")
def test_sla_clocks_come_from_the_timestamps_as_a_replay_of_the_history_gives_them(desk: Desk) -> None:
    tickets = imported(desk)
    timers = desk.compiled.table("sla_timers")
    printer = desk.rows("sla_timers", timers.c.ticket_id == tickets["C-1"]["id"])
    # P1 on the Berlin office calendar: answered after 30 minutes (1h promised), solved after 10h15m of business
    # time (8h promised), so breached when the 8 hours ran out on Monday at 17:45 Berlin time.
    assert [(t["metric"], t["state"], t["elapsed_seconds"], t["breached_at"]) for t in printer] == [
        ("first_response", "stopped", 1800, None), ("resolution", "stopped", 36900, utc("2025-03-03 16:45"))]
    waiting = desk.rows("sla_timers", timers.c.ticket_id == tickets["C-7"]["id"])
    assert [(t["metric"], t["state"]) for t in waiting] == [("first_response", "stopped"), ("resolution", "paused")]
    open_complaint = desk.rows("sla_timers", timers.c.ticket_id == tickets["C-2"]["id"])
    assert [(t["metric"], t["state"]) for t in open_complaint] == [("first_response", "running"),
                                                                   ("resolution", "running")]
    # Escalations that fell due long before the import are not fired again now.
    assert all(t["fired"] for t in open_complaint)
    columns = ("metric", "policy", "calendar", "state", "target_seconds", "elapsed_seconds", "started_at",
               "running_since", "due_at", "breached_at", "stopped_at", "pauses")
    ids = {t["id"] for t in tickets.values()}
    scratch = ScratchClocks(desk.compiled, [])
    try:
        with desk.engine.connect() as connection:
            for history in histories(connection, desk.compiled, None):
                if history.ticket["id"] in ids:
                    scratch.play(history)
        replayed = scratch.connection.execute(sa.select(scratch.clocks.timers).order_by(
            scratch.clocks.timers.c.ticket_id, scratch.clocks.timers.c.id)).all()
    finally:
        scratch.close()
    stored = desk.rows("sla_timers", timers.c.ticket_id.in_(ids), order="id")
    stored.sort(key=lambda t: (t["ticket_id"], t["id"]))
    assert [tuple(getattr(r, c) for c in columns) for r in replayed] == [tuple(t[c] for c in columns)
                                                                        for t in stored]


@pytest.mark.usefixtures("first_run")
def test_a_second_import_of_the_same_file_skips_every_row_that_is_there(desk: Desk, files: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    before = desk.counts()
    code, out, _ = desk.run(capsys, "import", "tickets", "--from", str(files / "classic.csv"), "--mapping",
                            str(files / "mapping.yaml"))
    assert code == 0
    assert out.startswith("imported 0 tickets, skipped 4 already there, rejected 4 ")
    assert desk.counts() == before


@pytest.mark.usefixtures("first_run")
def test_a_dry_run_checks_and_reports_but_writes_nothing(desk: Desk, files: Path, tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    fresh = [(f"D-{i}", "", "Incident", "Solved", f"New {i}", "x", "Low", "Net", "", "", "", "",
              f"someone{i}@elsewhere.example", "Someone", "Elsewhere Ltd", "alex", "Desk", "2025-04-01 10:00", "",
              "2025-04-01 10:05", "2025-04-01 12:00", "") for i in range(3)]
    source = write_csv(tmp_path / "more.csv", [*fresh, ROWS[2]])
    before = desk.counts()
    code, out, _ = desk.run(capsys, "import", "tickets", "--from", str(source), "--mapping",
                            str(files / "mapping.yaml"), "--dry-run", "--report", str(tmp_path / "dry.jsonl"))
    assert code == 0
    assert out.splitlines()[0].startswith("dry run: would import 3 tickets, would skip 0 already there, would "
                                          "reject 1 ")
    assert out.splitlines()[-1] == "nothing was written"
    assert desk.counts() == before
    assert [json.loads(line) for line in (tmp_path / "dry.jsonl").read_text().splitlines()] == [
        {"line": 5, "key": "C-3", "reasons": [REPORT[1][2]]}]


@pytest.mark.usefixtures("first_run")
def test_kept_and_new_numbers_leave_the_counter_past_them(desk: Desk) -> None:
    tickets = imported(desk)
    assert tickets["C-1"]["number"] == "IT-000500"
    assert tickets["C-7"]["number"] == "IT-000501"  # IT-12 is not a number this desk writes
    events = desk.rows("ticket_events", desk.compiled.table("ticket_events").c.ticket_id == tickets["C-7"]["id"])
    assert events[0]["new_value"]["number"] == "IT-12"  # the other desk's number stays on record
    service = TicketService(desk.compiled, desk.engine)
    with desk.engine.connect() as connection:
        alex = agent_actor(connection, desk.compiled, desk.rows("agents")[0]["id"])
    created = service.create(alex, "it_support", {"title": "After the import"})
    assert created["number"] == "IT-000502"


JSONL_MAPPING = """\
source: api-desk
external_ref: id
type: customer_complaint
status: {column: state, values: {open: new, done: closed}}
fields:
  title: subject
  order_number: order.number
requester: {email: customer.email, name: customer.name}
timestamps: {created_at: created, closed_at: closed}
comments: {column: thread, body: text, author: from, created_at: at}
"""


def test_jsonl_rows_reach_into_objects_and_carry_their_comments(desk: Desk, tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    lines = [
        {"id": 71, "state": "done", "subject": "Late parcel", "order": {"number": "NW-7100"},
         "customer": {"email": "jo@shop.example", "name": "Jo"}, "created": "2025-06-02T08:00:00Z",
         "closed": "2025-06-03T08:00:00Z",
         "thread": [{"text": "Where is it?", "from": "jo@shop.example", "at": "2025-06-02T08:00:00Z"},
                    {"text": "On its way.", "from": "chen", "at": "2025-06-02T09:00:00Z"}]},
        "not json at all",
        {"id": 72, "state": "open", "subject": "", "customer": {"email": "jo@shop.example"},
         "created": "2025-06-04T08:00:00Z"},
    ]
    source = tmp_path / "api-desk.jsonl"
    source.write_text("\n".join(line if isinstance(line, str) else json.dumps(line) for line in lines) + "\n",
                      encoding="utf-8")
    (tmp_path / "map.yaml").write_text(JSONL_MAPPING, encoding="utf-8")
    code, out, _ = desk.run(capsys, "import", "tickets", "--from", str(source), "--mapping", str(tmp_path / "map.yaml"))
    assert (code, out.split(" (")[0]) == (0, "imported 1 tickets, skipped 0 already there, rejected 2")
    report = [json.loads(r) for r in (tmp_path / "api-desk.rejected.jsonl").read_text().splitlines()]
    assert [(r["line"], r["key"]) for r in report] == [(2, ""), (3, "72")]
    assert report[0]["reasons"][0].startswith("not JSON: ")
    assert report[1]["reasons"] == ["title: Field required"]  # an empty value is no value
    tickets = desk.compiled.table("tickets")
    ticket = desk.rows("tickets", tickets.c.source_name == "api-desk")[0]
    assert (ticket["external_ref"], ticket["status"], ticket["closed_at"], ticket["resolved_at"]) == (
        "71", "closed", utc("2025-06-03 08:00"), utc("2025-06-03 08:00"))
    assert ticket["first_response_at"] == utc("2025-06-02 09:00")  # chen's answer
    extension = desk.compiled.table("ticket_customer_complaint")
    assert desk.rows("ticket_customer_complaint", extension.c.ticket_id == ticket["id"],
                     order="ticket_id")[0]["order_number"] == "NW-7100"
    comments = desk.rows("comments", desk.compiled.table("comments").c.ticket_id == ticket["id"])
    assert [(c["body"], c["direction"]) for c in comments] == [("Where is it?", "inbound"),
                                                               ("On its way.", "outbound")]


def test_a_batch_the_database_refuses_is_written_row_by_row(desk: Desk, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    real = BatchWriter.write

    def refusing(self: BatchWriter, connection: sa.Connection, rows: list[Incoming], numbers: list[str],
                 now: dt.datetime) -> list[int]:
        if any(row.key == "R-2" for row in rows):  # as a constraint no check foresaw would
            raise sa.exc.IntegrityError("INSERT …", {}, Exception("CHECK constraint failed: demo"))
        return real(self, connection, rows, numbers, now)

    monkeypatch.setattr(BatchWriter, "write", refusing)
    rows = [(f"R-{i}", "", "Incident", "Open", f"Row {i}", "x", "Low", "Net", "", "", "", "", "r@example.org", "",
             "", "", "", "2025-05-01 10:00", "", "", "", "") for i in range(1, 4)]
    source = write_csv(tmp_path / "refused.csv", rows)
    (tmp_path / "mapping.yaml").write_text(MAPPING, encoding="utf-8")
    code, out, _ = desk.run(capsys, "import", "tickets", "--from", str(source), "--mapping",
                            str(tmp_path / "mapping.yaml"))
    assert (code, out.split(" (")[0]) == (0, "imported 2 tickets, skipped 0 already there, rejected 1")
    with (tmp_path / "refused.rejected.csv").open(newline="", encoding="utf-8") as handle:
        assert list(csv.reader(handle))[1:] == [["3", "R-2", "the database refused it: CHECK constraint failed: demo"]]
    tickets = desk.compiled.table("tickets")
    assert sorted(t["external_ref"] for t in desk.rows("tickets", tickets.c.external_ref.like("R-%"))) == ["R-1", "R-3"]
    contacts = desk.compiled.table("contacts")
    assert len(desk.rows("contacts", contacts.c.email == "r@example.org")) == 1
