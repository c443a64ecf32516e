"""Articles on SQLite and PostgreSQL: drafts, review and publication, update proposals, archiving, deletion,
translations, readers' verdicts, versions and the change log, each within the access rules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.kb.articles import KbArticles, WrongState
from runtime.tickets.errors import Forbidden, InvalidTicket, StaleVersion, TicketNotFound
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

MARIA = "maria.lopez@northwind.example.org"
TEXT = {"title": "VPN drops every few minutes", "problem": "The VPN tunnel drops at home.",
        "solution": "Install VPN client 5.2 and restart.", "category": "network", "keywords": ["vpn", "tunnel"]}


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    return seeded_desk(tmp_path, database_url)


@pytest.fixture
def kb(desk: SeededDesk) -> KbArticles:
    return KbArticles(desk.compiled, desk.engine)


def _changes(desk: SeededDesk) -> list[int]:
    c = desk.compiled.table("kb_changes")
    with desk.engine.connect() as connection:
        return list(connection.execute(sa.select(c.c.article_id).order_by(c.c.id)).scalars())


def _published(desk: SeededDesk, kb: KbArticles, **more: Any) -> dict[str, Any]:
    draft = kb.create(desk.agent("bea"), TEXT | more)
    return kb.publish(desk.agent("alex"), draft["id"], draft["version"])


def test_a_draft_is_written_reviewed_and_published(desk: SeededDesk, kb: KbArticles) -> None:
    bea, alex = desk.agent("bea"), desk.agent("alex")
    draft = kb.create(bea, TEXT)
    assert (draft["status"], draft["version"], draft["visibility"], draft["language"]) == ("draft", 1, "internal",
                                                                                          "en")
    edited = kb.update(bea, draft["id"], {"solution": "Install VPN client 5.3 and restart."}, 1)
    assert edited["version"] == 2
    with pytest.raises(StaleVersion):
        kb.update(bea, draft["id"], {"title": "x"}, 1)
    with pytest.raises(Forbidden):
        kb.publish(bea, draft["id"], 2)  # bea is no reviewer
    with pytest.raises(Forbidden):
        kb.update(desk.agent("chen"), draft["id"], {"title": "Mine now"}, 2)  # nor is chen, and it is not his
    published = kb.publish(alex, draft["id"], 2)
    assert (published["status"], published["version"], published["reviewer_agent_id"]) == (
        "published", 3, desk.id_of("agents", "username", "alex"))
    assert published["published_at"] is not None
    history = kb.history(alex, draft["id"])
    assert [(v["version"], v["status"], v["edited_by"]) for v in history] == [
        (1, "draft", "agent:bea"), (2, "draft", "agent:bea"), (3, "published", "agent:alex")]
    assert history[0]["solution"] == "Install VPN client 5.2 and restart."
    assert _changes(desk) == [draft["id"]] * 3
    with pytest.raises(WrongState):
        kb.publish(alex, draft["id"], 3)


def test_requesters_read_published_public_articles_only(desk: SeededDesk, kb: KbArticles) -> None:
    maria = desk.contact(MARIA)
    draft = kb.create(desk.agent("bea"), TEXT | {"visibility": "public"})
    internal = _published(desk, kb)
    with pytest.raises(TicketNotFound):
        kb.get(maria, draft["id"])
    with pytest.raises(TicketNotFound):
        kb.get(maria, internal["id"])
    public = _published(desk, kb, visibility="public")
    assert kb.get(maria, public["id"], count_view=True)["views"] == 1
    assert "source_tickets" not in kb.get(maria, public["id"])
    assert [a["id"] for a in kb.page(maria)] == [public["id"]]
    with pytest.raises(Forbidden):
        kb.create(maria, TEXT)


def test_bad_article_data_is_refused_field_by_field(desk: SeededDesk, kb: KbArticles) -> None:
    with pytest.raises(InvalidTicket) as refused:
        kb.create(desk.agent("bea"), {"title": " ", "problem": "x", "category": "weather", "language": "xx",
                                      "visibility": "secret", "colour": "red"})
    fields = {e["field"] for e in refused.value.errors}
    assert fields == {"title", "category", "language", "visibility", "colour", "solution"}


def test_an_update_proposal_is_written_into_its_article(desk: SeededDesk, kb: KbArticles) -> None:
    alex = desk.agent("alex")
    article = _published(desk, kb)
    ticket = desk.service.create(alex, "it_support", {"title": "VPN again"})
    with desk.engine.begin() as connection:
        proposal = kb.create_in(connection, alex, TEXT | {"solution": "Install client 5.3."},
                                update_of_id=article["id"], source_ticket_id=ticket["id"])
    updated = kb.publish(alex, proposal["id"], 1)
    assert (updated["id"], updated["solution"], updated["status"], updated["version"]) == (
        article["id"], "Install client 5.3.", "published", article["version"] + 1)
    assert kb.get(alex, proposal["id"])["status"] == "archived"
    assert kb.get(alex, article["id"])["source_tickets"] == [{"ticket_id": ticket["id"], "kind": "captured"}]


def test_published_articles_are_archived_and_only_drafts_deleted(desk: SeededDesk, kb: KbArticles) -> None:
    alex, bea = desk.agent("alex"), desk.agent("bea")
    article = _published(desk, kb)
    with pytest.raises(WrongState):
        kb.delete(alex, article["id"])
    assert kb.archive(alex, article["id"], article["version"])["status"] == "archived"
    draft = kb.create(bea, TEXT)
    with pytest.raises(Forbidden):
        kb.delete(desk.agent("chen"), draft["id"])
    kb.delete(bea, draft["id"])
    with pytest.raises(TicketNotFound):
        kb.get(alex, draft["id"])
    assert _changes(desk)[-1] == draft["id"]  # the index hears of the deletion


def test_translations_join_the_originals_group_once_per_language(desk: SeededDesk, kb: KbArticles) -> None:
    alex = desk.agent("alex")
    original = _published(desk, kb)
    german = kb.translate(alex, original["id"], {"language": "de", "title": "VPN bricht ab",
                                                 "problem": "Der VPN-Tunnel bricht zu Hause ab.",
                                                 "solution": "VPN-Client 5.2 installieren."})
    assert (german["translation_of_id"], german["status"], german["category"]) == (original["id"], "draft", "network")
    with pytest.raises(WrongState):
        kb.translate(alex, german["id"], {"language": "de", "title": "t", "problem": "p", "solution": "s"})
    assert [t["language"] for t in kb.get(alex, original["id"])["translations"]] == ["de"]
    assert [t["id"] for t in kb.get(alex, german["id"])["translations"]] == [original["id"]]


def test_readers_verdicts_are_counted_and_kept(desk: SeededDesk, kb: KbArticles) -> None:
    public = _published(desk, kb, visibility="public")
    maria = desk.contact(MARIA)
    kb.rate(maria, public["id"], "helpful")
    kb.rate(None, public["id"], "solved", query="vpn keeps dropping")
    assert kb.rate(desk.agent("bea"), public["id"], "not_helpful") == {"article_id": public["id"], "helpful": 2,
                                                                        "not_helpful": 1}
    feedback = desk.compiled.table("kb_feedback")
    with desk.engine.connect() as connection:
        rows = connection.execute(sa.select(feedback.c.kind, feedback.c.contact_id, feedback.c.query)
                                  .order_by(feedback.c.id)).all()
    assert [tuple(r) for r in rows] == [("helpful", maria.id, None), ("solved", None, "vpn keeps dropping"),
                                        ("not_helpful", None, None)]
    internal = _published(desk, kb)
    with pytest.raises(TicketNotFound):
        kb.rate(None, internal["id"], "solved")  # anonymous readers see public articles only
