"""What processing one stored message came to, for every channel."""

from __future__ import annotations

from dataclasses import dataclass


class Unprocessable(Exception):
    """A message the pipeline cannot turn into anything; it is quarantined with this reason."""


@dataclass(frozen=True)
class Outcome:
    message_id: int
    kind: str  # ticket, comment, duplicate, ignored, quarantined, done before, missing
    ticket_id: int | None = None
    reason: str | None = None
