"""Near duplicates on SQLite and PostgreSQL: a recent open ticket with a similar text from the same requester or
organization is flagged with a scored link and an audit event, or, above the type's threshold, merged into."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa
from ruamel.yaml import YAML

from runtime.compile.desk import load_compiled
from runtime.intake.likeness import profile, similarity
from runtime.intake.pipeline import MailPipeline
from runtime.tickets.relations import TicketRelations
from runtime.tickets.service import TicketService
from tests.intake.mail_fixtures import MARIA, IntakeDesk, intake_desk, mail
from tests.tickets.service_fixtures import SeededDesk

AIKO = "aiko.tanaka@example.org"  # a requester without an organization
COLLEAGUE = "lars.berg@northwind.example.org"  # a new contact of Maria's organization
Text = tuple[str, str]  # subject, body
FIRST: Text = ("Printer jams", "The printer on floor 2 jams on every page.")
AGAIN: Text = ("Printer still jams",
               "The printer on floor 2 keeps jamming on every page, please help.\n\n-- \nMaria Lopez\nNorthwind")
REWORDED: Text = ("Jammed printer", "Every page I print on floor 2 gets stuck in the printer.")
UNRELATED: Text = ("VPN drops", "My VPN connection drops every ten minutes since Monday.")


@pytest.fixture
def intake(tmp_path: Path, database_url: str) -> IntakeDesk:
    return intake_desk(tmp_path, database_url)


def merging(intake: IntakeDesk, tmp_path: Path, above: float) -> IntakeDesk:
    """The same database served by a desk whose IT support type merges near duplicates scoring above ``above``."""
    path = tmp_path / "desk" / "ticket_types" / "it_support.yaml"
    yaml = YAML()
    definition = yaml.load(path)
    definition["intake"]["merge_duplicates_above"] = above
    yaml.dump(definition, path)
    compiled = load_compiled(tmp_path / "desk")
    service = TicketService(compiled, intake.desk.engine)
    return IntakeDesk(SeededDesk(compiled, intake.desk.engine, service),
                      MailPipeline(compiled, intake.desk.engine, service))


def new_ticket(intake: IntakeDesk, text: Text, sender: str = MARIA) -> int:
    outcome = intake.deliver(mail(sender=sender, subject=text[0], body=text[1]))
    assert outcome.kind == "ticket", outcome
    assert outcome.ticket_id is not None
    return outcome.ticket_id


def similar_links(intake: IntakeDesk) -> list[tuple[int, int, float]]:
    return [(r["ticket_id"], r["other_id"], r["score"]) for r in intake.rows("ticket_links", relation="similar")]


def test_the_same_problem_reworded_scores_high_and_another_problem_low() -> None:
    first = profile(*FIRST)
    assert similarity(first, profile(*AGAIN)) > 0.85
    assert 0.6 <= similarity(first, profile(*REWORDED)) < 0.85
    assert similarity(first, profile(*UNRELATED)) < 0.2
    assert similarity(first, profile("Re: Fwd: Printer jams", FIRST[1])) == pytest.approx(1.0)


def test_quoted_history_and_signatures_do_not_make_texts_alike() -> None:
    signature = "\n\n-- \nMaria Lopez\nNorthwind Logistics, Harbour Road 7, Hamburg\nPhone +49 40 555 0100"
    first = profile(FIRST[0], FIRST[1] + signature)
    reply = profile(UNRELATED[0], f"{UNRELATED[1]}\n\nOn Mon, 2 Mar 2026 at 09:00, Maria <{MARIA}> wrote:\n"
                                  f"> {FIRST[1]}{signature}")
    assert similarity(first, reply) < 0.2
    assert similarity(profile("", ""), first) == 0.0


def test_a_similar_mail_from_the_same_requester_is_flagged_with_a_scored_link_and_an_event(
        intake: IntakeDesk) -> None:
    first = new_ticket(intake, FIRST)
    second = new_ticket(intake, AGAIN)
    [(source, target, score)] = similar_links(intake)
    assert (source, target) == (second, first)
    assert 0.85 < score <= 1
    number = intake.ticket(first)["number"]
    events = [e for e in intake.rows("ticket_events", ticket_id=second) if e["action"] == "near_duplicate"]
    assert [(e["actor"], e["channel"], e["field"], e["new_value"]) for e in events] == [
        ("system:system", "email", "similar_to", f"possible duplicate of {number} (score {score:.2f})")]
    message = intake.rows("intake_messages")[-1]
    assert message["metadata"]["similar_to"] == {"ticket_id": first, "score": score}
    relations = TicketRelations(intake.desk.compiled, intake.desk.engine)
    agent = intake.desk.agent("alex")
    assert relations.list(agent, second) == [{"other_id": first, "relation": "similar", "score": score}]
    assert relations.list(agent, first) == [{"other_id": second, "relation": "similar", "score": score}]


def test_an_unrelated_mail_or_another_requesters_is_not_flagged(intake: IntakeDesk) -> None:
    new_ticket(intake, FIRST)
    new_ticket(intake, UNRELATED)
    new_ticket(intake, FIRST, sender=AIKO)
    assert similar_links(intake) == []


def test_a_ticket_created_before_the_window_is_not_a_candidate(intake: IntakeDesk) -> None:
    first = new_ticket(intake, FIRST)
    window = intake.desk.compiled.definitions.project.intake.near_window_seconds
    tickets = intake.desk.compiled.table("tickets")
    with intake.desk.engine.begin() as connection:
        created = connection.execute(sa.select(tickets.c.created_at).where(tickets.c.id == first)).scalar_one()
        connection.execute(sa.update(tickets).where(tickets.c.id == first).values(
            created_at=created - dt.timedelta(seconds=window + 60)))
    new_ticket(intake, AGAIN)
    assert similar_links(intake) == []


def test_a_closed_or_resolved_ticket_is_not_a_candidate(intake: IntakeDesk) -> None:
    first = new_ticket(intake, FIRST)
    tickets = intake.desk.compiled.table("tickets")
    with intake.desk.engine.begin() as connection:
        connection.execute(sa.update(tickets).where(tickets.c.id == first).values(status="closed",
                                                                                  status_category="closed"))
    new_ticket(intake, AGAIN)
    with intake.desk.engine.begin() as connection:
        connection.execute(sa.update(tickets).where(tickets.c.id != first).values(status="resolved",
                                                                                  status_category="resolved"))
    new_ticket(intake, REWORDED)
    assert similar_links(intake) == []


def test_a_colleagues_similar_ticket_is_flagged_but_never_merged_into(intake: IntakeDesk, tmp_path: Path) -> None:
    desk = merging(intake, tmp_path, 0.6)
    first = new_ticket(desk, FIRST)
    second = new_ticket(desk, AGAIN, sender=COLLEAGUE)
    assert desk.ticket(second)["organization_id"] == desk.ticket(first)["organization_id"] is not None
    assert [(s, t) for s, t, _ in similar_links(desk)] == [(second, first)]


def test_above_the_types_threshold_the_mail_becomes_a_comment_once(intake: IntakeDesk, tmp_path: Path) -> None:
    desk = merging(intake, tmp_path, 0.85)
    first = new_ticket(desk, FIRST)
    tickets = desk.count("tickets")
    raw = mail(subject=AGAIN[0], body=AGAIN[1])
    outcome = desk.deliver(raw)
    assert (outcome.kind, outcome.ticket_id) == ("comment", first)
    assert desk.count("tickets") == tickets
    assert [c["body"] for c in desk.rows("comments", ticket_id=first)] == [AGAIN[1]]
    message = desk.rows("intake_messages")[-1]
    assert message["metadata"]["merged_into"] == first
    assert message["metadata"]["score"] > 0.85
    assert desk.pipeline.process(message["id"]).kind == "done before"
    assert desk.deliver(raw).kind == "done before"
    assert desk.deliver(raw, source="imap:it").kind == "duplicate"  # the same mail fetched another way
    assert (desk.count("tickets"), desk.count("comments")) == (tickets, 1)
    assert similar_links(desk) == []


def test_below_the_types_threshold_a_near_duplicate_is_only_flagged(intake: IntakeDesk, tmp_path: Path) -> None:
    desk = merging(intake, tmp_path, 0.85)
    first = new_ticket(desk, FIRST)
    second = new_ticket(desk, REWORDED)
    assert [(s, t) for s, t, _ in similar_links(desk)] == [(second, first)]
    assert desk.rows("comments", ticket_id=first) == []
