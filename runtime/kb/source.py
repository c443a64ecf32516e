"""What the retrieval index reads from the database: articles, their text for passages, and the change log."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.kb.corpus import Article

CHUNK = 1_000


def _articles(compiled: CompiledDesk) -> sa.Table:
    return compiled.table("kb_articles")


def _changes(compiled: CompiledDesk) -> sa.Table:
    return compiled.table("kb_changes")


def _select_articles(compiled: CompiledDesk) -> sa.Select[Any]:
    a = _articles(compiled)
    return sa.select(a.c.id, a.c.title, a.c.problem, a.c.solution, a.c.keywords, a.c.language, a.c.status,
                     a.c.visibility, a.c.translation_of_id)


def _article(row: sa.Row[Any]) -> Article:
    keywords = row.keywords if isinstance(row.keywords, list) else []
    return Article(int(row.id), row.title or "", row.problem or "", row.solution or "",
                   tuple(str(k) for k in keywords), row.language or "", row.status or "", row.visibility or "",
                   int(row.translation_of_id or row.id))


def count_articles(connection: sa.Connection, compiled: CompiledDesk) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(_articles(compiled))).scalar_one())


def all_articles(connection: sa.Connection, compiled: CompiledDesk) -> Iterator[Article]:
    """Every article in id order, read a chunk at a time (keyset, so no server-side cursor is held open)."""
    a = _articles(compiled)
    after = 0
    while True:
        rows = connection.execute(_select_articles(compiled).where(a.c.id > after).order_by(a.c.id)
                                  .limit(CHUNK)).all()
        yield from (_article(row) for row in rows)
        if len(rows) < CHUNK:
            return
        after = int(rows[-1].id)


def articles(connection: sa.Connection, compiled: CompiledDesk, ids: Collection[int]) -> dict[int, Article]:
    """The articles of ``ids`` that exist."""
    a = _articles(compiled)
    found: dict[int, Article] = {}
    ordered = sorted(ids)
    for start in range(0, len(ordered), CHUNK):
        for row in connection.execute(_select_articles(compiled).where(a.c.id.in_(ordered[start:start + CHUNK]))):
            found[int(row.id)] = _article(row)
    return found


def texts(connection: sa.Connection, compiled: CompiledDesk, ids: Sequence[int]) -> dict[int, tuple[str, str, str]]:
    """Title, problem and solution of each article, for its passage."""
    def build() -> sa.Select[Any]:
        a = _articles(compiled)
        return sa.select(a.c.id, a.c.title, a.c.problem, a.c.solution).where(
            a.c.id.in_(sa.bindparam("ids", expanding=True)))

    statement = compiled.memo(("kb_index", "texts"), build)
    return {int(r.id): (r.title or "", r.problem or "", r.solution or "")
            for r in connection.execute(statement, {"ids": list(ids)})}


def latest_change(connection: sa.Connection, compiled: CompiledDesk) -> int:
    return int(connection.execute(sa.select(sa.func.max(_changes(compiled).c.id))).scalar() or 0)


def recent_change_ids(connection: sa.Connection, compiled: CompiledDesk, after: int) -> set[int]:
    c = _changes(compiled)
    return {int(i) for i in connection.execute(sa.select(c.c.id).where(c.c.id > after)).scalars()}


def changes(connection: sa.Connection, compiled: CompiledDesk, after: int,
            pending: Collection[int]) -> list[tuple[int, int]]:
    """(change id, article id) of changes after ``after`` and of the ``pending`` ids: one query on the key."""
    def build() -> sa.Select[Any]:
        c = _changes(compiled)
        return sa.select(c.c.id, c.c.article_id).where(sa.or_(
            c.c.id > sa.bindparam("after"), c.c.id.in_(sa.bindparam("pending", expanding=True))))

    statement = compiled.memo(("kb_index", "changes"), build)
    return [(int(i), int(a)) for i, a in connection.execute(statement, {"after": after, "pending": list(pending)})]
