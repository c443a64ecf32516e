"""Seeding the demo desk from the Bitext sample: articles per intent, resolved tickets with their reply, once.

Most tests use a few rows written here in the sample's format, so they run where the sample is not installed; the
last one reads the real file (bitext/customer-support-llm-chatbot-training-dataset, CDLA-Sharing-1.0).
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa

from runtime.demo import bitext
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

REPLY = ("I understand you want to {act}. Log in to your {{{{Website Name}}}}, open {{{{Order History}}}} and "
         "follow the steps, or call {{{{Customer Support Phone Number}}}} during {{{{Customer Support Hours}}}}.")
REQUESTS = {
    "cancel_order": ["cancel my order", "I want to cancel purchase 123", "how do I cancel an order",
                     "help me cancel the order I made", "need to cancel order", "cancelling an order"],
    "get_refund": ["I want my money back", "get a refund", "how can I get reimbursed", "refund my purchase",
                   "request a refund please", "obtain a refund of money"],
    "recover_password": ["I forgot my password", "reset my password", "cannot recall my password",
                         "recover the password of my account", "lost password", "help me reset password"],
}


def _write_sample(path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["instruction", "intent", "category", "response"])
        writer.writeheader()
        for intent, requests in REQUESTS.items():
            for request in requests:
                writer.writerow({"instruction": request, "intent": intent, "category": "X",
                                 "response": REPLY.format(act=request)})
    return path


def _count(desk: SeededDesk, table: str, *where: sa.ColumnElement[bool]) -> int:
    t = desk.compiled.table(table)
    with desk.engine.connect() as connection:
        return int(connection.execute(sa.select(sa.func.count()).select_from(t).where(*where)).scalar_one())


def test_seeding_writes_articles_and_resolved_tickets_once(tmp_path: Path, database_url: str) -> None:
    desk = seeded_desk(tmp_path, database_url)
    sample = _write_sample(tmp_path / "sample.csv")
    said: list[str] = []

    assert bitext.seed_bitext(desk.compiled, desk.engine, sample, tickets=5, say=said.append) == bitext.Seeded(3, 5)
    assert len(said) == 1

    a = desk.compiled.table("kb_articles")
    with desk.engine.connect() as connection:
        articles = {r.title: r for r in connection.execute(sa.select(a))}
    assert set(articles) == {"Cancel order", "Get refund", "Recover password"}
    for article in articles.values():
        assert (article.status, article.visibility, article.language, article.version) == ("published", "public",
                                                                                            "en", 2)
        assert "{{" not in article.solution
        assert "our website" in article.solution
        assert "during business hours" in article.solution
        assert article.keywords
    assert articles["Get refund"].category == "billing"
    assert articles["Cancel order"].category is None
    # Created and published: two versions and two entries of the log the index replays, per article.
    assert _count(desk, "kb_article_versions") == _count(desk, "kb_changes") == 6

    _, held = bitext.split(bitext.read_rows(sample))
    for intent, rows in held.items():
        problem = articles[bitext.title_of(intent)].problem.lower()
        assert all(r.instruction.lower() not in problem for r in rows)

    t, c = desk.compiled.table("tickets"), desk.compiled.table("comments")
    with desk.engine.connect() as connection:
        seeded = connection.execute(sa.select(t.c.id, t.c.type, t.c.status, t.c.category, t.c.priority,
                                              t.c.description).where(t.c.source_name == "bitext")).all()
        replies = {r.ticket_id: r for r in connection.execute(sa.select(c).where(c.c.ticket_id.in_(
            [s.id for s in seeded])))}
    assert len(seeded) == len(replies) == 5
    by_request = {r.instruction: r for r in bitext.read_rows(sample)}
    for ticket in seeded:
        assert ticket.status == "resolved"
        reply = replies[ticket.id]
        assert reply.public
        assert reply.author_agent_id is not None
        assert reply.body == bitext.readable(by_request[ticket.description].response)
    passwords = {(s.type, s.category, s.priority) for s in seeded
                 if by_request[s.description].intent == "recover_password"}
    assert passwords == {("it_support", "access", "P1")}
    events = desk.compiled.table("ticket_events")
    assert _count(desk, "ticket_events", events.c.action == "transition:resolve",
                  events.c.ticket_id.in_([s.id for s in seeded])) > 0
    # The articles already hold what these tickets solved: no capture job may propose them again.
    jobs = desk.compiled.table("jobs")
    assert _count(desk, "jobs", jobs.c.kind == "kb_capture") == 0

    assert bitext.seed_bitext(desk.compiled, desk.engine, sample, tickets=5, say=said.append) == bitext.Seeded(0, 0)
    assert len(said) == 1
    assert _count(desk, "kb_articles") == 3
    assert _count(desk, "tickets", t.c.source_name == "bitext") == 5


def test_without_the_sample_nothing_is_seeded_and_one_line_says_so(tmp_path: Path) -> None:
    desk = seeded_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")
    said: list[str] = []
    missing = tmp_path / "absent" / "customer_support_sample.csv"

    assert bitext.seed_bitext(desk.compiled, desk.engine, missing, say=said.append) == bitext.Seeded(0, 0)
    assert len(said) == 1
    assert str(missing) in said[0]
    assert _count(desk, "kb_articles") == 0


def test_the_split_holds_out_a_fifth_of_each_intent_the_same_way_every_time() -> None:
    rows = [bitext.Row(n, f"request {n} about {intent}", intent, "reply")
            for n, intent in enumerate(["a"] * 50 + ["b"] * 30)]
    writing, held = bitext.split(rows)
    assert (len(held["a"]), len(held["b"])) == (10, 6)
    assert (len(writing["a"]), len(writing["b"])) == (40, 24)
    # The hash decides, not the order of the file.
    again = bitext.split(reversed(rows))[1]
    assert {k: {r.number for r in v} for k, v in again.items()} == {k: {r.number for r in v} for k, v in held.items()}
    # The same request written twice stays on one side.
    twice = [*rows, bitext.Row(999, held["a"][0].instruction.upper(), "a", "reply")]
    assert bitext.split(twice)[1]["a"][-1].number == 999


def test_the_real_sample_gives_one_article_per_intent_and_two_hundred_resolved_tickets(tmp_path: Path) -> None:
    if not bitext.DATA.is_file():
        pytest.skip(f"the Bitext sample is not installed at {bitext.DATA}")
    desk = seeded_desk(tmp_path, f"sqlite:///{tmp_path}/tessera.db")

    seeded = bitext.seed_bitext(desk.compiled, desk.engine, say=lambda _: None)

    intents = {r.intent for r in bitext.read_rows(bitext.DATA)}
    assert seeded == bitext.Seeded(len(intents), bitext.TICKETS)
    t = desk.compiled.table("tickets")
    assert _count(desk, "tickets", t.c.source_name == "bitext", t.c.status == "resolved") == bitext.TICKETS
    assert bitext.seed_bitext(desk.compiled, desk.engine, say=lambda _: None) == bitext.Seeded(0, 0)
