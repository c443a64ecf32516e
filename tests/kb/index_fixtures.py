"""A migrated desk whose kb_articles are written straight to the tables, each write logged in kb_changes in the
same transaction, as the article service does (the index must not depend on that service to be tested)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.kb.index import KbIndex
from tests.tickets.service_fixtures import migrated_desk


@dataclass
class KbDesk:
    compiled: CompiledDesk
    engine: sa.Engine

    def _log(self, connection: sa.Connection, article_id: int, now: dt.datetime) -> None:
        connection.execute(sa.insert(self.compiled.table("kb_changes")), {"article_id": article_id,
                                                                         "changed_at": now})

    def insert(self, title: str, problem: str = "", solution: str = "", *, language: str = "en",
               status: str = "published", visibility: str = "public", translation_of: int | None = None,
               keywords: tuple[str, ...] = ()) -> int:
        now = dt.datetime.now(dt.UTC)
        values = {"title": title, "problem": problem, "solution": solution, "language": language,
                  "status": status, "visibility": visibility, "translation_of_id": translation_of,
                  "keywords": list(keywords), "version": 1, "views": 0, "helpful": 0, "not_helpful": 0,
                  "created_at": now, "updated_at": now}
        a = self.compiled.table("kb_articles")
        with self.engine.begin() as connection:
            article_id = int(connection.execute(sa.insert(a).values(values).returning(a.c.id)).scalar_one())
            self._log(connection, article_id, now)
        return article_id

    def update(self, article_id: int, **values: Any) -> None:
        now = dt.datetime.now(dt.UTC)
        a = self.compiled.table("kb_articles")
        with self.engine.begin() as connection:
            connection.execute(sa.update(a).where(a.c.id == article_id).values(values | {"updated_at": now}))
            self._log(connection, article_id, now)

    def delete(self, article_id: int) -> None:
        a = self.compiled.table("kb_articles")
        with self.engine.begin() as connection:
            connection.execute(sa.delete(a).where(a.c.id == article_id))
            self._log(connection, article_id, dt.datetime.now(dt.UTC))

    def index(self) -> KbIndex:
        """A fresh index, as another process would hold."""
        return KbIndex(self.compiled, self.engine)

    def clear(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.update(self.compiled.table("kb_articles")).values(translation_of_id=None))
            for table in ("kb_changes", "kb_articles"):
                connection.execute(sa.delete(self.compiled.table(table)))


def kb_desk(tmp: Path, database_url: str, settings: str = "") -> KbDesk:
    _, compiled, engine = migrated_desk(tmp, database_url, settings, seed=False)
    return KbDesk(compiled, engine)
