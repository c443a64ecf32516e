"""Teams that tessera.yaml names (a mailbox's, a webhook source's), looked up by name when a message arrives."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk

log = logging.getLogger("tessera.intake")


class TeamNames:
    def __init__(self, compiled: CompiledDesk) -> None:
        teams = compiled.table("teams")
        self._team = compiled.memo("intake.team_by_name", lambda: sa.select(teams.c.id).where(
            teams.c.name == sa.bindparam("name")))

    def team_id(self, connection: sa.Connection, name: str | None, routed_from: str) -> int | None:
        if name is None:
            return None
        found: Any = connection.execute(self._team, {"name": name}).scalar()
        if found is None:
            # Teams are data, not config, so validation cannot catch this: say it where an operator looks.
            log.warning("%s routes to team '%s', which does not exist: its tickets stay unrouted", routed_from, name)
            return None
        return int(found)
