"""What the log records made while serving one request (or running one job) carry: its id, then who is acting.

The fields live in a context variable, so that a record made anywhere below (the service layer, a worker thread
that Litestar hands a synchronous handler to: anyio copies the context into it) is tagged without the id being
passed along.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

REQUEST_ID_MAX = 64
# Ids from a proxy or a client go into log lines and a response header: anything beyond these characters could
# forge a log field or split a header, so such an id is replaced rather than cleaned up.
_ACCEPTED_ID = re.compile(rf"[A-Za-z0-9._:@+/=-]{{1,{REQUEST_ID_MAX}}}")

_fields: ContextVar[dict[str, Any] | None] = ContextVar("tessera_log_fields", default=None)
# New ids: a random prefix per process and a counter, 32 hex digits like a UUID's. Unique without asking the
# system for randomness on every request (a UUID4 did, and it cost more than the rest of the request's logging).
_PREFIX = os.urandom(8).hex()
_next = itertools.count(1)


def request_id_from(header: str | None) -> str:
    """The caller's id when it is short and plain, else a new one."""
    if header and _ACCEPTED_ID.fullmatch(header):
        return header
    return f"{_PREFIX}{next(_next):016x}"


def current_fields() -> dict[str, Any] | None:
    return _fields.get()


@contextmanager
def log_fields(**fields: Any) -> Iterator[dict[str, Any]]:
    """Tag every record made inside with ``fields``; the dict yielded may gain more (``note_actor``) later on."""
    outer = _fields.get()
    merged = {**outer, **fields} if outer else dict(fields)
    token = _fields.set(merged)
    try:
        yield merged
    finally:
        _fields.reset(token)


def note_actor(kind: str, actor_id: int | None) -> None:
    """Who the request turned out to be, once its credential is resolved."""
    fields = _fields.get()
    if fields is not None:
        fields["actor_kind"] = kind
        fields["actor_id"] = actor_id
