"""How fast the agent's queue and ticket pages render over a large ticket table, served as in production.

Run with ``.venv/bin/python bench/pages.py`` (``--quick`` for 100,000 tickets and short rows, ``--tickets N``
for another size). Everything runs on 127.0.0.1 and is stopped at the end, also on Ctrl-C or an error:

1. the demo desk in a temporary SQLite file (``cli.py migrate`` and ``demo --no-serve``) plus ``--tickets``
   (default 1,000,000) bulk-loaded IT support tickets over three years, with bench/api.py's loader; alex (agent
   and supervisor of the service desk, so the access rules apply) gets a password;
2. ``cli.py serve --workers 2``, the production server;
3. this process signs in through ``/login`` like a browser (the form's token and its cookie) and keeps the
   session cookie;
4. at concurrency 1 (one keep-alive connection, one request at a time, so the latency is the server's render
   time plus loopback) it asks, for a fixed time after a warm-up: queue pages, each a filter and a sort, taken in
   turn from QUEUE_VIEWS, and ticket pages of tickets alex may see, in random order.

Every answer must be a 200 page: a redirect to /login or an error counts in the errors column. The table shows
requests per second, median and 99th-percentile latency against the target (p99 ≤ 50 ms) and the CPU time the
server's processes spent per request; below the two judged rows, each queue view alone in a shorter row (its p99
rests on few samples), to show which filter or sort costs what. The exit code is 1 when a judged row misses.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

if __package__ in (None, ""):  # run as a script: bench/api.py is imported as a module of the bench package
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.api import CLI, HOST, REPO, Server, Servers, bulk_load, drive, prepared_database, visible_ids
from bench.results import Figure, record

PASSWORD = "a bench password for alex"
TARGET_P99_MS = 50.0
# Views an agent keeps open: a filter and a sort each (see runtime/pages/queue_filters.py), from the busiest (all
# open tickets) to narrow ones.
QUEUE_VIEWS = (
    "/queue?sort=-updated_at",
    "/queue?priority=P1&sort=-created_at",
    "/queue?team=1&sort=priority",
    "/queue?status=in_progress&sort=-updated_at",
    "/queue?assignee=me&sort=priority",
    "/queue?category=closed&priority=P0&sort=-updated_at",
)


@dataclass
class Row:
    name: str
    rate: float
    p50: float
    p99: float
    errors: int
    server_ms: float
    judged: bool = True  # the rows of single views are short and only show where the time goes

    @property
    def within(self) -> bool:
        return self.errors == 0 and self.p99 <= TARGET_P99_MS


def set_password(database: Path) -> None:
    argv = [sys.executable, str(CLI), "--root", str(REPO), "--database-url", f"sqlite:///{database}", "agent",
            "set-password", "alex"]
    result = subprocess.run(argv, input=PASSWORD + "\n", capture_output=True, text=True, check=False, cwd=REPO,
                            timeout=120)
    if result.returncode != 0:
        msg = f"set-password exited with {result.returncode}:\n{result.stdout}{result.stderr}"
        raise RuntimeError(msg)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        del args, kwargs  # the answer to the sign-in carries the cookie; the page it points to is not needed


def session_cookie(server: Server) -> str:
    """Sign in as alex through the pages' form; return the Cookie header value that keeps the session."""
    base = f"http://{HOST}:{server.port}"
    with urllib.request.urlopen(f"{base}/login", timeout=10) as answer:
        page = answer.read().decode()
        login_cookie = answer.headers.get("Set-Cookie", "").split(";", 1)[0]
    found = re.search(r'name="login_token" value="([^"]+)"', page)
    if not found or not login_cookie:
        msg = "the sign-in page has no login token or cookie"
        raise RuntimeError(msg)
    body = urllib.parse.urlencode({"login": "alex", "password": PASSWORD, "login_token": found.group(1)}).encode()
    request = urllib.request.Request(f"{base}/login", data=body, method="POST", headers={
        "Cookie": login_cookie, "Content-Type": "application/x-www-form-urlencoded"})
    try:
        urllib.request.build_opener(NoRedirect).open(request, timeout=10)
    except urllib.error.HTTPError as answer:  # the 303 that follows a sign-in, not followed
        if answer.code != 303:
            msg = f"signing in answered {answer.code}"
            raise RuntimeError(msg) from None
        cookies = [c.split(";", 1)[0] for c in answer.headers.get_all("Set-Cookie") or []]
        session = [c for c in cookies if c.startswith("tessera_session=") and c != "tessera_session="]
        if session:
            return session[0]
    msg = "signing in gave no session cookie"
    raise RuntimeError(msg)


def page_request(path: str, server: Server, cookie: str) -> bytes:
    return (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{server.port}\r\nAccept: text/html\r\nCookie: {cookie}\r\n"
            "Accept-Language: en\r\n\r\n").encode()


def check_pages(server: Server, cookie: str, paths: list[str]) -> None:
    """Each path answers a 200 page before anything is timed (a route or filter that changed fails here)."""
    for path in paths:
        request = urllib.request.Request(f"http://{HOST}:{server.port}{path}", headers={"Cookie": cookie})
        try:
            with urllib.request.build_opener(NoRedirect).open(request, timeout=30) as answer:
                if answer.status == 200 and "text/html" in answer.headers.get("Content-Type", ""):
                    continue
                msg = f"{path} answered {answer.status} {answer.headers.get('Content-Type')}"
        except urllib.error.HTTPError as answer:
            msg = f"{path} answered {answer.code}"
        raise RuntimeError(msg)


def measure(args: argparse.Namespace, scratch: Path, servers: Servers) -> list[Row]:
    database = scratch / "tessera.db"
    prepared_database(f"sqlite:///{database}")
    set_password(database)
    print(f"bulk-loading {args.tickets:,} tickets …", flush=True)
    seconds = bulk_load(database, args.tickets)
    print(f"  loaded in {seconds:.1f} s ({args.tickets / seconds:,.0f} tickets/s)", flush=True)
    server = servers.start("tessera", [sys.executable, str(CLI), "--root", str(REPO), "--database-url",
                                       f"sqlite:///{database}", "serve", "--workers", "2", "--host", HOST,
                                       "--port", "{port}"])
    cookie = session_cookie(server)
    tickets = [f"/tickets/{i}" for i in visible_ids(database, 2000)]
    check_pages(server, cookie, [*QUEUE_VIEWS, *tickets[:5]])
    print(f"serving on {HOST}:{server.port}; {args.warmup:g} s warm-up + {args.duration:g} s per row, "
          "concurrency 1", flush=True)

    def cycling(paths: list[str] | tuple[str, ...]) -> Callable[[int], bytes]:
        prepared = [page_request(p, server, cookie) for p in paths]
        return lambda n: prepared[n % len(prepared)]

    # The in-run baseline: the same server's health check, a request that reads nothing, through the same client.
    health = drive("baseline: /healthz", server, cycling(("/healthz",)), 1, args.warmup / 2, args.duration / 2)
    rows = [Row("baseline: /healthz", health.rate, health.p50, health.p99, health.errors, health.server_ms,
                judged=False)]
    for name, paths in ((f"queue page (filter + sort), {args.tickets:,} tickets", QUEUE_VIEWS),
                        (f"ticket page, {args.tickets:,} tickets", tickets)):
        run = drive(name, server, cycling(paths), 1, args.warmup, args.duration)
        rows.append(Row(name, run.rate, run.p50, run.p99, run.errors, run.server_ms))
        record(Figure(bench="pages", name=f"{name}, p99", value=run.p99, unit="ms", database="sqlite",
                      target=TARGET_P99_MS, higher_is_better=False, baseline=health.p99,
                      baseline_name="/healthz p99"))
    for view in QUEUE_VIEWS:  # each view alone, to see which filter or sort costs what
        run = drive(f"  {view}", server, cycling((view,)), 1, args.warmup / 2, args.duration / 2)
        rows.append(Row(f"  {view}", run.rate, run.p50, run.p99, run.errors, run.server_ms, judged=False))
    return rows


def table(rows: list[Row]) -> str:
    header = ("page", "req/s", "p50 ms", "p99 ms", "errors", f"p99 ≤ {TARGET_P99_MS:g} ms", "server CPU ms/req")
    cells = [header, *((r.name, f"{r.rate:,.0f}", f"{r.p50:.2f}", f"{r.p99:.2f}", str(r.errors),
                        ("yes" if r.within else "no") if r.judged else "—", f"{r.server_ms:.2f}") for r in rows)]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    lines = [" | ".join([row[0].ljust(widths[0]), *(c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True))])
             for row in cells]
    return "\n".join([lines[0], "-+-".join("-" * w for w in widths), *lines[1:]])


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--quick", action="store_true", help="100,000 tickets and short rows")
    options.add_argument("--tickets", type=int, help="tickets loaded (default 1,000,000, quick 100,000)")
    options.add_argument("--duration", type=float, help="measured seconds per row (default 10, quick 3)")
    options.add_argument("--warmup", type=float, help="unmeasured seconds before each row (default 2, quick 1)")
    args = options.parse_args(argv)
    args.tickets = args.tickets or (100_000 if args.quick else 1_000_000)
    args.duration = args.duration or (3.0 if args.quick else 10.0)
    args.warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0)

    def terminate(_signal: int, _frame: FrameType | None) -> None:
        raise SystemExit(130)

    signal.signal(signal.SIGTERM, terminate)
    load_before, started = os.getloadavg()[0], time.monotonic()
    with tempfile.TemporaryDirectory(prefix="tessera-bench-pages-") as folder:
        servers = Servers(Path(folder))
        try:
            rows = measure(args, Path(folder), servers)
        finally:
            servers.stop_all()
    print()
    print(table(rows))
    print(f"\nserver: cli.py serve --workers 2 on SQLite; {os.cpu_count()} cores shared with the load generator; "
          f"python {sys.version.split()[0]}; run took {time.monotonic() - started:.0f} s; load average (1 min) "
          f"before {load_before:.2f}, after {os.getloadavg()[0]:.2f}")
    return 0 if all(r.within for r in rows if r.judged) else 1


if __name__ == "__main__":
    sys.exit(main())
