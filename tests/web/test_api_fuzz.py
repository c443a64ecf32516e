"""Schemathesis against the app's own OpenAPI document, in process on SQLite: every operation, positive and
negative requests, no 5xx, and every status code, content type and body as the document says."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar.testing import TestClient

from runtime.compile.desk import load_compiled
from runtime.db.engine import make_engine
from runtime.tickets.service import TicketService
from runtime.web.app import create_app, openapi_document
from tests.desk_fixtures import SHIPPED
from tests.tickets.service_fixtures import SeededDesk, seeded_desk
from tests.web.api_client import Api

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance", "response_schema_conformance")
CONFIG = schemathesis.Config.from_dict({
    "seed": 20261126,
    "generation": {"mode": "all", "max-examples": 25},
    "checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}},
})
# The document the app serves (tests/web/test_openapi.py holds it equal to generated/openapi.json); building it
# needs no database, so the operations are known when pytest collects and xdist can share them out.
schema = schemathesis.openapi.from_dict(openapi_document(load_compiled(SHIPPED)), config=CONFIG)


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[SeededDesk, Path]:
    """The shipped desk, migrated and seeded once per worker."""
    tmp = tmp_path_factory.mktemp("fuzz")
    desk = seeded_desk(tmp, f"sqlite:///{tmp}/template.db")
    desk.engine.dispose()
    return desk, tmp / "template.db"


@pytest.fixture
def fuzzed_api(template: tuple[SeededDesk, Path], tmp_path: Path) -> Iterator[Api]:
    """A fresh copy of the seeded database per operation, so that what one operation's requests change cannot
    make another's outcome depend on the order xdist runs them in."""
    desk, database = template
    with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(tmp_path / "fuzz.db")) as copy:
        source.backup(copy)
    engine = make_engine(f"sqlite:///{tmp_path}/fuzz.db", desk.compiled.root)
    copied = SeededDesk(desk.compiled, engine, TicketService(desk.compiled, engine))
    with TestClient(app=create_app(desk.compiled, engine), raise_server_exceptions=False) as client:
        yield Api(copied, client)
    engine.dispose()


@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented(case: schemathesis.Case[Any], fuzzed_api: Api) -> None:
    # An admin-scoped token of a supervisor reaches every route; the roles still refuse some writes (403).
    token = fuzzed_api.token("alex", ("admin",))
    case.call_and_validate(app=fuzzed_api.client.app, headers={"Authorization": f"Bearer {token}"})
