"""The form of a ticket type, generated from the compiled definitions: which fields a visitor is asked for, in
which sections, with what label, help and browser-side hints.

The same object parses what the form sends back into the payload the service validates (``form_values``) and
places the service's refusals next to their fields (``form_errors``): the pages never check a value themselves.

Core columns (title, description, …) have no definition in the desk's YAML; they are described here as fields
of the same shape so that one code path lays out every field.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from runtime.config import ir
from runtime.config.core_columns import PRIORITIES
from runtime.pages.form_errors import place_errors
from runtime.pages.form_values import CORE_FILE, Parsed, defaults, parse_payload, shown_value, uploads
from runtime.pages.i18n import Translator

Audience = Literal["agent", "requester", "public"]
AUDIENCES: tuple[str, ...] = ("agent", "requester", "public")
# Set by the desk, never by the person asking (the service refuses them from requesters too).
DESK_CHOSEN = frozenset({"requester_id", "assignee_id", "team_id"})
# Relations whose ids only the desk's staff can know or should choose.
STAFF_TARGETS = frozenset({"agent", "contact", "team", "organization"})
# Core columns an agent may set on a form, in the order they appear when no section places them.
CORE_ORDER = ("title", "description", "category", "priority", "tags", "requester_id", "assignee_id", "team_id")
_CORE = ir.Src(CORE_FILE, ())
LIST_MAX = 1000


def _core_fields(desk: ir.Desk, ticket_type: ir.TicketType) -> dict[str, ir.Field]:
    """The core columns as fields; their labels come from the pages' catalog, not from the desk."""
    categories = ticket_type.categories or tuple(c.value for c in desk.categories)
    labels = {c.value: c.label for c in desk.categories}
    return {
        "title": ir.Field("title", "string", _CORE.at("title"), required=True, max_length=300),
        "description": ir.Field("description", "text", _CORE.at("description"), max_length=100_000),
        "category": ir.Field("category", "choice", _CORE.at("category"),
                             options=tuple(ir.Option(c, labels.get(c, ()), _CORE) for c in categories)),
        "priority": ir.Field("priority", "choice", _CORE.at("priority"), default=ticket_type.default_priority,
                             options=tuple(ir.Option(p, (), _CORE) for p in PRIORITIES)),
        "tags": ir.Field("tags", "list", _CORE.at("tags"), of="string"),
        "requester_id": ir.Field("requester_id", "relation", _CORE.at("requester_id"), to="contact"),
        "assignee_id": ir.Field("assignee_id", "relation", _CORE.at("assignee_id"), to="agent"),
        "team_id": ir.Field("team_id", "relation", _CORE.at("team_id"), to="team"),
    }


def requester_may_set(field: ir.Field) -> bool:
    """What a requester is asked for: not the desk's routing, not staff or contact ids, not files (a form
    submission carries no upload) and not raw JSON that only integrations fill."""
    if field.name in DESK_CHOSEN or field.kind in ("attachment", "json"):
        return False
    return not (field.kind == "relation" and field.to in STAFF_TARGETS)


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    selected: bool = False


@dataclass(frozen=True)
class Widget:
    """One field as the template renders it; ``value``/``selected``/``checked`` hold what the visitor sees."""

    name: str
    id: str
    kind: str
    control: str  # input | textarea | select | checkboxes | checkbox | file
    input_type: str  # the <input type> for control "input"
    label: str
    help: str
    placeholder: str
    required: bool
    attrs: tuple[tuple[str, str], ...]  # maxlength, pattern, min, max, step, inputmode, autocomplete
    options: tuple[Choice, ...] = ()
    multiple: bool = False
    value: str = ""
    checked: bool = False
    error: str | None = None

    @property
    def help_id(self) -> str:
        return f"{self.id}-help"

    @property
    def error_id(self) -> str:
        return f"{self.id}-error"

    @property
    def describedby(self) -> str:
        ids = ([self.help_id] if self.help else []) + ([self.error_id] if self.error else [])
        return " ".join(ids)


@dataclass(frozen=True)
class FormSection:
    title: str
    help: str
    widgets: tuple[Widget, ...]


@dataclass(frozen=True)
class FormLayout:
    type_name: str
    audience: str
    status: str | None
    sections: tuple[FormSection, ...]
    errors: tuple[str, ...]  # what belongs to no field of the form
    required_text: str  # read out after a required field's label
    multipart: bool  # a file input needs multipart/form-data

    @property
    def widgets(self) -> tuple[Widget, ...]:
        return tuple(w for s in self.sections for w in s.widgets)

    def widget(self, name: str) -> Widget | None:
        return next((w for w in self.widgets if w.name == name), None)

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(w.error for w in self.widgets)


@dataclass(frozen=True)
class _Planned:
    title: ir.Labels
    help: ir.Labels
    fields: tuple[ir.Field, ...]
    rest: bool = False  # the section of fields that no section of the type places


class TypeForm:
    """The fields of one type's form for one audience, in one state (``status=None``: a new ticket)."""

    def __init__(self, desk: ir.Desk, ticket_type: ir.TicketType, audience: str, status: str | None = None,
                 timezone: str = "UTC") -> None:
        if audience not in AUDIENCES:
            msg = f"audience must be one of {', '.join(AUDIENCES)}, not {audience!r}"
            raise ValueError(msg)
        self.desk, self.ticket_type, self.audience, self.status = desk, ticket_type, audience, status
        self.timezone = timezone
        core = _core_fields(desk, ticket_type)
        self.definitions: dict[str, ir.Field] = {**core, **{f.name: f for f in (*desk.master_fields,
                                                                                  *ticket_type.fields)}}
        self.plan = self._plan()
        self.fields: tuple[ir.Field, ...] = tuple(f for s in self.plan for f in s.fields)

    @classmethod
    def of(cls, desk: ir.Desk, type_name: str, audience: str, status: str | None = None,
           timezone: str = "UTC") -> TypeForm | None:
        ticket_type = desk.ticket_type(type_name)
        return None if ticket_type is None else cls(desk, ticket_type, audience, status, timezone)

    @property
    def state(self) -> str:
        """The state whose sections show: the ticket's, or the workflow's first for a new one."""
        if self.status is not None:
            return self.status
        workflow = next((w for w in self.desk.workflows if w.name == self.ticket_type.workflow), None)
        return workflow.initial if workflow is not None else ""

    def _allowed(self, field: ir.Field) -> bool:
        return self.audience == "agent" or requester_may_set(field)

    def _plan(self) -> tuple[_Planned, ...]:
        placed: set[str] = set()
        planned: list[_Planned] = []
        for section in self.ticket_type.sections:
            placed.update(section.fields)
            if section.visible_in is not None and self.state not in section.visible_in:
                continue
            fields = tuple(self.definitions[name] for name in section.fields
                           if name in self.definitions and self._allowed(self.definitions[name]))
            if fields:
                planned.append(_Planned(section.title, section.help, fields))
        # Core columns a requester was not asked for in a section stay the desk's to set (triage, routing); a
        # ticket always needs its title and is hardly understood without its description.
        asked = CORE_ORDER if self.audience == "agent" else ("title", "description")
        core_rest = [name for name in asked if name not in placed]
        own = [f.name for f in (*self.desk.master_fields, *self.ticket_type.fields) if f.name not in placed]
        rest = tuple(self.definitions[name] for name in (*core_rest, *own) if self._allowed(self.definitions[name]))
        if rest:
            planned.append(_Planned((), (), rest, rest=True))
        return tuple(planned)

    def label(self, field: ir.Field, t: Translator) -> str:
        if field.src.file == _CORE.file:
            return t(f"forms.field_{field.name}")
        return ir.label_for(field.label, t.language, field.name.replace("_", " ").capitalize())

    def layout(self, t: Translator, *, values: Mapping[str, Any] | None = None,
               errors: Mapping[str, str] | None = None, form_errors: Sequence[str] = (),
               choices: Mapping[str, Sequence[tuple[int, str]]] | None = None, prefix: str = "f") -> FormLayout:
        """The form to render. ``values``: what the visitor sent (strings, kept exactly as typed) or the ticket's
        stored values; without them a new ticket's defaults. ``choices``: id and label of the records a relation
        field may point at (see ``form_choices``); without them the field takes an id."""
        # A new ticket's field sent empty gets its default (the service applies it), so the form shows it again.
        current = defaults(self.fields, self.timezone) if self.status is None else {}
        current |= values or {}
        errors = errors or {}
        sections = []
        for planned in self.plan:
            widgets = tuple(self._widget(f, t, current.get(f.name), errors.get(f.name), choices or {}, prefix)
                            for f in planned.fields)
            title = t("forms.other_fields") if planned.rest else ir.label_for(planned.title, t.language, "")
            sections.append(FormSection(title, ir.label_for(planned.help, t.language, ""), widgets))
        multipart = any(f.kind == "attachment" for f in self.fields)
        return FormLayout(self.ticket_type.name, self.audience, self.status, tuple(sections), tuple(form_errors),
                          t("forms.required"), multipart)

    def _widget(self, field: ir.Field, t: Translator, value: Any, error: str | None,
                choices: Mapping[str, Sequence[tuple[int, str]]], prefix: str) -> Widget:
        kind = field.kind
        text, selected = shown_value(field, value, self.timezone)
        help_text = ir.label_for(field.help, t.language, "") if field.src.file != _CORE.file else ""
        hint = self._hint(field, t)
        help_text = " ".join(part for part in (help_text, hint) if part)
        common: dict[str, Any] = {
            "name": field.name, "id": f"{prefix}-{field.name}", "kind": kind, "label": self.label(field, t),
            "help": help_text, "placeholder": ir.label_for(field.placeholder, t.language, ""),
            "required": field.required and kind not in ("boolean", "attachment"), "error": error,
        }
        if kind in ("choice", "multichoice"):
            options = tuple(Choice(o.value, self.option_label(field, o, t), o.value in selected)
                            for o in field.options)
            if kind == "multichoice":
                return Widget(control="checkboxes", input_type="checkbox", attrs=(), options=options, multiple=True,
                              **common)
            if not self._offers_empty(field, bool(selected)):
                return Widget(control="select", input_type="", attrs=(), options=options, **common)
            empty = Choice("", t("forms.choose") if field.required else t("forms.no_value"), not selected)
            return Widget(control="select", input_type="", attrs=(), options=(empty, *options), **common)
        if kind == "relation" and field.name in choices:
            listed = tuple(Choice(str(i), label, str(i) in selected) for i, label in choices[field.name])
            if text and not any(c.selected for c in listed):
                # Pointing at a record no longer listed (inactive, say): keep it rather than lose it.
                listed = (*listed, Choice(text, f"#{text}", True))
            if not self._offers_empty(field, bool(text)):
                return Widget(control="select", input_type="", attrs=(), options=listed, **common)
            empty = Choice("", t("forms.choose") if field.required else t("forms.no_value"), not text)
            return Widget(control="select", input_type="", attrs=(), options=(empty, *listed), **common)
        if kind == "boolean":
            return Widget(control="checkbox", input_type="checkbox", attrs=(), checked=text == "true", value="true",
                          **common)
        if kind == "attachment":
            return Widget(control="file", input_type="file", attrs=(), multiple=field.multiple, **common)
        if kind in ("text", "json"):
            attrs: tuple[tuple[str, str], ...] = (("maxlength", str(field.max_length)),) if field.max_length else ()
            return Widget(control="textarea", input_type="", attrs=attrs, value=text, **common)
        input_type, attrs = _input(field)
        return Widget(control="input", input_type=input_type, attrs=attrs, value=text, **common)

    def _offers_empty(self, field: ir.Field, has_value: bool) -> bool:
        """A select offers "no value" where choosing it means something: no value yet on a new ticket (a default
        would be chosen for it), clearing a field that may be empty on an edit."""
        if field.name == "priority" and field.src.file == CORE_FILE:
            return False
        if self.status is None:
            return field.default is None
        return not field.required or not has_value

    def parse(self, data: Mapping[str, Any]) -> Parsed:
        """The service's payload from the submitted form (see ``form_values.parse_payload``)."""
        return parse_payload(self.fields, data, self.timezone, editing=self.status is not None)

    def uploads(self, data: Mapping[str, Any]) -> dict[str, list[Any]]:
        return uploads(self.fields, data)

    def place_errors(self, items: Iterable[Mapping[str, Any]], t: Translator,
                     unreadable: Mapping[str, str] | None = None) -> tuple[dict[str, str], list[str]]:
        """The service's ``{field, reason}`` refusals (and ``Parsed.errors``, text no kind could read) as
        messages next to the fields of this form, and the rest as messages for the whole form."""
        per_field, rest = place_errors(items, (f.name for f in self.fields), self.definitions,
                                       lambda name: self.label(self.definitions[name], t), t)
        for name, key in (unreadable or {}).items():
            per_field[name] = t(key)
        return per_field, rest

    def _hint(self, field: ir.Field, t: Translator) -> str:
        """How to type what the browser cannot offer a control for."""
        if field.kind == "list" or (field.kind == "relation" and field.multiple):
            return t("forms.hint_list")
        if field.kind == "duration":
            return t("forms.hint_duration")
        if field.kind == "datetime":
            return t("forms.hint_timezone", zone=self.timezone)
        if field.kind == "json":
            return t("forms.hint_json")
        return ""

    def option_label(self, field: ir.Field, option: ir.Option, t: Translator) -> str:
        if field.name == "priority" and field.src.file == _CORE.file:
            return t(f"forms.priority_{option.value}")
        return ir.label_for(option.label, t.language, option.value.replace("_", " ").capitalize())


def _number(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _input(field: ir.Field) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The <input> type and the hints the browser checks before sending (the service checks again)."""
    kind = field.kind
    attrs: list[tuple[str, str]] = []
    bounds = [(key, getattr(field, key)) for key in ("min", "max") if getattr(field, key) is not None]
    if kind in ("string", "email", "url", "phone"):
        limit = field.max_length or (255 if kind == "string" else None)
        if limit:
            attrs.append(("maxlength", str(limit)))
        pattern = html_pattern(field.pattern)
        if pattern:
            attrs.append(("pattern", pattern))
        # No autocomplete hint: such a field is often about someone else (the customer's address, say).
        return {"email": "email", "url": "url", "phone": "tel"}.get(kind, "text"), tuple(attrs)
    if kind == "integer":
        attrs += [(key, _number(value)) for key, value in bounds]
        return "number", (*attrs, ("step", "1"))
    if kind == "decimal":
        attrs += [(key, _number(value)) for key, value in bounds]
        step = "any" if field.scale is None else format(Decimal(1).scaleb(-field.scale), "f")
        return "number", (*attrs, ("step", step), ("inputmode", "decimal"))
    if kind == "date":
        attrs += [(key, dt.date.fromisoformat(str(value)).isoformat()) for key, value in bounds
                  if _is_iso_date(str(value))]
        return "date", tuple(attrs)
    if kind == "datetime":
        return "datetime-local", ()
    if kind == "relation":
        return "number", (("min", "1"), ("step", "1"), ("inputmode", "numeric"))
    return "text", ()  # list, duration: typed as text and read by form_values


def _is_iso_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def html_pattern(pattern: str | None) -> str | None:
    """The field's pattern for the browser, when the browser reads it as the server does.

    The server searches for the pattern anywhere; a browser matches it against the whole value. Only anchored
    patterns mean the same in both, and Python-only syntax (``(?i)``, lookarounds) is left to the server. Browsers
    compile the attribute with the ``v`` flag, where a hyphen at the edge of a class must be escaped."""
    if not pattern or not pattern.startswith("^") or not pattern.endswith("$") or "(?" in pattern \
            or "\\A" in pattern or "\\Z" in pattern:
        return None
    body = pattern[1:-1]
    return body.replace("[-", "[\\-").replace("-]", "\\-]").replace("\\\\-", "\\-")
