"""Route handlers that run blocking code in a worker thread, as coroutines of their own.

Litestar calls ``on_registration`` on every handler of a path each time another handler joins that path, and
its ``sync_to_thread`` wrapper does not recognise itself as asynchronous, so the first of three handlers on one path
(GET, PATCH and DELETE of an item) ends up wrapped three times and answers with an unawaited coroutine. A handler
that is a coroutine function already is never wrapped."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

import anyio.to_thread

P = ParamSpec("P")
R = TypeVar("R")


def threaded(fn: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    @functools.wraps(fn)
    async def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))

    return run
