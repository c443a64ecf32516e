"""Posting a queued webhook: JSON to the URL an escalation names; anything but a 2xx answer is retried."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk

TIMEOUT = 10  # seconds


class WebhookRefused(RuntimeError):
    pass


def post_webhook(compiled: CompiledDesk, _connection: sa.Connection, payload: dict[str, Any]) -> None:
    body = json.dumps(payload["body"], default=str).encode()
    request = urllib.request.Request(payload["url"], data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": f"Tessera ({compiled.definitions.project.name})"})
    # An error status raises HTTPError, which the worker records and retries like any failure.
    with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
        if not 200 <= response.status < 300:
            msg = f"{payload['url']} answered {response.status}"
            raise WebhookRefused(msg)
