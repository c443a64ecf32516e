"""A ticket's history as one list in time order: replies, internal notes, the requester's messages, files and
audit events (who changed which field from what to what).

The audit trail records a comment and a file too; those rows are left out here because the comment or file itself
is in the list, with its text or download link.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from runtime.pages.ticket_names import Names, iso, when

# Audit actions shown by the entry they stand for (the comment, the file), not as an event of their own.
SHOWN_ELSEWHERE = frozenset({"public_reply", "note", "attachment"})
# Actions with a sentence of their own in the catalog; a transition is named by its label instead.
KNOWN_ACTIONS = frozenset({"create", "update", "first_response", "merge", "link", "review"})


@dataclass(frozen=True)
class File:
    id: int
    filename: str
    size: int
    content_type: str

    @property
    def url(self) -> str:
        return f"/api/v1/attachments/{self.id}"


@dataclass(frozen=True)
class Change:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class Entry:
    kind: str  # reply | note | inbound | attachment | event
    anchor: str
    at: dt.datetime
    author: str
    channel: str = ""
    body: str = ""
    files: tuple[File, ...] = ()
    action: str = ""  # for events: what happened, in the reader's language
    changes: tuple[Change, ...] = ()

    @property
    def when(self) -> str:
        return when(self.at)

    @property
    def iso(self) -> str:
        return iso(self.at)


def _aware(value: Any) -> dt.datetime:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    assert isinstance(moment, dt.datetime)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _file(row: Mapping[str, Any]) -> File:
    return File(int(row["id"]), str(row["filename"]), int(row["size"] or 0), str(row["content_type"] or ""))


def comment_entries(comments: Iterable[Mapping[str, Any]], files: Iterable[Mapping[str, Any]], names: Names
                    ) -> list[Entry]:
    by_comment: dict[int, list[File]] = {}
    entries = []
    for row in files:
        if row.get("comment_id") is not None:
            by_comment.setdefault(int(row["comment_id"]), []).append(_file(row))
        else:
            entries.append(Entry("attachment", f"file-{row['id']}", _aware(row["created_at"]), "",
                                 files=(_file(row),)))
    for c in comments:
        kind = "note" if not c["public"] else "inbound" if c["direction"] == "inbound" else "reply"
        author = names.record("agents", c["author_agent_id"]) if c.get("author_agent_id") is not None \
            else names.record("contacts", c.get("author_contact_id")) if c.get("author_contact_id") is not None \
            else names.t("ticket.actor_system")
        entries.append(Entry(kind, f"comment-{c['id']}", _aware(c["created_at"]), author, str(c["channel"]),
                             str(c["body"]), tuple(by_comment.get(int(c["id"]), ()))))
    return entries


def event_entries(events: Iterable[Mapping[str, Any]], names: Names, label: Any) -> list[Entry]:
    """One entry per change (a change writes one row per field it touched); ``label(field)`` names a field."""
    grouped: dict[tuple[Any, ...], list[Mapping[str, Any]]] = {}
    for row in events:
        if row["action"] in SHOWN_ELSEWHERE:
            continue
        grouped.setdefault((row["at"], row["actor"], row["action"], row["channel"]), []).append(row)
    entries = []
    for (at, actor, action, channel), rows in grouped.items():
        changes = () if action == "create" else tuple(
            Change(str(r["field"]), label(str(r["field"])), names.value(str(r["field"]), r["old_value"]),
                   names.value(str(r["field"]), r["new_value"]))
            for r in rows if r["field"] is not None and r["field"] not in ("status_category", "status_changed_at"))
        entries.append(Entry("event", f"event-{rows[0]['id']}", _aware(at), names.actor(str(actor)), str(channel),
                             action=_action(str(action), names), changes=changes))
    return entries


def _action(action: str, names: Names) -> str:
    if action.startswith("transition:"):
        name = action.split(":", 1)[1]
        transition = next((t for t in names.workflow.transitions if t.name == name), None) if names.workflow \
            else None
        shown = names.labelled(transition.label, name) if transition else name
        return names.t("ticket.action_transition", name=shown)
    if action in KNOWN_ACTIONS:
        return names.t(f"ticket.action_{action}")
    return action


def referenced(events: Iterable[Mapping[str, Any]], comments: Iterable[Mapping[str, Any]], names: Names
               ) -> dict[str, set[int]]:
    """The records the entries name by id (old and new assignees, comment authors), to look up in one go."""
    wanted: dict[str, set[int]] = {}
    for row in events:
        table = names.targets.get(str(row["field"]))
        if table is not None:
            for value in (row["old_value"], row["new_value"]):
                for item in value if isinstance(value, list) else [value]:
                    if isinstance(item, int) and not isinstance(item, bool):
                        wanted.setdefault(table, set()).add(item)
    for c in comments:
        if c.get("author_contact_id") is not None:
            wanted.setdefault("contacts", set()).add(int(c["author_contact_id"]))
    return wanted


def timeline(connection: sa.Connection, names: Names, comments: list[dict[str, Any]], files: list[dict[str, Any]],
             events: list[dict[str, Any]], label: Any) -> list[Entry]:
    """Everything that happened to the ticket, oldest first (ties keep the order it was written in)."""
    names.read(connection, referenced(events, comments, names))
    entries = comment_entries(comments, files, names) + event_entries(events, names, label)
    order = {"event": 0, "reply": 1, "inbound": 1, "note": 1, "attachment": 2}
    return sorted(entries, key=lambda e: (e.at, order[e.kind]))
