"""Route handlers that run blocking code in a worker thread, as coroutines of their own.

Litestar calls ``on_registration`` on every handler of a path each time another handler joins that path, and
its ``sync_to_thread`` wrapper does not recognise itself as asynchronous, so the first of three handlers on one path
(GET, PATCH and DELETE of an item) ends up wrapped three times and answers with an unawaited coroutine. A handler
that is a coroutine function already is never wrapped."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

import anyio.to_thread

P = ParamSpec("P")
R = TypeVar("R")


def threaded(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    return run


# Threads for the blocking handlers of one process: Litestar runs a synchronous handler in the event loop's default
# executor, which Python sizes by the cores (six on two). A create that is not drafted on the loop (on PostgreSQL,
# or with an idempotency key) waits in its thread for the shared write transaction (runtime/db/group_commit.py), so
# six threads capped how many creates one commit could carry; with 32, creates at concurrency 64 went from about
# 930-990 to 1,100-1,380 per second and from about 1.5 to 1.2 ms of CPU each (bench/api.py's creates, back to back,
# before creates on SQLite moved to the event loop and the writer thread).
HANDLER_THREADS = 32


def use_handler_threads() -> None:
    """On startup: a default executor of ``HANDLER_THREADS`` threads for the running loop."""
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(HANDLER_THREADS, thread_name_prefix="tessera-handler"))
