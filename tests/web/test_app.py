"""The demo app serves the compiled definitions and the sample tickets, with 4xx for bad requests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import jsonschema
import pytest
from litestar.testing import TestClient

from runtime.artifacts import migration_paths
from runtime.compile.desk import load_compiled
from runtime.db import migrations
from runtime.db.engine import make_engine
from runtime.demo.seed import seed_demo
from runtime.web.app import create_app
from tests.desk_fixtures import SHIPPED, copy_shipped_desk


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:  # type: ignore[type-arg]
    tmp = tmp_path_factory.mktemp("web")
    root = copy_shipped_desk(tmp / "desk")
    shutil.copytree(SHIPPED / "generated", root / "generated")
    compiled = load_compiled(root)
    engine = make_engine(f"sqlite:///{tmp}/web.db", root)
    migrations.upgrade(migration_paths(compiled), engine)
    seed_demo(compiled, engine)
    with TestClient(app=create_app(compiled, engine)) as test_client:
        yield test_client


def test_health(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/healthz").json() == {"status": "ok"}


def test_types_carry_fields_form_and_workflow(client: TestClient) -> None:  # type: ignore[type-arg]
    types = {t["name"]: t for t in client.get("/api/v1/types").json()}
    assert sorted(types) == ["admin_request", "customer_complaint", "equipment_maintenance", "it_support"]
    equipment = types["equipment_maintenance"]
    fields = {f["name"]: f for f in equipment["fields"]}
    assert fields["equipment"] == {"name": "equipment", "kind": "relation", "to": "assets", "required": True,
                                   "label": {"en": "Equipment", "de": "Anlage"}}
    assert fields["impact"]["kind"] == "choice"  # a builder field of the master table
    assert equipment["form"][2]["visible_in"] == ["assigned", "in_progress", "waiting", "resolved", "closed"]
    assert types["admin_request"]["workflow"]["initial"] == "submitted"


def test_type_schema_accepts_a_good_ticket_and_rejects_a_bad_one(client: TestClient) -> None:  # type: ignore[type-arg]
    schema = client.get("/api/v1/types/customer_complaint/schema").json()
    good = {"title": "Broken glass", "complaint_level": "level_2", "compensation_amount": 12.5,
            "customer_email": "a@example.org", "order_number": "CR-2026-1182"}
    jsonschema.Draft202012Validator(schema).validate(good)
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(e.json_path for e in validator.iter_errors({"title": "x", "complaint_level": "level_9",
                                                                "order_number": "bad number", "colour": "red"}))
    assert errors == ["$", "$.complaint_level", "$.order_number"]


def test_unknown_type_schema_is_404_with_the_known_types(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/api/v1/types/nope/schema")
    assert response.status_code == 404
    assert "known: admin_request, customer_complaint" in response.json()["detail"]


def test_home_page_lists_types_but_no_ticket_without_sign_in(client: TestClient) -> None:  # type: ignore[type-arg]
    page = client.get("/").text
    assert "Equipment maintenance" in page
    assert "Packaging line 2 stops" not in page  # a seeded ticket: only signed-in users see tickets
    assert "http" not in page.replace("http-equiv", "")  # no external links or CDN assets
