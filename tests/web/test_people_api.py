"""People through the API: agents read, admins manage staff, anyone on staff may add requesters."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.web.api_client import Api, api_for

PEOPLE = ("people:read", "people:write")


@pytest.fixture
def api(tmp_path: Path, database_url: str) -> Iterator[Api]:
    with api_for(tmp_path, database_url) as api:
        agents = api.desk.compiled.table("agents")
        now = dt.datetime.now(dt.UTC)
        with api.desk.engine.begin() as connection:
            connection.execute(sa.insert(agents).values(username="root", email="root@example.org", name="Root",
                                                        roles=["admin"], skills=[], capacity=1, away=False,
                                                        active=True, created_at=now, updated_at=now))
        yield api


def test_contacts_and_organizations_round_trip(api: Api) -> None:
    org = api.call("POST", "/api/v1/organizations", scopes=PEOPLE,
                   json={"name": "Fabrikam", "domain": "fabrikam.example"})
    assert org.status_code == 201, org.text
    contact = api.call("POST", "/api/v1/contacts", scopes=PEOPLE,
                       json={"email": "lee@fabrikam.example", "name": "Lee", "organization_id": org.json()["id"]})
    assert contact.status_code == 201, contact.text
    changed = api.call("PATCH", f"/api/v1/contacts/{contact.json()['id']}", scopes=PEOPLE,
                       json={"phone": "+49 30 1234567"})
    assert changed.json()["phone"] == "+49 30 1234567"
    assert changed.json()["email"] == "lee@fabrikam.example"
    listed = api.call("GET", "/api/v1/contacts", scopes=PEOPLE).json()
    assert "lee@fabrikam.example" in [c["email"] for c in listed]


def test_bad_people_input_is_422_naming_the_field(api: Api) -> None:
    bad = api.call("POST", "/api/v1/contacts", scopes=PEOPLE, json={"email": "not-an-address"})
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "email"
    taken = api.call("POST", "/api/v1/organizations", scopes=PEOPLE, json={"name": "Northwind Logistics"})
    assert taken.status_code == 422
    assert "taken" in taken.json()["errors"][0]["reason"]
    dangling = api.call("PATCH", "/api/v1/contacts/1", scopes=PEOPLE, json={"organization_id": 999})
    assert dangling.status_code == 422


def test_only_admins_manage_agents_and_teams(api: Api) -> None:
    new_agent = {"username": "erin", "email": "erin@example.org", "name": "Erin", "skills": ["network"]}
    refused = api.call("POST", "/api/v1/agents", scopes=PEOPLE, json=new_agent)
    assert refused.status_code == 403
    created = api.call("POST", "/api/v1/agents", username="root", scopes=PEOPLE, json=new_agent)
    assert created.status_code == 201, created.text
    assert "password_hash" not in created.json()
    team = api.call("POST", "/api/v1/teams", username="root", scopes=PEOPLE,
                    json={"name": "network", "label": "Network", "lead_id": created.json()["id"],
                          "members": [created.json()["id"]]})
    assert team.status_code == 201, team.text
    assert team.json()["members"] == [created.json()["id"]]
    assert api.call("GET", f"/api/v1/teams/{team.json()['id']}", scopes=PEOPLE).json()["lead_id"] == \
        created.json()["id"]


def test_people_need_the_people_scopes(api: Api) -> None:
    assert api.call("GET", "/api/v1/contacts").status_code == 403  # a tickets-only token
    assert api.call("GET", "/api/v1/contacts", scopes=("people:read",)).status_code == 200
