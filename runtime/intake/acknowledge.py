"""Acknowledgements: the requester whose message opened a ticket is told its number, within limits."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.intake.draft import Draft


class Acknowledger:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled

    def queue(self, connection: sa.Connection, ticket: dict[str, Any], draft: Draft, now: dt.datetime) -> bool:
        """Queue the acknowledgement in the caller's transaction; False when none is due."""
        return False
