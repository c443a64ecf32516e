"""Fixtures for the AI provider tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.ai.chat_standin import ChatStandin, serve


@pytest.fixture
def chat_standin() -> Iterator[ChatStandin]:
    """An OpenAI-compatible chat-completions server on 127.0.0.1 that answers from the test's script."""
    with serve() as standin:
        yield standin
