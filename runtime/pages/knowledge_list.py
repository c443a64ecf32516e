"""The agents' article list: filters read from the query string, the newest articles or the best matches of a
search (the retrieval index the API searches), and how many proposals wait for a reviewer.

Every query here is limited by ``KbArticles.readable`` for the visitor's actor, so the knowledge base's access
rules hold even where these pages ask more than ``KbArticles.page`` can (visibility, proposals, several statuses).
A "proposal" is a draft that capture wrote from a resolved ticket, or one proposing an update to a published
article: the drafts a reviewer is waiting on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa

from runtime.kb.articles import ARCHIVED, DRAFT, PUBLISHED, VISIBILITIES, KbArticles
from runtime.kb.index import index_for
from runtime.tickets.actors import Actor
from runtime.tickets.listing import MAX_ID

PROPOSED = "proposed"
STATUS_CHOICES = (PUBLISHED, DRAFT, PROPOSED, ARCHIVED)  # the empty choice: published and drafts
PAGE_SIZE = 50
FOUND = 50
MAX_SEARCH = 500


class BadFilter(ValueError):
    """A filter value the page does not offer; the message names the parameter and what it may be."""


@dataclass(frozen=True)
class Filters:
    q: str = ""
    status: str = ""
    visibility: str = ""
    language: str = ""
    category: str = ""
    after: int | None = None

    def query(self, **changes: Any) -> str:
        """This listing's address with ``changes``, empty values left out (so one view has one address)."""
        values = {"q": self.q, "status": self.status, "visibility": self.visibility, "language": self.language,
                  "category": self.category, "after": self.after or ""} | changes
        shown = {k: v for k, v in values.items() if v not in ("", None)}
        return "/knowledge" + (f"?{urlencode(shown)}" if shown else "")


def read_filters(params: Mapping[str, str], languages: Sequence[str], categories: Sequence[str]) -> Filters:
    """The filters of the query string; a value no select offers is refused rather than silently ignored."""
    def one(name: str, allowed: Sequence[str]) -> str:
        value = str(params.get(name) or "").strip()
        if value and value not in allowed:
            msg = f"{name}: one of {', '.join(allowed)}"
            raise BadFilter(msg)
        return value

    q = str(params.get("q") or "").strip()
    if len(q) > MAX_SEARCH or "\x00" in q:
        msg = f"q: at most {MAX_SEARCH} characters of text"
        raise BadFilter(msg)
    raw_after = str(params.get("after") or "").strip()
    if raw_after and not (raw_after.isdigit() and 0 < int(raw_after) <= MAX_ID):
        msg = "after: an article id"
        raise BadFilter(msg)
    return Filters(q, one("status", STATUS_CHOICES), one("visibility", VISIBILITIES), one("language", languages),
                   one("category", categories), int(raw_after) if raw_after else None)


@dataclass(frozen=True)
class Listing:
    rows: list[dict[str, Any]]
    next_after: int | None  # the id to continue after, when there are more
    proposals: int  # proposals waiting for review
    drafts: int  # drafts of any origin


class KnowledgeList:
    def __init__(self, articles: KbArticles) -> None:
        self.kb = articles
        a = articles.articles
        s = articles.sources
        self._captured = sa.exists().where(s.c.article_id == a.c.id, s.c.kind == "captured")
        self._proposal = sa.and_(a.c.status == DRAFT, sa.or_(a.c.update_of_id.is_not(None), self._captured))

    def _where(self, actor: Actor, filters: Filters) -> list[sa.ColumnElement[bool]]:
        a = self.kb.articles
        where = [self.kb.readable(actor)]
        if filters.status == PROPOSED:
            where.append(self._proposal)
        elif filters.status:
            where.append(a.c.status == filters.status)
        else:
            where.append(a.c.status.in_((PUBLISHED, DRAFT)))  # archived ones only when asked for
        for name in ("visibility", "language", "category"):
            value = getattr(filters, name)
            if value:
                where.append(a.c[name] == value)
        return where

    def _select(self) -> sa.Select[Any]:
        a = self.kb.articles
        return sa.select(a.c.id, a.c.title, a.c.status, a.c.visibility, a.c.language, a.c.category, a.c.version,
                         a.c.updated_at, a.c.update_of_id, a.c.translation_of_id,
                         self._proposal.label("proposal"))

    def counts(self, connection: sa.Connection, actor: Actor) -> tuple[int, int]:
        a = self.kb.articles
        row = connection.execute(sa.select(
            sa.func.count().filter(self._proposal), sa.func.count().filter(a.c.status == DRAFT))
            .select_from(a).where(self.kb.readable(actor))).one()
        return int(row[0] or 0), int(row[1] or 0)

    def listing(self, actor: Actor, filters: Filters, reader_language: str) -> Listing:
        a = self.kb.articles
        with self.kb.engine.connect() as connection:
            proposals, drafts = self.counts(connection, actor)
            if filters.q:
                return Listing(self._found(connection, actor, filters, reader_language), None, proposals, drafts)
            query = self._select().where(*self._where(actor, filters)).order_by(a.c.id.desc()).limit(PAGE_SIZE + 1)
            if filters.after is not None:
                query = query.where(a.c.id < filters.after)
            rows = [dict(r._mapping) for r in connection.execute(query)]
        more = len(rows) > PAGE_SIZE
        rows = rows[:PAGE_SIZE]
        return Listing(rows, int(rows[-1]["id"]) if more else None, proposals, drafts)

    def _found(self, connection: sa.Connection, actor: Actor, filters: Filters, reader_language: str
               ) -> list[dict[str, Any]]:
        """The index's best matches (one per translation group, the wanted language first), then the filters the
        index does not know (category, proposals, language as a hard filter) and the access rules in SQL."""
        if filters.status == PROPOSED:
            statuses: tuple[str, ...] = (DRAFT,)
        elif filters.status:
            statuses = (filters.status,)
        else:
            statuses = (PUBLISHED, DRAFT)
        visibilities = (filters.visibility,) if filters.visibility else VISIBILITIES
        hits = index_for(self.kb.compiled, self.kb.engine).search(
            filters.q, language=filters.language or reader_language, k=FOUND, statuses=statuses,
            visibilities=visibilities)
        if not hits:
            return []
        a = self.kb.articles
        found = {int(r.id): dict(r._mapping) for r in connection.execute(
            self._select().where(a.c.id.in_([h.article_id for h in hits]), *self._where(actor, filters)))}
        return [found[h.article_id] | {"passage": h.passage} for h in hits if h.article_id in found]
