"""Signed webhook deliveries on SQLite and PostgreSQL: mapped into tickets, idempotent by delivery id, a repeated
external id continuing its ticket, refusals with reasons, mapping failures quarantined, visible and retried."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.config.ir import Webhook
from runtime.intake.mapping import MappingError
from runtime.intake.webhook_flow import map_delivery
from runtime.intake.webhooks import sign
from tests.intake.intake_http import SECRET, SECRET_ENV, add_agent, count, intake_api, intake_desk, rows
from tests.tickets.service_fixtures import SeededDesk
from tests.web.api_client import Api

ADMIN_SCOPES = ("tickets:read", "tickets:write")


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> SeededDesk:
    desk = intake_desk(tmp_path_factory.mktemp("webhooks"), module_database_url)
    add_agent(desk, "root", ["agent", "admin"])
    return desk


@pytest.fixture(scope="module")
def api(desk: SeededDesk) -> Iterator[Api]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(SECRET_ENV, SECRET)
        with intake_api(desk) as api:
            yield api


def signed_headers(body: bytes, *, delivery: str | None = None, timestamp: int | None = None,
                   secret: str = SECRET) -> dict[str, str]:
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    headers = {"Content-Type": "application/json", "X-Tessera-Timestamp": stamp,
               "X-Tessera-Signature": sign(secret, stamp, body)}
    if delivery is not None:
        headers["X-Tessera-Delivery"] = delivery
    return headers


def deliver(api: Api, source: str, payload: Any, delivery: str | None = None, **signing: Any) -> Any:
    body = json.dumps(payload).encode()
    return api.client.post(f"/api/v1/intake/webhooks/{source}", content=body,
                           headers=signed_headers(body, delivery=delivery, **signing))


def alert(**changes: Any) -> dict[str, Any]:
    """A monitoring alert of its own (unique id), as tessera.yaml's 'monitoring' mapping reads it."""
    base = {"id": f"ALERT-{uuid.uuid4().hex[:8]}", "summary": "Disk almost full on db-7",
            "details": "/var is at 97 %", "severity": "critical", "host": "db-7",
            "contact": "oncall.dba@example.net"}
    return {"alert": {**base, **changes}}


def delivery_id() -> str:
    return f"delivery-{uuid.uuid4().hex}"


def ticket(desk: SeededDesk, ticket_id: int) -> dict[str, Any]:
    return rows(desk, "tickets", id=ticket_id)[0]


def test_a_signed_delivery_becomes_a_ticket_with_the_mapped_fields(api: Api, desk: SeededDesk) -> None:
    payload = alert(contact="New Oncall <oncall.new@example.net>")
    response = deliver(api, "monitoring", payload, delivery_id())
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["state"] == "processed"
    assert answer["ticket_number"].startswith("IT-")
    made = ticket(desk, answer["ticket_id"])
    assert (made["type"], made["title"], made["description"]) == ("it_support", "Disk almost full on db-7",
                                                                   "/var is at 97 %")
    assert (made["priority"], made["tags"]) == ("P1", ["monitoring", "db-7"])
    assert (made["source"], made["source_name"], made["external_ref"]) == ("webhook", "monitoring",
                                                                           payload["alert"]["id"])
    contact = rows(desk, "contacts", id=made["requester_id"])[0]
    assert (contact["email"], contact["name"]) == ("oncall.new@example.net", "New Oncall")
    assert made["team_id"] == desk.id_of("teams", "name", "service_desk")
    stored = rows(desk, "intake_messages", id=answer["message_id"])[0]
    assert (stored["channel"], stored["source"], stored["state"]) == ("webhook", "monitoring", "processed")
    assert bytes(stored["raw"]) == json.dumps(payload).encode()


def test_the_template_chooses_the_priority_and_without_a_requester_the_desk_opens_it(api: Api,
                                                                                      desk: SeededDesk) -> None:
    payload = alert(severity="warning")
    del payload["alert"]["contact"]
    answer = deliver(api, "monitoring", payload, delivery_id()).json()
    made = ticket(desk, answer["ticket_id"])
    assert (made["priority"], made["requester_id"]) == ("P2", None)
    created = rows(desk, "ticket_events", ticket_id=made["id"], action="create")
    assert {e["actor"] for e in created} == {"system:system"}


def test_a_resent_delivery_answers_its_first_outcome_and_makes_nothing(api: Api, desk: SeededDesk) -> None:
    payload, delivery = alert(), delivery_id()
    first = deliver(api, "monitoring", payload, delivery)
    before = (count(desk, "tickets"), count(desk, "intake_messages"), count(desk, "comments"))
    # A sender retrying signs again, with a later timestamp: the same bytes are the same delivery.
    again = deliver(api, "monitoring", payload, delivery, timestamp=int(time.time()) + 1)
    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert (count(desk, "tickets"), count(desk, "intake_messages"), count(desk, "comments")) == before


def test_a_delivery_id_used_again_with_another_body_is_refused(api: Api, desk: SeededDesk) -> None:
    delivery = delivery_id()
    first = deliver(api, "monitoring", alert(), delivery).json()
    tickets = count(desk, "tickets")
    response = deliver(api, "monitoring", alert(summary="Something else entirely"), delivery)
    assert response.status_code == 409
    assert f"used before by intake message {first['message_id']}" in response.json()["detail"]
    assert count(desk, "tickets") == tickets
    # Kept as a record (it was signed), never processed.
    copies = [r for r in rows(desk, "intake_messages", channel="webhook") if r["metadata"].get("copy_of")
              == first["message_id"]]
    assert [c["state"] for c in copies] == ["ignored"]


def test_a_later_delivery_about_the_same_alert_is_a_comment_on_its_ticket(api: Api, desk: SeededDesk) -> None:
    payload = alert()
    first = deliver(api, "monitoring", payload, delivery_id()).json()
    tickets = count(desk, "tickets")
    update = {"alert": {**payload["alert"], "summary": "Disk full on db-7", "details": "/var is at 100 %"}}
    second = deliver(api, "monitoring", update, delivery_id())
    assert second.status_code == 202
    assert second.json()["ticket_id"] == first["ticket_id"]
    assert count(desk, "tickets") == tickets
    comments = rows(desk, "comments", ticket_id=first["ticket_id"])
    assert [(c["channel"], c["body"]) for c in comments] == [("webhook", "Disk full on db-7\n\n/var is at 100 %")]
    assert comments[0]["author_contact_id"] == ticket(desk, first["ticket_id"])["requester_id"]
    assert comments[0]["public"] is True  # the requester's own report, which they can read


def test_a_follow_up_without_a_requester_is_an_internal_note_from_the_system(api: Api, desk: SeededDesk) -> None:
    payload = alert()
    del payload["alert"]["contact"]
    first = deliver(api, "monitoring", payload, delivery_id()).json()
    assert ticket(desk, first["ticket_id"])["requester_id"] is None
    update = {"alert": {**payload["alert"], "details": "/var is at 100 %"}}
    assert deliver(api, "monitoring", update, delivery_id()).json()["ticket_id"] == first["ticket_id"]
    [comment] = rows(desk, "comments", ticket_id=first["ticket_id"])
    assert (comment["public"], comment["author_contact_id"], comment["author_agent_id"]) == (False, None, None)


def test_an_alert_from_another_requester_opens_a_ticket_beside_the_first(api: Api, desk: SeededDesk) -> None:
    payload = alert()
    first = deliver(api, "monitoring", payload, delivery_id()).json()
    other = {"alert": {**payload["alert"], "contact": "someone.else@example.net"}}
    second = deliver(api, "monitoring", other, delivery_id()).json()
    assert second["ticket_id"] != first["ticket_id"]
    links = rows(desk, "ticket_links", ticket_id=second["ticket_id"])
    assert [(link["other_id"], link["relation"]) for link in links] == [(first["ticket_id"], "related")]
    assert rows(desk, "comments", ticket_id=first["ticket_id"]) == []


def test_control_characters_in_a_delivery_id_are_dropped(api: Api, desk: SeededDesk) -> None:
    delivery = delivery_id()
    payload = {"kind": "it_support", "delivery": f"{delivery}\u0000\n", "ref": delivery, "summary": "Deployed",
               "site": 1}
    answer = deliver(api, "deploys", payload).json()
    assert (answer["state"], answer["reason"]) == ("processed", None)
    assert rows(desk, "intake_messages", id=answer["message_id"])[0]["external_id"] == delivery


@pytest.mark.parametrize(("signing", "reason"), [
    ({"secret": "not-the-secret"}, "signature does not match"),
    ({"timestamp": int(time.time()) - 3600}, "more than the 300 s"),
    ({"timestamp": int(time.time()) + 3600}, "more than the 300 s"),
])
def test_wrong_signatures_and_stale_timestamps_are_refused_and_nothing_is_stored(
        api: Api, desk: SeededDesk, signing: dict[str, Any], reason: str) -> None:
    stored = count(desk, "intake_messages")
    response = deliver(api, "monitoring", alert(), delivery_id(), **signing)
    assert response.status_code == 401
    assert reason in response.json()["detail"]
    assert count(desk, "intake_messages") == stored


def test_an_unsigned_or_tampered_delivery_is_refused(api: Api, desk: SeededDesk) -> None:
    stored = count(desk, "intake_messages")
    body = json.dumps(alert()).encode()
    unsigned = api.client.post("/api/v1/intake/webhooks/monitoring", content=body)
    headers = signed_headers(body, delivery=delivery_id())
    tampered = api.client.post("/api/v1/intake/webhooks/monitoring", content=body.replace(b"db-7", b"db-8"),
                               headers=headers)
    assert (unsigned.status_code, tampered.status_code) == (401, 401)
    assert unsigned.json()["detail"].startswith("unsigned delivery: send x-tessera-timestamp")
    assert "signature does not match" in tampered.json()["detail"]
    assert count(desk, "intake_messages") == stored


def test_unknown_sources_non_json_bodies_and_missing_secrets_are_refused_with_reasons(
        api: Api, desk: SeededDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    stored = count(desk, "intake_messages")
    unknown = deliver(api, "nagios", alert(), delivery_id())
    body = b"<alert>not json</alert>"
    not_json = api.client.post("/api/v1/intake/webhooks/monitoring", content=body, headers=signed_headers(body))
    monkeypatch.delenv(SECRET_ENV)
    no_secret = deliver(api, "monitoring", alert(), delivery_id())
    assert (unknown.status_code, not_json.status_code, no_secret.status_code) == (404, 400, 503)
    assert "no webhook source 'nagios'" in unknown.json()["detail"]
    assert "not JSON" in not_json.json()["detail"]
    assert "no secret" in no_secret.json()["detail"]
    assert SECRET_ENV not in no_secret.json()["detail"]  # the variable's name is for the log, not for strangers
    assert count(desk, "intake_messages") == stored


def test_a_payload_missing_a_mapped_field_is_quarantined_and_visible_in_the_api(api: Api) -> None:
    payload = alert()
    del payload["alert"]["summary"]
    response = deliver(api, "monitoring", payload, delivery_id())
    assert response.status_code == 202
    answer = response.json()
    assert (answer["state"], answer["ticket_id"]) == ("quarantined", None)
    assert "fields.title: 'alert.summary' is not in the payload" in answer["reason"]
    listed = api.call("GET", "/api/v1/intake/messages?state=quarantined&channel=webhook", "alex").json()
    assert answer["message_id"] in [m["id"] for m in listed["items"]]
    assert all("raw" not in m and m["state"] == "quarantined" for m in listed["items"])
    detail = api.call("GET", f"/api/v1/intake/messages/{answer['message_id']}", "alex").json()
    assert detail["reason"] == answer["reason"]
    assert detail["metadata"]["headers"]["x-tessera-timestamp"].isdigit()
    raw = api.call("GET", f"/api/v1/intake/messages/{answer['message_id']}/raw", "alex")
    assert raw.content == json.dumps(payload).encode()
    assert raw.headers["content-type"] == "application/octet-stream"
    assert raw.headers["content-disposition"] == f'attachment; filename="intake-{answer["message_id"]}.json"'


def test_a_type_the_template_names_must_exist(api: Api) -> None:
    payload = {"kind": "it_suport", "delivery": delivery_id(), "ref": "R-1", "summary": "Deploy failed"}
    answer = deliver(api, "deploys", payload).json()
    assert answer["state"] == "quarantined"
    assert "type: '{{ payload.kind }}' gave 'it_suport', which is not a ticket type" in answer["reason"]


def test_a_quarantined_delivery_is_retried_by_an_admin_once_its_cause_is_fixed(api: Api, desk: SeededDesk) -> None:
    site = 990 + len(rows(desk, "ref_locations"))  # a location the desk does not have yet
    payload = {"kind": "it_support", "delivery": delivery_id(), "ref": f"R-{site}", "summary": "Deploy failed",
               "site": site}
    answer = deliver(api, "deploys", payload).json()
    assert answer["state"] == "quarantined"
    assert f"location: no ref_locations record with id {site}" in answer["reason"]
    retry = f"/api/v1/intake/messages/{answer['message_id']}/retry"
    assert api.call("POST", retry, "alex").status_code == 403  # a supervisor reviews; only admins retry
    assert api.call("POST", retry, "root", ADMIN_SCOPES).json()["state"] == "quarantined"  # not fixed yet
    with desk.engine.begin() as connection:
        connection.execute(sa.insert(desk.compiled.table("ref_locations")).values(
            id=site, code=f"NEW-{site}", name="New site", active=True, created_at=sa.func.now(),
            updated_at=sa.func.now()))
    retried = api.call("POST", retry, "root", ADMIN_SCOPES)
    assert retried.status_code == 200, retried.text
    outcome = retried.json()
    assert (outcome["state"], outcome["reason"]) == ("processed", None)
    made = ticket(desk, outcome["ticket_id"])
    assert (made["location"], made["source_name"], made["external_ref"]) == (site, "deploys", f"R-{site}")
    again = api.call("POST", retry, "root", ADMIN_SCOPES)
    assert again.status_code == 409
    assert "not quarantined" in again.json()["detail"]


def test_mapping_reads_paths_into_lists_and_refuses_a_bad_requester(desk: SeededDesk) -> None:
    hook = desk.compiled.definitions.project.intake.webhook("monitoring")
    assert isinstance(hook, Webhook)
    payload = {"alert": {"id": 7, "summary": "Fan", "contact": "not an address", "host": "h"}}
    with pytest.raises(MappingError, match="requester: 'not an address' is not an email address"):
        map_delivery(desk.compiled, hook, payload, {})
    payload["alert"]["contact"] = "ops@example.net"
    mapped = map_delivery(desk.compiled, hook, payload, {})
    assert (mapped.external_id, mapped.requester and mapped.requester.email) == ("7", "ops@example.net")
    assert mapped.fields == {"title": "Fan", "description": "Fan", "priority": "P3", "tags": ["monitoring", "h"]}


def test_a_queued_source_answers_once_stored_and_the_worker_makes_the_ticket(api: Api, desk: SeededDesk) -> None:
    from runtime.intake.pipeline import MailPipeline
    from runtime.intake.processing import IntakeProcessor

    delivery = delivery_id()
    answer = deliver(api, "bulk", {"summary": "Nightly export failed"}, delivery)
    assert answer.status_code == 202, answer.text
    assert (answer.json()["state"], answer.json()["ticket_id"]) == ("received", None)
    [row] = [r for r in rows(desk, "intake_messages", channel="webhook") if r["external_id"] == delivery]
    assert row["ticket_id"] is None
    outcomes = IntakeProcessor(MailPipeline(desk.compiled, desk.engine)).process_waiting(50)
    assert [(o.message_id, o.kind) for o in outcomes if o.message_id == row["id"]] == [(row["id"], "ticket")]
    again = deliver(api, "bulk", {"summary": "Nightly export failed"}, delivery)
    assert again.status_code == 200
    made = ticket(desk, again.json()["ticket_id"])
    assert (made["title"], made["source"], made["source_name"]) == ("Nightly export failed", "webhook", "bulk")
