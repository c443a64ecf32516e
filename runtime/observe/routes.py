"""``/readyz`` and ``/metrics``; ``/healthz`` stays in the app, the cheapest answer there is."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from litestar import Request, Response, get
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.datastructures import ResponseSpec

from runtime.auth.tokens import ADMIN, METRICS_READ
from runtime.compile.desk import CompiledDesk
from runtime.observe.desk_gauges import DeskGauges
from runtime.observe.metrics import CONTENT_TYPE, RequestMetrics
from runtime.observe.readiness import OK, Readiness
from runtime.web.auth import credentials_for
from runtime.web.problems import MEDIA_TYPE, Problem


@dataclass
class Ready:
    status: str
    checks: dict[str, str]


NOT_READY = ResponseSpec(Problem, generate_examples=False, media_type=MEDIA_TYPE,
                         description="Not ready: `checks` names what is wrong (the database unreachable or at "
                                     "another revision than the definitions, the attachment folder not writable)")


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def observe_handlers(compiled: CompiledDesk, engine: sa.Engine, metrics: RequestMetrics) -> list[HTTPRouteHandler]:
    readiness = Readiness(compiled, engine)
    metrics.add([DeskGauges(compiled, engine)])
    credentials = credentials_for(compiled, engine)
    open_locally = compiled.definitions.project.observability.metrics_open_on_loopback

    @get("/readyz", sync_to_thread=True, responses={503: NOT_READY},
         description="200 when this process can serve: the database answers at the definitions' revision and the "
                     "attachment folder is writable; 503 naming what is not ready otherwise. No credential needed.")
    def readyz() -> Response[Ready]:
        checks = readiness.checks()
        failed = {name: said for name, said in checks.items() if said != OK}
        if not failed:
            return Response(Ready("ready", checks))
        body: dict[str, Any] = {"type": "about:blank", "title": "Not ready", "status": 503,
                                "detail": "; ".join(f"{name}: {said}" for name, said in failed.items()),
                                "checks": checks}
        return Response(body, status_code=503, media_type=MEDIA_TYPE)  # type: ignore[arg-type]

    # Prometheus text rather than JSON, for scrapers: not part of the API document.
    @get("/metrics", sync_to_thread=True, include_in_schema=False)
    def metrics_route(request: Request[Any, Any, Any]) -> Response[bytes]:
        if not (open_locally and is_loopback(request.client.host if request.client else None)):
            grant, _ = credentials.resolve(request)
            if METRICS_READ not in grant.scopes and ADMIN not in grant.scopes:
                msg = f"reading metrics needs the scope {METRICS_READ} (or admin)"
                raise PermissionDeniedException(msg)
        return Response(metrics.exposition(), media_type=CONTENT_TYPE)

    return [readyz, metrics_route]
