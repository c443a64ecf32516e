"""Intake over HTTP for tests: the shipped desk with one more webhook source, and its app."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from litestar.testing import TestClient

from runtime.artifacts import migration_paths
from runtime.compile.desk import load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.demo.seed import seed_demo
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from tests.desk_fixtures import SHIPPED, copy_shipped_desk
from tests.tickets.service_fixtures import SeededDesk
from tests.web.api_client import Api

SECRET_ENV = "TESSERA_WEBHOOK_MONITORING_SECRET"  # both sources' secret, as tessera.yaml names it
SECRET = "a-test-secret-of-the-monitoring-system"
# A second source beside the shipped 'monitoring': the type chosen by the payload, the delivery id in the body,
# and a relation field, whose record may be missing when the delivery comes (and added before a retry); and a
# queued one, answered once stored.
DEPLOYS = """    deploys:
      type: "{{ payload.kind }}"
      secret_env: TESSERA_WEBHOOK_MONITORING_SECRET
      delivery_id: "{{ payload.delivery }}"
      external_id: ref
      fields:
        title: summary
        location: site
    bulk:
      type: it_support
      secret_env: TESSERA_WEBHOOK_MONITORING_SECRET
      process: queued
      fields:
        title: summary
"""


def intake_desk(tmp: Path, database_url: str) -> SeededDesk:
    """The shipped desk, seeded, with the 'deploys' source added to tessera.yaml."""
    root = copy_shipped_desk(tmp / "desk")
    settings = root / "tessera.yaml"
    text = settings.read_text(encoding="utf-8")
    assert "  webhooks:\n" in text
    settings.write_text(text.replace("  webhooks:\n", "  webhooks:\n" + DEPLOYS, 1), encoding="utf-8")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    compiled = load_compiled(root)
    engine = make_engine(database_url, root)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    return SeededDesk(compiled, engine, TicketService(compiled, engine))


@contextmanager
def intake_api(desk: SeededDesk) -> Iterator[Api]:
    """A fresh app (and so fresh per-process rate limits) on ``desk``."""
    with TestClient(app=create_app(desk.compiled, desk.engine), raise_server_exceptions=False) as client:
        yield Api(desk, client)


def add_agent(desk: SeededDesk, username: str, roles: list[str]) -> None:
    now = sa.func.now()
    with desk.engine.begin() as connection:
        connection.execute(sa.insert(desk.compiled.table("agents")).values(
            username=username, email=f"{username}@example.org", name=username.title(), roles=roles, skills=[],
            capacity=5, away=False, active=True, created_at=now, updated_at=now))


def rows(desk: SeededDesk, table: str, **where: Any) -> list[dict[str, Any]]:
    t = desk.compiled.table(table)
    query = sa.select(t).order_by(t.c.id)
    for column, value in where.items():
        query = query.where(t.c[column] == value)
    with desk.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(query)]


def count(desk: SeededDesk, table: str) -> int:
    t = desk.compiled.table(table)
    with desk.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(t)).scalar_one())
