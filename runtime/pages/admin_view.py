"""The compiled definitions as an admin reads them: every name with its label in the reader's language, every
constraint, target and rule spelled out in words. Nothing here reads YAML: it all comes from the compiled desk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from runtime.config import ir
from runtime.pages.formatting import duration, number
from runtime.pages.i18n import Translator
from runtime.sla.policies import AROUND_THE_CLOCK, METRICS

WILDCARD = "*"


@dataclass(frozen=True)
class FieldRow:
    name: str
    label: str
    kind: str
    required: bool
    constraints: list[str]
    help: str


@dataclass(frozen=True)
class SectionRow:
    title: str
    fields: list[str]
    visible_in: list[str] | None  # state labels; None: in every state
    help: str


class Reader:
    """Labels and descriptions of one desk's definitions in one language."""

    def __init__(self, desk: ir.Desk, t: Translator) -> None:
        self.desk, self.t, self.language = desk, t, t.language

    def label(self, labels: ir.Labels, fallback: str) -> str:
        return ir.label_for(labels, self.language, fallback)

    def workflow_link(self, name: str) -> str:
        return "/admin/workflows/" + quote(name, safe="")

    def state_label(self, workflow: ir.Workflow, name: str) -> str:
        if name == WILDCARD:
            return self.t("admin.any_state")
        state = workflow.state(name)
        return self.label(state.label, name) if state else name

    def categories(self, ticket_type: ir.TicketType) -> str:
        """The type's categories by label; a type that names none offers every category of the desk."""
        if not ticket_type.categories:
            return self.t("admin.all_categories")
        labels = {c.value: c.label for c in self.desk.categories}
        return ", ".join(self.label(labels.get(name, ()), name) for name in ticket_type.categories)

    def core_label(self, name: str) -> str:
        """A core column's label, as the generated forms name it."""
        key = f"forms.field_{name}"
        text = self.t(key)
        return name if text == key else text

    def field_label(self, ticket_type: ir.TicketType | None, name: str) -> str:
        fields = {f.name: f for f in (*self.desk.master_fields, *(ticket_type.fields if ticket_type else ()))}
        found = fields.get(name)
        return self.label(found.label, name) if found else self.core_label(name)

    def fields(self, fields: tuple[ir.Field, ...]) -> list[FieldRow]:
        return [FieldRow(f.name, self.label(f.label, f.name), f.kind, f.required, self.constraints(f),
                         self.label(f.help, "")) for f in fields]

    def constraints(self, field: ir.Field) -> list[str]:
        """Every rule a value of ``field`` must keep, one phrase each."""
        t, found = self.t, []
        if field.options:
            found.append(t("admin.options", options=", ".join(
                f"{self.label(o.label, o.value)} ({o.value})" if o.label else o.value for o in field.options)))
        for key in ("min", "max", "max_length", "pattern", "of", "to", "precision", "scale"):
            value = getattr(field, key)
            if value is not None:
                found.append(t(f"admin.constraint_{key}", value=value))
        for flag in ("multiple", "unique", "indexed"):
            if getattr(field, flag):
                found.append(t(f"admin.constraint_{flag}"))
        if field.default is not None:
            found.append(t("admin.constraint_default", value=_plain(field.default)))
        if field.renamed_from:
            found.append(t("admin.constraint_renamed_from", value=field.renamed_from))
        return found

    def sections(self, ticket_type: ir.TicketType) -> list[SectionRow]:
        workflow = self.desk.workflow(ticket_type.workflow)
        return [SectionRow(self.label(s.title, self.t("admin.untitled")),
                           [self.field_label(ticket_type, name) for name in s.fields],
                           None if s.visible_in is None else
                           [self.state_label(workflow, name) if workflow else name for name in s.visible_in],
                           self.label(s.help, "")) for s in ticket_type.sections]

    def transitions(self, workflow: ir.Workflow) -> list[dict[str, Any]]:
        """Each transition with who may run it, what it needs and what it does."""
        t, rows = self.t, []
        for transition in workflow.transitions:
            rules = []
            if transition.requires:
                rules.append(t("admin.requires", fields=", ".join(transition.requires)))
            rules += [t("admin.when", field=name, value=_condition(value, t)) for name, value in transition.when]
            rules += [t("admin.sets", field=name, value=_plain(value)) for name, value in transition.updates]
            if transition.after is not None:
                rules.append(t("admin.after", time=duration(transition.after, t)))
            if transition.unless:
                rules.append(t("admin.unless", events=", ".join(transition.unless)))
            if transition.on:
                rules.append(t("admin.on", events=", ".join(transition.on)))
            rows.append({"name": transition.name, "label": self.label(transition.label, transition.name),
                         "sources": [self.state_label(workflow, s) for s in transition.sources],
                         "target": self.state_label(workflow, transition.target),
                         "roles": ", ".join(transition.roles) or t("admin.any_agent"), "rules": rules})
        return rows

    def target(self, seconds: int | None) -> str:
        return self.t("common.none") if seconds is None else duration(seconds, self.t)

    def targets(self, policy: ir.Policy) -> list[dict[str, Any]]:
        return [{"priority": target.priority, "times": [self.target(getattr(target, m)) for m in METRICS],
                 "calendar": self.calendar_name(target.calendar or policy.calendar)} for target in policy.targets]

    def calendar_name(self, name: str) -> str:
        return self.t("admin.around_the_clock") if name == AROUND_THE_CLOCK else name

    def applies_to(self, policy: ir.Policy) -> list[str]:
        t = self.t
        found = [t(f"admin.applies_{key}", values=", ".join(values)) for key, values in (
            ("types", policy.types), ("priorities", policy.priorities), ("categories", policy.categories),
            ("organizations", policy.organizations)) if values]
        found += [t("admin.when", field=name, value=_plain(value)) for name, value in policy.field_matches]
        if policy.valid_from or policy.valid_until:
            found.append(t("admin.valid", start=policy.valid_from or "…", end=policy.valid_until or "…"))
        return found or [t("admin.applies_all")]

    def escalation(self, escalation: ir.Escalation) -> dict[str, Any]:
        t = self.t
        if escalation.percent is None:
            at = t("admin.at_due", offset=duration(escalation.offset, t)) if escalation.offset else t("admin.due")
        else:
            at = f"{number(escalation.percent, t)} %"
            if escalation.offset:
                sign = "+" if escalation.offset > 0 else "−"
                at += f" {sign} {duration(abs(escalation.offset), t)}"
        actions = []
        if escalation.notify:
            actions.append(t("admin.notify", who=", ".join(escalation.notify)))
        actions += [t("admin.sets", field=name, value=_plain(value)) for name, value in escalation.updates]
        if escalation.assign_team:
            actions.append(t("admin.assign_team", team=escalation.assign_team))
        if escalation.assign_agent:
            actions.append(t("admin.assign_agent", agent=escalation.assign_agent))
        if escalation.transition:
            actions.append(t("admin.run_transition", transition=escalation.transition))
        return {"metric": t(f"dashboard.metric_{escalation.metric}"), "at": at, "actions": actions}

    def hours(self, calendar: ir.Calendar) -> list[str]:
        if calendar.always_open:
            return [self.t("admin.around_the_clock")]
        return [f"{days}: {', '.join(f'{_clock(a)}–{_clock(b)}' for a, b in ranges)}"
                for days, ranges in calendar.hour_rules]

    def holidays(self, calendar: ir.Calendar) -> list[str]:
        t, found = self.t, []
        if calendar.holiday_country:
            region = calendar.holiday_country + (f"-{calendar.holiday_subdiv}" if calendar.holiday_subdiv else "")
            found.append(t("admin.public_holidays", region=region))
        if calendar.holiday_dates:
            found.append(t("admin.holiday_dates", dates=", ".join(calendar.holiday_dates)))
        found += [t("admin.half_day", date=half.date, hours=", ".join(f"{_clock(a)}–{_clock(b)}"
                                                                      for a, b in half.hours))
                  for half in calendar.half_days]
        return found or [t("admin.no_holidays")]


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v) for v in value)
    return str(value)


def _condition(value: Any, t: Translator) -> str:
    if value == "set":
        return t("admin.is_set")
    if value == "empty":
        return t("admin.is_empty")
    return _plain(value)
