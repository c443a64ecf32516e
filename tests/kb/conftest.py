"""Fixtures for the knowledge-base tests: the chat stand-in of the AI tests, for the llm provider."""

from __future__ import annotations

from tests.ai.conftest import chat_standin

__all__ = ["chat_standin"]
