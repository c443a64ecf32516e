"""Full-text search behind the ticket list's ``q``: the words of a search box → matching tickets and a relevance.

Each ticket (number, title, description) and each comment is one document in the index (runtime/db/search.py).
A ticket matches when every word is found in it or in one of its comments, so 'printer Berlin' finds a ticket
titled 'Printer jam' whose reply mentions Berlin; the last word is a prefix ('print' finds 'printer').
Requesters search public comments only, as they read only those.

User text never reaches the query language: it is cut into words of letters, digits and marks (which is how
both indexes cut text), and each word is sent as a quoted term in a bound parameter. So quotes, brackets,
AND/OR/NEAR, '*' or '-' are only separators and cannot make the database fail.

Relevance is the sum, over the words, of each word's best score in the ticket or one of its comments
(BM25 on SQLite, ts_rank on PostgreSQL, weighted by column): BM25 itself is such a sum over terms.
"""

from __future__ import annotations

import unicodedata
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db import search
from runtime.tickets.actors import Actor
from runtime.tickets.errors import InvalidTicket

MAX_WORDS = 16  # each word is one index lookup per table; more than a person types into a search box


def words(text: str) -> list[str]:
    """The distinct words of ``text``, in order: runs of letters, digits and marks (FTS5's token characters)."""
    found: list[str] = []
    current: list[str] = []
    for char in unicodedata.normalize("NFC", text) + " ":
        category = unicodedata.category(char)
        if category[0] in "LNM" or category == "Co":
            current.append(char)
        elif current:
            word = "".join(current)
            if word not in found:
                found.append(word)
            current = []
    return found


def _check(found: list[str]) -> None:
    if len(found) > MAX_WORDS:
        raise InvalidTicket("bad list parameter 'q'", [{"field": "q", "reason": f"at most {MAX_WORDS} words"}])


def _sqlite_term(word: str, prefix: bool) -> str:
    return '"' + word.replace('"', '""') + '"' + ("*" if prefix else "")


def _pg_term(word: str, prefix: bool) -> str:
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "'" + (":*" if prefix else "")


def _hits(compiled: CompiledDesk, table_name: str, dialect: str, word: str, prefix: bool,
          public_only: bool) -> sa.Select[tuple[int, float]]:
    """(ticket id, score) for each document of ``table_name`` that holds ``word``; higher scores are better."""
    table = compiled.table(table_name)
    columns: search.Columns = table.info["search"]
    ticket_id = table.c.id if table_name == "tickets" else table.c.ticket_id
    if dialect == "sqlite":
        fts_name = search.fts_table(table_name)
        fts = sa.table(fts_name, sa.column("rowid"))
        fts_ref: sa.ColumnElement[Any] = sa.literal_column(fts_name)
        weights = [search.BM25_WEIGHTS[w] for w in columns.values()]
        # bm25() is negative, and more so for a better match.
        score: sa.ColumnElement[float] = -sa.func.bm25(fts_ref, *weights)
        source: sa.FromClause = fts if table_name == "tickets" else fts.join(table, table.c.id == fts.c.rowid)
        key = fts.c.rowid if table_name == "tickets" else ticket_id  # a ticket's rowid is its id
        hits = sa.select(key.label("ticket_id"), score.label("score")).select_from(source).where(
            fts_ref.op("MATCH")(_sqlite_term(word, prefix)))
    else:
        document: sa.ColumnElement[Any] = sa.literal_column(search.pg_document(columns, f"{table_name}."))
        query = sa.func.to_tsquery(sa.literal_column(f"'{search.CONFIG}'::regconfig"), _pg_term(word, prefix))
        hits = sa.select(ticket_id.label("ticket_id"), sa.func.ts_rank(document, query).label("score")).where(
            document.op("@@")(query))
    if public_only and table_name == "comments":
        hits = hits.where(table.c.public.is_(True))
    return hits


def matches(compiled: CompiledDesk, actor: Actor, text: str, dialect: str) -> sa.Subquery | None:
    """(ticket_id, relevance) of every ticket matching all words of ``text``; None when it has no words.
    Access rules are not applied here: the list joins this to its own filtered query."""
    found = words(text)
    _check(found)
    if not found:
        return None
    terms = []
    for position, word in enumerate(found):
        prefix = position == len(found) - 1
        either = sa.union_all(*(_hits(compiled, t, dialect, word, prefix, actor.kind == "contact")
                                for t in ("tickets", "comments"))).subquery()
        terms.append(sa.select(either.c.ticket_id, sa.func.max(either.c.score).label("score"))
                     .group_by(either.c.ticket_id).subquery(f"term_{position}"))
    first, *others = terms
    joined: sa.FromClause = first
    for term in others:
        joined = joined.join(term, term.c.ticket_id == first.c.ticket_id)
    # PostgreSQL's ranks are 4-byte floats; as double precision they come back equal in a cursor.
    relevance = sa.cast(sum((t.c.score for t in others), first.c.score), sa.Float)
    return sa.select(first.c.ticket_id, relevance.label("relevance")).select_from(joined).subquery("matches")


def related(compiled: CompiledDesk, text: str, dialect: str, max_words: int = 8) -> sa.Subquery | None:
    """(ticket_id, relevance) of every ticket whose number, title or description holds any of the first
    ``max_words`` words of ``text``, relevance summed over the words it holds: candidates for "tickets like this
    one", to be ranked further by the caller. None when ``text`` has no words."""
    found = words(text)[:max_words]
    if not found:
        return None
    hits = sa.union_all(*(_hits(compiled, "tickets", dialect, word, False, False) for word in found)).subquery()
    relevance = sa.cast(sa.func.sum(hits.c.score), sa.Float)
    return (sa.select(hits.c.ticket_id, relevance.label("relevance")).group_by(hits.c.ticket_id)
            .subquery("related"))
