"""How the SLA sweep scales: finding the due clocks among a million running ones, and escalations per second.

Run with ``.venv/bin/python bench/sla_sweep.py`` (``--quick``: 100,000 open tickets only; ``--no-postgres``:
SQLite only). For each database — a temporary SQLite file, and PostgreSQL on 127.0.0.1:5432 (user postgres)
when it answers, in a scratch database ``bench_sla_<pid>`` created and dropped here:

1. the shipped desk is migrated and seeded with the demo's people; the demo tickets' clocks are removed;
2. open IT support tickets (master and extension rows), each with one running SLA clock whose next check
   lies one hour to 30 days ahead, are bulk-loaded: sqlite3 ``executemany`` or PostgreSQL ``COPY`` in one
   transaction, with the three tables' secondary indexes dropped first and built again afterwards (the same
   statements), then ``VACUUM ANALYZE`` on PostgreSQL as autovacuum would do after such a load. The loaded
   tickets are left out of the full-text index (SQLite's triggers are dropped during the load, PostgreSQL's
   GIN index is not built again): the sweep neither reads nor changes what it covers, and building it would
   take longer than the rest of the load;
3. 1,000 clocks spread over the whole table are made due: first response on policy ``standard`` for a P1
   ticket, started 49 to 59 business minutes before the sweep's moment, so their 80 % step (notify the
   assignee: an in-app notice and a queued email) has come and their breach has not;
4. measured at 100,000 and then, after loading 900,000 more, at 1,000,000 open tickets: the sweep's own
   SELECT for due clocks (LIMIT of one batch, and of all 1,000; on PostgreSQL joined with the tickets and
   locked with them, FOR NO KEY UPDATE … SKIP LOCKED, as the sweep claims them), the same when nothing is
   due, the same with the index made unusable (what the index saves), and whole ``sweep()`` runs over 1,000
   and over 200 due clocks, each run on a fresh set of them.

The sweep's moment is fixed, Wednesday 2 December 2026 at 11:00 in Berlin, inside the office hours of the
policy's calendar, so that business time and the figures do not depend on when the benchmark runs. Query
times are medians, each run in its own transaction that is rolled back; the baseline, measured the same way
in the same run, is reading one clock by primary key. Prints one markdown table, the query plans, the load
times and the machine's load average.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.results import Figure, record  # noqa: E402
from runtime.artifacts import migration_paths  # noqa: E402
from runtime.compile.desk import CompiledDesk, load_compiled  # noqa: E402
from runtime.db import migrations  # noqa: E402
from runtime.db.engine import make_engine  # noqa: E402
from runtime.db.search import gin_index  # noqa: E402
from runtime.demo.seed import seed_demo  # noqa: E402
from runtime.sla import clock as clocks  # noqa: E402
from runtime.sla.sweep import BATCH, sweep  # noqa: E402
from runtime.sla.timers import clocks_for  # noqa: E402

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)  # Wednesday, 11:00 in Berlin
DUE = 1000
SIZES = (100_000, 1_000_000)
FIND_TARGET_MS = 50.0
ESCALATIONS_TARGET = 2000  # per second
POLICY, METRIC, PRIORITY = "standard", "first_response", "P1"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"
CHUNK = 50_000
MONTH = 30 * 86400
PRIORITIES = ("P1", "P2", "P2", "P3", "P3", "P3")
TITLES = ("Laptop shows a blue screen after the update", "Cannot connect to the VPN from home",
          "Outlook does not sync the shared calendar", "Printer on floor 2 prints blank pages",
          "Password reset for the ERP account", "Monitor flickers when docked")
SYSTEMS = ("windows", "macos", "linux")

TICKET_COLUMNS = ("id", "number", "type", "title", "description", "status", "status_category", "priority",
                  "category", "source", "requester_id", "assignee_id", "team_id", "language", "tags", "created_at",
                  "updated_at", "status_changed_at", "version", "impact")
EXTENSION_COLUMNS = ("ticket_id", "operating_system", "software", "users_affected")
TIMER_COLUMNS = ("id", "ticket_id", "metric", "policy", "state", "target_seconds", "elapsed_seconds", "started_at",
                 "due_at", "next_check_at", "pauses", "calendar", "running_since", "fired")
LOADED = {"tickets": TICKET_COLUMNS, "ticket_it_support": EXTENSION_COLUMNS, "sla_timers": TIMER_COLUMNS}


# --- the desk and its people ---------------------------------------------------------------------------

@dataclass
class Desk:
    name: str
    engine: sa.Engine
    compiled: CompiledDesk
    stamp: Stamps
    staff: list[tuple[int, int]] = field(default_factory=list)  # (agent, team) pairs that can hold a ticket
    requesters: list[int] = field(default_factory=list)
    first_ticket: int = 1
    first_timer: int = 1
    loaded: int = 0
    load_seconds: list[float] = field(default_factory=list)
    used: set[int] = field(default_factory=set)  # timers made due once: their step is on record for good
    offset: int = 0

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name


class Stamps:
    """Whole seconds from NOW (up to a month either way) as timestamp text the database takes: the day's text
    is looked up and only the time of day formatted, since a datetime per value would cost most of the load."""

    def __init__(self, suffix: str) -> None:
        origin = NOW.replace(hour=0) - dt.timedelta(days=32)
        self.days = [(origin + dt.timedelta(days=d)).strftime("%Y-%m-%d ") for d in range(66)]
        self.now = int((NOW - origin).total_seconds())
        self.suffix = suffix  # SQLite keeps naive UTC, as SQLAlchemy writes it; PostgreSQL gets the offset

    def __call__(self, offset: int) -> str:
        day, second = divmod(self.now + offset, 86400)
        hour, second = divmod(second, 3600)
        minute, second = divmod(second, 60)
        return f"{self.days[day]}{hour:02d}:{minute:02d}:{second:02d}.000000{self.suffix}"


def check_columns(compiled: CompiledDesk) -> None:
    """Fail early and clearly when the schema has a required column that the bulk load does not fill."""
    for name, columns in LOADED.items():
        table = compiled.table(name)
        unknown = set(columns) - set(table.c.keys())
        missing = {c.name for c in table.columns if not c.nullable and c.server_default is None} - set(columns)
        if unknown or missing:
            msg = f"{name}: the bulk load fills unknown columns {sorted(unknown)}, misses {sorted(missing)}"
            raise RuntimeError(msg)


def prepared(name: str, url: str, stamp: Stamps) -> Desk:
    compiled = load_compiled(REPO)
    check_columns(compiled)
    engine = make_engine(url, REPO)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    desk = Desk(name, engine, compiled, stamp)
    tickets, timers, events = (compiled.table(t) for t in ("tickets", "sla_timers", "sla_events"))
    members, agents, contacts = (compiled.table(t) for t in ("team_members", "agents", "contacts"))
    with engine.begin() as connection:
        # The demo's clocks run on today's date; this benchmark's moment is fixed.
        connection.execute(sa.delete(events))
        connection.execute(sa.delete(timers))
        desk.staff = [(r.agent_id, r.team_id) for r in connection.execute(
            sa.select(members.c.agent_id, members.c.team_id).join(agents, agents.c.id == members.c.agent_id)
            .where(agents.c.active.is_(True)).order_by(members.c.team_id, members.c.agent_id))]
        desk.requesters = list(connection.execute(sa.select(contacts.c.id).order_by(contacts.c.id)).scalars())
        desk.first_ticket = 1 + (connection.execute(sa.select(sa.func.max(tickets.c.id))).scalar() or 0)
    if not desk.staff or not desk.requesters:
        msg = "the demo seed has no agents in teams or no contacts"
        raise RuntimeError(msg)
    return desk


# --- bulk load -----------------------------------------------------------------------------------------

def bench_rows(desk: Desk, start: int, count: int) -> Iterator[tuple[tuple[object, ...], tuple[object, ...],
                                                                 tuple[object, ...]]]:
    """Ticket ``start`` … ``start + count - 1`` of the bench (0-based): master, extension and clock rows.

    Spreads come from multiplying by primes modulo a month rather than from a random generator: as even
    and far cheaper, for a million rows."""
    stamp, staff, requesters = desk.stamp, desk.staff, desk.requesters
    started = stamp(-600)
    descriptions = [f"{title}. Reported on the phone." for title in TITLES]
    for n in range(start, start + count):
        ticket_id = desk.first_ticket + n
        created = stamp(-(n * 7919 % MONTH))
        next_check = 3600 + n * 104_729 % MONTH
        agent, team = staff[n % len(staff)]
        first = n % 2 == 0
        yield ((ticket_id, f"IT-B{ticket_id:08d}", "it_support", TITLES[n % len(TITLES)],
                descriptions[n % len(TITLES)], "assigned", "open", PRIORITIES[n % len(PRIORITIES)], "hardware", "api",
                requesters[n % len(requesters)], agent, team, "en", "[]", created, created, created, 1, "single_user"),
               (ticket_id, SYSTEMS[n % len(SYSTEMS)], "[]", 1),
               (desk.first_timer + n, ticket_id, METRIC if first else "resolution", POLICY, clocks.RUNNING,
                3600 if first else 28_800, 0, started, stamp(next_check + 3600), stamp(next_check), "[]",
                "berlin_office", started, "[]"))


def chunks(desk: Desk, count: int) -> Iterator[list[tuple[tuple[object, ...], tuple[object, ...],
                                                          tuple[object, ...]]]]:
    produced = bench_rows(desk, desk.loaded, count)
    while batch := [row for _, row in zip(range(CHUNK), produced, strict=False)]:
        yield batch


def insert(table: str, columns: Sequence[str], placeholder: str) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join([placeholder] * len(columns))})"


def load_sqlite(desk: Desk, count: int) -> None:
    database = desk.engine.url.database
    assert database is not None
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        # A scratch file: a crash during the load loses nothing worth an fsync per page.
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-400000")
        marks = ", ".join("?" * len(LOADED))
        # Indexes and the full-text triggers; unique keys (sql IS NULL) stay. The loaded tickets are left out
        # of the full-text index: the sweep never reads it, and tokenizing them would take most of the load.
        dropped = connection.execute(f"SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') "
                                     f"AND sql IS NOT NULL AND tbl_name IN ({marks})", tuple(LOADED)).fetchall()
        connection.execute("BEGIN")
        for kind, name, _ in dropped:
            connection.execute(f'DROP {kind.upper()} "{name}"')
        statements = [insert(table, columns, "?") for table, columns in LOADED.items()]
        for batch in chunks(desk, count):
            for position, statement in enumerate(statements):
                connection.executemany(statement, [row[position] for row in batch])
        for _, _, sql in dropped:
            connection.execute(sql)
        connection.execute("COMMIT")
    finally:
        connection.close()


def copy_text(values: tuple[object, ...]) -> str:
    # No value here holds a tab, newline or backslash, so COPY's text format needs no escaping.
    return "\t".join("\\N" if v is None else str(v) for v in values) + "\n"


def load_postgres(desk: Desk, count: int) -> None:
    raw = desk.engine.raw_connection()
    try:
        connection: Any = raw.driver_connection
        with connection.cursor() as cursor:
            # The rows refer to tickets and people loaded or seeded just before: no need to check every key.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                           "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint)",
                           (list(LOADED),))
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f'DROP INDEX "{name}"')
            copies = [f"COPY {table} ({', '.join(columns)}) FROM STDIN" for table, columns in LOADED.items()]
            for batch in chunks(desk, count):
                for position, statement in enumerate(copies):
                    with cursor.copy(statement) as copy:
                        copy.write("".join(copy_text(row[position]) for row in batch))
            for name, sql in indexes:
                # The full-text index would take a minute to build over a million tickets, and the sweep
                # neither reads nor changes the columns it covers.
                if name != gin_index("tickets"):
                    cursor.execute(sql)
            for table in ("tickets", "sla_timers"):
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        connection.commit()
    finally:
        raw.close()
    with desk.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as autocommit:
        for table in LOADED:
            autocommit.exec_driver_sql(f"VACUUM ANALYZE {table}")


def load(desk: Desk, total: int) -> None:
    """Bring the bench's open tickets up to ``total``."""
    count = total - desk.loaded
    began = time.perf_counter()
    (load_sqlite if desk.dialect == "sqlite" else load_postgres)(desk, count)
    desk.load_seconds.append(time.perf_counter() - began)
    desk.loaded = total


# --- due clocks ----------------------------------------------------------------------------------------

def make_due(desk: Desk, count: int) -> list[int]:
    """Turn ``count`` clocks spread over the whole table, none made due before, into clocks whose 80 % step
    has come; returns their ids."""
    step = desk.loaded // count
    while True:
        assert desk.offset < step, "no fresh clocks left to make due"
        chosen = [desk.first_timer + i * step + desk.offset for i in range(count)]
        desk.offset += 1
        if desk.used.isdisjoint(chosen):
            break
    desk.used.update(chosen)
    sla = clocks_for(desk.compiled)
    policy = sla.book.by_name[POLICY]
    goal = sla.book.goal(policy, PRIORITY, METRIC)
    assert goal is not None
    timers, tickets = desk.compiled.table("sla_timers"), desk.compiled.table("tickets")
    updates = []
    for k, timer_id in enumerate(chosen):
        # 49 to 59 business minutes into a one-hour target: past the 80 % step, short of the breach.
        clock = clocks.start(METRIC, POLICY, goal.calendar, goal.seconds, NOW - dt.timedelta(seconds=2940 + k % 600))
        next_check = clocks.next_check(clock, policy.escalations)
        if next_check is None or not next_check <= NOW < (clock.due_at or NOW):
            msg = f"the {POLICY} policy's first step no longer falls between 49 and 59 minutes into {PRIORITY}"
            raise RuntimeError(msg)
        updates.append({"timer": timer_id, "ticket": timer_id - desk.first_timer + desk.first_ticket,
                        "metric": clock.metric, "target_seconds": clock.target, "elapsed_seconds": clock.elapsed,
                        "started_at": clock.started_at, "running_since": clock.running_since,
                        "due_at": clock.due_at, "next_check_at": next_check, "fired": [], "pauses": []})
    with desk.engine.begin() as connection:
        connection.execute(sa.update(timers).where(timers.c.id == sa.bindparam("timer")),
                           [{k: v for k, v in u.items() if k != "ticket"} for u in updates])
        connection.execute(sa.update(tickets).where(tickets.c.id == sa.bindparam("ticket")).values(priority=PRIORITY),
                           [{"ticket": u["ticket"]} for u in updates])
    return chosen


# --- measuring -----------------------------------------------------------------------------------------

def due_query(desk: Desk, limit: int, moment: dt.datetime = NOW, *, indexed: bool = True) -> sa.Select[Any]:
    """The sweep's SELECT, as runtime/sla/sweep.py builds it."""
    timers = desk.compiled.table("sla_timers")
    # coalesce() of the column is the same value, but no index holds it: the database must read every clock.
    key: sa.ColumnElement[Any] = (timers.c.next_check_at if indexed
                                  else sa.func.coalesce(timers.c.next_check_at, timers.c.next_check_at))
    query = sa.select(timers).where(key <= moment).order_by(key, timers.c.id).limit(limit)
    if desk.dialect != "postgresql":
        return query
    # As runtime/sla/sweep_claims.py takes them: each due clock together with its ticket's row.
    tickets = desk.compiled.table("tickets")
    return query.join(tickets, tickets.c.id == timers.c.ticket_id).with_for_update(
        of=[timers, tickets], skip_locked=True, key_share=True)


def median_seconds(desk: Desk, statement: Callable[[int], tuple[sa.Executable, dict[str, Any]]], runs: int,
                   expect: int | None = None) -> float:
    """Median time of executing and fetching a statement, each run in a transaction rolled back after."""
    times = []
    with desk.engine.connect() as connection:
        for run in range(runs + 1):  # the first run warms caches and compiles the statement; it is not counted
            executable, parameters = statement(run)
            with connection.begin() as transaction:
                began = time.perf_counter()
                fetched = connection.execute(executable, parameters).all()
                elapsed = time.perf_counter() - began
                transaction.rollback()
            if expect is not None and len(fetched) != expect:
                msg = f"{desk.name}: expected {expect} rows, fetched {len(fetched)}"
                raise RuntimeError(msg)
            if run:
                times.append(elapsed)
    return statistics.median(times)


def run_sweep(desk: Desk, count: int, *, made_due: bool = False) -> float:
    """Seconds for one ``sweep()`` of ``count`` due clocks, checked to have fired one step and notice each."""
    if not made_due:
        make_due(desk, count)
    notices = desk.compiled.table("notifications")
    counting = sa.select(sa.func.count()).select_from(notices)
    with desk.engine.connect() as connection:
        before = connection.execute(counting).scalar_one()
    began = time.perf_counter()
    result = sweep(desk.compiled, desk.engine, NOW)
    elapsed = time.perf_counter() - began
    with desk.engine.connect() as connection:
        noticed = connection.execute(counting).scalar_one() - before
    if (result.clocks, result.escalations, result.breaches, noticed) != (count, count, 0, count):
        msg = f"{desk.name}: swept {result} and made {noticed} notices, expected {count} clocks and escalations"
        raise RuntimeError(msg)
    return elapsed


def plan(desk: Desk) -> str:
    """The database's plan for the sweep's SELECT, asked with the very SQL and parameters the driver gets."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: sa.Connection, _cursor: Any, statement: str, parameters: Any, _context: Any,
                _many: bool) -> None:
        sent.append((statement, parameters))

    query = due_query(desk, BATCH)
    with desk.engine.connect() as connection:
        sa.event.listen(connection, "before_cursor_execute", capture)
        with connection.begin() as transaction:
            connection.execute(query).all()
            transaction.rollback()
        sa.event.remove(connection, "before_cursor_execute", capture)
        statement, parameters = next((s, p) for s, p in sent if "sla_timers" in s)
        prefix = "EXPLAIN QUERY PLAN" if desk.dialect == "sqlite" else "EXPLAIN"
        lines = connection.exec_driver_sql(f"{prefix} {statement}", parameters).all()
    return "; ".join(re.sub(r"\s*\(cost=[^)]*\)", "", str(line[-1])).strip(" ->") for line in lines)


@dataclass(frozen=True)
class Row:
    database: str
    open: int
    name: str
    seconds: float
    baseline: float | None = None
    per: int = 1  # units the time covers, for the rate and the baseline ratio (escalations of a sweep)
    rate_target: int | None = None
    ms_target: float | None = None

    def cells(self) -> tuple[str, ...]:
        unit = self.seconds / self.per
        ratio = "—" if self.baseline is None else f"{unit / self.baseline:,.1f}"
        rate = f"{self.per / self.seconds:,.0f}/s" if self.per > 1 else "—"
        if self.rate_target is not None:
            target, met = f"≥ {self.rate_target:,}/s", self.per / self.seconds >= self.rate_target
        elif self.ms_target is not None:
            target, met = f"≤ {self.ms_target:g} ms", self.seconds * 1000 <= self.ms_target
        else:
            return (self.database, f"{self.open:,}", self.name, f"{self.seconds * 1000:,.2f}", rate, ratio, "—", "—")
        return (self.database, f"{self.open:,}", self.name, f"{self.seconds * 1000:,.2f}", rate, ratio, target,
                "yes" if met else "**no**")


def hand_over(row: Row) -> None:
    """The rows with a target go to bench/run_all.py's table, against one clock read by primary key."""
    database = "postgresql" if row.database == "PostgreSQL" else "sqlite"
    name = f"{row.name}, {row.open:,} open tickets"
    lookup = "one clock by primary key"
    if row.rate_target is not None:
        record(Figure(bench="sla_sweep", name=name, value=row.per / row.seconds, unit="escalations/s",
                      database=database, target=float(row.rate_target),
                      baseline=None if row.baseline is None else 1 / row.baseline, baseline_name=f"{lookup}s"))
    elif row.ms_target is not None:
        record(Figure(bench="sla_sweep", name=name, value=row.seconds * 1000, unit="ms", database=database,
                      target=row.ms_target, higher_is_better=False,
                      baseline=None if row.baseline is None else row.baseline * 1000, baseline_name=lookup))


def measure(desk: Desk, runs: int, sweeps: int, scans: int) -> list[Row]:
    timers = desk.compiled.table("sla_timers")
    make_due(desk, DUE)
    by_key = sa.select(timers).where(timers.c.id == sa.bindparam("timer"))
    step = desk.loaded // (runs + 1)

    def lookup(run: int) -> tuple[sa.Executable, dict[str, Any]]:
        return by_key, {"timer": desk.first_timer + run * step}

    def fixed(query: sa.Executable) -> Callable[[int], tuple[sa.Executable, dict[str, Any]]]:
        return lambda _: (query, {})

    baseline = median_seconds(desk, lookup, runs, expect=1)
    quiet = NOW - dt.timedelta(hours=1)  # before every due clock's step
    size, name = desk.loaded, desk.name
    rows = [
        Row(name, size, "`SELECT 1`", median_seconds(desk, fixed(sa.select(sa.literal(1))), runs), baseline),
        Row(name, size, "one clock by primary key (baseline)", baseline, baseline),
        Row(name, size, f"due clocks, LIMIT {BATCH} (one sweep batch)",
            median_seconds(desk, fixed(due_query(desk, BATCH)), runs, expect=BATCH), baseline),
        Row(name, size, f"due clocks, LIMIT {DUE} (all {DUE:,} due)",
            median_seconds(desk, fixed(due_query(desk, DUE)), runs, expect=DUE), baseline, ms_target=FIND_TARGET_MS),
        Row(name, size, "due clocks when none is due (an idle poll)",
            median_seconds(desk, fixed(due_query(desk, BATCH, quiet)), runs, expect=0), baseline),
        Row(name, size, f"contrast: LIMIT {BATCH} with the index unusable",
            median_seconds(desk, fixed(due_query(desk, BATCH, indexed=False)), scans, expect=BATCH), baseline),
    ]
    # The clocks made due above are swept first; each further run gets a fresh set.
    times = [run_sweep(desk, DUE, made_due=True), *(run_sweep(desk, DUE) for _ in range(sweeps - 1))]
    rows.append(Row(name, size, f"sweep() of {DUE:,} due clocks → escalations", statistics.median(times), baseline,
                    per=DUE, rate_target=ESCALATIONS_TARGET))
    times = [run_sweep(desk, BATCH) for _ in range(sweeps)]
    rows.append(Row(name, size, f"sweep() of {BATCH} due clocks → escalations", statistics.median(times), baseline,
                    per=BATCH))
    return rows


def table(rows: list[Row]) -> str:
    header = ("database", "open tickets", "measure", "median ms", "rate", "× baseline", "target", "met")
    lines = [header, *(row.cells() for row in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    left = {0, 2, 6, 7}

    def render(line: tuple[str, ...]) -> str:
        return "| " + " | ".join(c.ljust(w) if i in left else c.rjust(w)
                                 for i, (c, w) in enumerate(zip(line, widths, strict=True))) + " |"

    rule = "|" + "|".join("-" * (w + 2) if i in left else "-" * (w + 1) + ":" for i, w in enumerate(widths)) + "|"
    return "\n".join([render(header), rule, *(render(line) for line in lines[1:])])


# --- databases -----------------------------------------------------------------------------------------

@contextlib.contextmanager
def sqlite_desk(scratch: Path) -> Iterator[Desk]:
    desk = prepared("SQLite", f"sqlite:///{scratch / 'sweep.db'}", Stamps(""))
    try:
        yield desk
    finally:
        desk.engine.dispose()


@contextlib.contextmanager
def postgres_desk() -> Iterator[Desk | None]:
    server = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT",
                              connect_args={"connect_timeout": 3})
    name = f"bench_sla_{os.getpid()}"
    try:
        with server.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL not reachable at {PG_SERVER}: {str(exc).splitlines()[0]}", file=sys.stderr)
        server.dispose()
        yield None
        return
    desk = None
    try:
        desk = prepared("PostgreSQL", f"{PG_SERVER}/{name}", Stamps("+00:00"))
        yield desk
    finally:
        if desk is not None:
            desk.engine.dispose()
        with server.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        server.dispose()


def bench(desk: Desk, sizes: Sequence[int], args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    rows: list[Row] = []
    notes: list[str] = []
    for size in sizes:
        load(desk, size)
        if not rows:  # a worker that has swept before has its statements compiled and its caches filled
            make_due(desk, 50)
            sweep(desk.compiled, desk.engine, NOW)
        rows += measure(desk, args.runs, args.sweeps, args.scans)
        notes.append(f"{desk.name}, {size:,} open: due query plan: {plan(desk)}")
    loads = ", ".join(f"{s:.1f} s" for s in desk.load_seconds)
    notes.append(f"{desk.name}: bulk loads took {loads}")
    return rows, notes


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="100,000 open tickets only, fewer runs")
    options.add_argument("--no-postgres", action="store_true", help="SQLite only")
    options.add_argument("--runs", type=int, default=15, help="runs per query figure, the median counts")
    options.add_argument("--sweeps", type=int, default=3, help="sweeps per size and number of due clocks")
    options.add_argument("--scans", type=int, default=3, help="runs of the query with the index unusable")
    args = options.parse_args(argv)
    sizes: Sequence[int] = SIZES
    if args.quick:
        sizes, args.runs, args.sweeps, args.scans = SIZES[:1], 7, 2, 3
    began = time.perf_counter()
    rows: list[Row] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="tessera-sla-sweep-") as scratch:
        with sqlite_desk(Path(scratch)) as desk:
            found, said = bench(desk, sizes, args)
            rows += found
            notes += said
        if not args.no_postgres:
            with postgres_desk() as pg:
                if pg is not None:
                    found, said = bench(pg, sizes, args)
                    rows += found
                    notes += said
    for row in rows:
        hand_over(row)
    print(table(rows))
    print()
    for note in notes:
        print(f"- {note}")
    load1, load5, _ = os.getloadavg()
    print(f"- {args.runs} runs per query (median), {args.sweeps} sweeps per size (median), {args.scans} runs of the "
          f"contrast; sweep moment {NOW.isoformat()}; batch {BATCH}; load average {load1:.1f} / {load5:.1f} on "
          f"{os.cpu_count()} CPUs; python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}; "
          f"{time.perf_counter() - began:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
