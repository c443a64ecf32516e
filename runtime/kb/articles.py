"""Knowledge-base articles: write, review, publish, archive, translate and rate them, every change versioned.

Who may do what:
- requesters read published public articles only, and rate them;
- agents read everything, write drafts, and edit their own drafts;
- reviewers (agents with the supervisor or admin role) edit any article, publish and archive; publishing an update
  proposal (a draft with ``update_of_id``) writes its text into the published article as its next version.

Every write keeps a version row (who, when, what) and appends to ``kb_changes`` in the same transaction, which is
how each process's retrieval index learns of it. Edits carry the version they are based on: a stale one is a
conflict, never a lost edit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.db.engine import write_transaction
from runtime.tickets.actors import Actor
from runtime.tickets.errors import Forbidden, InvalidTicket, StaleVersion, TicketError, TicketNotFound

DRAFT, PUBLISHED, ARCHIVED = "draft", "published", "archived"
STATUSES = (DRAFT, PUBLISHED, ARCHIVED)
VISIBILITIES = ("internal", "public")
TEXT_FIELDS = ("title", "problem", "solution", "category", "keywords")
EDITABLE = (*TEXT_FIELDS, "language", "visibility")


class ArticleNotFound(TicketNotFound):
    pass


class WrongState(TicketError):
    status = 409
    title = "Conflict"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def is_reviewer(actor: Actor) -> bool:
    return actor.kind in ("agent", "system") and (actor.has("supervisor") or actor.has("admin"))


def group_of(article: Mapping[str, Any]) -> int:
    """The translation group: the original's id, shared by all its translations."""
    return int(article.get("translation_of_id") or article["id"])


class KbArticles:
    def __init__(self, compiled: CompiledDesk, engine: sa.Engine) -> None:
        self.compiled = compiled
        self.engine = engine
        self.articles, self.versions = compiled.table("kb_articles"), compiled.table("kb_article_versions")
        self.sources, self.feedback = compiled.table("kb_article_sources"), compiled.table("kb_feedback")
        self.changes = compiled.table("kb_changes")
        self.categories = {c.value for c in compiled.definitions.categories}
        self.languages = compiled.definitions.project.languages

    # -- reading ----------------------------------------------------------------------------------------------

    def readable(self, actor: Actor) -> sa.ColumnElement[bool]:
        a = self.articles
        if actor.kind == "contact":
            return sa.and_(a.c.status == PUBLISHED, a.c.visibility == "public")
        return sa.true()

    def load(self, connection: sa.Connection, actor: Actor, article_id: int) -> dict[str, Any]:
        row = connection.execute(sa.select(self.articles).where(self.articles.c.id == article_id,
                                                                self.readable(actor))).first()
        if row is None:
            msg = f"no article {article_id}"
            raise ArticleNotFound(msg)
        return _plain(dict(row._mapping))

    def in_language(self, actor: Actor, article_id: int, language: str) -> int:
        """The id of the article's version in ``language`` that ``actor`` may read (published, for reading), or
        ``article_id`` itself when there is none: readers get their own language where it exists."""
        a = self.articles
        with self.engine.connect() as connection:
            group = group_of(self.load(connection, actor, article_id))
            found = connection.execute(sa.select(a.c.id).where(
                sa.or_(a.c.id == group, a.c.translation_of_id == group), a.c.language == language,
                a.c.status == PUBLISHED, self.readable(actor)).order_by(a.c.id).limit(1)).scalar()
        return int(found) if found is not None else article_id

    def get(self, actor: Actor, article_id: int, *, count_view: bool = False) -> dict[str, Any]:
        """The article with its translations and source tickets; ``count_view`` counts a reader's visit."""
        if count_view:
            with write_transaction(self.engine) as connection:
                self.load(connection, actor, article_id)
                connection.execute(sa.update(self.articles).where(self.articles.c.id == article_id).values(
                    views=sa.func.coalesce(self.articles.c.views, 0) + 1))
        with self.engine.connect() as connection:
            article = self.load(connection, actor, article_id)
            a = self.articles
            group = group_of(article)
            siblings = connection.execute(
                sa.select(a.c.id, a.c.language, a.c.status, a.c.title)
                .where(sa.or_(a.c.id == group, a.c.translation_of_id == group), a.c.id != article_id,
                       self.readable(actor)).order_by(a.c.language)).all()
            article["translations"] = [dict(r._mapping) for r in siblings]
            if actor.kind != "contact":
                s = self.sources
                article["source_tickets"] = [dict(r._mapping) for r in connection.execute(
                    sa.select(s.c.ticket_id, s.c.kind).where(s.c.article_id == article_id).order_by(s.c.ticket_id))]
        return article

    def page(self, actor: Actor, *, status: str | None = None, language: str | None = None,
             category: str | None = None, after: int | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Newest first (by id), ``after`` an id for the next page."""
        a = self.articles
        query = sa.select(a).where(self.readable(actor)).order_by(a.c.id.desc()).limit(limit)
        for column, value in (("status", status), ("language", language), ("category", category)):
            if value is not None:
                query = query.where(a.c[column] == value)
        if after is not None:
            query = query.where(a.c.id < after)
        with self.engine.connect() as connection:
            return [_plain(dict(r._mapping)) for r in connection.execute(query)]

    def history(self, actor: Actor, article_id: int) -> list[dict[str, Any]]:
        _staff(actor)
        with self.engine.connect() as connection:
            self.load(connection, actor, article_id)
            v = self.versions
            return [dict(r._mapping) for r in connection.execute(
                sa.select(v).where(v.c.article_id == article_id).order_by(v.c.version))]

    # -- writing ----------------------------------------------------------------------------------------------

    def _checked(self, values: Mapping[str, Any], *, creating: bool) -> dict[str, Any]:
        errors: list[dict[str, str]] = []
        clean: dict[str, Any] = {}
        for name, value in values.items():
            if name not in EDITABLE:
                errors.append({"field": name, "reason": f"not an article field; one of {', '.join(EDITABLE)}"})
                continue
            if name in ("title", "problem", "solution"):
                text = str(value or "").strip()
                if not text:
                    errors.append({"field": name, "reason": "required"})
                elif name == "title" and len(text) > 300:
                    errors.append({"field": name, "reason": "at most 300 characters"})
                clean[name] = text
            elif name == "category":
                if value is not None and value not in self.categories:
                    errors.append({"field": name, "reason": f"one of {', '.join(sorted(self.categories))}"})
                clean[name] = value
            elif name == "keywords":
                words = [str(w).strip() for w in (value or []) if str(w).strip()]
                if len(words) > 20:
                    errors.append({"field": name, "reason": "at most 20 keywords"})
                clean[name] = list(dict.fromkeys(words))
            elif name == "language":
                if value not in self.languages:
                    errors.append({"field": name, "reason": f"one of {', '.join(self.languages)}"})
                clean[name] = value
            elif name == "visibility":
                if value not in VISIBILITIES:
                    errors.append({"field": name, "reason": "internal or public"})
                clean[name] = value
        if creating:
            errors += [{"field": name, "reason": "required"} for name in ("title", "problem", "solution")
                       if name not in values]
        if errors:
            raise InvalidTicket("invalid article", errors)
        return clean

    def _changed(self, connection: sa.Connection, article_id: int, now: dt.datetime) -> None:
        connection.execute(sa.insert(self.changes), {"article_id": article_id, "changed_at": now})

    def _version(self, connection: sa.Connection, article: Mapping[str, Any], actor: Actor, now: dt.datetime,
                 note: str | None) -> None:
        connection.execute(sa.insert(self.versions), {
            "article_id": article["id"], "version": article["version"], "title": article["title"],
            "problem": article["problem"], "solution": article["solution"], "category": article.get("category"),
            "keywords": article.get("keywords") or [], "status": article["status"], "edited_by": actor.label,
            "edited_at": now, "note": note})

    def create_in(self, connection: sa.Connection, actor: Actor, values: Mapping[str, Any], *,
                  translation_of_id: int | None = None, update_of_id: int | None = None,
                  source_ticket_id: int | None = None, source_kind: str = "captured",
                  note: str | None = None) -> dict[str, Any]:
        """A new draft in the caller's transaction (capture writes one beside its decision)."""
        clean = self._checked(values, creating=True)
        now = _now()
        row = {"category": None, "keywords": [], "language": self.compiled.definitions.project.default_language,
               "visibility": "internal"} | clean | {
            "status": DRAFT, "version": 1, "views": 0, "helpful": 0, "not_helpful": 0,
            "author_agent_id": actor.id if actor.kind == "agent" else None, "translation_of_id": translation_of_id,
            "update_of_id": update_of_id, "created_at": now, "updated_at": now}
        article_id = connection.execute(sa.insert(self.articles).returning(self.articles.c.id), row).scalar_one()
        article = {"id": article_id, **row}
        self._version(connection, article, actor, now, note or "created")
        if source_ticket_id is not None:
            connection.execute(sa.insert(self.sources), {"article_id": article_id, "ticket_id": source_ticket_id,
                                                         "kind": source_kind, "created_at": now})
        self._changed(connection, article_id, now)
        return article

    def create(self, actor: Actor, values: Mapping[str, Any]) -> dict[str, Any]:
        _staff(actor)
        with write_transaction(self.engine) as connection:
            return self.create_in(connection, actor, values)

    def translate(self, actor: Actor, article_id: int, values: Mapping[str, Any]) -> dict[str, Any]:
        """A draft translation of ``article_id`` (``values`` must name its language); one per language and group."""
        _staff(actor)
        if "language" not in values:
            raise InvalidTicket("invalid translation", [{"field": "language", "reason": "required"}])
        with write_transaction(self.engine) as connection:
            original = self.load(connection, actor, article_id)
            group = group_of(original)
            a = self.articles
            taken = connection.execute(sa.select(a.c.id).where(
                sa.or_(a.c.id == group, a.c.translation_of_id == group), a.c.language == values["language"],
                a.c.status != ARCHIVED)).scalar()
            if taken is not None:
                msg = f"article {group} already has a {values['language']} version: article {taken}"
                raise WrongState(msg)
            keep = {k: original[k] for k in ("category", "keywords", "visibility")}
            return self.create_in(connection, actor, keep | dict(values), translation_of_id=group,
                                  note=f"translation of article {article_id}")

    def update(self, actor: Actor, article_id: int, values: Mapping[str, Any], version: int,
               note: str | None = None) -> dict[str, Any]:
        _staff(actor)
        with write_transaction(self.engine) as connection:
            article = self.load(connection, actor, article_id)
            if not (is_reviewer(actor) or (article["status"] == DRAFT and article["author_agent_id"] == actor.id)):
                msg = "agents edit their own drafts; reviewers (supervisor, admin) edit any article"
                raise Forbidden(msg)
            return self._write(connection, actor, article, self._checked(values, creating=False), version, note)

    def _write(self, connection: sa.Connection, actor: Actor, article: dict[str, Any], changes: dict[str, Any],
               version: int, note: str | None, **more: Any) -> dict[str, Any]:
        if version != article["version"]:
            msg = f"article {article['id']} is at version {article['version']}, not {version}: reload and retry"
            raise StaleVersion(msg)
        now = _now()
        a = self.articles
        values = {**changes, **more, "version": version + 1, "updated_at": now}
        done = connection.execute(sa.update(a).where(a.c.id == article["id"], a.c.version == version).values(**values))
        if done.rowcount != 1:
            msg = f"article {article['id']} changed meanwhile: reload and retry"
            raise StaleVersion(msg)
        after = {**article, **values}
        self._version(connection, after, actor, now, note)
        self._changed(connection, article["id"], now)
        return after

    def publish(self, actor: Actor, article_id: int, version: int) -> dict[str, Any]:
        """Publish a draft; a draft that proposes an update is written into its article, which stays published,
        and is archived itself."""
        _reviewer(actor)
        with write_transaction(self.engine) as connection:
            article = self.load(connection, actor, article_id)
            if article["status"] != DRAFT:
                msg = f"article {article_id} is {article['status']}, not a draft"
                raise WrongState(msg)
            now = _now()
            target_id = article.get("update_of_id")
            if target_id is None:
                return self._write(connection, actor, article, {}, version, "published", status=PUBLISHED,
                                   reviewer_agent_id=actor.id, published_at=now)
            target = self.load(connection, actor, target_id)
            text = {k: article[k] for k in TEXT_FIELDS}
            updated = self._write(connection, actor, target, text, target["version"],
                                  f"update from draft {article_id}", reviewer_agent_id=actor.id)
            self._write(connection, actor, article, {}, version, f"merged into article {target_id}",
                        status=ARCHIVED)
            connection.execute(sa.insert(self.sources).from_select(
                ["article_id", "ticket_id", "kind", "created_at"],
                sa.select(sa.literal(target_id), self.sources.c.ticket_id, self.sources.c.kind, sa.literal(now))
                .where(self.sources.c.article_id == article_id,
                       self.sources.c.ticket_id.not_in(sa.select(self.sources.c.ticket_id).where(
                           self.sources.c.article_id == target_id)))))
            return updated

    def archive(self, actor: Actor, article_id: int, version: int) -> dict[str, Any]:
        _reviewer(actor)
        with write_transaction(self.engine) as connection:
            article = self.load(connection, actor, article_id)
            if article["status"] == ARCHIVED:
                msg = f"article {article_id} is archived already"
                raise WrongState(msg)
            return self._write(connection, actor, article, {}, version, "archived", status=ARCHIVED)

    def delete(self, actor: Actor, article_id: int) -> None:
        """Drafts only (by their author or a reviewer): what was published is archived, never erased."""
        _staff(actor)
        with write_transaction(self.engine) as connection:
            article = self.load(connection, actor, article_id)
            if article["status"] != DRAFT:
                msg = f"article {article_id} is {article['status']}: archive it instead"
                raise WrongState(msg)
            if not (is_reviewer(actor) or article["author_agent_id"] == actor.id):
                msg = "only the author or a reviewer deletes a draft"
                raise Forbidden(msg)
            connection.execute(sa.delete(self.articles).where(self.articles.c.id == article_id))
            self._changed(connection, article_id, _now())

    # -- readers' verdicts ------------------------------------------------------------------------------------

    def rate(self, actor: Actor | None, article_id: int, kind: str, *, ticket_id: int | None = None,
             query: str | None = None) -> dict[str, Any]:
        """helpful, not_helpful, or solved ("this solved it": helpful, and a request that needed no ticket).
        ``actor`` None: an anonymous reader of the public portal."""
        if kind not in ("helpful", "not_helpful", "solved"):
            raise InvalidTicket("invalid feedback", [{"field": "kind", "reason": "helpful, not_helpful or solved"}])
        reader = actor or Actor("contact", None, "anonymous", frozenset())
        a = self.articles
        with write_transaction(self.engine) as connection:
            self.load(connection, reader, article_id)
            column = "not_helpful" if kind == "not_helpful" else "helpful"
            connection.execute(sa.update(a).where(a.c.id == article_id).values(
                {column: sa.func.coalesce(a.c[column], 0) + 1}))
            connection.execute(sa.insert(self.feedback), {
                "article_id": article_id, "kind": kind, "ticket_id": ticket_id,
                "contact_id": reader.id if reader.kind == "contact" else None,
                "agent_id": reader.id if reader.kind == "agent" else None,
                "query": (query or None) and str(query)[:2000], "created_at": _now()})
            row = connection.execute(sa.select(a.c.helpful, a.c.not_helpful).where(a.c.id == article_id)).one()
            return {"article_id": article_id, "helpful": row.helpful or 0, "not_helpful": row.not_helpful or 0}


def _plain(article: dict[str, Any]) -> dict[str, Any]:
    for name in ("views", "helpful", "not_helpful"):
        article[name] = article.get(name) or 0
    article["keywords"] = article.get("keywords") or []
    return article


def _staff(actor: Actor) -> None:
    if actor.kind not in ("agent", "system"):
        msg = "writing articles is for agents"
        raise Forbidden(msg)


def _reviewer(actor: Actor) -> None:
    if not is_reviewer(actor):
        msg = "publishing and archiving articles is for reviewers (supervisor or admin)"
        raise Forbidden(msg)
