"""The knowledge base with the ``llm`` provider, against the chat stand-in on 127.0.0.1: the model writes captured
articles and translations, and when it fails capture still drafts extractively while a translation says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.kb.articles import KbArticles
from runtime.kb.translate import TranslationFailed, translate
from runtime.worker.loop import Worker
from tests.ai.chat_standin import ChatStandin, Reply, Status
from tests.ai.triage_fixtures import TriageDesk, triage_desk


@pytest.fixture
def desk(tmp_path: Path, database_url: str, chat_standin: ChatStandin) -> TriageDesk:
    settings = f"""
ai:
  provider: llm
  triage: {{enabled: false}}
  llm: {{base_url: "{chat_standin.base_url}", model: standin-1, timeout: 5s, max_retries: 0}}
"""
    return triage_desk(tmp_path, database_url, settings)


def _resolve(desk: TriageDesk) -> None:
    alex = desk.agent("alex")
    ticket = desk.create("VPN drops", "The VPN drops every few minutes, Maria from room 4.", assignee_id=alex.id)
    ticket = desk.service.transition(alex, ticket["id"], "start", 1)
    desk.service.comment(alex, ticket["id"], "Install VPN client 5.2.", public=True)
    desk.service.transition(alex, ticket["id"], "resolve", desk.ticket(ticket["id"])["version"])


def test_the_model_writes_the_captured_article(desk: TriageDesk, chat_standin: ChatStandin) -> None:
    chat_standin.script(Reply({"title": "VPN connection drops", "problem": "The VPN drops every few minutes.",
                               "solution": "1. Install VPN client 5.2.\n2. Restart.", "keywords": ["vpn"]}))
    _resolve(desk)
    Worker(desk.compiled, desk.engine).run_due()
    [request] = chat_standin.chats
    assert "Install VPN client 5.2." in request.messages[-1]["content"]
    [article] = KbArticles(desk.compiled, desk.engine).page(desk.agent("alex"))
    assert (article["title"], article["solution"], article["status"]) == (
        "VPN connection drops", "1. Install VPN client 5.2.\n2. Restart.", "draft")


def test_when_the_model_fails_capture_drafts_extractively(desk: TriageDesk, chat_standin: ChatStandin) -> None:
    chat_standin.script(Status(503, "down"))
    _resolve(desk)
    Worker(desk.compiled, desk.engine).run_due()
    [article] = KbArticles(desk.compiled, desk.engine).page(desk.agent("alex"))
    assert (article["title"], article["solution"]) == ("VPN drops", "Install VPN client 5.2.")


def test_a_machine_translation_is_a_linked_draft(desk: TriageDesk, chat_standin: ChatStandin) -> None:
    alex = desk.agent("alex")
    kb = KbArticles(desk.compiled, desk.engine)
    draft = kb.create(alex, {"title": "Password reset", "problem": "I forgot my password.",
                             "solution": "Use the **reset link** on the sign-in page."})
    original = kb.publish(alex, draft["id"], 1)
    chat_standin.script(Reply({"title": "Passwort zurücksetzen", "problem": "Ich habe mein Passwort vergessen.",
                               "solution": "Den **Link zum Zurücksetzen** auf der Anmeldeseite verwenden."}))
    german = translate(desk.compiled, desk.engine, alex, original["id"], {"language": "de"})
    assert (german["language"], german["translation_of_id"], german["status"]) == ("de", original["id"], "draft")
    assert german["solution"] == "Den **Link zum Zurücksetzen** auf der Anmeldeseite verwenden."
    assert "into German" in chat_standin.chats[0].messages[-1]["content"]

    chat_standin.script(Status(500, "boom"))
    with pytest.raises(TranslationFailed, match="HTTP 500"):
        translate(desk.compiled, desk.engine, alex, original["id"], {"language": "en"})
