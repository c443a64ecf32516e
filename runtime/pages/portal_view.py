"""How a requester's ticket reads in the portal: its state's label, the fields a requester may see in the
sections of its current state (never internal ones), and times in the desk's zone."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.config import ir
from runtime.pages.form_fields import TypeForm
from runtime.pages.form_values import shown_value, zone
from runtime.pages.i18n import Translator

SHOWN_APART = ("title", "description")  # the page's heading and first paragraph, not rows of the field list


def state_label(desk: ir.Desk, type_name: str, status: str, language: str) -> str:
    ticket_type = desk.ticket_type(type_name)
    workflow = next((w for w in desk.workflows if ticket_type is not None and w.name == ticket_type.workflow), None)
    state = workflow.state(status) if workflow is not None else None
    return ir.label_for(state.label, language, status) if state is not None else status


def when(value: dt.datetime | None, timezone: str) -> str:
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return aware.astimezone(zone(timezone)).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class FieldRow:
    label: str
    text: str


def field_rows(form: TypeForm, ticket: Mapping[str, Any], t: Translator,
               choices: Mapping[str, Sequence[tuple[int, str]]]) -> list[FieldRow]:
    """The requester's fields of the ticket that hold a value, in the order of its form."""
    rows = []
    for f in form.fields:
        value = ticket.get(f.name)
        if f.name in SHOWN_APART or value in (None, "", []):
            continue
        rows.append(FieldRow(form.label(f, t), _display(form, f, value, t, choices)))
    return rows


def _display(form: TypeForm, f: ir.Field, value: Any, t: Translator,
             choices: Mapping[str, Sequence[tuple[int, str]]]) -> str:
    if f.kind == "boolean":
        return t("portal.yes") if value else t("portal.no")
    if f.kind in ("choice", "multichoice"):
        labels = {o.value: o for o in f.options}
        values = value if isinstance(value, list) else [value]
        layout_labels = [form.option_label(f, labels[v], t) if v in labels else str(v) for v in values]
        return ", ".join(layout_labels)
    if f.kind == "relation":
        named = dict(choices.get(f.name, ()))
        return named.get(int(value), f"#{value}") if isinstance(value, int) else str(value)
    if f.kind == "datetime" and isinstance(value, dt.datetime):
        return when(value, form.timezone)
    return shown_value(f, value, form.timezone)[0]
