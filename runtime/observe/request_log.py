"""Around every HTTP request: its id (the caller's ``X-Request-ID`` or a new one, echoed in the response), the
request counters and latency, and one log line when it is answered.

This wraps Litestar's whole ASGI handler rather than being a Litestar middleware, which runs only once a route
matched: a 404 or 405 is counted and logged too. The route is Litestar's path template (``/api/v1/tickets/{id}``),
never the raw path, so that the metrics have one series per route rather than per ticket.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPScope, Message, Receive, Scope, Send

from runtime.observe.context import log_fields, request_id_from
from runtime.observe.metrics import UNMATCHED, RequestMetrics

log = logging.getLogger("tessera.request")
HEADER = b"x-request-id"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Polled every few seconds by load balancers and Prometheus: logged at debug level, counted as any other.
QUIET = frozenset({"/healthz", "/readyz", "/metrics"})


class RequestObserver:
    def __init__(self, app: ASGIApp, metrics: RequestMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        http = scope
        start = time.perf_counter()
        given = next((value for name, value in scope["headers"] if name == HEADER), None)
        request_id = request_id_from(given.decode("latin-1") if given is not None else None)
        echoed = (HEADER, request_id.encode())
        status = 500  # what the client gets if the app fails before it starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        with log_fields(request_id=request_id) as fields:
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                seconds = time.perf_counter() - start
                method = http["method"] if http["method"] in METHODS else "OTHER"
                route = http.get("path_template") or UNMATCHED
                self.metrics.observe(method, route, status, seconds)
                level = logging.DEBUG if http["path"] in QUIET else logging.INFO
                if log.isEnabledFor(level):
                    self._log(level, http, method, route, status, seconds, fields)

    @staticmethod
    def _log(level: int, scope: HTTPScope, method: str, route: str, status: int, seconds: float,
             fields: dict[str, Any]) -> None:
        client = scope.get("client")
        # Made and handed on directly: Logger.log would first walk the stack for the caller's file and line.
        log.handle(log.makeRecord(log.name, level, __file__, 0, "%s %s %s", (method, scope["path"], status), None,
                                  extra={
            "method": method, "path": scope["path"], "route": route, "status": status,
            "duration_ms": round(seconds * 1000, 3), "client": client[0] if client else None,
            # Known once the credential was resolved (runtime.web.auth notes it); absent for anonymous calls.
            "actor_kind": fields.get("actor_kind"), "actor_id": fields.get("actor_id")}))
