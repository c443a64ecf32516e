"""Capture on SQLite and PostgreSQL: a resolved ticket becomes a draft article through the worker, a second one
like it joins that draft, one like a published article proposes an update to it, and what cannot be captured is
left alone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.kb.articles import KbArticles
from runtime.kb.capture import solution_text, summarise
from runtime.worker.loop import Worker
from tests.ai.triage_fixtures import TriageDesk, triage_desk

REPLY = """Hello Maria,

please install VPN client 5.2 from the software centre and restart your laptop.
The tunnel then stays up.

Kind regards
Alex
Service desk"""


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> TriageDesk:
    return triage_desk(tmp_path, database_url)


def _resolve(desk: TriageDesk, title: str, description: str, reply: str | None = REPLY) -> dict[str, Any]:
    alex = desk.agent("alex")
    ticket = desk.create(title, description, assignee_id=alex.id)
    ticket = desk.service.transition(alex, ticket["id"], "start", ticket["version"])
    if reply:
        desk.service.comment(alex, ticket["id"], reply, public=True)
        ticket = desk.ticket(ticket["id"])
    return desk.service.transition(alex, ticket["id"], "resolve", ticket["version"])


def _articles(desk: TriageDesk) -> list[dict[str, Any]]:
    return KbArticles(desk.compiled, desk.engine).page(desk.agent("alex"), limit=100)


def _sources(desk: TriageDesk, article_id: int) -> list[int]:
    s = desk.compiled.table("kb_article_sources")
    with desk.engine.connect() as connection:
        return list(connection.execute(sa.select(s.c.ticket_id).where(s.c.article_id == article_id)
                                       .order_by(s.c.ticket_id)).scalars())


def test_a_resolved_ticket_becomes_a_draft_article(desk: TriageDesk) -> None:
    ticket = _resolve(desk, "Re: VPN drops every few minutes",
                      "Hi team, my VPN tunnel drops every few minutes when I work from home. It started on Monday. "
                      "I already restarted the router. Our cat likes the router too.")
    Worker(desk.compiled, desk.engine).run_due()
    [article] = _articles(desk)
    assert (article["status"], article["title"], article["language"]) == ("draft", "VPN drops every few minutes",
                                                                          "en")
    assert article["solution"] == ("please install VPN client 5.2 from the software centre and restart your laptop."
                                   "\nThe tunnel then stays up.")
    assert "VPN tunnel drops every few minutes" in article["problem"]
    assert "vpn" in article["keywords"]
    assert _sources(desk, article["id"]) == [ticket["id"]]
    [decision] = desk.decisions(ticket["id"], kind="kb_capture")
    assert decision.explanation == f"draft article {article['id']} from {ticket['number']}"

    # A second ticket with the same problem joins the draft instead of making another.
    again = _resolve(desk, "VPN drops every few minutes", "The VPN tunnel drops every few minutes at home.")
    Worker(desk.compiled, desk.engine).run_due()
    assert len(_articles(desk)) == 1
    assert _sources(desk, article["id"]) == [ticket["id"], again["id"]]
    assert desk.decisions(again["id"], kind="kb_capture")[0].explanation.startswith(
        f"{again['number']} added to draft article {article['id']}")


def test_a_ticket_like_a_published_article_proposes_an_update_to_it(desk: TriageDesk) -> None:
    kb = KbArticles(desk.compiled, desk.engine)
    alex = desk.agent("alex")
    draft = kb.create(alex, {"title": "VPN drops every few minutes", "solution": "Restart the VPN client.",
                             "problem": "The VPN tunnel drops every few minutes at home."})
    published = kb.publish(alex, draft["id"], 1)
    ticket = _resolve(desk, "VPN drops every few minutes", "My VPN tunnel drops every few minutes at home.")
    Worker(desk.compiled, desk.engine).run_due()
    proposal = next(a for a in _articles(desk) if a["id"] != published["id"])
    assert (proposal["status"], proposal["update_of_id"], proposal["title"]) == (
        "draft", published["id"], published["title"])
    assert proposal["solution"].startswith(f"Restart the VPN client.\n\nAlso ({ticket['number']}):\n\nplease install")
    assert "update to article" in desk.decisions(ticket["id"], kind="kb_capture")[0].explanation


def test_nothing_is_captured_without_a_public_answer(desk: TriageDesk) -> None:
    _resolve(desk, "Printer", "The printer jams.", reply=None)
    Worker(desk.compiled, desk.engine).run_due()
    assert _articles(desk) == []


def test_capture_can_be_turned_off(tmp_path: Path, database_url: str) -> None:
    desk = triage_desk(tmp_path, database_url, "kb: {capture: false}\n")
    _resolve(desk, "VPN", "The VPN drops.")
    jobs = desk.compiled.table("jobs")
    with desk.engine.connect() as connection:
        kinds = list(connection.execute(sa.select(jobs.c.kind)).scalars())
    assert "kb_capture" not in kinds


def test_summaries_keep_the_sentences_that_carry_the_topic() -> None:
    text = ("Hello. My VPN tunnel drops every few minutes. The weather is nice. The VPN client shows error 809. "
            "Restarting the VPN did not help. Thanks!")
    assert summarise(text) == ("My VPN tunnel drops every few minutes. The VPN client shows error 809. "
                               "Restarting the VPN did not help.")
    assert summarise("Short text.") == "Short text."


def test_the_solution_loses_greeting_sign_off_and_signature() -> None:
    assert solution_text(REPLY) == ("please install VPN client 5.2 from the software centre and restart your laptop."
                                    "\nThe tunnel then stays up.")
    assert solution_text("Hallo Jonas,\n\nbitte neu starten.\n\nViele Grüße\nBea") == "bitte neu starten."
    assert solution_text("Thanks!") == ""
