"""Create, read, update and list people. Agents read; admins manage staff; agents may add requesters."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.people.models import KINDS
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden, InvalidTicket, StaleVersion, TicketNotFound

STAFF = ("agents", "teams")


class PeopleService:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine

    def _allowed(self, actor: Actor, kind: str, *, write: bool) -> None:
        if kind not in KINDS:
            msg = f"no such collection '{kind}'"
            raise TicketNotFound(msg)
        if actor.kind == "contact":
            msg = "requesters cannot browse people"
            raise Forbidden(msg)
        if write and kind in STAFF and not actor.has("admin"):
            msg = f"only admins change {kind}"
            raise Forbidden(msg)

    def _validate(self, kind: str, payload: dict[str, Any], current: dict[str, Any] | None = None) -> dict[str, Any]:
        """The payload checked by the kind's model; for an update, merged over the current record first
        so that a partial change is judged as the whole record it produces."""
        model = KINDS[kind][0]
        base = {k: current[k] for k in model.model_fields if current is not None and k in current}
        try:
            checked = model.model_validate({**base, **payload}).model_dump()
        except ValidationError as exc:
            errors = [{"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()]
            raise InvalidTicket(f"{len(errors)} field(s) not valid", errors) from None
        return checked if current is None else {k: checked[k] for k in payload}

    def _check_refs(self, connection: sa.Connection, kind: str, values: dict[str, Any]) -> None:
        for column, target in KINDS[kind][2].items():
            value = values.get(column)
            table = self.compiled.table(target)
            if value is not None and connection.execute(sa.select(table.c.id).where(table.c.id == value)).first() \
                    is None:
                raise InvalidTicket("a referenced record does not exist",
                                    [{"field": column, "reason": f"no {target} record with id {value}"}])

    def create(self, actor: Actor, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        self._allowed(actor, kind, write=True)
        values = self._validate(kind, payload)
        members = values.pop("members", None)
        now = dt.datetime.now(dt.UTC)
        table = self.compiled.table(kind)
        with write_transaction(self.engine) as connection:
            self._check_refs(connection, kind, values)
            try:
                with connection.begin_nested():
                    row_id = connection.execute(sa.insert(table).values(**values, created_at=now, updated_at=now)
                                                .returning(table.c.id)).scalar_one()
            except sa.exc.IntegrityError:
                label = KINDS[kind][1]
                raise InvalidTicket("already exists", [{"field": label, "reason": f"{values.get(label)!r} is taken"}
                                                       ]) from None
            if members is not None:
                self._set_members(connection, row_id, members)
        return self.get(actor, kind, row_id)

    def _set_members(self, connection: sa.Connection, team_id: int, members: list[int]) -> None:
        table, agents = self.compiled.table("team_members"), self.compiled.table("agents")
        known = set(connection.execute(sa.select(agents.c.id).where(agents.c.id.in_(members))).scalars())
        missing = [m for m in members if m not in known]
        if missing:
            raise InvalidTicket("unknown agents", [{"field": "members", "reason": f"no agents with ids {missing}"}])
        connection.execute(sa.delete(table).where(table.c.team_id == team_id))
        if members:
            connection.execute(sa.insert(table), [{"team_id": team_id, "agent_id": m} for m in sorted(set(members))])

    def get(self, actor: Actor, kind: str, row_id: int) -> dict[str, Any]:
        self._allowed(actor, kind, write=False)
        table = self.compiled.table(kind)
        columns = [c for c in table.columns if c.name != "password_hash"]
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(*columns).where(table.c.id == row_id)).first()
            if row is None:
                msg = f"no {kind} record {row_id}"
                raise TicketNotFound(msg)
            record = dict(row._mapping)
            if kind == "teams":
                members = self.compiled.table("team_members")
                record["members"] = sorted(connection.execute(sa.select(members.c.agent_id)
                                                              .where(members.c.team_id == row_id)).scalars())
        return record

    def list(self, actor: Actor, kind: str, limit: int = 100, after_id: int = 0) -> list[dict[str, Any]]:
        self._allowed(actor, kind, write=False)
        table = self.compiled.table(kind)
        columns = [c for c in table.columns if c.name != "password_hash"]
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(*columns).where(table.c.id > after_id).order_by(table.c.id)
                                      .limit(max(1, min(limit, 500))))
            return [dict(r._mapping) for r in rows]

    def update(self, actor: Actor, kind: str, row_id: int, payload: dict[str, Any],
               expected_updated_at: dt.datetime | None = None) -> dict[str, Any]:
        self._allowed(actor, kind, write=True)
        current = self.get(actor, kind, row_id)
        values = self._validate(kind, payload, current)
        members = values.pop("members", None)
        table = self.compiled.table(kind)
        now = dt.datetime.now(dt.UTC)
        with write_transaction(self.engine) as connection:
            self._check_refs(connection, kind, values)
            query = sa.update(table).where(table.c.id == row_id)
            if expected_updated_at is not None:
                query = query.where(table.c.updated_at == expected_updated_at)
            if connection.execute(query.values(**values, updated_at=now)).rowcount != 1:
                msg = f"{kind} record {row_id} changed since {current['updated_at']}: reload and retry"
                raise StaleVersion(msg)
            if members is not None:
                self._set_members(connection, row_id, members)
        return self.get(actor, kind, row_id)
