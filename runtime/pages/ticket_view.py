"""Everything the agent's ticket page shows, read through the service with the visitor's actor: the header, the
fields by the type's form sections (those hidden in the ticket's state left out), SLA clocks, the transitions this
agent may run now, the timeline, the composer with its canned responses, and the AI panel.

A ticket the agent may not see raises TicketNotFound in the first read, which the pages answer with a 404 page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from runtime.ai.outbound import Check, Finding, check_reply
from runtime.config import ir
from runtime.pages.form_choices import relation_choices
from runtime.pages.form_fields import TypeForm
from runtime.pages.render import Pages
from runtime.pages.ticket_ai import AiPanel
from runtime.pages.ticket_canned import offered
from runtime.pages.ticket_names import Names, iso, when
from runtime.pages.ticket_timeline import timeline
from runtime.pages.visitors import Visitor
from runtime.tickets.files import TicketFiles

# Share of a running clock's target left from which the page warns (the demo's policies escalate at 80 %).
WARN_AT = 0.2
STATE_KEYS = ("running", "paused", "met", "breached", "cancelled")


@dataclass(frozen=True)
class Header:
    id: int
    number: str
    title: str
    type_label: str
    status: str
    status_label: str
    status_category: str
    priority: str
    requester: str
    assignee: str
    team: str
    version: int
    created: str
    created_iso: str


@dataclass(frozen=True)
class Shown:
    """One field of the read view: its label and its value as text (files as download links)."""

    name: str
    label: str
    text: str
    long: bool = False
    files: tuple[tuple[str, str], ...] = ()  # (url, file name)


@dataclass(frozen=True)
class ShownSection:
    title: str
    fields: tuple[Shown, ...]


@dataclass(frozen=True)
class Clock:
    metric: str
    label: str
    state: str
    state_label: str
    counting: bool  # running within its calendar's hours: the page counts it down
    remaining: int  # business seconds; negative once late
    remaining_text: str
    target_text: str
    due: str
    warning: bool
    breached: bool


@dataclass(frozen=True)
class Move:
    name: str
    label: str
    to_label: str


@dataclass
class Draft:
    """What a composer form holds: the text (kept on a refusal), its errors and, after sending, tone warnings."""

    body: str = ""
    error: str | None = None
    warnings: list[str] = field(default_factory=list)
    suggestion_id: int | None = None
    canned_error: str | None = None


def duration_text(seconds: float) -> str:
    """Business time as ``1d 2h 5m`` (the same form tessera.js counts down in)."""
    whole = abs(round(seconds))
    days, hours, minutes = whole // 86400, whole % 86400 // 3600, whole % 3600 // 60
    text = (f"{days}d " if days else "") + (f"{hours}h " if days or hours else "") + f"{minutes}m"
    return f"-{text}" if seconds < 0 else text


def finding_text(visitor: Visitor, finding: Finding) -> str:
    """One finding of the outbound check in the reader's language (the check itself speaks English)."""
    if finding.kind == "hostile_tone":
        key = "ticket.tone_shouting" if finding.message.startswith("shouting") else "ticket.tone_hostile"
    else:
        key = f"ticket.secret_{finding.kind}"
    text = visitor.t(key, excerpt=finding.excerpt)
    return finding.message if text == key else text


def secret_error(visitor: Visitor, check: Check) -> str:
    return " ".join([visitor.t("ticket.secret_refused"), *(finding_text(visitor, f) for f in check.findings)])


class TicketView:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.compiled, self.engine, self.desk = pages.compiled, pages.engine, pages.desk
        self.files = TicketFiles(pages.compiled, pages.engine)
        self.ai = AiPanel(pages.compiled, pages.engine, pages.service)

    def form(self, ticket: Mapping[str, Any]) -> TypeForm:
        form = TypeForm.of(self.desk, str(ticket["type"]), "agent", str(ticket["status"]))
        assert form is not None  # a stored ticket's type is in the desk that wrote it
        return form

    def label(self, form: TypeForm, t: Any) -> Any:
        """A field's label by name, for the audit trail and the AI panel (the form's labels, else the catalog)."""
        def named(name: str) -> str:
            definition = form.definitions.get(name)
            if definition is not None:
                return form.label(definition, t)
            key = f"ticket.field_{name}"
            text: str = t(key)
            return text if text != key else name.replace("_", " ").capitalize()

        return named

    def context(self, visitor: Visitor, ticket_id: int, *, typed: Mapping[str, Any] | None = None,
                field_errors: Mapping[str, str] | None = None, form_messages: Sequence[str] = (),
                reply: Draft | None = None, note: Draft | None = None, sent: int | None = None,
                **extra: Any) -> dict[str, Any]:
        """The page's whole context. ``typed``: what the agent sent in the edit form (kept after a refusal);
        ``sent``: the reply just sent, whose tone warnings the page repeats."""
        actor, t = visitor.actor, visitor.t
        assert actor is not None
        service = self.pages.service
        ticket = service.get(actor, ticket_id)
        comments = service.list_comments(actor, ticket_id)
        events = service.list_events(actor, ticket_id)
        files = self.files.list(actor, ticket_id)
        clocks = service.sla_clocks(actor, ticket_id)
        moves = service.available_transitions(actor, ticket_id)
        form = self.form(ticket)
        label = self.label(form, t)
        with self.engine.connect() as connection:
            names = Names(connection, self.compiled, ticket, t)
            entries = timeline(connection, names, comments, files, events, label)
        choices = relation_choices(self.compiled, self.engine, form.fields)
        layout = form.layout(t, values=typed if typed is not None else ticket, errors=field_errors,
                             form_errors=form_messages, choices=choices, prefix="edit")
        triage, suggestion = self.ai.cards(actor, ticket, names, label)
        reply = reply or Draft()
        if sent is not None:
            reply.warnings = self.warnings(visitor, comments, sent)
        return {
            "ticket": ticket, "header": self.header(ticket, names), "names": names,
            "sections": self.sections(form, ticket, names, files, t), "layout": layout,
            "version": ticket["version"], "clocks": [self.clock(c, t) for c in clocks],
            "moves": [self.move(m, names) for m in moves], "timeline": entries,
            "canned": offered(form.ticket_type, visitor.language), "reply": reply, "note": note or Draft(),
            "triage": triage, "suggestion": suggestion, "fields_open": bool(typed is not None), **extra,
        }

    @staticmethod
    def warnings(visitor: Visitor, comments: list[dict[str, Any]], sent: int) -> list[str]:
        """The tone warnings of a public reply this agent just sent (the check is pure, so it is run again)."""
        mine = next((c for c in comments if c["id"] == sent and c["public"]
                     and visitor.actor is not None and c["author_agent_id"] == visitor.actor.id), None)
        return [finding_text(visitor, w) for w in check_reply(str(mine["body"])).warnings] if mine else []

    @staticmethod
    def header(ticket: Mapping[str, Any], names: Names) -> Header:
        return Header(int(ticket["id"]), str(ticket["number"]), str(ticket["title"]), names.type_label(),
                      str(ticket["status"]), names.state(ticket["status"]), str(ticket["status_category"]),
                      str(ticket["priority"]), names.record("contacts", ticket.get("requester_id")),
                      names.record("agents", ticket.get("assignee_id")), names.record("teams", ticket.get("team_id")),
                      int(ticket["version"]), when(ticket["created_at"]), iso(ticket["created_at"]))

    @staticmethod
    def sections(form: TypeForm, ticket: Mapping[str, Any], names: Names, files: list[dict[str, Any]],
                 t: Any) -> list[ShownSection]:
        """The read view: the type's sections visible in the ticket's state, each field with its value."""
        by_id = {int(f["id"]): str(f["filename"]) for f in files}
        shown = []
        for planned in form.plan:
            title = t("forms.other_fields") if planned.rest else ir.label_for(planned.title, t.language, "")
            rows = []
            for definition in planned.fields:
                value = ticket.get(definition.name)
                if definition.kind == "attachment":
                    ids = value if isinstance(value, list) else [] if value is None else [value]
                    links = tuple((f"/api/v1/attachments/{i}", by_id.get(int(i), f"#{i}")) for i in ids)
                    rows.append(Shown(definition.name, form.label(definition, t),
                                      "" if links else t("common.none"), files=links))
                    continue
                rows.append(Shown(definition.name, form.label(definition, t), names.value(definition.name, value),
                                  long=definition.kind in ("text", "json")))
            shown.append(ShownSection(title, tuple(rows)))
        return shown

    @staticmethod
    def clock(raw: Mapping[str, Any], t: Any) -> Clock:
        state = str(raw["state"])
        target, remaining = int(raw["target_seconds"] or 0), round(float(raw["remaining_seconds"] or 0))
        running = state == "running"
        counting = running and bool(raw.get("counting"))  # business time passes now, so the page counts down
        breached = state == "breached" or (running and remaining < 0)
        warning = running and not breached and target > 0 and remaining <= target * WARN_AT
        return Clock(str(raw["metric"]), t(f"ticket.metric_{raw['metric']}"), state,
                     t(f"ticket.clock_{state}") if state in STATE_KEYS else state, counting, remaining,
                     duration_text(remaining), duration_text(target), when(raw.get("due_at")), warning, breached)

    @staticmethod
    def move(raw: Mapping[str, Any], names: Names) -> Move:
        labels = tuple((str(k), str(v)) for k, v in (raw.get("label") or {}).items())
        return Move(str(raw["name"]), names.labelled(labels, str(raw["name"]).replace("_", " ").capitalize()),
                    names.state(str(raw["to"])))
