"""The OpenAPI document: served by the app, committed as generated/openapi.json, valid OpenAPI 3.1, with a
request model per ticket type, the bearer scheme on the ticket routes and problem details for errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from openapi_spec_validator import OpenAPIV31SpecValidator

from runtime.artifacts import GENERATED_MARK
from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.web.app import create_app
from tests.desk_fixtures import SHIPPED

COMMITTED = SHIPPED / "generated" / "openapi.json"


@pytest.fixture(scope="module")
def compiled() -> CompiledDesk:
    return load_compiled(SHIPPED)


@pytest.fixture(scope="module")
def client(compiled: CompiledDesk) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The shipped desk's app: no database is needed to serve its OpenAPI document or to refuse a caller."""
    engine = sa.create_engine("sqlite://")
    with TestClient(app=create_app(compiled, engine, check_database=False)) as test_client:
        yield test_client
    engine.dispose()


@pytest.fixture(scope="module")
def document(client: TestClient) -> dict[str, Any]:  # type: ignore[type-arg]
    response = client.get("/schema/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def is_public(path: str) -> bool:
    """The health and readiness checks, the definitions, signing in, webhook deliveries (signed with the source's
    secret instead), forms (anonymous for public ones) and the knowledge base's public portal are open; everything
    else needs a credential."""
    return (path in ("/healthz", "/readyz", "/api/v1/types", "/api/v1/auth/login") or path.endswith("/schema")
            or path.startswith(("/api/v1/intake/webhooks/", "/api/v1/intake/forms/", "/api/v1/kb/public/")))


def test_the_served_document_is_the_committed_one(document: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed.pop("x-generated") == GENERATED_MARK
    assert committed == document, "the routes changed: run `python cli.py generate` and commit generated/openapi.json"


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
              for e in OpenAPIV31SpecValidator(document).iter_errors()]
    assert errors == []


def test_title_names_the_desk_and_version_comes_from_pyproject(document: dict[str, Any]) -> None:
    assert document["info"]["title"] == "Tessera: Tessera demo desk"
    assert document["info"]["version"] == "0.1.0"


def test_every_shipped_type_has_its_create_and_update_model(document: dict[str, Any],
                                                            compiled: CompiledDesk) -> None:
    schemas = document["components"]["schemas"]
    for ticket_type in compiled.definitions.types:
        for models in (compiled.create_models, compiled.update_models):
            model = models[ticket_type.name]
            assert sorted(schemas[model.__name__]["properties"]) == sorted(model.model_fields), model.__name__
        create = document["paths"][f"/api/v1/types/{ticket_type.name}/tickets"]["post"]
        assert create["requestBody"]["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{compiled.create_models[ticket_type.name].__name__}"}
    level = schemas["CustomerComplaintCreate"]["properties"]["complaint_level"]
    assert level["enum"] == ["level_1", "level_2", "level_3", None]
    assert level["default"] == "level_1"
    assert "version" in schemas["ItSupportUpdate"]["required"]


def test_every_route_but_the_public_ones_needs_a_token_or_a_session(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert (schemes["BearerToken"]["type"], schemes["BearerToken"]["scheme"]) == ("http", "bearer")
    assert (schemes["SessionCookie"]["type"], schemes["SessionCookie"]["in"]) == ("apiKey", "cookie")
    assert schemes["SessionCookie"]["name"] == "tessera_session"
    guarded = [(path, method, op) for path, method, op in operations(document) if not is_public(path)]
    assert sum(path.startswith(("/api/v1/tickets", "/api/v1/types/")) for path, _, _ in guarded) >= 7 + 3 * 4
    for path, method, operation in guarded:
        if path.startswith("/api/v1/auth/"):
            assert operation.get("security") == [{"SessionCookie": []}], f"{method.upper()} {path}"
            continue
        assert operation.get("security") == [{"BearerToken": []}, {"SessionCookie": []}], f"{method.upper()} {path}"
        assert {"400", "401", "403", "422"} <= set(operation["responses"]), f"{method.upper()} {path}"
    for path, method, operation in operations(document):
        if is_public(path):
            assert "security" not in operation, f"{method.upper()} {path}"


def test_errors_are_documented_as_problem_details(document: dict[str, Any]) -> None:
    problem = document["components"]["schemas"]["Problem"]
    assert sorted(problem["required"]) == ["detail", "status", "title", "type"]
    assert document["components"]["schemas"]["FieldProblem"]["required"] == ["field", "reason"]
    update = document["paths"]["/api/v1/types/it_support/tickets/{ticket_id}"]["patch"]["responses"]
    assert sorted(update) == ["200", "400", "401", "403", "404", "409", "422"]
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert response["content"] == {
                    "application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}
                }, f"{method.upper()} {path} {status}"


def test_a_refusal_matches_the_documented_problem(client: TestClient,  # type: ignore[type-arg]
                                                  document: dict[str, Any]) -> None:
    response = client.get("/api/v1/tickets/1")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/problem+json")
    # The Problem schema with the components beside it, so that its $ref to FieldProblem resolves.
    schema = {**document["components"]["schemas"]["Problem"], "components": document["components"]}
    jsonschema.Draft202012Validator(schema).validate(response.json())
