"""The ``llm`` provider's transport against a real HTTP stand-in of an OpenAI-compatible server."""

from __future__ import annotations

import json
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from enum import StrEnum
from typing import Any, Literal

import openai
import pytest
from pydantic import BaseModel

from runtime.ai.llm import PLACEHOLDER_KEY, LlmClient, LlmError, LlmOptions
from tests.ai.chat_standin import Answer, ChatStandin, Delay, Reply, Request, Status

TIMEOUT_S = 0.3


class Category(StrEnum):
    BILLING = "billing"
    ACCESS = "access"
    OTHER = "other"


class Triage(BaseModel):
    priority: Literal["P1", "P2", "P3"]
    category: Category
    summary: str


VALID = {"priority": "P2", "category": "billing", "summary": "Refund not received"}
EXPECTED = Triage(priority="P2", category=Category.BILLING, summary="Refund not received")


def make_client(standin: ChatStandin, **options: Any) -> LlmClient:
    settings: dict[str, Any] = {"timeout_s": TIMEOUT_S, "model": "triage-model"} | options
    return LlmClient(LlmOptions(base_url=standin.base_url, **settings))


def ask(client: LlmClient, user: str = "My refund has not arrived.") -> Any:
    return client.ask(Triage, "Classify the ticket.", user)


def test_tools_mode_request_carries_model_messages_sampling_key_and_the_schema_as_a_tool(
    chat_standin: ChatStandin,
) -> None:
    chat_standin.script(VALID)
    # Braces in ticket text must reach the model as written (instructor templates messages when given a context).
    user = "Refund for order {{ order.id }} please"
    make_client(chat_standin, api_key="sk-test", temperature=0.25, max_tokens=77).ask(Triage, "Be terse.", user)

    [request] = chat_standin.requests
    assert (request.method, request.path) == ("POST", "/v1/chat/completions")
    assert request.headers["authorization"] == "Bearer sk-test"
    body = request.body
    assert body["model"] == "triage-model"
    assert body["temperature"] == 0.25
    assert body["max_tokens"] == 77
    assert body["messages"] == [{"role": "system", "content": "Be terse."}, {"role": "user", "content": user}]
    assert "response_format" not in body
    [tool] = body["tools"]
    assert tool["type"] == "function"
    parameters = tool["function"]["parameters"]
    schema = Triage.model_json_schema()
    assert parameters["properties"] == schema["properties"]
    assert parameters["$defs"] == schema["$defs"]
    assert set(parameters["required"]) == {"priority", "category", "summary"}
    assert parameters["properties"]["priority"]["enum"] == ["P1", "P2", "P3"]
    assert parameters["$defs"]["Category"]["enum"] == ["billing", "access", "other"]
    # The call is forced: a model may not answer in prose instead.
    assert body["tool_choice"] == {"type": "function", "function": {"name": tool["function"]["name"]}}


def test_json_mode_request_asks_for_a_json_object_constrained_by_the_schema(chat_standin: ChatStandin) -> None:
    chat_standin.script(VALID)
    answer = make_client(chat_standin, mode="json", api_key="sk-test").ask(Triage, "Be terse.", "Refund, please.")

    assert answer.value == EXPECTED
    [request] = chat_standin.chats
    body = request.body
    assert request.headers["authorization"] == "Bearer sk-test"
    assert body["response_format"] == {"type": "json_object", "schema": Triage.model_json_schema()}
    assert "tools" not in body
    system, user = body["messages"]
    assert system["role"] == "system"
    assert system["content"].startswith("Be terse.")
    assert user == {"role": "user", "content": "Refund, please."}


def test_without_a_key_a_placeholder_is_sent_never_the_environments_key(
    chat_standin: ChatStandin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-secret")
    chat_standin.script(VALID)
    ask(make_client(chat_standin))
    assert chat_standin.chats[0].headers["authorization"] == f"Bearer {PLACEHOLDER_KEY}"


def test_a_valid_answer_parses_into_the_model_with_the_servers_figures(chat_standin: ChatStandin) -> None:
    chat_standin.script(Reply(VALID, prompt_tokens=41, completion_tokens=13, model="smollm2-135m-q4"))
    answer = ask(make_client(chat_standin))

    assert answer.value == EXPECTED
    assert type(answer.value) is Triage
    assert answer.value.category is Category.BILLING
    assert answer.model == "smollm2-135m-q4"
    assert (answer.prompt_tokens, answer.completion_tokens, answer.attempts) == (41, 13, 1)
    assert 0 < answer.latency_ms < 5000


@pytest.mark.parametrize("mode", ["tools", "json"])
@pytest.mark.parametrize(
    ("field", "injected"),
    [("priority", "P-1"), ("category", "root-access")],
    ids=["literal", "enum"],
)
def test_a_value_outside_the_schema_is_rejected_and_reasked_with_the_error(
    chat_standin: ChatStandin, mode: str, field: str, injected: str
) -> None:
    chat_standin.script(VALID | {field: injected}, VALID)
    answer = ask(make_client(chat_standin, mode=mode))

    assert answer.value == EXPECTED
    assert answer.attempts == 2
    first, second = chat_standin.chats
    assert second.messages[: len(first.messages)] == first.messages
    feedback = second.messages[len(first.messages) :]
    # The model sees its own bad answer, then what was wrong with it.
    assert feedback[0]["role"] == "assistant"
    assert injected in json.dumps(feedback[0])
    error_text = " ".join(str(message.get("content")) for message in feedback[1:])
    assert "validation error" in error_text.lower()
    assert field in error_text
    assert repr(injected) in error_text


def test_a_malformed_answer_is_retried_and_tokens_are_summed_over_both_attempts(chat_standin: ChatStandin) -> None:
    chat_standin.script(
        Reply('{"priority": "P2", "categ', prompt_tokens=30, completion_tokens=4),
        Reply(VALID, prompt_tokens=55, completion_tokens=9),
    )
    answer = ask(make_client(chat_standin))

    assert answer.value == EXPECTED
    assert answer.attempts == 2
    assert len(chat_standin.chats) == 2
    assert (answer.prompt_tokens, answer.completion_tokens) == (85, 13)


def test_an_answer_invalid_every_time_fails_after_max_retries_plus_one_attempts(chat_standin: ChatStandin) -> None:
    chat_standin.script(*[Reply(VALID | {"priority": "urgent"}, prompt_tokens=10, completion_tokens=2)] * 5)
    client = make_client(chat_standin, max_retries=2)

    with pytest.raises(LlmError) as caught:
        ask(client)

    assert len(chat_standin.chats) == 3
    message = str(caught.value)
    assert "\n" not in message
    assert chat_standin.base_url in message
    assert "output invalid after 3 attempts" in message
    assert "priority" in message
    assert "'urgent'" in message
    assert (caught.value.attempts, caught.value.prompt_tokens, caught.value.completion_tokens) == (3, 30, 6)


def test_a_slow_server_fails_with_a_timeout_quickly_and_is_not_retried(chat_standin: ChatStandin) -> None:
    chat_standin.script(Delay(3.0, VALID), VALID)
    started = time.perf_counter()

    with pytest.raises(LlmError, match=r"timeout after 0\.3s"):
        ask(make_client(chat_standin))

    assert time.perf_counter() - started < 1.5
    assert len(chat_standin.chats) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_an_http_error_fails_with_its_status_and_is_not_retried(chat_standin: ChatStandin, status: int) -> None:
    chat_standin.script(Status(status, {"error": {"message": "model is loading", "type": "server_error"}}), VALID)

    with pytest.raises(LlmError) as caught:
        ask(make_client(chat_standin))

    assert f"HTTP {status}" in str(caught.value)
    assert "model is loading" in str(caught.value)
    assert chat_standin.base_url in str(caught.value)
    assert len(chat_standin.chats) == 1


def test_a_closed_port_fails_with_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = LlmClient(LlmOptions(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout_s=TIMEOUT_S))
    started = time.perf_counter()

    with pytest.raises(LlmError, match=r"(?i)cannot connect.*refused"):
        ask(client)

    assert time.perf_counter() - started < 1.5


def test_an_answer_cut_off_at_max_tokens_fails_without_a_retry(chat_standin: ChatStandin) -> None:
    chat_standin.script(Reply('{"priority": "P2", "summ', finish_reason="length"), VALID)

    with pytest.raises(LlmError, match=r"cut off at max_tokens=512"):
        ask(make_client(chat_standin))

    assert len(chat_standin.chats) == 1


def test_one_client_reuses_its_connection(chat_standin: ChatStandin) -> None:
    chat_standin.script(VALID, VALID)
    client = make_client(chat_standin)
    ask(client)
    ask(client)
    first, second = chat_standin.chats
    assert first.peer == second.peer


def test_two_threads_ask_at_once_and_each_gets_its_own_answer_and_tokens(chat_standin: ChatStandin) -> None:
    both_waiting = threading.Barrier(2, timeout=5)

    def together(request: Request) -> Answer:
        # Answers only once both requests are in flight, so it proves they were: a client that serialised
        # calls would break the barrier and get HTTP 500.
        try:
            both_waiting.wait()
        except threading.BrokenBarrierError:
            return Status(500, "the requests did not overlap")
        user = request.messages[-1]["content"]
        tokens = len(user)
        return Reply(VALID | {"summary": user}, prompt_tokens=tokens, completion_tokens=tokens // 2)

    chat_standin.script(together, together)
    client = make_client(chat_standin, timeout_s=10)
    texts = ["short", "a noticeably longer ticket"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(lambda text: ask(client, text), texts))

    for text, answer in zip(texts, answers, strict=True):
        assert answer.value.summary == text
        assert (answer.prompt_tokens, answer.completion_tokens, answer.attempts) == (len(text), len(text) // 2, 1)


def test_the_standin_lists_its_model_to_the_openai_sdk(chat_standin: ChatStandin) -> None:
    sdk = openai.OpenAI(base_url=chat_standin.base_url, api_key="sk-test", max_retries=0, timeout=TIMEOUT_S)
    assert [model.id for model in sdk.models.list()] == ["standin"]
    [request] = chat_standin.requests
    assert (request.method, request.path, request.body) == ("GET", "/v1/models", None)
