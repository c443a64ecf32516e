"""What the queue shows for a set of filters: one page of tickets through the listing (so the access rules of the
visiting agent apply to rows and counts alike), links to the pages before and after it, the counts per status
category, and the words for the desk's types, states and priorities in the visitor's language."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config.core_columns import PRIORITIES, STATUS_CATEGORIES
from runtime.config.ir import label_for
from runtime.pages.i18n import Translator
from runtime.pages.queue_filters import ALL, DEFAULT_SORT, QueueFilters, reversed_sort
from runtime.tickets.actors import Actor
from runtime.tickets.listing import RELEVANCE, encode_cursor, list_tickets

# The listing's parameter names, as the queue form calls them (its errors are shown beside the field).
LISTING_FIELDS = {"q": "q", "sort": "sort", "assignee": "assignee", "tag": "tags", "cursor": "cursor"}


@dataclass(frozen=True)
class QueuePage:
    rows: list[dict[str, Any]]
    total: int
    estimate: bool  # the listing stopped counting: ``total`` is a lower bound
    next_link: str | None
    previous_link: str | None
    first_link: str | None
    address: str  # of the page shown: the first page's own address when paging back has reached it


@dataclass(frozen=True)
class CategoryCount:
    category: str
    link: str
    total: int | None  # None: not counted yet (the page shows the links and asks for the counts after)
    estimate: bool
    current: bool


@dataclass(frozen=True)
class Directory:
    """Agents and teams by id, for the filter's choices and the rows' names; both small tables, read per page."""

    agents: tuple[tuple[int, str, bool], ...]  # id, name, active
    teams: tuple[tuple[int, str], ...]  # id, label

    def agent(self, agent_id: int | None) -> str | None:
        return next((name for id_, name, _ in self.agents if id_ == agent_id), None) if agent_id else None

    def team(self, team_id: int | None) -> str | None:
        return next((label for id_, label in self.teams if id_ == team_id), None) if team_id else None


def directory(connection: sa.Connection, compiled: CompiledDesk) -> Directory:
    agents, teams = compiled.table("agents"), compiled.table("teams")
    people = connection.execute(sa.select(agents.c.id, agents.c.name, agents.c.active).order_by(agents.c.name))
    groups = connection.execute(sa.select(teams.c.id, teams.c.label).order_by(teams.c.label))
    return Directory(tuple((r.id, r.name, bool(r.active)) for r in people), tuple((r.id, r.label) for r in groups))


class DeskLabels:
    """The desk's words for types, states (per workflow), priorities and status categories in one language."""

    def __init__(self, compiled: CompiledDesk, language: str) -> None:
        desk = compiled.definitions
        t = Translator(language)
        self.types = {tt.name: label_for(tt.label, language, tt.name) for tt in desk.types}
        self._workflow_of = {tt.name: tt.workflow for tt in desk.types}
        self._states = {w.name: {s.name: label_for(s.label, language, s.name) for s in w.states}
                        for w in desk.workflows}
        statuses: dict[str, str] = {}
        for workflow in desk.workflows:
            for state, label in self._states[workflow.name].items():
                statuses.setdefault(state, label)
        self.statuses = statuses
        self.priorities = {p: t(f"queue.priority_{p}") for p in PRIORITIES}
        self.categories = {c: t(f"queue.category_{c}") for c in (*STATUS_CATEGORIES, ALL)}

    def status(self, type_name: str, state: str) -> str:
        states = self._states.get(self._workflow_of.get(type_name, ""), {})
        return states.get(state) or self.statuses.get(state, state)


def labels_for(compiled: CompiledDesk, language: str) -> DeskLabels:
    return compiled.memo(("pages.queue.labels", language), lambda: DeskLabels(compiled, language))


def fetch(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, filters: QueueFilters) -> QueuePage:
    """The page the filters point at; raises the listing's InvalidTicket for a cursor it did not make."""
    query = filters.list_query()
    column = query.sort.lstrip("-")
    if filters.before:
        # Backwards: the rows after the cursor in the reverse order, turned around.
        found = list_tickets(connection, compiled, actor,
                             replace(query, sort=reversed_sort(query.sort), cursor=filters.before))
        rows, earlier, later = found.items[::-1], found.next_cursor is not None, True
    else:
        found = list_tickets(connection, compiled, actor, replace(query, cursor=filters.cursor))
        rows, earlier, later = found.items, filters.cursor is not None, found.next_cursor is not None
    next_link = previous_link = None
    if rows and later:
        after = found.next_cursor if query.sort == RELEVANCE else encode_cursor(rows[-1][column], rows[-1]["id"])
        next_link = filters.link(cursor=after)
    if rows and earlier and query.sort != RELEVANCE:
        previous_link = filters.link(before=encode_cursor(rows[0][column], rows[0]["id"]))
    deeper = filters.paged and (earlier or not rows)  # not the first page: it gets a link to the first
    address = filters.link(cursor=filters.cursor, before=filters.before) if deeper else filters.link()
    return QueuePage(rows, found.total, found.total_is_estimate, next_link, previous_link,
                     filters.link() if deeper else None, address)


def category_counts(connection: sa.Connection, compiled: CompiledDesk, actor: Actor, filters: QueueFilters
                    ) -> list[CategoryCount]:
    """How many tickets each status category (and all of them) holds under the other filters.

    Each is the listing's own bounded count (it stops at its limit and then reports an estimate, remembered for a
    few seconds), asked for with a one-row page in the cheapest order, so no count scans the whole table."""
    counts = []
    for category in (*STATUS_CATEGORIES, ALL):
        view = replace(filters, values={**filters.values, "category": category}, cursor=None, before=None)
        query = replace(view.list_query(), sort=DEFAULT_SORT, limit=1)
        found = list_tickets(connection, compiled, actor, query)
        counts.append(CategoryCount(category, view.link(), found.total, found.total_is_estimate,
                                    category == filters.category))
    return counts
