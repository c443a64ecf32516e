"""How long ``cli.py worker`` processes take to claim and process 10,000 due jobs on PostgreSQL, one worker and two.

Run with ``.venv/bin/python bench/worker_claims.py`` (``--quick``: 1,000 of each). Two kinds of due work, each on
a fresh scratch database (``bench_worker_claims_<pid>`` on ``TESSERA_BENCH_PG``, default
``postgresql+psycopg://postgres@127.0.0.1:5432``, dropped at the end) and a copy of the shipped desk whose
``mail.outgoing`` points at an SMTP server in this process (aiosmtpd, on 127.0.0.1):

- **email jobs**: N ``email`` jobs queued in the outbox (``jobs``) in one transaction. Each is claimed on its own
  (``FOR UPDATE SKIP LOCKED``, one job per transaction), sent to the local SMTP server and marked done.
- **due SLA clocks**: N open IT tickets, one running first-response clock each (bulk-loaded as bench/sla_sweep.py
  loads them), whose 80 % step is made due in one UPDATE. The sweep claims them in batches (with their tickets,
  runtime/sla/sweep_claims.py) and fires each step: an escalation event, an in-app notice for the assignee and an
  email to them queued in the outbox, which the workers then deliver as above.

The workers are started first and waited for ("worker started"), then the work is committed; the clock runs from
that commit until the last item is done (polled every 50 ms). An idle worker sleeps up to a second between rounds,
so up to a second of each figure is that pause. Afterwards the SMTP server must have received exactly one mail
per job (two workers must not send one twice), and every step must be on record once. Prints one table and the
machine's load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.api import free_port  # noqa: E402
from bench.pg_scale import scratch_database  # noqa: E402
from bench.results import Figure, load_text, record  # noqa: E402
from bench.sla_sweep import Desk, Stamps, load, prepared  # noqa: E402

CLI = REPO / "cli.py"
BOUND = 1800.0  # seconds a run may take before it is given up: a guard, not a target


class Inbox:
    """The local SMTP server's handler: counts what arrives."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received = 0

    async def handle_DATA(self, _server: Any, _session: Any, _envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        with self.lock:
            self.received += 1
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    try:
        yield inbox, port
    finally:
        server.stop()


def desk_copy(folder: Path, smtp_port: int) -> Path:
    """The shipped desk's definitions and generated files, sending mail to the local SMTP server."""
    root = folder / "desk"
    root.mkdir()
    for name in ("ticket_types", "sla_policies", "generated", "schemas"):
        shutil.copytree(REPO / name, root / name)
    settings = (REPO / "tessera.yaml").read_text(encoding="utf-8")
    outgoing = f"  outgoing: {{host: 127.0.0.1, port: {smtp_port}, sender: 'Tessera <desk@example.org>'}}\n"
    (root / "tessera.yaml").write_text(settings.replace("\nmail:\n", "\nmail:\n" + outgoing, 1), encoding="utf-8")
    return root


@dataclass
class Workers:
    root: Path
    url: str
    logs: Path
    processes: list[subprocess.Popen[bytes]]

    def start(self, count: int) -> None:
        for n in range(count):
            log = (self.logs / f"worker{n}.log").open("wb")
            self.processes.append(subprocess.Popen(
                [sys.executable, str(CLI), "--root", str(self.root), "--database-url", self.url, "worker"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=REPO))
            log.close()
        for n, process in enumerate(self.processes):
            deadline = time.monotonic() + 120
            while "worker started" not in (self.logs / f"worker{n}.log").read_text(errors="replace"):
                if process.poll() is not None or time.monotonic() > deadline:
                    msg = f"worker {n} did not start:\n{(self.logs / f'worker{n}.log').read_text(errors='replace')}"
                    raise RuntimeError(msg)
                time.sleep(0.1)

    def stop(self) -> list[str]:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        return [(self.logs / f"worker{n}.log").read_text(errors="replace") for n in range(len(self.processes))]


def count(engine: sa.Engine, sql: str) -> int:
    with engine.connect() as connection:
        return int(connection.exec_driver_sql(sql).scalar_one())


def until(condition: Callable[[], bool], started: float) -> float:
    """Seconds from ``started`` until ``condition`` holds."""
    while not condition():
        if time.perf_counter() - started > BOUND:
            msg = f"not done within {BOUND:g} s"
            raise RuntimeError(msg)
        time.sleep(0.05)
    return time.perf_counter() - started


@dataclass
class Result:
    work: str
    workers: int
    items: int
    seconds: float  # until every item is done
    mail_seconds: float  # until every mail the work caused was delivered
    mail: int


def queue_mail(desk: Desk, n: int) -> None:
    jobs = desk.compiled.table("jobs")
    now = dt.datetime.now(dt.UTC)
    with desk.engine.begin() as connection:
        connection.execute(sa.insert(jobs), [
            {"kind": "email", "run_at": now, "attempts": 0,
             "payload": {"to": f"person{i}@example.net", "subject": f"Notice {i}", "body": "Your ticket moved."}}
            for i in range(n)])


def make_due(desk: Desk) -> int:
    """The loaded clocks, 50 minutes into a one-hour first-response target round the clock: past their 80 % step
    (48 minutes), short of the breach."""
    timers = desk.compiled.table("sla_timers")
    since = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=50)
    with desk.engine.begin() as connection:
        return connection.execute(sa.update(timers).where(timers.c.id >= desk.first_timer).values(
            metric="first_response", policy="standard", calendar="24x7", state="running", target_seconds=3600,
            elapsed_seconds=0, started_at=since, running_since=since, due_at=since + dt.timedelta(hours=1),
            next_check_at=since + dt.timedelta(minutes=48), fired=[], breached_at=None)).rowcount


def run(work: str, workers: int, items: int, scratch: Path) -> Result:
    folder = scratch / f"{work.split()[0]}-{workers}"
    folder.mkdir()
    with smtp_server() as (inbox, port), scratch_database("bench_worker_claims") as url:
        root = desk_copy(folder, port)
        desk = prepared("PostgreSQL", url, Stamps("+00:00"))
        try:
            if work == "due SLA clocks":
                load(desk, items)
            running = Workers(root, url, folder, [])
            try:
                running.start(workers)
                engine = desk.engine
                undone = "SELECT count(*) FROM jobs WHERE done_at IS NULL"
                if work == "email jobs":
                    started = time.perf_counter()
                    queue_mail(desk, items)
                    seconds = until(lambda: count(engine, undone) == 0, started)
                    mail_seconds = seconds
                else:
                    started = time.perf_counter()
                    if make_due(desk) != items:
                        msg = "not every loaded clock was made due"
                        raise RuntimeError(msg)
                    due = "SELECT count(*) FROM sla_timers WHERE next_check_at <= now()"
                    seconds = until(lambda: count(engine, due) == 0, started)
                    mail_seconds = until(lambda: count(engine, undone) == 0, started)
            finally:
                logs = running.stop()
            check(desk, work, items, inbox.received, logs)
            return Result(work, workers, items, seconds, mail_seconds, inbox.received)
        finally:
            desk.engine.dispose()


def check(desk: Desk, work: str, items: int, received: int, logs: list[str]) -> None:
    """Each item done once: one mail per job at the SMTP server, one step per clock, no job failed."""
    engine = desk.engine
    jobs = count(engine, "SELECT count(*) FROM jobs")
    failed = count(engine, "SELECT count(*) FROM jobs WHERE last_error IS NOT NULL OR attempts <> 1")
    problems = [f"{received} mails for {jobs} jobs"] if received != jobs else []
    problems += [f"{failed} jobs failed or ran more than once"] if failed else []
    if work == "due SLA clocks":
        steps = count(engine, "SELECT count(*) FROM sla_events WHERE kind = 'escalation'")
        problems += [f"{steps} escalation events for {items} clocks"] if steps != items else []
    elif jobs != items:
        problems.append(f"{jobs} jobs for {items} queued")
    problems += [f"a worker logged a traceback:\n{log}" for log in logs if "Traceback" in log]
    if problems:
        raise RuntimeError(f"{work}: " + "; ".join(problems))


def table(results: list[Result]) -> str:
    lines = ["| work | workers | items | seconds | items/s | mail delivered after s | mails |",
             "|---|--:|--:|--:|--:|--:|--:|"]
    lines += [f"| {r.work} | {r.workers} | {r.items:,} | {r.seconds:.1f} | {r.items / r.seconds:,.0f} | "
              f"{r.mail_seconds:.1f} | {r.mail:,} |" for r in results]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="1,000 items of each kind")
    options.add_argument("--items", type=int, help="items of each kind (default 10,000, quick 1,000)")
    args = options.parse_args(argv)
    items = args.items or (1_000 if args.quick else 10_000)

    def terminate(_signal: int, _frame: Any) -> None:
        raise SystemExit(130)

    signal.signal(signal.SIGTERM, terminate)
    load_before = os.getloadavg()
    began = time.monotonic()
    results = []
    with tempfile.TemporaryDirectory(prefix="tessera-bench-worker-claims-") as folder:
        for work in ("email jobs", "due SLA clocks"):
            for workers in (1, 2):
                result = run(work, workers, items, Path(folder))
                print(f"  {work}, {workers} worker(s): {result.seconds:.1f} s, mail delivered after "
                      f"{result.mail_seconds:.1f} s", flush=True)
                results.append(result)
    alone = {r.work: r for r in results if r.workers == 1}
    for r in results:
        single = alone[r.work] if r.workers > 1 else None
        record(Figure(bench="worker_claims", name=f"{r.items:,} {r.work}, {r.workers} worker(s), all done in "
                      f"{r.seconds:.1f} s", value=r.items / r.seconds, unit="items/s", database="postgresql",
                      baseline=None if single is None else single.items / single.seconds,
                      baseline_name="the same work with one worker"))
    print()
    print(table(results))
    print(f"\n{os.cpu_count()} cores shared by PostgreSQL, the workers and this process (the SMTP server); "
          f"python {sys.version.split()[0]}; run took {time.monotonic() - began:.0f} s")
    print(load_text(load_before))
    return 0


if __name__ == "__main__":
    sys.exit(main())
