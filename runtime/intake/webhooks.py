"""Signed webhook deliveries: checked, committed raw, then processed at once.

A sender signs each delivery with the source's secret: ``X-Tessera-Timestamp: <unix seconds>`` and
``X-Tessera-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>." + body)>``. The timestamp is inside the
signature, so a captured delivery cannot be replayed after the source's ``tolerance``; within it, the
delivery id makes a replay find the stored delivery instead of doing anything twice.

Unauthenticated input is refused and logged, never stored: anyone can post, and storing whatever comes would
let them fill the desk's disk. What is stored after the signature is checked is never lost.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.config import ir
from runtime.intake.group_store import GroupedStore
from runtime.intake.mapping import MappingError, evaluate
from runtime.intake.pipeline import IntakePipeline
from runtime.intake.store import FINAL, IGNORED, Inbound, IntakeMessage

log = logging.getLogger("tessera.intake.webhooks")
CHANNEL = "webhook"
TIMESTAMP_HEADER = "x-tessera-timestamp"
SIGNATURE_HEADER = "x-tessera-signature"
NOT_KEPT = frozenset({"authorization", "cookie", "proxy-authorization"})  # credentials of other kinds
DELIVERY_ID_MAX = 900  # leaves room in the 998 characters of external_id for the mark of a copy
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Refused(Exception):
    """A delivery the desk does not take, with the HTTP status and the reason the sender gets."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Delivery:
    message_id: int
    state: str
    ticket_id: int | None
    reason: str | None
    repeated: bool  # this delivery was stored before: its first outcome is the answer


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Tessera-Signature value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def check_signature(hook: ir.Webhook, secret: str, headers: Mapping[str, str], body: bytes, now: float) -> None:
    timestamp = headers.get(TIMESTAMP_HEADER, "").strip()
    given = headers.get(SIGNATURE_HEADER, "").strip()
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12) or not given:
        msg = (f"send {TIMESTAMP_HEADER} (unix seconds) and {SIGNATURE_HEADER} (sha256=<hex HMAC-SHA256 of "
               f"'<timestamp>.' and the body>)")
        raise Refused(401, f"unsigned delivery: {msg}")
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), given.lower().encode()):
        raise Refused(401, "the signature does not match the body and timestamp under this source's secret")
    skew = abs(now - int(timestamp))
    if skew > hook.tolerance_seconds:
        msg = (f"the timestamp is {int(skew)} s away from the desk's clock, more than the {hook.tolerance_seconds} s "
               "this source allows (a replayed delivery, or a sender's clock that is wrong)")
        raise Refused(401, msg)


def delivery_id(hook: ir.Webhook, payload: Any, headers: Mapping[str, str], body: bytes) -> str:
    """The id ``delivery_id`` gives; when it gives nothing, the body's digest, so that a re-sent body is still
    recognised."""
    try:
        value = evaluate("delivery_id", hook.delivery_id, payload, headers)
    except MappingError:
        value = None
    # Control characters (NUL above all, which PostgreSQL text cannot hold) are no part of an id worth keeping.
    text = _CONTROL.sub("", str(value)).strip() if value is not None else ""
    return text[:DELIVERY_ID_MAX] if text else f"sha256:{hashlib.sha256(body).hexdigest()}"


class Webhooks:
    def __init__(self, pipeline: IntakePipeline, run: Callable[[int], object] | None = None,
                 clock: Callable[[], float] = time.time, environ: Mapping[str, str] = os.environ) -> None:
        """``run`` processes a stored message: by default at once; the web app passes one that first claims it,
        so that a worker taking up waiting messages cannot process it at the same time."""
        self.pipeline = pipeline
        self.grouped = GroupedStore(pipeline.store)  # deliveries arriving together share a commit
        self.run = run or pipeline.process
        self.settings = pipeline.compiled.definitions.project.intake
        self.clock = clock
        self.environ = environ

    def receive(self, source: str, headers: Mapping[str, str], body: bytes) -> Delivery:
        """Check, store and process one delivery; refusals raise ``Refused``. ``headers`` have lower-case
        names."""
        try:
            return self._receive(source, headers, body)
        except Refused as exc:
            log.warning("webhook delivery to '%s' refused with %s: %s", source[:100], exc.status, exc.reason)
            raise

    def _receive(self, source: str, headers: Mapping[str, str], body: bytes) -> Delivery:
        hook = self.settings.webhook(source)
        if hook is None:
            raise Refused(404, f"no webhook source '{source[:100]}' on this desk")
        secret = self.environ.get(hook.secret_env, "")
        if not secret:
            log.error("webhook source '%s' has no secret: set the environment variable %s", source, hook.secret_env)
            raise Refused(503, f"the webhook source '{source}' is not ready: the desk has no secret for it yet")
        check_signature(hook, secret, headers, body, self.clock())
        try:
            payload = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise Refused(400, f"the body is not JSON: {exc}") from None
        kept = {name: value for name, value in headers.items() if name not in NOT_KEPT}
        inbound = Inbound(CHANNEL, hook.name, delivery_id(hook, payload, headers, body), body,
                          {"headers": kept, "size": len(body)})
        stored = self.grouped.store_one(inbound)
        if stored.new and stored.copy_of is None:  # the common case, with nothing to read back
            if hook.queued:
                return Delivery(stored.id, stored.state, None, None, repeated=False)
            return self._processed(stored.id)
        message = self._load(stored.id)
        copy_of = message.metadata.get("copy_of")
        if copy_of is not None:
            reason = (f"delivery id '{inbound.external_id}' was used before by intake message {copy_of} with a "
                      "different body: kept, not processed")
            if message.state not in FINAL:
                self.pipeline.store.finish(message, IGNORED, reason=reason)
            raise Refused(409, reason)
        if not stored.new:
            # Stored before: its outcome stands. One still 'received' is being processed, or is left to a retry.
            return Delivery(message.id, message.state, message.ticket_id, message.error, repeated=True)
        if hook.queued:
            return Delivery(message.id, message.state, None, None, repeated=False)
        return self._processed(message.id)

    def _processed(self, message_id: int) -> Delivery:
        self.run(message_id)
        done = self._load(message_id)  # still 'received' when a worker holds it: it finishes it
        return Delivery(done.id, done.state, done.ticket_id, done.error, repeated=False)

    def _load(self, message_id: int) -> IntakeMessage:
        message = self.pipeline.store.load(message_id)
        assert message is not None  # rows are never deleted
        return message
