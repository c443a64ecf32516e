"""Triage: what a proposal may change (rules first, then people, then confidence), the worker triaging new
tickets with the desk's own trained model, the record every decision leaves, and people's edits as feedback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.ai.answers import triage_answer
from runtime.ai.feedback import verdict
from runtime.ai.proposals import Proposal, TicketText
from runtime.ai.training import desk_examples
from runtime.ai.triage import decide
from runtime.compile.desk import CompiledDesk, load_compiled
from tests.ai.triage_fixtures import TriageDesk, triage_desk
from tests.desk_fixtures import SHIPPED


@pytest.fixture(scope="module")
def shipped() -> CompiledDesk:
    return load_compiled(SHIPPED)


def _ticket(**current: Any) -> TicketText:
    return TicketText(1, "it_support", "VPN drops", "The VPN drops every hour.",
                      {"category": None, "priority": "P2", "language": "en"} | current)


def _proposal(shipped: CompiledDesk, confidence: dict[str, float], **values: Any) -> Proposal:
    answer = triage_answer(shipped, "it_support").model_validate(
        {"type": "it_support", "priority": "P2", "category": "network", "language": "en", "urgency": "normal",
         "sentiment": "neutral", "summary": "VPN drops", "confidence": 0.9} | values)
    return Proposal(answer, "local", "test", confidence, dict.fromkeys(confidence, "test"))


FIELDS = ("category", "priority", "language")


def test_a_confident_proposal_sets_the_fields_nobody_gave(shipped: CompiledDesk) -> None:
    proposal = _proposal(shipped, {"category": 0.9, "priority": 0.8}, priority="P1")
    outcome = decide(_ticket(), proposal, fields=FIELDS, apply_at=0.7)
    assert outcome.applies
    assert outcome.changes == {"category": (None, "network"), "priority": ("P2", "P1")}
    assert outcome.confidence == 0.8


def test_what_the_creator_or_a_rule_gave_takes_precedence(shipped: CompiledDesk) -> None:
    proposal = _proposal(shipped, {"category": 0.99, "priority": 0.99}, priority="P0")
    outcome = decide(_ticket(category="hardware"), proposal, fields=FIELDS, apply_at=0.7,
                     given={"category", "priority"})
    assert outcome.changes == {}
    assert outcome.kept == {"category": "given when the ticket was created",
                            "priority": "given when the ticket was created"}


def test_a_field_a_person_changed_since_creation_is_left_alone(shipped: CompiledDesk) -> None:
    proposal = _proposal(shipped, {"category": 0.99, "priority": 0.99}, priority="P1")
    outcome = decide(_ticket(priority="P3"), proposal, fields=FIELDS, apply_at=0.7,
                     initial={"category": None, "priority": "P2", "language": "en"})
    assert outcome.changes == {"category": (None, "network")}
    assert outcome.kept == {"priority": "changed by a person since"}


def test_below_the_threshold_nothing_changes_and_a_person_decides(shipped: CompiledDesk) -> None:
    proposal = _proposal(shipped, {"category": 0.95, "priority": 0.55}, priority="P1")
    outcome = decide(_ticket(), proposal, fields=FIELDS, apply_at=0.7)
    assert not outcome.applies
    assert outcome.queued == "confidence 0.55 is below 0.70"
    assert outcome.changes == {"category": (None, "network"), "priority": ("P2", "P1")}


def test_fields_outside_the_settings_are_never_proposed(shipped: CompiledDesk) -> None:
    proposal = _proposal(shipped, {"category": 0.95, "priority": 0.95}, priority="P1")
    outcome = decide(_ticket(), proposal, fields=("category",), apply_at=0.7)
    assert outcome.changes == {"category": (None, "network")}


def test_another_type_is_only_ever_proposed(shipped: CompiledDesk) -> None:
    proposal = _proposal(shipped, {"type": 0.9, "category": 0.9}, type="equipment_maintenance")
    outcome = decide(_ticket(), proposal, fields=FIELDS, apply_at=0.7)
    assert not outcome.applies
    assert outcome.queued == "reads like a equipment_maintenance ticket (0.90); only a person changes the type"


def test_a_ticket_left_without_category_waits_for_a_person(shipped: CompiledDesk) -> None:
    proposal = _proposal(shipped, {}, category=None)
    outcome = decide(_ticket(), proposal, fields=FIELDS, apply_at=0.7)
    assert (outcome.changes, outcome.queued) == ({}, "no category, and none proposed with confidence")
    asked = decide(_ticket(), _proposal(shipped, {"category": 0.9}), fields=FIELDS, apply_at=0.7, may_apply=False)
    assert asked.queued == "proposed on request; a person decides"


def test_verdict_compares_what_a_person_chose_with_the_proposal() -> None:
    proposed = {"category": [None, "network"], "priority": ["P2", "P1"]}
    assert verdict(proposed, {"category": "network"}) == "accepted"
    assert verdict(proposed, {"category": "network", "priority": "P3"}) == "overridden"
    assert verdict(proposed, {"title": "x"}) is None


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> TriageDesk:
    return triage_desk(tmp_path, database_url)


def test_new_tickets_are_triaged_by_the_worker_from_the_desks_history(desk: TriageDesk) -> None:
    assert desk.add_history() == 48
    desk.train()
    vpn = desk.create("VPN tunnel keeps failing", "The VPN client disconnects all the time when I work from home.")
    given = desk.create("Cannot sign in", "My password expired yesterday and now I cannot sign in.",
                        category="hardware")
    assert desk.triage_worker().run_round() == 2
    assert desk.triage_worker().run_round() == 0  # every job was done once

    triaged = desk.ticket(vpn["id"])
    assert triaged["category"] == "network"
    assert triaged["version"] == 2
    events = desk.service.list_events(desk.agent("alex"), vpn["id"])
    assert [(e["actor"], e["channel"], e["new_value"]) for e in events if e["field"] == "category"] == [
        ("system:ai-triage", "ai", "network")]
    [decision] = desk.decisions(vpn["id"])
    assert (decision.provider, decision.applied, decision.review) == ("local", True, None)
    assert decision.model.startswith("tessera-local (")
    assert len(decision.inputs_hash) == 64
    assert decision.latency_ms is not None
    assert decision.output["changes"]["category"] == [None, "network"]
    assert decision.explanation.startswith("set category network (")
    assert "'vpn'" in decision.explanation.lower()  # the words that carried the decision

    # The rule of precedence: the creator said hardware, so hardware it stays, whatever the text says.
    assert desk.ticket(given["id"])["category"] == "hardware"
    [kept] = desk.decisions(given["id"])
    assert kept.output["kept"]["category"] == "given when the ticket was created"
    assert kept.output["proposal"]["category"] == "access"


def test_people_override_triage_and_the_next_training_learns_it(desk: TriageDesk) -> None:
    desk.add_history()
    desk.train()
    ticket = desk.create("VPN tunnel keeps failing", "The VPN client disconnects all the time.")
    desk.triage_worker().run_round()
    before = len(_examples(desk))
    current = desk.ticket(ticket["id"])
    desk.service.update(desk.agent("alex"), ticket["id"], {"category": "software", "version": current["version"]})
    [decision] = desk.decisions(ticket["id"])
    assert (decision.review, decision.reviewed_by, decision.overridden_by) == (
        "overridden", "agent:alex", "agent:alex")
    examples = _examples(desk)
    assert len(examples) == before + 1
    assert any(e.text.startswith("VPN tunnel keeps failing") and e.labels["category"] == "software"
               for e in examples)


def test_text_the_model_cannot_place_waits_in_the_queue(desk: TriageDesk) -> None:
    desk.add_history()
    desk.train()
    ticket = desk.create("Question", "Something about the thing from yesterday.")
    desk.triage_worker().run_round()
    [decision] = desk.decisions(ticket["id"])
    assert (decision.applied, decision.review) == (False, "queued")
    assert decision.output["queued_because"].startswith("confidence ")
    assert desk.ticket(ticket["id"])["category"] is None
    # A person categorising it by hand resolves the queue entry.
    desk.service.update(desk.agent("alex"), ticket["id"], {"category": "software", "version": 1})
    [after] = desk.decisions(ticket["id"])
    assert after.review in ("accepted", "overridden")
    assert after.reviewed_by == "agent:alex"


def test_without_a_trained_model_triage_sets_nothing_and_queues(desk: TriageDesk) -> None:
    ticket = desk.create("URGENT: printer on fire!!!", "The printer is smoking, this is an emergency.")
    desk.triage_worker().run_round()
    [decision] = desk.decisions(ticket["id"])
    assert (decision.applied, decision.review) == (False, "queued")
    proposal = decision.output["proposal"]
    assert proposal["urgency"] == "high"
    assert "printer" in proposal["keywords"]
    assert proposal["summary"] == "URGENT: printer on fire!!!"
    assert desk.ticket(ticket["id"])["category"] is None


def test_a_failing_job_is_retried_then_left_to_people(desk: TriageDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    ticket = desk.create("VPN drops", "VPN drops.")
    worker = desk.triage_worker()

    def broken(_: TicketText) -> Proposal:
        raise RuntimeError("model file unreadable")

    monkeypatch.setattr(worker.triage, "propose", broken)
    jobs = desk.compiled.table("triage_jobs")
    for attempt in range(1, 6):
        with desk.engine.begin() as connection:  # make the retry due now
            connection.execute(sa.update(jobs).values(run_at=sa.func.current_timestamp(), locked_until=None))
        assert worker.run_round() == 0
        with desk.engine.connect() as connection:
            left = connection.execute(sa.select(jobs.c.attempts, jobs.c.last_error)).all()
        if attempt < 5:
            assert left == [(attempt, "RuntimeError: model file unreadable")]
    assert left == []
    [decision] = desk.decisions(ticket["id"])
    assert (decision.review, decision.applied) == ("queued", False)
    assert decision.explanation == "queued for a person: triage failed (RuntimeError: model file unreadable)"


def _examples(desk: TriageDesk) -> list[Any]:
    with desk.engine.connect() as connection:
        return desk_examples(connection, desk.compiled)


def test_the_worker_loop_triages_as_one_of_its_duties(desk: TriageDesk) -> None:
    from runtime.worker.loop import Worker

    ticket = desk.create("Printer", "The printer jams.")
    Worker(desk.compiled, desk.engine).run(once=True)
    assert len(desk.decisions(ticket["id"])) == 1
    assert desk.triage_worker().pending() == 0
