"""Tables the runtime owns whatever the desk defines: people, conversation, audit, SLA, intake, AI, jobs."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.compile.columns import Id, Json, UtcDateTime

TS = UtcDateTime()


def _id() -> sa.Column[Any]:
    return sa.Column("id", Id(), primary_key=True, autoincrement=True)


def _fk(name: str, target: str, *, nullable: bool = True, ondelete: str = "SET NULL", index: bool = True
        ) -> sa.Column[Any]:
    return sa.Column(name, Id(), sa.ForeignKey(f"{target}.id", ondelete=ondelete), nullable=nullable, index=index)


def _stamps() -> list[sa.Column[Any]]:
    return [sa.Column("created_at", TS, nullable=False), sa.Column("updated_at", TS, nullable=False)]


def add_people(md: sa.MetaData) -> None:
    sa.Table("organizations", md, _id(), sa.Column("name", sa.String(200), nullable=False, unique=True),
             sa.Column("domain", sa.String(253), index=True), sa.Column("notes", sa.Text()), *_stamps())
    sa.Table("contacts", md, _id(), sa.Column("email", sa.String(320), unique=True),
             sa.Column("name", sa.String(200)), sa.Column("phone", sa.String(40)),
             sa.Column("language", sa.String(16)), _fk("organization_id", "organizations"),
             sa.Column("bounced_at", TS), sa.Column("password_hash", sa.String(255)),
             # Requesters see their organization's tickets only when this is set for them.
             sa.Column("sees_organization_tickets", sa.Boolean(create_constraint=False)), *_stamps())
    sa.Table("teams", md, _id(), sa.Column("name", sa.String(64), nullable=False, unique=True),
             sa.Column("label", sa.String(200), nullable=False), sa.Column("email", sa.String(320)),
             _fk("lead_id", "agents", index=False), *_stamps())
    sa.Table("agents", md, _id(), sa.Column("username", sa.String(64), nullable=False, unique=True),
             sa.Column("email", sa.String(320), nullable=False, unique=True),
             sa.Column("name", sa.String(200), nullable=False), sa.Column("password_hash", sa.String(255)),
             sa.Column("roles", Json(), nullable=False), sa.Column("skills", Json(), nullable=False),
             sa.Column("capacity", sa.Integer(), nullable=False), sa.Column("calendar", sa.String(64)),
             sa.Column("language", sa.String(16)), sa.Column("away", sa.Boolean(create_constraint=False),
                                                             nullable=False),
             sa.Column("active", sa.Boolean(create_constraint=False), nullable=False),
             _fk("manager_id", "agents"), *_stamps())
    sa.Table("team_members", md, _fk("team_id", "teams", nullable=False, ondelete="CASCADE", index=False),
             _fk("agent_id", "agents", nullable=False, ondelete="CASCADE"),
             sa.PrimaryKeyConstraint("team_id", "agent_id"))


def add_conversation(md: sa.MetaData) -> None:
    sa.Table("attachments", md, _id(), sa.Column("sha256", sa.String(64), nullable=False, index=True),
             sa.Column("filename", sa.String(255), nullable=False),
             sa.Column("content_type", sa.String(127), nullable=False),
             sa.Column("size", sa.BigInteger(), nullable=False), _fk("ticket_id", "tickets", ondelete="CASCADE"),
             sa.Column("comment_id", Id(), index=True), sa.Column("created_at", TS, nullable=False))
    sa.Table("comments", md, _id(), _fk("ticket_id", "tickets", nullable=False, ondelete="CASCADE"),
             sa.Column("public", sa.Boolean(create_constraint=False), nullable=False),
             sa.Column("direction", sa.String(8), nullable=False), sa.Column("channel", sa.String(16), nullable=False),
             sa.Column("body", sa.Text(), nullable=False), sa.Column("body_html", sa.Text()),
             _fk("author_agent_id", "agents"), _fk("author_contact_id", "contacts"),
             sa.Column("message_id", sa.String(998), index=True), sa.Column("created_at", TS, nullable=False),
             # Full-text search: every comment is a document of its ticket's, internal notes too (the query
             # leaves those out for requesters).
             info={"search": {"body": "D"}})
    sa.Table("ticket_events", md, _id(), _fk("ticket_id", "tickets", nullable=False, ondelete="CASCADE"),
             sa.Column("at", TS, nullable=False), sa.Column("actor", sa.String(200), nullable=False),
             sa.Column("channel", sa.String(16), nullable=False), sa.Column("action", sa.String(32), nullable=False),
             sa.Column("field", sa.String(64)), sa.Column("old_value", Json()), sa.Column("new_value", Json()))
    sa.Table("ticket_links", md, _id(), _fk("ticket_id", "tickets", nullable=False, ondelete="CASCADE"),
             _fk("other_id", "tickets", nullable=False, ondelete="CASCADE"),
             sa.Column("relation", sa.String(16), nullable=False), sa.Column("created_at", TS, nullable=False),
             # How alike the two tickets' texts are, for links intake made on suspecting a near duplicate.
             sa.Column("score", sa.Float()),
             sa.UniqueConstraint("ticket_id", "other_id", "relation"))
    sa.Table("ticket_counters", md, sa.Column("prefix", sa.String(8), primary_key=True),
             sa.Column("last_number", sa.BigInteger(), nullable=False))


def add_operations(md: sa.MetaData) -> None:
    # One clock per ticket and metric, and a new one for each customer reply that awaits an answer
    # (next_response). elapsed_seconds is the business time banked up to running_since; while running, the
    # rest is measured from running_since on the calendar, so a clock is never "ticked".
    sa.Table("sla_timers", md, _id(), _fk("ticket_id", "tickets", nullable=False, ondelete="CASCADE"),
             sa.Column("metric", sa.String(16), nullable=False), sa.Column("policy", sa.String(64), nullable=False),
             sa.Column("state", sa.String(12), nullable=False), sa.Column("target_seconds", sa.BigInteger()),
             sa.Column("elapsed_seconds", sa.BigInteger(), nullable=False), sa.Column("started_at", TS),
             sa.Column("due_at", TS, index=True), sa.Column("next_check_at", TS, index=True),
             sa.Column("pauses", Json(), nullable=False), sa.Column("calendar", sa.String(64)),
             sa.Column("running_since", TS), sa.Column("breached_at", TS), sa.Column("stopped_at", TS),
             sa.Column("fired", Json()))
    sa.Table("sla_events", md, _id(), _fk("timer_id", "sla_timers", nullable=False, ondelete="CASCADE"),
             sa.Column("kind", sa.String(32), nullable=False), sa.Column("escalation", sa.Integer()),
             sa.Column("at", TS, nullable=False), sa.Column("detail", Json()),
             sa.UniqueConstraint("timer_id", "kind", "escalation"))
    sa.Table("notifications", md, _id(), _fk("agent_id", "agents", nullable=False, ondelete="CASCADE", index=False),
             _fk("ticket_id", "tickets", ondelete="CASCADE"), sa.Column("kind", sa.String(32), nullable=False),
             sa.Column("title", sa.String(300), nullable=False), sa.Column("body", sa.Text()),
             sa.Column("created_at", TS, nullable=False), sa.Column("read_at", TS),
             sa.Index(None, "agent_id", "read_at", "id"))
    sa.Table("kb_articles", md, _id(), sa.Column("title", sa.String(300), nullable=False),
             sa.Column("problem", sa.Text(), nullable=False), sa.Column("solution", sa.Text(), nullable=False),
             sa.Column("category", sa.String(64)), sa.Column("language", sa.String(16), nullable=False),
             sa.Column("status", sa.String(16), nullable=False), sa.Column("visibility", sa.String(16), nullable=False),
             _fk("translation_of_id", "kb_articles"), *_stamps(),
             # Nullable only so that databases from before them upgrade in place; the service always writes them.
             sa.Column("keywords", Json()), sa.Column("version", sa.Integer()), sa.Column("views", sa.Integer()),
             sa.Column("helpful", sa.Integer()), sa.Column("not_helpful", sa.Integer()),
             _fk("author_agent_id", "agents", index=False), _fk("reviewer_agent_id", "agents", index=False),
             sa.Column("published_at", TS),
             # A draft that proposes new text for a published article (capture found a near duplicate).
             _fk("update_of_id", "kb_articles"), sa.Index(None, "status", "visibility", "language"))
    # Every saved state of an article, so that an edit can be read back and undone.
    sa.Table("kb_article_versions", md, _id(), _fk("article_id", "kb_articles", nullable=False, ondelete="CASCADE",
                                                   index=False),
             sa.Column("version", sa.Integer(), nullable=False), sa.Column("title", sa.String(300), nullable=False),
             sa.Column("problem", sa.Text(), nullable=False), sa.Column("solution", sa.Text(), nullable=False),
             sa.Column("category", sa.String(64)), sa.Column("keywords", Json()),
             sa.Column("status", sa.String(16), nullable=False), sa.Column("edited_by", sa.String(200), nullable=False),
             sa.Column("edited_at", TS, nullable=False), sa.Column("note", sa.Text()),
             sa.UniqueConstraint("article_id", "version"))
    # The tickets an article was written from (capture) or that it solved.
    sa.Table("kb_article_sources", md,
             sa.Column("article_id", Id(), sa.ForeignKey("kb_articles.id", ondelete="CASCADE"), primary_key=True),
             sa.Column("ticket_id", Id(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
             sa.Column("kind", sa.String(16), nullable=False), sa.Column("created_at", TS, nullable=False),
             sa.Index(None, "ticket_id"))
    # Readers' verdicts: helpful, not helpful, or "this solved it" (a request the article answered before it became
    # a ticket).
    sa.Table("kb_feedback", md, _id(), _fk("article_id", "kb_articles", nullable=False, ondelete="CASCADE"),
             sa.Column("kind", sa.String(16), nullable=False), _fk("ticket_id", "tickets", index=False),
             _fk("contact_id", "contacts", index=False), _fk("agent_id", "agents", index=False),
             sa.Column("query", sa.Text()), sa.Column("created_at", TS, nullable=False))
    # Every change to an article, in order: each process's retrieval index replays what it has not seen yet, so that
    # all of them stay in step with edits and deletes made anywhere. Not a foreign key: a deleted article's change
    # must outlive it.
    sa.Table("kb_changes", md, _id(), sa.Column("article_id", Id(), nullable=False),
             sa.Column("changed_at", TS, nullable=False))
    sa.Table("intake_messages", md, _id(), sa.Column("channel", sa.String(16), nullable=False),
             sa.Column("source", sa.String(200), nullable=False),
             sa.Column("external_id", sa.String(998), nullable=False), sa.Column("raw", sa.LargeBinary(),
                                                                                 nullable=False),
             sa.Column("metadata", Json(), nullable=False), sa.Column("state", sa.String(16), nullable=False,
                                                                         index=True),
             sa.Column("error", sa.Text()), _fk("ticket_id", "tickets"), sa.Column("received_at", TS, nullable=False),
             sa.Column("processed_at", TS), sa.UniqueConstraint("channel", "source", "external_id"),
             # Threading and duplicates look a Message-ID up whatever mailbox (source) it arrived through.
             sa.Index(None, "channel", "external_id"))
    # How far each polled IMAP folder has been read: a UID is only meaningful with its folder's UIDVALIDITY.
    sa.Table("intake_cursors", md, sa.Column("mailbox", sa.String(64), primary_key=True),
             sa.Column("folder", sa.String(200), primary_key=True), sa.Column("uidvalidity", sa.BigInteger(),
                                                                               nullable=False),
             sa.Column("last_uid", sa.BigInteger(), nullable=False), sa.Column("updated_at", TS, nullable=False))
    # Acknowledgements sent, so that one sender (or a loop of auto-replies) gets only so many per hour.
    sa.Table("intake_acks", md, _id(), sa.Column("address", sa.String(320), nullable=False),
             _fk("ticket_id", "tickets", ondelete="CASCADE", index=False), sa.Column("sent_at", TS, nullable=False),
             sa.Index(None, "address", "sent_at"))
    sa.Table("ai_decisions", md, _id(), _fk("ticket_id", "tickets", nullable=False, ondelete="CASCADE"),
             sa.Column("kind", sa.String(16), nullable=False), sa.Column("provider", sa.String(32), nullable=False),
             sa.Column("output", Json(), nullable=False), sa.Column("confidence", sa.Float()),
             sa.Column("explanation", sa.Text()), sa.Column("applied", sa.Boolean(create_constraint=False),
                                                            nullable=False),
             sa.Column("overridden_by", sa.String(200)), sa.Column("created_at", TS, nullable=False),
             # What the decision was made from (a hash, so that equal inputs can be recognised without keeping
             # the text twice), by which model, at what cost.
             sa.Column("inputs_hash", sa.String(64)), sa.Column("model", sa.String(200)),
             sa.Column("latency_ms", sa.Float()), sa.Column("tokens", sa.Integer()),
             # A person's verdict: queued (waiting in the triage queue), accepted, overridden or dismissed.
             sa.Column("review", sa.String(16)), sa.Column("reviewed_by", sa.String(200)),
             sa.Column("reviewed_at", TS), sa.Index(None, "review", "kind"))
    # New tickets waiting for the worker's triage: what the creator gave (triage leaves those fields alone) and
    # the values at creation (a field a person changes meanwhile is left alone too). Done rows are deleted.
    sa.Table("triage_jobs", md, sa.Column("ticket_id", Id(), sa.ForeignKey("tickets.id", ondelete="CASCADE"),
                                          primary_key=True),
             sa.Column("given", Json(), nullable=False), sa.Column("initial", Json(), nullable=False),
             sa.Column("run_at", TS, nullable=False), sa.Column("attempts", sa.Integer(), nullable=False),
             sa.Column("locked_until", TS), sa.Column("last_error", sa.Text()), sa.Index(None, "run_at"))
    sa.Table("api_tokens", md, _id(), _fk("agent_id", "agents", nullable=False, ondelete="CASCADE"),
             sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
             sa.Column("label", sa.String(200), nullable=False), sa.Column("created_at", TS, nullable=False),
             sa.Column("scopes", Json()), sa.Column("expires_at", TS),
             sa.Column("last_used_at", TS), sa.Column("revoked_at", TS))
    # A signed-in browser: only the SHA-256 of the cookie's secret is kept, as for API tokens.
    sa.Table("web_sessions", md, _id(), sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
             _fk("agent_id", "agents", ondelete="CASCADE"), _fk("contact_id", "contacts", ondelete="CASCADE"),
             sa.Column("csrf_token", sa.String(64), nullable=False), sa.Column("created_at", TS, nullable=False),
             sa.Column("last_seen_at", TS, nullable=False), sa.Column("expires_at", TS, nullable=False),
             sa.Column("revoked_at", TS), sa.Column("user_agent", sa.String(300)))
    # The pages: an agent's saved queue filters (the query string of the queue page, under a name of theirs) and
    # the requester's rating of a resolution (one per ticket; a later rating replaces it).
    sa.Table("saved_views", md, _id(), _fk("agent_id", "agents", nullable=False, ondelete="CASCADE", index=False),
             sa.Column("name", sa.String(80), nullable=False), sa.Column("query", sa.String(2000), nullable=False),
             sa.Column("created_at", TS, nullable=False), sa.UniqueConstraint("agent_id", "name"))
    # score: 1-5, checked by the portal (runtime/pages/ratings.py).
    sa.Table("ticket_ratings", md,
             sa.Column("ticket_id", Id(), sa.ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True),
             _fk("contact_id", "contacts"), sa.Column("score", sa.Integer(), nullable=False),
             sa.Column("comment", sa.Text()), sa.Column("rated_at", TS, nullable=False, index=True))
    sa.Table("jobs", md, _id(), sa.Column("kind", sa.String(32), nullable=False),
             sa.Column("payload", Json(), nullable=False), sa.Column("run_at", TS, nullable=False),
             sa.Column("attempts", sa.Integer(), nullable=False), sa.Column("locked_until", TS),
             sa.Column("last_error", sa.Text()), sa.Column("done_at", TS), sa.Index(None, "done_at", "run_at"))
