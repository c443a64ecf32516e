"""A stand-in for an OpenAI-compatible chat-completions server: real HTTP on 127.0.0.1, answers from a script.

The test queues answers with ``script(...)``; each ``POST /v1/chat/completions`` takes the next one. An answer is

* a ``dict`` (or a ``Reply`` around one): the model's output, as the ``arguments`` of a tool call when the request
  offered tools, else as the message ``content``;
* a ``str`` (or a ``Reply``): sent verbatim in the same place, so it can be malformed JSON;
* ``Status(code, body)``: an HTTP error;
* ``Delay(seconds, then)``: wait, then answer ``then`` (the client may have given up by then);
* a callable taking the ``Request`` and returning one of the above, run in the server's handler thread.

An empty script answers HTTP 500, so a test that makes more requests than it expects fails loudly. Every request,
``GET /v1/models`` included, is recorded with its headers and parsed body.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeAlias

DEFAULT_PROMPT_TOKENS = 20
DEFAULT_COMPLETION_TOKENS = 8


@dataclass(frozen=True)
class Reply:
    output: dict[str, Any] | str
    prompt_tokens: int = DEFAULT_PROMPT_TOKENS
    completion_tokens: int = DEFAULT_COMPLETION_TOKENS
    model: str | None = None  # None: echo the requested model
    finish_reason: str | None = None  # None: "tool_calls" or "stop", as a server would say


@dataclass(frozen=True)
class Status:
    code: int
    body: dict[str, Any] | str = ""


@dataclass(frozen=True)
class Delay:
    seconds: float
    then: Answer = Status(504, "stand-in delay ended")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: Any  # parsed JSON, None without a body
    peer: tuple[str, int]  # the client's address: the same port means the same connection

    @property
    def messages(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self.body["messages"]
        return messages


Answer: TypeAlias = dict[str, Any] | str | Reply | Status | Delay | Callable[[Request], "Answer"]


@dataclass
class ChatStandin:
    base_url: str = ""
    requests: list[Request] = field(default_factory=list)
    _script: deque[Answer] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _closing: threading.Event = field(default_factory=threading.Event)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script.extend(answers)

    @property
    def chats(self) -> list[Request]:
        """The chat-completion requests, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def _record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def _next(self) -> Answer:
        with self._lock:
            return self._script.popleft() if self._script else Status(500, "stand-in script is empty")

    def _sleep(self, seconds: float) -> None:
        # Wakes at shutdown, so a pending Delay does not outlive the test.
        self._closing.wait(seconds)

    def _completion(self, request: Request, reply: Reply) -> dict[str, Any]:
        number = next(self._ids)
        text = reply.output if isinstance(reply.output, str) else json.dumps(reply.output)
        message: dict[str, Any] = {"role": "assistant", "content": None}
        tools = request.body.get("tools")
        if tools:
            message["tool_calls"] = [
                {
                    "id": f"call_{number}",
                    "type": "function",
                    "function": {"name": tools[0]["function"]["name"], "arguments": text},
                }
            ]
        else:
            message["content"] = text
        return {
            "id": f"chatcmpl-standin-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": reply.model or request.body.get("model", "standin"),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": reply.finish_reason or ("tool_calls" if tools else "stop"),
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }

    def respond(self, request: Request) -> tuple[int, Any]:
        """The status and JSON body (or text) to send for a chat-completion request."""
        answer = self._next()
        while True:
            if isinstance(answer, Delay):
                self._sleep(answer.seconds)
                answer = answer.then
            elif callable(answer):
                answer = answer(request)
            else:
                break
        if isinstance(answer, Status):
            return answer.code, answer.body
        reply = answer if isinstance(answer, Reply) else Reply(answer)
        return 200, self._completion(request, reply)


def _handler(standin: ChatStandin) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # Keep-alive, as real servers do: a client that reuses its connection shows it in Request.peer.
        protocol_version = "HTTP/1.1"
        # Headers and body leave in two writes; with Nagle on, the body waits for the client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _read(self, method: str) -> Request:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            request = Request(
                method=method,
                path=self.path,
                headers={name.lower(): value for name, value in self.headers.items()},
                body=json.loads(raw) if raw else None,
                peer=(self.client_address[0], self.client_address[1]),
            )
            standin._record(request)
            return request

        def _send(self, status: int, body: Any) -> None:
            is_text = isinstance(body, str)
            data = (body if is_text else json.dumps(body)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if is_text else "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client timed out and left

        def do_GET(self) -> None:
            self._read("GET")
            if self.path.rstrip("/") == "/v1/models":
                model = {"id": "standin", "object": "model", "created": 0, "owned_by": "tests"}
                self._send(200, {"object": "list", "data": [model]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

        def do_POST(self) -> None:
            request = self._read("POST")
            if self.path == "/v1/chat/completions":
                self._send(*standin.respond(request))
            else:
                self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})

    return Handler


@contextmanager
def serve() -> Iterator[ChatStandin]:
    """Run a stand-in on an ephemeral port of 127.0.0.1 for the duration of the block."""
    standin = ChatStandin()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(standin))
    server.daemon_threads = True
    host, port = server.server_address[:2]
    standin.base_url = f"http://{host!s}:{port}/v1"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="chat-standin", daemon=True)
    thread.start()
    try:
        yield standin
    finally:
        standin._closing.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
