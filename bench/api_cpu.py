"""CPU time the ticket API spends per request, measured in one process and independent of the machine's load.

Run with ``.venv/bin/python bench/api_cpu.py`` (``--profile`` adds the functions that take the time). The
shipped desk is migrated and seeded into a temporary SQLite file (or ``--database-url``), the app is built
with ``create_app`` as ``cli.py serve`` builds it, and its ASGI callable is driven directly from an event
loop, with no sockets and no HTTP parsing: typed creates and gets by id as the agent alex, at concurrency 1
and 16. The figure is the process's CPU time (every thread, user and system) per request, the least and the median
of ``--rounds`` rounds; waiting for the disk or for another process's lock costs no CPU, so unlike the
requests per second of bench/api.py it depends little on what else the machine is doing (a busy machine
still adds some, through caches and scheduling: compare the least).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, MutableMapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import Any

import sqlalchemy as sa

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.api import CREATE_PATH, create_body  # noqa: E402
from runtime.artifacts import migration_paths  # noqa: E402
from runtime.auth.tokens import TICKETS_READ, TICKETS_WRITE, create_token, find_agent  # noqa: E402
from runtime.compile.desk import load_compiled  # noqa: E402
from runtime.db import migrations  # noqa: E402
from runtime.db.engine import make_engine  # noqa: E402
from runtime.demo.seed import seed_demo  # noqa: E402
from runtime.web.app import create_app  # noqa: E402

Message = MutableMapping[str, Any]
App = Callable[[Any, Any, Any], Coroutine[Any, Any, None]]  # an ASGI app, as Litestar types its own


class Client:
    """Calls an ASGI app as a server would after parsing a request; collects the status and the body."""

    def __init__(self, app: App, token: str | None) -> None:
        self.app = app
        self.headers = [(b"host", b"bench"), *([(b"authorization", f"Bearer {token}".encode())] if token else [])]

    async def call(self, method: str, path: str, body: bytes = b"",
                   extra: Sequence[tuple[bytes, bytes]] = ()) -> tuple[int, bytes]:
        """``extra``: more headers, lower-case names as ASGI has them."""
        headers = [*self.headers, *extra, *([(b"content-type", b"application/json"),
                                             (b"content-length", str(len(body)).encode())] if body else [])]
        scope: Message = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                          "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
                          "root_path": "", "headers": headers, "client": ("127.0.0.1", 50000),
                          "server": ("127.0.0.1", 8000)}
        sent = False
        status, chunks = 0, []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # as a server does until the client disconnects
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return status, b"".join(chunks)


async def lifespan(app: App) -> Callable[[], Awaitable[None]]:
    """Start the app as a server does; return the coroutine function that shuts it down."""
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        msg = f"the app did not start: {started}"
        raise RuntimeError(msg)

    async def shutdown() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return shutdown


class ThreadProfiles:
    """cProfile, counting CPU time, in the calling thread and in every thread started while it is on."""

    def __init__(self) -> None:
        self.profiles: list[cProfile.Profile] = []
        self.lock = threading.Lock()

    def _start(self, _frame: FrameType, _event: str, _arg: Any) -> None:
        profile = cProfile.Profile(time.thread_time)
        with self.lock:
            self.profiles.append(profile)
        profile.enable()  # replaces this hook in the calling thread

    def __enter__(self) -> ThreadProfiles:
        threading.setprofile(self._start)
        profile = cProfile.Profile(time.thread_time)
        self.profiles.append(profile)
        profile.enable()
        return self

    def __exit__(self, *_exc: object) -> None:
        # Only the calling thread's profile can be stopped here (disabling another thread's would close its open
        # calls on this thread's clock): the other threads must have ended.
        threading.setprofile(None)
        self.profiles[0].disable()

    def stats(self) -> pstats.Stats:
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            stats.add(profile)
        return stats


def new_executor(threads: int) -> ThreadPoolExecutor:
    """A thread pool for the app's blocking handlers, as the event loop's default (which Litestar uses)."""
    executor = ThreadPoolExecutor(threads, thread_name_prefix="bench")
    asyncio.get_running_loop().set_default_executor(executor)
    return executor


async def run(client: Client, make: Callable[[int], tuple[str, str, bytes]], count: int, concurrency: int,
              expected: int) -> float:
    """CPU ms per request for ``count`` requests, ``concurrency`` at a time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for n in numbers:
            status, body = await client.call(*make(n))
            if status != expected:
                msg = f"{status} instead of {expected}: {body[:300]!r}"
                raise RuntimeError(msg)

    started = time.process_time()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return (time.process_time() - started) / count * 1000


def prepared(database_url: str) -> tuple[App, str, sa.Engine]:
    compiled = load_compiled(REPO)
    engine = make_engine(database_url, compiled.root)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    with engine.begin() as connection:
        alex = find_agent(connection, compiled, "alex")
        assert alex is not None
        _, token = create_token(connection, compiled, alex, "bench", (TICKETS_READ, TICKETS_WRITE), None)
    return create_app(compiled, engine), token, engine


async def measure(args: argparse.Namespace, database_url: str) -> None:
    app, token, engine = prepared(database_url)
    client = Client(app, token)
    executors = [new_executor(args.threads)]
    shutdown = await lifespan(app)
    profiles: dict[str, ThreadProfiles] = {}
    calls: dict[str, float] = {}
    try:
        def create(n: int) -> tuple[str, str, bytes]:
            return "POST", CREATE_PATH, create_body(n)

        ids: list[int] = []
        for n in range(args.tickets):  # tickets to read, and a warm-up of every path the runs take
            ids.append(json.loads((await client.call(*create(n)))[1])["id"])

        def read(n: int) -> tuple[str, str, bytes]:
            return "GET", f"/api/v1/tickets/{ids[n % len(ids)]}", b""

        kinds = (("create", create, 201), ("get", read, 200))
        results: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for concurrency in (1, 16):
                for kind, make, expected in kinds:
                    results.setdefault(f"{kind} c={concurrency}", []).append(
                        await run(client, make, args.count, concurrency, expected))
        if args.profile:
            # Profiled apart from the timed rounds (cProfile triples the time), in fresh threads that start
            # under the profiler's hook.
            for kind, make, expected in kinds:
                with ThreadProfiles() as profiles[kind]:
                    executor = new_executor(args.threads)
                    await run(client, make, args.count, 16, expected)
                    executor.shutdown()
                calls[kind] = profiles[kind].stats().total_calls / args.count  # type: ignore[attr-defined]
            executors.append(new_executor(args.threads))  # for the shutdown
    finally:
        await shutdown()
        engine.dispose()
        for executor in executors:
            executor.shutdown()
    print(f"server CPU ms per request, {args.rounds} rounds of {args.count} ({engine.dialect.name}, {args.threads} "
          "threads); the least is the figure to compare, as other processes on the machine only add to it:")
    for name, values in results.items():
        print(f"  {name:<14} least {min(values):6.3f}  median {statistics.median(values):6.3f}   "
              f"(rounds: {', '.join(f'{v:.3f}' for v in values)})")
    for kind, profile in profiles.items():
        print(f"\n{kind}, c=16: {calls[kind]:,.0f} Python function calls per request (a figure independent of the "
              "machine's load); the functions that take the time:")
        profile.stats().sort_stats(args.sort).print_stats(args.top)


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    options.add_argument("--count", type=int, default=1000, help="requests per round and kind (default 1000)")
    options.add_argument("--rounds", type=int, default=3, help="rounds, each at concurrency 1 and 16 (default 3)")
    options.add_argument("--tickets", type=int, default=500, help="tickets created before the rounds (default 500)")
    options.add_argument("--database-url", help="a migrated-on-the-fly empty database instead of a temporary SQLite "
                                                "file (PostgreSQL, say)")
    options.add_argument("--threads", type=int, default=min(32, (os.cpu_count() or 1) + 4),
                         help="threads for blocking handlers (default asyncio's, as under uvicorn: cores + 4)")
    options.add_argument("--profile", action="store_true", help="then profile creates and gets at concurrency 16: "
                                                                 "function calls per request and the top functions")
    options.add_argument("--sort", default="tottime", help="pstats order of the profile (default tottime)")
    options.add_argument("--top", type=int, default=40, help="functions in the profile (default 40)")
    args = options.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="tessera-bench-cpu-") as folder:
        url = args.database_url or f"sqlite:///{folder}/tessera.db"
        try:
            import uvloop
        except ImportError:
            asyncio.run(measure(args, url))
        else:
            uvloop.run(measure(args, url))
    return 0


if __name__ == "__main__":
    sys.exit(main())
