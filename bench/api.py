"""How fast the ticket API answers when served as in production, next to a bare Litestar baseline.

Run with ``.venv/bin/python bench/api.py`` (``--quick`` for a short run, about two minutes). Everything runs
on 127.0.0.1 and is stopped at the end, also on Ctrl-C or an error:

1. a demo desk in a temporary SQLite file (``cli.py migrate`` and ``demo --no-serve``) plus ``--small``
   bulk-loaded tickets (default 100,000), an API token for the agent ``alex`` (a supervisor in the service
   desk team, so the access rules apply), served by ``cli.py serve --workers 2``;
2. the baseline, ``bench/baseline_app.py`` served the same way (``python -m runtime.web.processes``, uvicorn in
   two processes, each with a listening socket of its own): a POST that validates the same
   body with a pydantic model and returns 201, and a GET returning a fixed ticket;
3. a load generator in this process (asyncio streams, HTTP/1.1 keep-alive, one connection per unit of
   concurrency, opened one after another during the warm-up as arriving clients open them) drives each benchmark
   for a fixed time after a warm-up: get by id, the open-tickets list (filter, sort, page of 50, total count) and
   typed create, at concurrency 1, 16 and 64;
4. a second database with ``--tickets`` (default 1,000,000) tickets, served the same way, for the list's
   latency at concurrency 1 and 16.

Tickets are bulk-loaded with sqlite3 ``executemany`` (master and it_support rows over three years, recent
ones mostly open, old ones closed, spread over teams, priorities and requesters). The table shows requests
per second, median and 99th-percentile latency, errors (non-2xx answers and broken connections), the
target, the ratio to the baseline's throughput at the same concurrency (creates to its POST, reads to its
GET), the CPU time the server's processes spent per request and how the connections were spread over the
server's worker processes (each process listens on a socket of its own, ``SO_REUSEPORT``, and the kernel hashes
each new connection to one of them, so an uneven split such as 11/5 happens; connections are still opened a few
milliseconds apart, as arriving clients open them). Below it: the generator's own CPU use (near 100 % of a
core it, not the server, would be the limit) and the machine's load average. The headline figures also go to
bench/results.py's table.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any, TypeVar

REPO = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as a script: bench/results.py is imported as a module of the bench package
    sys.path.insert(0, str(REPO))

from bench import procnet  # noqa: E402
from bench.results import Figure, record  # noqa: E402

CLI = REPO / "cli.py"
HOST = "127.0.0.1"
WORKERS = 2
START_TIMEOUT = 60.0
GRACE = 30.0  # how long a run may overrun its duration before its connections are abandoned
OPEN_GAP = 0.01  # seconds between opening two connections, at most (all are open within half the warm-up)

T = TypeVar("T")

CREATE_PATH = "/api/v1/types/it_support/tickets"
LIST_PATH = "/api/v1/tickets?status_category=open&sort=-created_at&limit=50"
TITLES = ("Laptop shows a blue screen after the update", "Cannot connect to the VPN from home",
          "Outlook does not sync the shared calendar", "Printer on floor 2 prints blank pages",
          "Password reset for the ERP account", "Monitor flickers when docked", "Teams calls drop after a minute",
          "New starter needs a laptop and accounts", "Shared drive is read-only since this morning")


# --- servers --------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    name: str
    port: int
    pid: int  # also its process group: the workers' parent


def _group_stats(pgid: int) -> dict[int, list[str]]:
    """The live processes of a process group, each with the fields of its /proc stat after the command (state,
    ppid, pgrp, …, utime at 11, stime at 12)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid:
                found[int(entry)] = fields
    return found


def connection_split(server: Server) -> tuple[int, ...]:
    """How many established connections to ``server`` each of its processes holds, most first (Linux /proc);
    the processes holding none (the supervisor) left out."""
    established = procnet.port_sockets(server.port).get(procnet.ESTABLISHED, set())
    held = [len(procnet.sockets_of(pid) & established) for pid in _group_stats(server.pid)]
    return tuple(sorted((count for count in held if count), reverse=True))


def group_cpu(pgid: int) -> float:
    """CPU seconds (user and system) used so far by the live processes of a process group (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    return sum((int(fields[11]) + int(fields[12])) / tick for fields in _group_stats(pgid).values())


@dataclass
class Servers:
    """Every process this benchmark starts, each in its own process group, stopped however the run ends."""

    scratch: Path
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)

    def start(self, name: str, argv: list[str]) -> Server:
        port = free_port()
        argv = [a.replace("{port}", str(port)) for a in argv]
        log = (self.scratch / f"{name}.log").open("wb")
        self.logs.append(log)
        process = subprocess.Popen(argv, cwd=REPO, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        base = f"http://{HOST}:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                text = (self.scratch / f"{name}.log").read_text(errors="replace")
                msg = f"{name} exited with {process.returncode}:\n{text}"
                raise RuntimeError(msg)
            with contextlib.suppress(OSError), urllib.request.urlopen(f"{base}/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return Server(name, port, process.pid)
            time.sleep(0.2)
        msg = f"{name} did not answer /healthz within {START_TIMEOUT:g} s"
        raise RuntimeError(msg)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):  # workers whose parent died first
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()
        for log in self.logs:
            log.close()
        self.logs.clear()


def cli(url: str, *args: str) -> str:
    """``cli.py`` on the shipped desk against the database at ``url``; its output, or an error with what it said."""
    argv = [sys.executable, str(CLI), "--root", str(REPO), "--database-url", url, *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO, timeout=300)
    if result.returncode != 0:
        msg = f"{' '.join(args)} exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        raise RuntimeError(msg)
    return result.stdout


def prepared_database(url: str) -> str:
    """Migrate and seed the demo desk into the database at ``url`` (SQLite or PostgreSQL); return a token for alex
    (tickets read and write)."""
    cli(url, "migrate")
    cli(url, "demo", "--no-serve")
    out = cli(url, "token", "create", "--agent", "alex", "--label", "bench", "--scope", "tickets:read",
              "--scope", "tickets:write")
    return out.splitlines()[1]


def serve_tessera(servers: Servers, name: str, database: Path) -> Server:
    return servers.start(name, [sys.executable, str(CLI), "--root", str(REPO), "--database-url",
                                f"sqlite:///{database}", "serve", "--workers", str(WORKERS), "--host", HOST,
                                "--port", "{port}"])


def serve_baseline(servers: Servers) -> Server:
    # The same server and settings as `cli.py serve` (uvicorn, its default loop and HTTP parser, access log, one
    # listening socket per process: runtime/web/processes.py).
    return servers.start("baseline", [sys.executable, "-m", "runtime.web.processes", "bench.baseline_app:app",
                                      "--host", HOST, "--port", "{port}", "--workers", str(WORKERS),
                                      "--log-level", "info"])


# --- the load generator ---------------------------------------------------------------------------

@dataclass
class Run:
    name: str
    concurrency: int
    rate: float
    p50: float
    p99: float
    errors: int
    client_cpu: float  # share of one core the generator used
    server_ms: float  # CPU time the server's processes spent per answered request
    split: tuple[int, ...] = ()  # connections held by each server process, most first
    target: str = "—"
    within: bool | None = None
    ratio: float | None = None


def request_bytes(method: str, path: str, server: Server, token: str | None, body: bytes | None = None) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}:{server.port}", "Accept: application/json"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    if body is not None:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")


def create_body(n: int) -> bytes:
    return json.dumps({
        "title": f"{TITLES[n % len(TITLES)]} (#{n})",
        "description": "Reported by phone. The user restarted the device twice; the problem persists after "
                       "signing in again. Happens on the office network and at home.",
        "priority": ("P1", "P2", "P2", "P3")[n % 4], "category": ("hardware", "software", "network", "access")[n % 4],
        "requester_id": 1 + n % 4, "team_id": 1, "impact": "single_user", "asset_number": f"LT-{4000 + n % 900:06d}",
        "operating_system": "windows", "os_version": "11 23H2", "software": ["Outlook", "Teams"],
        "error_code": "0x800CCC0E", "users_affected": 1,
    }).encode()


async def _drive(server: Server, make: Callable[[int], bytes], concurrency: int, warmup: float,
                 duration: float) -> tuple[list[float], int, int, int, tuple[int, ...]]:
    """Keep ``concurrency`` connections busy for the warm-up and the measured window; return the latencies (s) and
    errors inside the window, the connections that broke, how many requests were answered in all and how the
    connections were spread over the server's processes."""
    counter = iter(range(10**12))
    started = time.perf_counter()
    window_start, window_end = started + warmup, started + warmup + duration
    latencies: list[float] = []
    errors = broken = answered = 0
    port, gap = server.port, min(OPEN_GAP, warmup / 2 / concurrency)
    opened, all_open = 0, asyncio.Event()

    async def connection(order: int) -> None:
        nonlocal errors, answered, opened
        # Opened one after another, and all before the first request, as a pool of clients (or a proxy's upstream
        # pool) holds them: the workers share one listening socket and whichever is awake first accepts. A burst
        # of connections went all to the worker that woke first, and so did connections opened while one worker
        # was already busy answering (with one worker holding 16 of 16 the other sat idle).
        await asyncio.sleep(order * gap)
        reader: asyncio.StreamReader | None
        writer: asyncio.StreamWriter | None
        reader, writer = await asyncio.open_connection(HOST, port)
        opened += 1
        if opened == concurrency:
            all_open.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_open.wait(), timeout=warmup)
        while time.perf_counter() < window_end:
            if writer is None:
                reader, writer = await asyncio.open_connection(HOST, port)
            assert reader is not None
            raw = make(next(counter))
            sent = time.perf_counter()
            try:
                writer.write(raw)
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head[9:12])
                length = 0
                close = False
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    name = name.strip().lower()
                    if name == b"content-length":
                        length = int(value)
                    elif name == b"connection" and value.strip().lower() == b"close":
                        close = True
                if length:
                    await reader.readexactly(length)
            except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                status, close = 0, True
            done = time.perf_counter()
            answered += 1
            if sent >= window_start and done <= window_end:
                latencies.append(done - sent)
                if not 200 <= status < 300:
                    errors += 1
            if close:
                writer.close()
                reader = writer = None
        if writer is not None:
            writer.close()

    tasks = [asyncio.ensure_future(connection(n)) for n in range(concurrency)]
    # Counted late in the warm-up, when every connection is open: the scan of /proc stalls the loop a little.
    await asyncio.sleep(max(0.0, window_start - time.perf_counter() - min(0.1, warmup / 4)))
    split = connection_split(server)
    finished, pending = await asyncio.wait(tasks, timeout=warmup + duration + GRACE)
    for task in pending:
        task.cancel()
        broken += 1
    for task in finished:
        if task.exception() is not None:
            broken += 1
    return latencies, errors, broken, answered, split


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def drive(name: str, server: Server, make: Callable[[int], bytes], concurrency: int, warmup: float,
          duration: float) -> Run:
    cpu, served = time.process_time(), group_cpu(server.pid)
    latencies, errors, broken, answered, split = run_async(_drive(server, make, concurrency, warmup, duration))
    cpu, served = (time.process_time() - cpu) / (warmup + duration), group_cpu(server.pid) - served
    run = Run(name, concurrency, len(latencies) / duration, percentile(latencies, 0.5) * 1000,
              percentile(latencies, 0.99) * 1000, errors + broken, cpu, served / max(answered, 1) * 1000, split)
    print(f"  {name:<32} c={concurrency:<3} {run.rate:7.0f} req/s  p50 {run.p50:7.2f} ms  p99 {run.p99:7.2f} ms  "
          f"errors {run.errors}  server CPU {run.server_ms:.2f} ms/request  generator {cpu:.0%} of a core  "
          f"connections per worker {'/'.join(map(str, split)) or '?'}", flush=True)
    return run


# --- the large table ------------------------------------------------------------------------------

# (state, category) and weights by the ticket's age: recent tickets are mostly open, old ones closed.
STATES: tuple[tuple[str, str], ...] = (
    ("new", "open"), ("assigned", "open"), ("in_progress", "open"), ("waiting", "paused"), ("resolved", "resolved"),
    ("closed", "closed"), ("cancelled", "closed"))
STATE_WEIGHTS: tuple[tuple[int, tuple[float, ...]], ...] = (  # (younger than so many days, weights of STATES)
    (14, (20, 15, 25, 15, 15, 8, 2)), (90, (1, 2, 5, 4, 10, 75, 3)), (10**6, (0, 0.3, 0.5, 0.5, 1, 93, 4.7)))
PRIORITIES, PRIORITY_WEIGHTS = ("P0", "P1", "P2", "P3"), (2.0, 13.0, 55.0, 30.0)
TEAMS, TEAM_WEIGHTS = (1, 2, 3, None), (50.0, 15.0, 10.0, 25.0)  # service desk, field service, customer care, unrouted
TEAM_AGENTS = {1: 1, 2: 2, 3: 3}
CONTACT_ORGANIZATIONS = {1: 1, 2: 2, 3: None, 4: None}
SYSTEMS = ("windows", "windows", "windows", "macos", "linux", "ios", "android")
SPAN = dt.timedelta(days=3 * 365)

MASTER_COLUMNS = ("id", "number", "type", "title", "description", "status", "status_category", "priority", "category",
                  "source", "requester_id", "organization_id", "assignee_id", "team_id", "language", "tags",
                  "created_at", "updated_at", "first_response_at", "resolved_at", "closed_at", "version", "impact")
# Columns of later revisions, filled when the database has them: when the status last changed.
OPTIONAL_COLUMNS = ("status_changed_at",)
EXTENSION_COLUMNS = ("ticket_id", "asset_number", "operating_system", "os_version", "software", "error_code",
                     "users_affected")


def _stamp(value: dt.datetime) -> str:
    return value.isoformat(" ", "microseconds")  # how SQLAlchemy stores UtcDateTime on SQLite (naive UTC)


def _urn(values: tuple[T, ...], weights: tuple[float, ...], size: int = 1000) -> list[T]:
    """``values`` repeated in proportion to ``weights``: a random index picks one as ``random.choices`` would."""
    total = sum(weights)
    return [v for v, w in zip(values, weights, strict=True) for _ in range(round(w / total * size))]


def ticket_rows(first_id: int, first_number: int, count: int, now: dt.datetime, rng: random.Random,
                optional: int = 0) -> Iterator[tuple[tuple[object, ...], tuple[object, ...]]]:
    """``count`` IT support tickets created over three years up to ``now``, oldest first; ``optional`` says
    how many of OPTIONAL_COLUMNS the master rows carry at their end."""
    start = now - SPAN
    step = SPAN / count
    state_urns = [(limit, _urn(STATES, weights)) for limit, weights in STATE_WEIGHTS]
    priorities, teams = _urn(PRIORITIES, PRIORITY_WEIGHTS), _urn(TEAMS, TEAM_WEIGHTS)
    categories, sources = ("hardware", "software", "network", "access"), ("email", "form", "api", "manual")
    random_ = rng.random
    for i in range(count):
        ticket_id = first_id + i
        created = start + step * i
        age = (now - created).days
        urn = next(u for limit, u in state_urns if age < limit)
        status, category = urn[int(random_() * len(urn))]
        team = teams[int(random_() * len(teams))]
        if status == "new" and random_() < 0.7:
            team = None
        assignee = None if status == "new" or team is None else TEAM_AGENTS[team]
        requester = 1 + int(random_() * 4)
        updated = min(now, created + dt.timedelta(hours=rng.expovariate(1 / 30)))
        updated_stamp = _stamp(updated)
        answered = min(updated, created + dt.timedelta(minutes=5 + 600 * random_()))
        responded = None if status == "new" else _stamp(answered)
        title = TITLES[int(random_() * len(TITLES))]
        yield ((ticket_id, f"IT-{first_number + i:06d}", "it_support", title,
                f"{title}. Reported by the requester; see the attached details.", status, category,
                priorities[int(random_() * len(priorities))], categories[i % 4], sources[int(random_() * 4)],
                requester, CONTACT_ORGANIZATIONS[requester], assignee, team, "en", "[]", _stamp(created), updated_stamp,
                responded, updated_stamp if category in ("resolved", "closed") else None,
                updated_stamp if category == "closed" else None, 1 + int(random_() * 5),
                "single_user" if random_() < 0.8 else "team", *(updated_stamp,)[:optional]),
               (ticket_id, f"LT-{int(random_() * 10**6):06d}" if random_() < 0.6 else None,
                SYSTEMS[int(random_() * len(SYSTEMS))], None, '["Outlook"]' if i % 3 else "[]",
                f"0x{int(random_() * 16**8):08X}" if i % 5 == 0 else None, 1 + int(rng.expovariate(0.5))))


def bulk_load(database: Path, count: int) -> float:
    """Add ``count`` tickets to a migrated database with sqlite3 executemany; return the seconds it took.

    The tables' indexes are dropped during the load and created again afterwards (the same statements),
    which is how one loads a table of this size; the database ends up as the migrations left it."""
    started = time.perf_counter()
    connection = sqlite3.connect(database, isolation_level=None)
    try:
        connection.execute("PRAGMA synchronous=OFF")
        connection.execute("PRAGMA cache_size=-200000")
        first_id = connection.execute("SELECT coalesce(max(id), 0) + 1 FROM tickets").fetchone()[0]
        first_number = connection.execute("SELECT coalesce(max(last_number), 0) + 1 FROM ticket_counters "
                                          "WHERE prefix = 'IT'").fetchone()[0]
        indexes = connection.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                                     "AND tbl_name IN ('tickets', 'ticket_it_support')").fetchall()
        connection.execute("BEGIN")
        for name, _ in indexes:
            connection.execute(f'DROP INDEX "{name}"')
        present = {row[1] for row in connection.execute("PRAGMA table_info(tickets)")}
        columns = [*MASTER_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in present)]
        master = f"INSERT INTO tickets ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        extension = (f"INSERT INTO ticket_it_support ({', '.join(EXTENSION_COLUMNS)}) "
                     f"VALUES ({', '.join('?' * len(EXTENSION_COLUMNS))})")
        rows = ticket_rows(first_id, first_number, count, dt.datetime.now(dt.UTC).replace(tzinfo=None),
                           random.Random(20261126), len(columns) - len(MASTER_COLUMNS))
        chunk = 50_000
        while True:
            batch = [pair for _, pair in zip(range(chunk), rows, strict=False)]
            if not batch:
                break
            connection.executemany(master, [m for m, _ in batch])
            connection.executemany(extension, [e for _, e in batch])
        for _, sql in indexes:
            connection.execute(sql)
        connection.execute("INSERT INTO ticket_counters (prefix, last_number) VALUES ('IT', ?) ON CONFLICT (prefix) "
                           "DO UPDATE SET last_number = excluded.last_number", (first_number + count - 1,))
        connection.execute("COMMIT")
    finally:
        connection.close()
    return time.perf_counter() - started


# --- the table ------------------------------------------------------------------------------------

def judge(run: Run, baseline: Run | None, *, create: bool = False, large_list: bool = False) -> Run:
    run.ratio = run.rate / baseline.rate if baseline and baseline.rate else None
    targets: list[tuple[str, bool]] = []
    if create:
        targets.append(("≥ 25 % of baseline", run.ratio is not None and run.ratio >= 0.25))
        if run.concurrency == 16:
            targets.append(("≥ 1,000/s", run.rate >= 1000))
    if run.concurrency == 64:
        targets.append(("0 errors", run.errors == 0))
    if large_list:
        targets.append(("p99 ≤ 15 ms", run.p99 <= 15))
    if targets:
        run.target = ", ".join(t for t, _ in targets)
        run.within = all(ok for _, ok in targets)
    return run


def table(runs: list[Run]) -> str:
    header = ("benchmark", "concurrency", "req/s", "p50 ms", "p99 ms", "errors", "target", "within target",
              "× baseline", "server CPU ms/req", "connections per worker")
    rows = [header]
    for r in runs:
        within = "—" if r.within is None else ("yes" if r.within else "no")
        ratio = "—" if r.ratio is None else f"{r.ratio:.0%}"
        rows.append((r.name, str(r.concurrency), f"{r.rate:,.0f}", f"{r.p50:.2f}", f"{r.p99:.2f}", str(r.errors),
                     r.target, within, ratio, f"{r.server_ms:.2f}", "/".join(map(str, r.split)) or "?"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return " | ".join([row[0].ljust(widths[0]), *(cell.rjust(w) for cell, w in zip(row[1:], widths[1:],
                                                                                         strict=True))])

    return "\n".join([line(rows[0]), "-+-".join("-" * w for w in widths), *(line(r) for r in rows[1:])])


# --- the run --------------------------------------------------------------------------------------

def visible_ids(database: Path, limit: int = 5000) -> list[int]:
    """Tickets alex may read (their team's, their own and unrouted ones), in random order."""
    with contextlib.closing(sqlite3.connect(database)) as connection:
        return [r[0] for r in connection.execute(
            "SELECT id FROM tickets WHERE team_id IS NULL OR team_id = 1 OR assignee_id = 1 ORDER BY random() "
            "LIMIT ?", (limit,))]


def prepared_with_tickets(database: Path, count: int) -> str:
    """A migrated and seeded desk with ``count`` bulk-loaded tickets; return alex's token."""
    token = prepared_database(f"sqlite:///{database}")
    print(f"bulk-loading {count:,} tickets into {database.name} …", flush=True)
    seconds = bulk_load(database, count)
    print(f"  loaded {count:,} tickets (+ it_support rows, indexes rebuilt) in {seconds:.1f} s "
          f"({count / seconds:,.0f} tickets/s)", flush=True)
    return token


@dataclass
class Measured:
    """Every row of a run, by kind; each list by concurrency (LEVELS; the large list at its first two)."""

    creates: list[Run]
    bare_creates: list[Run]
    gets: list[Run]
    bare_gets: list[Run]
    lists: list[Run]
    large_lists: list[Run]

    def rows(self) -> list[Run]:
        """The table's rows, each judged against its target and baseline."""
        return [*(judge(r, b, create=True) for r, b in zip(self.creates, self.bare_creates, strict=True)),
                *(judge(b, None) for b in self.bare_creates),
                *(judge(r, b) for r, b in zip(self.gets, self.bare_gets, strict=True)),
                *(judge(b, None) for b in self.bare_gets),
                *(judge(r, b) for r, b in zip(self.lists, self.bare_gets, strict=True)),
                *(judge(r, b, large_list=True) for r, b in zip(self.large_lists, self.bare_gets, strict=False))]


LEVELS = (1, 16, 64)
CREATE_TARGET = 1000.0  # typed creates per second at concurrency 16 (issue 3)
SHARE_TARGET = 25.0  # creates per second as a percentage of the bare POST's, at the same concurrency
LIST_P99_TARGET = 15.0  # ms, the open-tickets list over LARGE tickets
LARGE = 1_000_000
BARE_POST, BARE_GET = "bare Litestar validated POST", "bare Litestar GET"


def report(measured: Measured, small: int, large: int) -> None:
    """Hand the headline figures to bench/run_all.py (bench/results.py)."""
    for run, bare in zip(measured.creates, measured.bare_creates, strict=True):
        level = run.concurrency
        record(Figure("api", f"typed create c={level}", run.rate, "req/s", "sqlite",
                      CREATE_TARGET if level == 16 else None, baseline=bare.rate, baseline_name=BARE_POST))
        if bare.rate:
            record(Figure("api", f"typed create c={level}, share of the bare POST", run.rate / bare.rate * 100,
                          "%", "sqlite", SHARE_TARGET))
        if level == 64:
            record(Figure("api", "typed create c=64, errors", float(run.errors), "errors", "sqlite", 0.0,
                          higher_is_better=False))
    for name, runs in (("get by id", measured.gets), (f"list open over {small:,} tickets", measured.lists)):
        for run, bare in zip(runs, measured.bare_gets, strict=True):
            record(Figure("api", f"{name} c={run.concurrency}", run.rate, "req/s", "sqlite", baseline=bare.rate,
                          baseline_name=BARE_GET))
    # The target is for a million tickets: a shorter table (--quick) is reported without it.
    for run in measured.large_lists:
        record(Figure("api", f"list open over {large:,} tickets c={run.concurrency}, p99", run.p99, "ms p99",
                      "sqlite", LIST_P99_TARGET if large >= LARGE else None, higher_is_better=False))


def measure(args: argparse.Namespace, scratch: Path, servers: Servers) -> Measured:
    warmup, duration = args.warmup, args.duration
    levels = LEVELS
    database = scratch / "tessera.db"
    token = prepared_with_tickets(database, args.small)
    tessera, baseline = serve_tessera(servers, "tessera", database), serve_baseline(servers)
    print(f"tessera on {HOST}:{tessera.port}, baseline on {HOST}:{baseline.port}, {WORKERS} workers each; "
          f"{warmup:g} s warm-up + {duration:g} s per row", flush=True)

    # Reads first, so that they see the same table in every run: the creates add to it.
    ids = visible_ids(database)
    gets, bare_gets = [], []
    requests = [request_bytes("GET", f"/api/v1/tickets/{i}", tessera, token) for i in ids]
    bare_requests = [request_bytes("GET", f"/api/v1/tickets/{i}", baseline, None) for i in ids]
    for level in levels:
        gets.append(drive("get by id", tessera, lambda n: requests[n % len(requests)], level, warmup, duration))
        bare_gets.append(drive("get, baseline", baseline, lambda n: bare_requests[n % len(bare_requests)], level,
                               warmup, duration))
    listing = request_bytes("GET", LIST_PATH, tessera, token)
    lists = [drive(f"list open, {args.small:,} tickets", tessera, lambda _: listing, level, warmup, duration)
             for level in levels]

    def creating(server: Server, auth: str | None) -> Callable[[int], bytes]:
        return lambda n: request_bytes("POST", CREATE_PATH, server, auth, create_body(n))

    creates, bare_creates = [], []
    for level in levels:
        creates.append(drive("create it_support", tessera, creating(tessera, token), level, warmup, duration))
        bare_creates.append(drive("create, baseline", baseline, creating(baseline, None), level, warmup, duration))
    servers.stop_all()

    large = scratch / "large.db"
    large_token = prepared_with_tickets(large, args.tickets)
    served = serve_tessera(servers, "tessera-large", large)
    large_listing = request_bytes("GET", LIST_PATH, served, large_token)
    large_lists = [drive(f"list open, {args.tickets:,} tickets", served, lambda _: large_listing, level, warmup,
                         duration) for level in levels[:2]]
    servers.stop_all()
    return Measured(creates, bare_creates, gets, bare_gets, lists, large_lists)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="short rows (3 s) and 100,000 tickets")
    options.add_argument("--duration", type=float, help="measured seconds per row (default 5, quick 3)")
    options.add_argument("--warmup", type=float, help="unmeasured seconds before each row (default 1)")
    options.add_argument("--tickets", type=int, help="tickets in the large table (default 1,000,000, quick 100,000)")
    options.add_argument("--small", type=int, help="tickets loaded for the other rows (default a tenth of --tickets, "
                                                   "at least 10,000)")
    args = options.parse_args(argv)
    args.duration = args.duration or (3.0 if args.quick else 5.0)
    args.warmup = args.warmup if args.warmup is not None else 1.0
    args.tickets = args.tickets or (100_000 if args.quick else 1_000_000)
    args.small = args.small or max(10_000, args.tickets // 10)

    def terminate(_signal: int, _frame: FrameType | None) -> None:
        raise SystemExit(130)

    signal.signal(signal.SIGTERM, terminate)
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-api-") as folder:
        servers = Servers(Path(folder))
        try:
            measured = measure(args, Path(folder), servers)
        finally:
            servers.stop_all()
    runs = measured.rows()
    report(measured, args.small, args.tickets)
    print()
    print(table(runs))
    busiest = max(runs, key=lambda r: r.client_cpu)
    print(f"\nload generator: at most {busiest.client_cpu:.0%} of one core ({busiest.name}, c={busiest.concurrency}); "
          f"servers: {WORKERS} uvicorn workers each; {os.cpu_count()} cores shared by all; "
          f"python {sys.version.split()[0]}; run took {time.monotonic() - started:.0f} s")
    print(f"load average (1 min) before the run {load_before:.2f}, after {os.getloadavg()[0]:.2f}: other processes "
          "on the machine take CPU from the servers; server CPU ms/req depends little on them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
