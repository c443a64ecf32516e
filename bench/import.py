# ruff: noqa: N999 - named after the command it measures, run as a script and never imported
"""How fast ``cli.py import tickets`` moves another desk's history in, and ``cli.py export`` writes it out.

Run with ``.venv/bin/python bench/import.py`` (``--quick`` for 10,000 rows instead of 100,000). In a temporary
folder it writes a CSV as another desk would export it (its own ids, ticket kinds, statuses, priorities and
categories in its own words, requesters by email from a few thousand addresses, most of them new to this desk,
agents by username, three years of timestamps, a quarter of the rows with a JSON list of comments) and the
mapping for it; then, on a migrated demo desk in a SQLite file (and on PostgreSQL when reachable):

1. the import, through the CLI's own code in this process (reading, mapping, validation with the API's models,
   contacts and organizations created, audit events, SLA clocks computed from the timestamps, the search index);
2. the same file again: every row skipped as already there;
3. the export of every ticket to JSONL, and that export imported into a second, empty desk (the round trip).

The baseline, measured in the same run on SQLite: the same rows' master and extension columns inserted with
sqlite3 ``executemany`` after the values are taken from the CSV as they are (no mapping, no validation, no people,
events or clocks), into a desk with the same indexes and full-text triggers. The target is the issue's: at least
5,000 tickets/s from CSV on SQLite. Beside the rate, the table gives the CPU time this process spent per ticket
(PostgreSQL's server processes are not counted), which a busy machine changes less
than it changes the rate.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import json
import os
import random
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import sqlalchemy as sa  # noqa: E402

import cli  # noqa: E402
from bench.results import Figure as Result  # noqa: E402
from bench.results import record  # noqa: E402
from runtime.artifacts import migration_paths  # noqa: E402
from runtime.compile.desk import load_compiled  # noqa: E402
from runtime.db import migrations  # noqa: E402
from runtime.db.engine import make_engine  # noqa: E402
from runtime.demo.seed import seed_demo  # noqa: E402
from runtime.transfer.importer import Importer  # noqa: E402

TARGET = 5000.0
BERLIN = ZoneInfo("Europe/Berlin")
PG_URL = os.environ.get("TESSERA_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
MAPPING = """\
# The other desk's words on the left, this desk's on the right.
source: classic-helpdesk
external_ref: Ticket ID
number: Ticket number
type:
  column: Kind
  values: {Incident: it_support, Complaint: customer_complaint}
status:
  column: Status
  values: {Open: new, Assigned: assigned, Working: in_progress, Pending: waiting, Solved: resolved, Closed: closed}
channel:
  column: Via
  values: {Mail: email, Web: form, Phone: manual, API: api}
fields:
  title: Subject
  description: Description
  priority: {column: Priority, values: {Urgent: P0, High: P1, Normal: P2, Low: P3}}
  category:
    column: Category
    values: {Hardware: hardware, Software: software, Network: network, Access: access, Billing: billing,
             Delivery: delivery, Quality: product_quality}
  tags: Tags
  impact: {column: Impact, values: {One: single_user, Team: team, Site: site}}
types:
  it_support:
    fields:
      operating_system: {column: OS, values: {Win: windows, Mac: macos, Linux: linux}}
      os_version: OS version
      software: Software
      error_code: Error code
      users_affected: Users affected
  customer_complaint:
    fields:
      order_number: Order
      complaint_level: {column: Level, values: {"1": level_1, "2": level_2, "3": level_3}}
requester: {email: Requester email, name: Requester name, organization: Company}
assignee: {column: Agent, missing: leave_empty}
team: {column: Group, values: {Service Desk: service_desk, Care: customer_care}}
timestamps:
  created_at: Created
  updated_at: Updated
  first_response_at: First reply
  resolved_at: Solved at
  closed_at: Closed at
  timezone: Europe/Berlin       # the file's times carry their offset; this is for any that would not
comments: {column: Comments, body: text, public: public, author: by, created_at: at}
"""
HEADER = ("Ticket ID", "Ticket number", "Kind", "Status", "Via", "Subject", "Description", "Priority", "Category",
          "Tags", "Impact", "OS", "OS version", "Software", "Error code", "Users affected", "Order", "Level",
          "Requester email", "Requester name", "Company", "Agent", "Group", "Created", "Updated", "First reply",
          "Solved at", "Closed at", "Comments")
SUBJECTS = ("Laptop shows a blue screen after the update", "Cannot connect to the VPN from home",
            "Outlook does not sync the shared calendar", "Printer on floor 2 prints blank pages",
            "Password reset for the ERP account", "Monitor flickers when docked", "Order arrived damaged",
            "Charged twice for one order", "Parcel never arrived", "Wrong size delivered")
STATUSES = (("Open", 8), ("Assigned", 5), ("Working", 10), ("Pending", 5), ("Solved", 12), ("Closed", 60))
COMPANIES = ("Northwind Logistics", "Contoso Retail", "Fabrikam", "Tailspin Toys", "Litware", "")


@dataclass
class Figure:
    name: str
    database: str
    tickets: int
    seconds: float
    cpu: float  # seconds of CPU this process used (not PostgreSQL's server processes)
    target: str = "—"
    headline: str = ""  # its key in HEADLINES when bench/run_all.py gets it

    @property
    def rate(self) -> float:
        return self.tickets / self.seconds if self.seconds else 0.0


def other_desk_rows(count: int, seed: int = 20261127) -> Iterator[list[str]]:
    """``count`` tickets as another helpdesk's CSV export has them, oldest first, over three years."""
    rng = random.Random(seed)
    now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    start = now - dt.timedelta(days=3 * 365)
    step = (now - start) / count
    statuses = [s for s, weight in STATUSES for _ in range(weight)]

    def stamp(value: dt.datetime) -> str:
        """Berlin time with its offset, as such exports write it (no hour lost or doubled by a clock change)."""
        return value.astimezone(BERLIN).isoformat(" ", "seconds")

    for i in range(count):
        created = start + step * i
        status = statuses[int(rng.random() * len(statuses))]
        incident = rng.random() < 0.7
        replied = created + dt.timedelta(minutes=5 + rng.random() * 900) if status != "Open" else None
        solved = (replied or created) + dt.timedelta(hours=1 + rng.random() * 60) \
            if status in ("Solved", "Closed") else None
        closed = solved + dt.timedelta(days=3) if status == "Closed" and solved else None
        updated = closed or solved or replied or created
        person = int(rng.random() * 3000)
        comments = ""
        if i % 4 == 0:
            comments = json.dumps([{"text": "Thanks, we are looking into it.", "public": True, "by": "alex",
                                    "at": stamp(replied or created)},
                                   {"text": "Any news?", "public": True, "by": f"person{person}@customers.example",
                                    "at": stamp(updated)}])
        subject = SUBJECTS[(i % 6) if incident else 6 + i % 4]
        yield [f"CH-{100000 + i}", f"IT-{500000 + i:06d}" if incident and i % 10 == 0 else "",
               "Incident" if incident else "Complaint", status, ("Mail", "Web", "Phone", "API")[i % 4],
               f"{subject} (#{i})", f"{subject}. Reported by the requester; more details in the thread.",
               ("Urgent", "High", "Normal", "Normal", "Low")[i % 5],
               ("Hardware", "Software", "Network", "Access")[i % 4] if incident
               else ("Billing", "Delivery", "Quality")[i % 3],
               "vip;phone" if i % 7 == 0 else "", ("One", "One", "Team", "Site")[i % 4],
               ("Win", "Mac", "Linux")[i % 3] if incident else "", "11 23H2" if incident else "",
               "Outlook;Teams" if incident and i % 2 else "", f"0x{i:08X}" if incident and i % 5 == 0 else "",
               str(1 + i % 20) if incident else "", "" if incident else f"NW-{50000 + i}",
               "" if incident else str(1 + i % 3), f"person{person}@customers.example", f"Person {person}",
               COMPANIES[person % len(COMPANIES)], ("alex", "bea", "chen", "")[i % 4] if status != "Open" else "",
               "Service Desk" if incident else "Care", stamp(created), stamp(updated),
               stamp(replied) if replied else "", stamp(solved) if solved else "", stamp(closed) if closed else "",
               comments]


def write_inputs(folder: Path, rows: int) -> tuple[Path, Path]:
    source, mapping = folder / "classic-export.csv", folder / "mapping.yaml"
    mapping.write_text(MAPPING, encoding="utf-8")
    with source.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(other_desk_rows(rows))
    return source, mapping


def fresh_desk(url: str, *, seed: bool = True) -> None:
    compiled = load_compiled(REPO)
    engine = make_engine(url, REPO)
    try:
        migrations.upgrade(migration_paths(compiled), engine)
        if seed:
            seed_demo(compiled, engine)
    finally:
        engine.dispose()


def run_cli(url: str, *args: str) -> tuple[float, float, str]:
    """Run a command in this process: (wall seconds, CPU seconds, its output)."""
    out = io.StringIO()
    started, cpu = time.perf_counter(), time.process_time()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--root", str(REPO), "--database-url", url, *args])
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    if code != 0:
        msg = f"{' '.join(args)} exited with {code}:\n{out.getvalue()}"
        raise RuntimeError(msg)
    return seconds, cpu, out.getvalue()


@contextlib.contextmanager
def cpu_split() -> Iterator[dict[str, float]]:
    """CPU seconds an import spends preparing batches (reading, mapping, people, validation, clocks, values for
    the driver) and writing them (ids, numbers, new people, inserts, commit)."""
    spent = {"prepare": 0.0, "write": 0.0}
    originals = {name: getattr(Importer, name) for name in ("_prepare", "_settle")}

    def timed(method: Callable[..., Any], key: str) -> Callable[..., Any]:
        def run(*args: Any) -> Any:
            started = time.thread_time()
            try:
                return method(*args)
            finally:
                spent[key] += time.thread_time() - started

        return run

    Importer._prepare = timed(originals["_prepare"], "prepare")  # type: ignore[method-assign]
    Importer._settle = timed(originals["_settle"], "write")  # type: ignore[method-assign]
    try:
        yield spent
    finally:
        for name, method in originals.items():
            setattr(Importer, name, method)


def count_tickets(url: str) -> int:
    engine = make_engine(url, REPO)
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.text("SELECT count(*) FROM tickets")).scalar_one())
    finally:
        engine.dispose()


def baseline(folder: Path, source: Path) -> Figure:
    """The bare insert of the CSV's tickets (master and it_support/customer_complaint rows) with sqlite3."""
    path = folder / "baseline.db"
    fresh_desk(f"sqlite:///{path}")
    connection = sqlite3.connect(path, isolation_level=None)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        next_id = connection.execute("SELECT coalesce(max(id), 0) + 1 FROM tickets").fetchone()[0]
        master_sql = ("INSERT INTO tickets (id, number, type, title, description, status, status_category, priority, "
                      "category, source, external_ref, language, tags, created_at, updated_at, version) "
                      "VALUES (?, ?, ?, ?, ?, ?, 'open', 'P2', ?, 'manual', ?, 'en', '[]', ?, ?, 1)")
        it_sql = "INSERT INTO ticket_it_support (ticket_id, os_version, error_code) VALUES (?, ?, ?)"
        cc_sql = "INSERT INTO ticket_customer_complaint (ticket_id, order_number) VALUES (?, ?)"
        with source.open(newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            next(reader)
            done = 0
            while True:
                batch = [row for _, row in zip(range(1000), reader, strict=False)]
                if not batch:
                    break
                masters: list[tuple[object, ...]] = []
                its: list[tuple[object, ...]] = []
                ccs: list[tuple[object, ...]] = []
                for row in batch:
                    ticket_id = next_id + done
                    done += 1
                    incident = row[2] == "Incident"
                    masters.append((ticket_id, f"{'IT' if incident else 'CC'}-{ticket_id:06d}",
                                    "it_support" if incident else "customer_complaint", row[5], row[6], row[3],
                                    row[8], row[0], row[23], row[24]))
                    (its if incident else ccs).append((ticket_id, row[12], row[14]) if incident
                                                      else (ticket_id, row[16]))
                connection.execute("BEGIN IMMEDIATE")
                connection.executemany(master_sql, masters)
                connection.executemany(it_sql, its)
                connection.executemany(cc_sql, ccs)
                connection.execute("COMMIT")
    finally:
        connection.close()
    return Figure("bare sqlite3 insert of the same rows (baseline)", "SQLite", done, time.perf_counter() - started,
                  time.process_time() - cpu)


@contextlib.contextmanager
def pg_database() -> Iterator[str | None]:
    """A scratch PostgreSQL database, or None when no server answers."""
    admin_url = sa.make_url(PG_URL)
    admin = sa.create_engine(admin_url.set(drivername="postgresql+psycopg"), isolation_level="AUTOCOMMIT")
    name = f"tessera_bench_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
    except sa.exc.OperationalError:
        admin.dispose()
        yield None
        return
    try:
        yield admin_url.set(drivername="postgresql+psycopg", database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


def measure(database: str, url: str, second_url: str, source: Path, mapping: Path, folder: Path,
            rows: int) -> list[Figure]:
    fresh_desk(url)
    before = count_tickets(url)
    with cpu_split() as split:
        seconds, cpu, out = run_cli(url, "import", "tickets", "--from", str(source), "--mapping", str(mapping))
    imported = count_tickets(url) - before
    print(f"  {database}: {out.strip().splitlines()[0]}", flush=True)
    print(f"  {database}: CPU per ticket preparing {split['prepare'] / rows * 1e6:,.0f} µs, writing "
          f"{split['write'] / rows * 1e6:,.0f} µs", flush=True)
    figures = [Figure(f"import {rows:,} rows from CSV", database, imported, seconds, cpu,
                      f"≥ {TARGET:,.0f}/s" if database == "SQLite" else "—", "import")]
    seconds, cpu, out = run_cli(url, "import", "tickets", "--from", str(source), "--mapping", str(mapping))
    figures.append(Figure("the same file again (all skipped)", database, rows, seconds, cpu))
    export = folder / f"export-{database.lower()}.jsonl"
    seconds, cpu, _ = run_cli(url, "export", "--to", str(export))
    exported = sum(1 for _ in export.open(encoding="utf-8"))
    figures.append(Figure("export every ticket to JSONL", database, exported, seconds, cpu, headline="export"))
    fresh_desk(second_url)
    engine = make_engine(second_url, REPO)
    with engine.begin() as connection:  # the second desk keeps the demo's people but none of its tickets
        connection.execute(sa.text("DELETE FROM tickets"))
    engine.dispose()
    seconds, cpu, out = run_cli(second_url, "import", "tickets", "--from", str(export))
    print(f"  {database} round trip: {out.strip().splitlines()[0]}", flush=True)
    figures.append(Figure("import that export into an empty desk", database, count_tickets(second_url), seconds,
                          cpu, headline="round trip"))
    return figures


def table(figures: list[Figure], base: Figure) -> str:
    lines = ["| benchmark | database | tickets | s | tickets/s | CPU µs/ticket | target | within target | × baseline |",
             "|---|---|---:|---:|---:|---:|---|---|---:|"]
    for f in [base, *figures]:
        within = "—" if f.target == "—" else ("yes" if f.rate >= TARGET else "no")
        ratio = f"{f.rate / base.rate:.0%}" if base.rate and f is not base else "—"
        lines.append(f"| {f.name} | {f.database} | {f.tickets:,} | {f.seconds:.2f} | {f.rate:,.0f} | "
                     f"{f.cpu / max(f.tickets, 1) * 1e6:,.0f} | {f.target} | {within} | {ratio} |")
    return "\n".join(lines)


BASELINE_NAME = "bare sqlite3 insert of the same rows, SQLite, this run"
# The table's rows that bench/run_all.py gets, by the name they have here: (its figure's name, whether the CPU per
# ticket is reported too).
HEADLINES = {"import": ("CSV import", True), "export": ("export to JSONL", False),
             "round trip": ("import of that export into an empty desk", False)}


def record_headlines(figures: list[Figure], base: Figure) -> None:
    """Hand the import's, the export's and the round trip's rate (and the import's CPU per ticket) to
    bench/results.py, each database on its own, against the bare insert measured in this run."""
    base_cpu = base.cpu / max(base.tickets, 1) * 1e6
    for f in figures:
        key = f.headline
        if not key:
            continue
        name, with_cpu = HEADLINES[key]
        database = f.database.lower()
        record(Result(bench="import", name=f"{name}, tickets/s", value=f.rate, unit="tickets/s", database=database,
                      target=TARGET if key == "import" and database == "sqlite" else None, baseline=base.rate,
                      baseline_name=BASELINE_NAME))
        if with_cpu:
            record(Result(bench="import", name=f"{name}, CPU µs per ticket", value=f.cpu / max(f.tickets, 1) * 1e6,
                          unit="µs", database=database, higher_is_better=False, baseline=base_cpu,
                          baseline_name=BASELINE_NAME))


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="10,000 rows instead of 100,000")
    options.add_argument("--rows", type=int, help="rows in the CSV (default 100,000; quick 10,000)")
    options.add_argument("--no-postgres", action="store_true", help="SQLite only")
    args = options.parse_args(argv)
    rows = args.rows or (10_000 if args.quick else 100_000)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tessera-bench-import-") as name:
        folder = Path(name)
        source, mapping = write_inputs(folder, rows)
        print(f"{rows:,} rows, {source.stat().st_size / 1e6:.1f} MB of CSV", flush=True)
        base = baseline(folder, source)
        figures = measure("SQLite", f"sqlite:///{folder / 'import.db'}", f"sqlite:///{folder / 'copy.db'}",
                          source, mapping, folder, rows)
        if not args.no_postgres:
            with pg_database() as first, pg_database() as second:
                if first is None or second is None:
                    print("PostgreSQL is not reachable: SQLite only", flush=True)
                else:
                    figures += measure("PostgreSQL", first, second, source, mapping, folder, rows)
    print()
    print(table(figures, base))
    record_headlines(figures, base)
    print(f"\n{os.cpu_count()} cores, python {sys.version.split()[0]}, load average (1 min) {load:.2f} before the "
          f"run, {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
