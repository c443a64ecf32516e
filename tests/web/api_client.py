"""An API client on a seeded desk, with tokens for its agents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from litestar.testing import TestClient

from runtime.auth.tokens import create_token
from runtime.web.app import create_app
from tests.tickets.service_fixtures import SeededDesk, seeded_desk

ALL = ("tickets:read", "tickets:write")


class Api:
    def __init__(self, desk: SeededDesk, client: TestClient) -> None:  # type: ignore[type-arg]
        self.desk = desk
        self.client = client
        self.tokens: dict[str, str] = {}

    def token(self, username: str, scopes: tuple[str, ...] = ALL) -> str:
        key = f"{username}:{','.join(scopes)}"
        if key not in self.tokens:
            with self.desk.engine.begin() as connection:
                _, self.tokens[key] = create_token(connection, self.desk.compiled,
                                                   self.desk.id_of("agents", "username", username), "test",
                                                   scopes, None)
        return self.tokens[key]

    def call(self, method: str, path: str, username: str | None = "alex", scopes: tuple[str, ...] = ALL,
             **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token(username, scopes)}"} if username else {}
        return self.client.request(method, path, headers=headers, **kwargs)


@contextmanager
def api_for(tmp: Path, database_url: str) -> Iterator[Api]:
    desk = seeded_desk(tmp, database_url)
    with TestClient(app=create_app(desk.compiled, desk.engine), raise_server_exceptions=False) as client:
        yield Api(desk, client)
