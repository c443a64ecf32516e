"""Finding the rows an import names by natural keys, a whole batch at a time: agents and teams (read once, they
are few), contacts, organizations and reference rows (one query per table and column per batch, remembered after).

Contacts and organizations that do not exist yet are created, but only for the rows that are imported, inside
their batch's transaction: a rejected row leaves nobody behind, and what a rolled-back batch created is forgotten.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from runtime.compile.desk import CompiledDesk
from runtime.transfer.incoming import AGENT, CONTACT, CREATE, ORGANIZATION, TEAM, Ref
from runtime.transfer.mapped_rows import AUTHOR

PLACEHOLDER = 2**62  # the id a dry run gives a contact it would create: any valid id passes the models' checks
LOOKUP_CHUNK = 500  # keys per IN list


def _fold(table: str, by: str, key: Any) -> Any:
    """Emails and names compare without case where people type them; other keys as they are."""
    if isinstance(key, str) and (by == "email" or table in (ORGANIZATION, TEAM)):
        return key.strip().lower()
    return key


class People:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, *, dry_run: bool) -> None:
        self.compiled, self.dry_run = compiled, dry_run
        self.known: dict[tuple[str, str], dict[Any, int]] = defaultdict(dict)
        self.organization_of: dict[int, int | None] = {}  # a contact's organization, for its tickets
        self._made: dict[tuple[str, str], dict[Any, int]] = defaultdict(dict)  # this batch's, until it commits
        dialect = postgresql if engine.dialect.name == "postgresql" else sqlite
        self._insert_contact = dialect.insert(compiled.table("contacts")).on_conflict_do_nothing(
            index_elements=["email"])
        self._insert_organization = dialect.insert(compiled.table("organizations")).on_conflict_do_nothing(
            index_elements=["name"])
        with engine.connect() as connection:
            agents, teams = compiled.table("agents"), compiled.table("teams")
            for agent_id, username, email in connection.execute(
                    sa.select(agents.c.id, agents.c.username, agents.c.email)):
                self.known[(AGENT, "username")][username] = agent_id
                self.known[(AGENT, "email")][email.lower()] = agent_id
            for team in connection.execute(sa.select(teams.c.id, teams.c.name, teams.c.label, teams.c.email)):
                for by in ("name", "label", "email"):
                    if getattr(team, by):
                        self.known[(TEAM, by)][getattr(team, by).lower()] = team.id

    def look_up(self, connection: sa.Connection, refs: Iterable[Ref]) -> None:
        """Give every ref the id of its row where it exists; mark the rest absent, or leave them to ``create``."""
        self._look_up(connection, refs)

    def create(self, connection: sa.Connection, refs: Iterable[Ref], now: dt.datetime) -> None:
        """Create the organizations, then the contacts, that imported rows need and that do not exist."""
        self._create_missing(connection, refs, now)

    def forget(self, refs: Iterable[Ref]) -> None:
        """Undo what ``create`` gave refs in a transaction that rolled back: those rows do not exist."""
        self._forget(refs)

    def committed(self) -> None:
        """The batch's transaction committed: what it created exists now."""
        self._committed()

    def rolled_back(self) -> None:
        self._rolled_back()

    def _found(self, table: str, by: str, key: Any) -> int | None:
        folded = _fold(table, by, key)
        found = self.known[(table, by)].get(folded)
        return found if found is not None else self._made[(table, by)].get(folded)

    def _look_up(self, connection: sa.Connection, refs: Iterable[Ref]) -> None:
        refs = list(refs)
        for ref in refs:
            if ref.table == AUTHOR:
                self._author(ref)
        wanted: dict[tuple[str, str], set[Any]] = defaultdict(set)
        for ref in refs:
            if ref.table not in (AGENT, TEAM, AUTHOR) and ref.key is not None \
                    and self._found(ref.table, ref.by, ref.key) is None:
                wanted[(ref.table, ref.by)].add(ref.key)
        for (table_name, by), keys in wanted.items():
            table = self.compiled.table(table_name)
            column = table.c[by]
            folded = table_name in (ORGANIZATION, TEAM)
            # Emails are looked up as written and in lower case, so that the unique index finds them.
            given = sorted({_fold(table_name, by, k) for k in keys} if folded else
                           {*keys, *(_fold(table_name, by, k) for k in keys)}, key=str)
            for start in range(0, len(given), LOOKUP_CHUNK):
                chunk = given[start:start + LOOKUP_CHUNK]
                condition = (sa.func.lower(column).in_(chunk) if folded
                             else column.in_([_typed(column, k) for k in chunk]))
                extra = [table.c.organization_id] if table_name == CONTACT else []
                for row_id, value, *organization in connection.execute(
                        sa.select(table.c.id, column, *extra).where(condition)):
                    self.known[(table_name, by)].setdefault(_fold(table_name, by, value), row_id)
                    if organization:
                        self.organization_of[row_id] = organization[0]
        for ref in refs:
            if ref.table == AUTHOR:
                continue
            found = None if ref.key is None else self._found(ref.table, ref.by, ref.key)
            ref.id, ref.absent = found, found is None and ref.missing != CREATE
            if found is None and ref.missing == CREATE and self.dry_run:
                ref.id = PLACEHOLDER

    def _author(self, ref: Ref) -> None:
        """An agent by username or email, else a requester by email (created if new)."""
        for by in ("username", "email"):
            agent = self._found(AGENT, by, ref.key)
            if agent is not None:
                ref.table, ref.by, ref.id = AGENT, by, agent
                return
        ref.table, ref.by, ref.missing = CONTACT, "email", CREATE

    def _create_missing(self, connection: sa.Connection, refs: Iterable[Ref], now: dt.datetime) -> None:
        refs = [r for r in refs if r.id is None and r.missing == CREATE and not self.dry_run]
        organizations = [r for r in refs if r.table == ORGANIZATION] + [
            r.organization for r in refs if r.table == CONTACT and r.organization is not None
            and r.organization.id is None]
        self._create(connection, ORGANIZATION, "name", organizations, lambda r: {
            "name": r.key, "created_at": now, "updated_at": now}, self._insert_organization)
        contacts = [r for r in refs if r.table == CONTACT]
        self._create(connection, CONTACT, "email", contacts, lambda r: {
            "email": r.key, "name": r.name,
            "organization_id": r.organization.id if r.organization is not None else None,
            "created_at": now, "updated_at": now}, self._insert_contact)
        for ref in contacts:
            if ref.id is not None and ref.id not in self.organization_of:
                self.organization_of[ref.id] = ref.organization.id if ref.organization is not None else None

    def _forget(self, refs: Iterable[Ref]) -> None:
        for ref in refs:
            if ref.missing == CREATE and not self.dry_run and ref.key is not None:
                ref.id = self.known[(ref.table, ref.by)].get(_fold(ref.table, ref.by, ref.key))
            elif ref.missing == CREATE and ref.key is None:
                ref.id = None

    def _create(self, connection: sa.Connection, table_name: str, by: str, refs: list[Ref], row: Any,
                insert: Any) -> None:
        table = self.compiled.table(table_name)
        keyless = [r for r in refs if r.key is None]
        for ref in keyless:  # a contact without an email address: nothing to find it by again, so one each
            ref.id = connection.execute(sa.insert(table).values(row(ref)).returning(table.c.id)).scalar_one()
        first: dict[Any, Ref] = {}
        for ref in refs:
            if ref.key is not None:
                found = self._found(table_name, by, ref.key)
                if found is None:
                    first.setdefault(_fold(table_name, by, ref.key), ref)
        if first:
            connection.execute(insert, [row(r) for r in first.values()])
            keys = [r.key for r in first.values()]
            column = table.c[by]
            for start in range(0, len(keys), LOOKUP_CHUNK):
                chunk = keys[start:start + LOOKUP_CHUNK]
                condition = sa.func.lower(column).in_([k.lower() for k in chunk]) if table_name == ORGANIZATION \
                    else column.in_(chunk)
                for row_id, value in connection.execute(sa.select(table.c.id, column).where(condition)):
                    self._made[(table_name, by)].setdefault(_fold(table_name, by, value), row_id)
        for ref in refs:
            if ref.key is not None:
                ref.id = self._found(table_name, by, ref.key)

    def _committed(self) -> None:
        for key, made in self._made.items():
            self.known[key].update(made)
        self._made.clear()

    def _rolled_back(self) -> None:
        for key, made in self._made.items():
            if key[0] == CONTACT:
                for contact_id in made.values():
                    self.organization_of.pop(contact_id, None)
        self._made.clear()


def _typed(column: sa.Column[Any], key: Any) -> Any:
    """A key as the column compares it: ids and numbers from a text file are text."""
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return key
    if python_type is int and isinstance(key, str) and key.strip().lstrip("-").isdigit():
        return int(key)
    return key

