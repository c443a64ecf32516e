"""How many signed webhook deliveries per second the app takes from request to committed ticket, on SQLite.

Run with ``.venv/bin/python bench/intake_webhooks.py`` (``--quick`` for a short run). The shipped desk is migrated
and seeded into a temporary SQLite file; the app is built as ``cli.py serve`` builds it and its ASGI callable is
driven from an event loop in this process (no sockets, no HTTP parsing: the figures are the app's own), 16
requests at a time, to the ``monitoring`` source of tessera.yaml, each delivery signed with HMAC-SHA256:

- new alerts: each a new ticket (stored raw, mapped, enriched, committed with its intake row);
- follow-ups: a later delivery about an alert already reported, a comment on its ticket;
- re-sent deliveries: the same delivery again, answered from its first outcome (no new row);
- a queued source (``process: queued``, the same mapping): answered once the delivery is stored, then the
  worker's processing of the stored deliveries into tickets, measured on its own;
- the baseline in the same run: deliveries with a wrong signature, refused with 401 before any database work,
  which is what the app costs per request before intake starts.

Printed as one markdown table: deliveries per second (wall clock, every core the process used), CPU ms per
delivery, the ratio to the baseline, and the target for new tickets (≥ 1,000/s on the 2-core machine).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.api_cpu import App, Client, lifespan, new_executor  # noqa: E402
from bench.results import Figure, record  # noqa: E402
from runtime.artifacts import migration_paths  # noqa: E402
from runtime.compile.desk import load_compiled  # noqa: E402
from runtime.db import migrations  # noqa: E402
from runtime.db.engine import make_engine  # noqa: E402
from runtime.demo.seed import seed_demo  # noqa: E402
from runtime.intake.pipeline import MailPipeline  # noqa: E402
from runtime.intake.processing import IntakeProcessor  # noqa: E402
from runtime.intake.webhooks import sign  # noqa: E402
from runtime.web.app import create_app  # noqa: E402

SECRET = "bench-secret"
PATH = "/api/v1/intake/webhooks/{}"
QUEUED = """    bulk:
      type: it_support
      secret_env: TESSERA_WEBHOOK_MONITORING_SECRET
      process: queued
      external_id: alert.id
      requester: alert.contact
      fields:
        title: alert.summary
        description: "{{ payload.alert.details }}"
"""
CONCURRENCY = 16
TARGET = 1000.0
Request = tuple[str, bytes, list[tuple[bytes, bytes]]]


def alert(n: int, details: str) -> bytes:
    return json.dumps({"alert": {"id": f"alert-{n}", "summary": f"Disk filling on db-{n}", "details": details,
                                 "severity": "warning", "host": f"db-{n}",
                                 "contact": f"oncall{n % 50}@ops.example.net"}}).encode()


def signed(body: bytes, delivery: str, *, valid: bool = True, source: str = "monitoring") -> Request:
    timestamp = str(int(time.time()))
    signature = sign(SECRET if valid else "wrong", timestamp, body)
    headers = [(b"x-tessera-timestamp", timestamp.encode()), (b"x-tessera-signature", signature.encode()),
               (b"x-tessera-delivery", delivery.encode())]
    return PATH.format(source), body, headers


async def measure(app: App, requests: list[Request], expected: int) -> tuple[float, float]:
    """Deliveries per second (wall clock) and CPU ms per delivery."""
    pending = iter(requests)
    client = Client(app, None)  # webhooks sign their deliveries instead of carrying a token

    async def worker() -> None:
        for path, body, headers in pending:
            status, _ = await client.call("POST", path, body, headers)
            if status != expected:
                msg = f"answer {status} instead of {expected}"
                raise RuntimeError(msg)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return len(requests) / wall, cpu / len(requests) * 1000


async def bench(app: App, count: int) -> list[tuple[str, int, float, float]]:
    executor = new_executor(CONCURRENCY)
    shutdown = await lifespan(app)
    try:
        rows = []
        refused = [signed(alert(n, "x"), f"refused-{n}", valid=False) for n in range(count)]
        new = [signed(alert(n, "at 91 %"), f"new-{n}") for n in range(count)]
        follow_ups = [signed(alert(n, "at 97 %"), f"update-{n}") for n in range(count // 2)]
        await measure(app, [signed(alert(count + n, "warm"), uuid.uuid4().hex) for n in range(50)], 202)
        for name, requests, expected in (("baseline: wrong signature, refused", refused, 401),
                                         ("new alerts → tickets", new, 202),
                                         ("follow-ups → comments", follow_ups, 202),
                                         ("re-sent deliveries → first outcome", new[: count // 2], 200)):
            rate, cpu = await measure(app, requests, expected)
            rows.append((name, len(requests), rate, cpu))
        queued = [signed(alert(count * 2 + n, "at 91 %"), f"queued-{n}", source="bulk") for n in range(count)]
        rate, cpu = await measure(app, queued, 202)
        rows.append(("queued source: stored and answered", count, rate, cpu))
        return rows
    finally:
        await shutdown()
        executor.shutdown()


def drain(pipeline: MailPipeline, count: int) -> tuple[str, int, float, float]:
    """The worker's part for the queued deliveries: stored deliveries to committed tickets."""
    processor = IntakeProcessor(pipeline)
    wall, cpu = time.perf_counter(), time.process_time()
    done = 0
    while outcomes := processor.process_waiting(50):
        done += sum(o.kind == "ticket" for o in outcomes)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if done != count:
        msg = f"{done} tickets from {count} queued deliveries"
        raise RuntimeError(msg)
    return "queued source: worker makes the tickets", count, count / wall, cpu / count * 1000


def desk_with_queued_source(root: Path) -> Path:
    """The shipped desk with a queued copy of the monitoring source."""
    root.mkdir(parents=True)
    for folder in ("ticket_types", "sla_policies", "generated", "schemas"):
        shutil.copytree(REPO / folder, root / folder)
    text = (REPO / "tessera.yaml").read_text(encoding="utf-8")
    (root / "tessera.yaml").write_text(text.replace("  webhooks:\n", "  webhooks:\n" + QUEUED, 1), encoding="utf-8")
    return root


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="500 deliveries per step instead of 2,000")
    args = parser.parse_args()
    count = 500 if args.quick else 2000
    os.environ["TESSERA_WEBHOOK_MONITORING_SECRET"] = SECRET
    logging.getLogger("tessera.intake.webhooks").setLevel(logging.ERROR)  # the baseline's 401s, one line each
    with tempfile.TemporaryDirectory(prefix="tessera-bench-webhooks-") as folder:
        root = desk_with_queued_source(Path(folder) / "desk")
        compiled = load_compiled(root)
        engine = make_engine(f"sqlite:///{folder}/bench.db", compiled.root)
        migrations.upgrade(migration_paths(compiled), engine)
        seed_demo(compiled, engine)
        app: Callable[..., Any] = create_app(compiled, engine)
        rows = asyncio.run(bench(app, count))
        rows.append(drain(MailPipeline(compiled, engine), count))
        engine.dispose()
    baseline = rows[0][2]
    print(f"Webhook intake on SQLite, {CONCURRENCY} deliveries at a time, in process\n")
    print("| step | deliveries | deliveries/s | CPU ms each | ratio to baseline | target |")
    print("|---|---:|---:|---:|---:|---|")
    for name, n, rate, cpu in rows:
        target = ""
        targeted = name.startswith(("new", "queued source: stored"))
        if targeted:
            target = f"≥ {TARGET:,.0f}/s ({'met' if rate >= TARGET else 'NOT met'})"
        if name != rows[0][0]:
            record(Figure(bench="intake_webhooks", name=name, value=rate, unit="deliveries/s", database="sqlite",
                          target=TARGET if targeted else None, baseline=baseline, baseline_name=rows[0][0]))
        print(f"| {name} | {n:,} | {rate:,.0f} | {cpu:.2f} | {rate / baseline:.2f} | {target} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
