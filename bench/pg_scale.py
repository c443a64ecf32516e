"""Typed create throughput on PostgreSQL with one and with two web processes, next to the bare Litestar baseline.

Run with ``.venv/bin/python bench/pg_scale.py`` (``--quick`` for short rows). Everything runs on 127.0.0.1 and
is stopped at the end:

1. a scratch database ``bench_pg_scale_<pid>`` on the PostgreSQL server at ``TESSERA_BENCH_PG`` (default
   ``postgresql+psycopg://postgres@127.0.0.1:5432``), migrated and seeded with the demo desk by ``cli.py migrate``
   and ``demo --no-serve``, with an API token for the agent ``alex``; dropped at the end;
2. for one and for two web processes (``cli.py serve --workers N``; one process runs the app in the server's own
   process, two are started by runtime/web/processes.py, each listening on a socket of its own):
   ``POST /api/v1/types/it_support/tickets`` at concurrency 1, 16 and 64,
   driven by bench/api.py's load generator (the same request bodies, warm-up and measured window), then
   ``bench/baseline_app.py`` served with as many processes (runtime/web/processes.py), the same way, for the ratio;
3. at the end the tickets' numbers are checked to be unique and gap-free (every create that answered 201 took one
   number, none twice).

No worker runs: creates queue triage jobs and start SLA clocks, which are part of a create's transaction either
way. PostgreSQL's own processes are not in the "server CPU" column (it counts the web processes only); they share
the machine's cores with the servers and the load generator, and the load average is printed with the table.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.api import (  # noqa: E402
    CLI,
    CREATE_PATH,
    HOST,
    Run,
    Server,
    Servers,
    create_body,
    drive,
    prepared_database,
    request_bytes,
)
from bench.results import Figure, load_text, record  # noqa: E402

PG_SERVER = os.environ.get("TESSERA_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
LEVELS = (1, 16, 64)


@contextmanager
def scratch_database(prefix: str = "bench_pg_scale") -> Iterator[str]:
    """A fresh database on PG_SERVER for one run (one left by a killed run of the same process id is replaced),
    dropped afterwards."""
    admin = sa.create_engine(f"{PG_SERVER}/postgres", isolation_level="AUTOCOMMIT",
                             connect_args={"connect_timeout": 3})
    name = f"{prefix}_{os.getpid()}"
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with admin.connect() as connection:
            connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.dispose()


def serve(servers: Servers, url: str, processes: int) -> Server:
    return servers.start(f"tessera-pg-{processes}", [
        sys.executable, str(CLI), "--root", str(REPO), "--database-url", url, "serve", "--workers", str(processes),
        "--host", HOST, "--port", "{port}"])


def serve_baseline(servers: Servers, processes: int) -> Server:
    return servers.start(f"baseline-{processes}", [
        sys.executable, "-m", "runtime.web.processes", "bench.baseline_app:app", "--host", HOST, "--port", "{port}",
        "--workers", str(processes), "--log-level", "warning"])


def creating(server: Server, token: str | None) -> Callable[[int], bytes]:
    return lambda n: request_bytes("POST", CREATE_PATH, server, token, create_body(n))


def gaps(url: str) -> str:
    """'none' when the IT tickets' numbers run 1..N without a gap or a repeat; what is wrong otherwise."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            numbers = [int(n.rsplit("-", 1)[1]) for n in connection.exec_driver_sql(
                "SELECT number FROM tickets WHERE number LIKE 'IT-%%'").scalars()]
    finally:
        engine.dispose()
    if sorted(numbers) == list(range(1, len(numbers) + 1)):
        return f"none ({len(numbers):,} IT tickets)"
    return f"{len(numbers) - len(set(numbers))} repeated, highest {max(numbers)} of {len(numbers)} tickets"


def table(rows: list[tuple[Run, Run]]) -> str:
    head = "| web processes | concurrency | creates/s | p50 ms | p99 ms | errors | server CPU ms/create | " \
           "baseline POST/s | × baseline |"
    rule = "|--:|--:|--:|--:|--:|--:|--:|--:|--:|"
    lines = [head, rule]
    for run, bare in rows:
        processes = run.name.rsplit(" ", 1)[1]
        lines.append(f"| {processes} | {run.concurrency} | {run.rate:,.0f} | {run.p50:.1f} | {run.p99:.1f} | "
                     f"{run.errors} | {run.server_ms:.2f} | {bare.rate:,.0f} | {run.rate / bare.rate:.2f} |")
    return "\n".join(lines)


def measure(args: argparse.Namespace, scratch: Path) -> tuple[list[tuple[Run, Run]], str]:
    rows: list[tuple[Run, Run]] = []
    with scratch_database() as url:
        token = prepared_database(url)
        servers = Servers(scratch)
        try:
            for processes in (1, 2):
                tessera = serve(servers, url, processes)
                runs = [drive(f"create, PostgreSQL, {processes}", tessera, creating(tessera, token), level,
                              args.warmup, args.duration) for level in LEVELS]
                servers.stop_all()
                bare = serve_baseline(servers, processes)
                bases = [drive(f"baseline POST, {processes}", bare, creating(bare, None), level, args.warmup,
                               args.duration) for level in LEVELS]
                servers.stop_all()
                rows += list(zip(runs, bases, strict=True))
        finally:
            servers.stop_all()
        return rows, gaps(url)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="short rows: 0.5 s warm-up, 2 s measured")
    options.add_argument("--duration", type=float, help="measured seconds per row (default 8, quick 2)")
    options.add_argument("--warmup", type=float, help="unmeasured seconds before each row (default 2, quick 0.5)")
    args = options.parse_args(argv)
    args.duration = args.duration or (2.0 if args.quick else 8.0)
    args.warmup = args.warmup if args.warmup is not None else (0.5 if args.quick else 2.0)

    def terminate(_signal: int, _frame: FrameType | None) -> None:
        raise SystemExit(130)

    signal.signal(signal.SIGTERM, terminate)
    load_before = os.getloadavg()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-pg-scale-") as folder:
        rows, numbering = measure(args, Path(folder))
    for run, bare in rows:
        processes = run.name.rsplit(" ", 1)[1]
        record(Figure(bench="pg_scale", name=f"typed creates, {processes} web process(es), c={run.concurrency}",
                      value=run.rate, unit="creates/s", database="postgresql", baseline=bare.rate,
                      baseline_name="bare Litestar validated POST"))
    print()
    print(table(rows))
    print(f"\nnumber gaps or repeats: {numbering}; {args.warmup:g} s warm-up + {args.duration:g} s per row; "
          f"{os.cpu_count()} cores shared by PostgreSQL, the servers and the load generator; "
          f"python {sys.version.split()[0]}; run took {time.monotonic() - started:.0f} s")
    print(load_text(load_before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
