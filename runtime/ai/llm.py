"""The ``llm`` provider's transport: one structured question to an OpenAI-compatible chat-completions endpoint.

``LlmClient.ask`` sends a system and a user message through ``instructor`` and returns the answer validated as the
caller's pydantic model. An answer that fails validation is re-asked with the validation error (up to
``max_retries`` times); every other failure (timeout, refused connection, HTTP error, truncated output) ends the
call at once with ``LlmError``, so the caller can fall back to the local provider without waiting.

An ``LlmClient`` is safe to share between threads: the OpenAI client (an httpx connection pool) is thread-safe,
and the per-call bookkeeping lives in hooks made for each call, never on the shared instructor client.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

import instructor
import openai
from instructor.core import Hooks, IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, ValidationError

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

T = TypeVar("T", bound=BaseModel)

# Sent when no key is configured: local servers ignore it, and an explicit value keeps the SDK from picking up
# OPENAI_API_KEY from the environment and sending it to whatever base_url says.
PLACEHOLDER_KEY = "no-key"


@dataclass(frozen=True)
class LlmOptions:
    base_url: str
    model: str
    api_key: str | None = None
    # "json" is for servers whose tool calling is weak (small llama.cpp models): response_format json_object with
    # the schema, which llama.cpp turns into a grammar. Its "json_schema" form is refused by llama.cpp.
    mode: Literal["tools", "json"] = "tools"
    timeout_s: float = 20.0
    max_retries: int = 2
    temperature: float = 0.0
    max_tokens: int = 512


@dataclass(frozen=True)
class LlmAnswer(Generic[T]):
    value: T
    model: str
    prompt_tokens: int
    completion_tokens: int
    attempts: int
    latency_ms: float


class LlmError(Exception):
    """The call failed; ``str()`` is one line naming the endpoint and the problem.

    What the failed call cost is kept too, since a caller that falls back may still want to account for it.
    """

    def __init__(self, endpoint: str, problem: str, *, attempts: int, prompt_tokens: int, completion_tokens: int):
        super().__init__(f"{endpoint}: {problem}")
        self.endpoint = endpoint
        self.problem = problem
        self.attempts = attempts
        self.prompt_tokens = prompt_tokens
        self.completion_tokens = completion_tokens


class _Tally:
    """One call's requests and usage, fed by instructor's hooks (its own retry loop hides the attempts)."""

    def __init__(self) -> None:
        self.attempts = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        self.model = ""
        self.hooks = Hooks()
        # completion:kwargs fires before every request, including those that then fail at the HTTP level.
        self.hooks.on("completion:kwargs", self._sent)
        # completion:response fires for every answer, valid or not; instructor's own total_usage only reaches
        # the caller on some paths (a private attribute of the value, or the retry exception).
        self.hooks.on("completion:response", self._received)

    def _sent(self, *_args: Any, **_kwargs: Any) -> None:
        self.attempts += 1

    def _received(self, response: Any) -> None:
        self.model = str(getattr(response, "model", "") or "")
        usage = getattr(response, "usage", None)
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens or 0
            self.completion_tokens += usage.completion_tokens or 0


class LlmClient:
    def __init__(self, options: LlmOptions) -> None:
        self.options = options
        self.endpoint = f"llm {options.model} at {options.base_url}"
        # max_retries=0: the SDK would otherwise retry timeouts and 5xx itself, multiplying the caller's wait
        # before it can fall back. The timeout goes on the client, not on each create(): instructor reads a
        # per-call timeout as a deadline for its whole retry loop.
        self._openai = openai.OpenAI(
            base_url=options.base_url,
            api_key=options.api_key or PLACEHOLDER_KEY,
            timeout=options.timeout_s,
            max_retries=0,
        )
        mode = instructor.Mode.TOOLS if options.mode == "tools" else instructor.Mode.JSON
        self._instructor = instructor.from_openai(self._openai, mode=mode)

    def ask(self, output: type[T], system: str, user: str) -> LlmAnswer[T]:
        options = self.options
        messages: list[ChatCompletionMessageParam] = [
            {"role": "system", "content": system},
            {"role": "user", "content": user},
        ]
        extra: dict[str, Any] = {}
        if options.mode == "json":
            # Replaces the bare json_object instructor sets: the body's keys win over the SDK's in the merge.
            schema = output.model_json_schema()
            extra["extra_body"] = {"response_format": {"type": "json_object", "schema": schema}}
        tally = _Tally()
        started = time.perf_counter()
        try:
            value = self._instructor.create(
                response_model=_wire_model(output),
                messages=messages,
                max_retries=options.max_retries,
                hooks=tally.hooks,
                model=options.model,
                temperature=options.temperature,
                max_tokens=options.max_tokens,
                **extra,
            )
        except Exception as exc:
            raise LlmError(
                self.endpoint,
                self._problem(exc, tally),
                attempts=tally.attempts,
                prompt_tokens=tally.prompt_tokens,
                completion_tokens=tally.completion_tokens,
            ) from exc
        return LlmAnswer(
            # instructor's value is an instance of its subclass of the output model, carrying the raw completion
            # in its __dict__: it is never == to an instance of the caller's own class. The fields are already
            # validated, so they are copied over without a second validation.
            value=output.model_construct(_fields_set=value.model_fields_set, **dict(value)),
            model=tally.model,
            prompt_tokens=tally.prompt_tokens,
            completion_tokens=tally.completion_tokens,
            attempts=tally.attempts,
            latency_ms=(time.perf_counter() - started) * 1000,
        )

    def _problem(self, exc: Exception, tally: _Tally) -> str:
        if isinstance(exc, InstructorRetryException):
            # instructor wraps whatever ended its loop; the cause is the last validation error when the
            # re-asks ran out, else the transport error that stopped it.
            cause = exc.__cause__
            failed = exc.failed_attempts or []
            if failed and cause is failed[-1].exception:
                return f"output invalid after {tally.attempts} attempts: {_first_error(cause)}"
            if isinstance(cause, Exception):
                exc = cause
        if isinstance(exc, openai.APITimeoutError):
            return f"timeout after {self.options.timeout_s:g}s"
        if isinstance(exc, openai.APIConnectionError):
            return f"cannot connect: {_one_line(str(exc.__cause__ or exc))}"
        if isinstance(exc, openai.APIStatusError):
            return f"HTTP {exc.status_code}: {_status_detail(exc)}"
        if isinstance(exc, IncompleteOutputException):
            return f"output cut off at max_tokens={self.options.max_tokens}"
        return f"{type(exc).__name__}: {_one_line(str(exc))}"


@functools.lru_cache(maxsize=128)  # bounded: a recompiled desk brings new answer models
def _wire_model(output: type[T]) -> type[T]:
    # instructor wraps a plain model in a new subclass on every call (about 4 ms here, and its lru_cache of
    # schemas then pins 256 throwaway classes); an already wrapped one is used as it is.
    return instructor.openai_schema(output)


def _first_error(exc: BaseException) -> str:
    if not isinstance(exc, ValidationError):
        return _one_line(str(exc))
    errors = exc.errors(include_url=False)
    first = errors[0]
    where = ".".join(str(part) for part in first["loc"])
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return _one_line(f"{where}{': ' if where else ''}{first['msg']}, got {first['input']!r:.80}{more}")


def _status_detail(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        message = error.get("message") if isinstance(error, dict) else error
        if message:
            return _one_line(str(message))
    return _one_line(exc.response.text) or exc.response.reason_phrase


def _one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
