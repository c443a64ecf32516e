"""The AI API on SQLite and PostgreSQL: the triage queue and verdicts on it within the access rules, a ticket's
decisions, triage on request, suggested replies with their sources and the feedback of sending them, and the
outbound check that refuses a reply with a secret in it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from litestar.testing import TestClient

from runtime.ai.review import Reviews
from runtime.ai.triage import Triage, provider_for
from runtime.tickets.errors import Forbidden
from runtime.web.app import create_app
from tests.ai.triage_fixtures import TriageDesk, triage_desk
from tests.web.api_client import Api

QUEUE = "/api/v1/ai/triage-queue"
VPN_FIX = "Please install VPN client 5.2 from the software centre and restart: the tunnel then stays up."


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory, module_database_url: str) -> TriageDesk:
    desk = triage_desk(tmp_path_factory.mktemp("ai-api"), module_database_url)
    desk.add_history()
    desk.train()
    solved = desk.create("VPN disconnects every few minutes at home", "The VPN tunnel drops every few minutes.")
    desk.resolve(solved["id"], VPN_FIX)
    desk.clear_triage_jobs()
    return desk


@pytest.fixture(scope="module")
def api(desk: TriageDesk) -> Iterator[Api]:
    with TestClient(app=create_app(desk.compiled, desk.engine), raise_server_exceptions=False) as client:
        yield Api(desk, client)


def _queued(desk: TriageDesk, title: str, description: str, **more: Any) -> dict[str, Any]:
    """A service-desk ticket the model cannot place, triaged by the worker: it waits in the queue."""
    ticket = desk.create(title, description, team_id=desk.id_of("teams", "name", "service_desk"), **more)
    desk.triage_worker().run_round()
    return ticket


def _queue_ids(api: Api, username: str) -> list[int]:
    answer = api.call("GET", QUEUE, username, params={"limit": 200})
    assert answer.status_code == 200, answer.text
    return [item["ticket_id"] for item in answer.json()["items"]]


def test_the_queue_shows_waiting_tickets_to_agents_who_may_see_them(api: Api, desk: TriageDesk) -> None:
    ticket = _queued(desk, "Question", "Something about the thing from yesterday.")
    answer = api.call("GET", QUEUE, "alex", params={"limit": 200})
    [item] = [i for i in answer.json()["items"] if i["ticket_id"] == ticket["id"]]
    assert item["ticket"]["number"] == ticket["number"]
    assert item["output"]["queued_because"].startswith("confidence ")
    assert item["review"] == "queued"
    assert ticket["id"] not in _queue_ids(api, "bea")  # bea works in field service, not the service desk


def test_the_queue_pages_oldest_first(api: Api, desk: TriageDesk) -> None:
    for n in range(3):
        _queued(desk, f"Question {n}", "Something about the thing from yesterday.")
    first = api.call("GET", QUEUE, "alex", params={"limit": 2}).json()
    second = api.call("GET", QUEUE, "alex", params={"limit": 200, "after": first["next_after"]}).json()
    ids = [i["id"] for i in first["items"] + second["items"]]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids)) >= 3
    assert second["next_after"] is None


def test_accepting_makes_the_proposed_changes_as_the_agent(api: Api, desk: TriageDesk) -> None:
    ticket = _queued(desk, "Question", "Something about the thing from yesterday.")
    [decision] = desk.decisions(ticket["id"])
    proposed = decision.output["changes"]
    assert proposed  # the model guessed something, without confidence
    answer = api.call("POST", f"/api/v1/ai/decisions/{decision.id}/review", "alex",
                      json={"verdict": "accept", "version": 1})
    assert answer.status_code == 200, answer.text
    assert (answer.json()["review"], answer.json()["reviewed_by"]) == ("accepted", "agent:alex")
    after = desk.ticket(ticket["id"])
    assert {name: after[name] for name in proposed} == {name: new for name, (_, new) in proposed.items()}
    events = desk.service.list_events(desk.agent("alex"), ticket["id"])
    assert {e["actor"] for e in events if e["field"] in proposed} == {"agent:alex"}
    again = api.call("POST", f"/api/v1/ai/decisions/{decision.id}/review", "alex",
                     json={"verdict": "accept", "version": after["version"]})
    assert again.status_code == 409
    assert "not waiting for review (accepted)" in again.json()["detail"]


def test_overriding_sets_what_the_person_chose(api: Api, desk: TriageDesk) -> None:
    ticket = _queued(desk, "Question", "Something about the thing from yesterday.")
    [decision] = desk.decisions(ticket["id"])
    path = f"/api/v1/ai/decisions/{decision.id}/review"
    missing = api.call("POST", path, "alex", json={"verdict": "override", "values": {"category": "access"}})
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["field"] == "version"
    wrong = api.call("POST", path, "alex", json={"verdict": "override", "values": {"title": "x"}, "version": 1})
    assert wrong.status_code == 422
    assert wrong.json()["errors"][0]["field"] == "values.title"
    stale = api.call("POST", path, "alex", json={"verdict": "override", "values": {"category": "access"},
                                                 "version": 7})
    assert stale.status_code == 409
    done = api.call("POST", path, "alex", json={"verdict": "override", "values": {"category": "access"},
                                                "version": 1})
    assert done.status_code == 200, done.text
    assert (done.json()["review"], done.json()["overridden_by"]) == ("overridden", "agent:alex")
    assert desk.ticket(ticket["id"])["category"] == "access"


def test_dismissing_changes_nothing(api: Api, desk: TriageDesk) -> None:
    ticket = _queued(desk, "Question", "Something about the thing from yesterday.")
    [decision] = desk.decisions(ticket["id"])
    answer = api.call("POST", f"/api/v1/ai/decisions/{decision.id}/review", "alex", json={"verdict": "dismiss"})
    assert answer.json()["review"] == "dismissed"
    assert desk.ticket(ticket["id"])["version"] == 1
    assert ticket["id"] not in _queue_ids(api, "alex")


def test_decisions_on_tickets_out_of_reach_do_not_exist(api: Api, desk: TriageDesk) -> None:
    ticket = _queued(desk, "Question", "Something about the thing from yesterday.")
    [decision] = desk.decisions(ticket["id"])
    hidden = api.call("POST", f"/api/v1/ai/decisions/{decision.id}/review", "bea", json={"verdict": "dismiss"})
    assert hidden.status_code == 404
    assert api.call("GET", f"/api/v1/tickets/{ticket['id']}/ai/decisions", "bea").status_code == 404
    assert api.call("POST", "/api/v1/ai/decisions/999999999/review", "alex",
                    json={"verdict": "dismiss"}).status_code == 404


def test_requesters_see_no_ai(desk: TriageDesk) -> None:
    reviews = Reviews(desk.compiled, desk.engine, Triage(desk.compiled, provider_for(desk.compiled), desk.service))
    requester = desk.contact("maria.lopez@northwind.example.org")
    with pytest.raises(Forbidden):
        reviews.queue(requester, None, 10)
    ticket = desk.service.create(requester, "it_support", {"title": "VPN", "description": "VPN drops"})
    with pytest.raises(Forbidden):
        reviews.of_ticket(requester, ticket["id"])


def test_triage_on_request_proposes_and_changes_nothing(api: Api, desk: TriageDesk) -> None:
    ticket = desk.create("VPN tunnel keeps failing", "The VPN client disconnects all the time.")
    desk.clear_triage_jobs()
    answer = api.call("POST", f"/api/v1/tickets/{ticket['id']}/ai/triage", "alex")
    assert answer.status_code == 201, answer.text
    decision = answer.json()
    assert decision["output"]["changes"]["category"] == [None, "network"]
    assert (decision["applied"], decision["review"]) == (False, "queued")
    assert desk.ticket(ticket["id"])["category"] is None
    # Asking again replaces the waiting proposal instead of queueing the ticket twice.
    api.call("POST", f"/api/v1/tickets/{ticket['id']}/ai/triage", "alex")
    listed = api.call("GET", f"/api/v1/tickets/{ticket['id']}/ai/decisions", "alex").json()
    assert [d["review"] for d in listed] == ["superseded", "queued"]
    assert _queue_ids(api, "alex").count(ticket["id"]) == 1


def test_a_suggested_reply_cites_the_resolved_ticket_it_draws_on(api: Api, desk: TriageDesk) -> None:
    ticket = desk.create("VPN keeps disconnecting", "My VPN tunnel disconnects every few minutes when at home.")
    answer = api.call("POST", f"/api/v1/tickets/{ticket['id']}/ai/reply", "alex")
    assert answer.status_code == 201, answer.text
    suggestion = answer.json()
    assert VPN_FIX in suggestion["body"]
    assert suggestion["body"].startswith("Hello there,")
    [cited] = suggestion["citations"]
    assert cited["title"] == "VPN disconnects every few minutes at home"
    assert cited["score"] > 0.3
    assert suggestion["check"] == {"blocked": False, "findings": [], "warnings": []}
    assert suggestion["provider"] == "local"

    sent = api.call("POST", f"/api/v1/tickets/{ticket['id']}/comments", "alex",
                    json={"body": suggestion["body"], "suggestion_id": suggestion["decision_id"]})
    assert sent.status_code == 201, sent.text
    [decision] = desk.decisions(ticket["id"], kind="reply")
    assert (decision.review, decision.applied) == ("accepted", True)

    edited = api.call("POST", f"/api/v1/tickets/{ticket['id']}/ai/reply", "alex").json()
    api.call("POST", f"/api/v1/tickets/{ticket['id']}/comments", "alex",
             json={"body": "Try the new client, please.", "suggestion_id": edited["decision_id"]})
    assert desk.decisions(ticket["id"], kind="reply")[1].review == "overridden"
    wrong = api.call("POST", f"/api/v1/tickets/{ticket['id']}/comments", "alex",
                     json={"body": "x", "suggestion_id": 999999})
    assert wrong.status_code == 422


def test_without_similar_history_the_suggestion_is_a_holding_reply(api: Api, desk: TriageDesk) -> None:
    ticket = desk.create("Plant watering", "Who waters the plants on floor three?")
    suggestion = api.call("POST", f"/api/v1/tickets/{ticket['id']}/ai/reply", "alex").json()
    assert suggestion["citations"] == []
    assert "We are looking into it" in suggestion["body"]


@pytest.mark.parametrize("body", [
    "Your temporary password is Winter2026! - please change it.",
    "Use the key AKIAIOSFODNN7EXAMPLE for the upload.",
    "We charged card 4111 1111 1111 1111 again.",
])
def test_a_reply_with_a_secret_is_refused_and_not_stored(api: Api, desk: TriageDesk, body: str) -> None:
    ticket = desk.create("Account", "Please help.")
    refused = api.call("POST", f"/api/v1/tickets/{ticket['id']}/comments", "alex", json={"body": body})
    assert refused.status_code == 422, refused.text
    [error] = refused.json()["errors"]
    assert error["field"] == "body"
    assert "contains" in error["reason"]
    assert "Winter2026" not in refused.text
    assert "AKIAIOSFODNN7EXAMPLE" not in refused.text
    assert desk.service.list_comments(desk.agent("alex"), ticket["id"]) == []
    checked = api.call("POST", "/api/v1/ai/check-reply", "alex", json={"body": body}).json()
    assert checked["blocked"] is True


def test_a_hostile_reply_goes_out_with_a_warning(api: Api, desk: TriageDesk) -> None:
    ticket = desk.create("Account", "Please help.")
    sent = api.call("POST", f"/api/v1/tickets/{ticket['id']}/comments", "alex",
                    json={"body": "Read the manual, this is not our problem."})
    assert sent.status_code == 201
    assert [w["kind"] for w in sent.json()["warnings"]] == ["hostile_tone", "hostile_tone"]
