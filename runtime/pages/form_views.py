"""Showing the generated forms: the list of types to choose from, a type's form (again, with the service's
refusals next to the fields and everything typed kept), and reading a submitted form of either encoding."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from litestar import Request, Response

from runtime.config import ir
from runtime.pages.form_fields import FormSection, TypeForm, Widget
from runtime.pages.form_values import Parsed
from runtime.pages.render import Pages
from runtime.pages.visitors import Visitor
from runtime.tickets.errors import InvalidTicket
from runtime.tickets.records import validate

EMAIL_MAX, NAME_MAX = 320, 200  # as the form intake checks them (runtime.intake.forms)


async def submitted(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The posted form, URL-encoded or multipart alike: a repeated name (checkboxes) as a list of its values."""
    form = await request.form()
    return {key: values if len(values) > 1 else values[0] for key, values in form.dict().items()}


def text_of(value: Any) -> str:
    """One text from a submitted form value: a repeated field counts by its last value, a file as no text."""
    if isinstance(value, list):
        value = value[-1] if value else ""
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class TypeEntry:
    name: str
    label: str
    description: str
    href: str


def type_entries(pages: Pages, visitor: Visitor, types: Iterable[ir.TicketType], prefix: str) -> list[TypeEntry]:
    return [TypeEntry(t.name, pages.label(t.label, visitor, t.name), pages.label(t.description, visitor, ""),
                      f"{prefix}/{t.name}") for t in types]


def types_page(pages: Pages, visitor: Visitor, entries: list[TypeEntry], heading: str, intro: str) -> Response[str]:
    return pages.html("form_types.html", visitor, title=heading, heading=heading, intro=intro, entries=entries)


def contact_section(visitor: Visitor, values: Mapping[str, Any], errors: Mapping[str, str]) -> FormSection:
    """Who is asking, on a form for anonymous visitors: where the answer goes, and a name to address them by."""
    t = visitor.t

    def one(name: str, input_type: str, required: bool, limit: int, autocomplete: str) -> Widget:
        value = values.get(name)
        return Widget(name=name, id=f"f-{name}", kind=input_type, control="input", input_type=input_type,
                      label=t(f"forms.your_{name}"), help=t(f"forms.your_{name}_help"), placeholder="",
                      required=required, attrs=(("maxlength", str(limit)), ("autocomplete", autocomplete)),
                      value=value if isinstance(value, str) else "", error=errors.get(name))

    return FormSection(t("forms.about_you"), "", (one("email", "email", True, EMAIL_MAX, "email"),
                                                  one("name", "text", False, NAME_MAX, "name")))


@dataclass(frozen=True)
class FormPage:
    """A type's form as one page shows it: where it posts, what rides along hidden, and how it is headed."""

    form: TypeForm
    action: str
    heading: str
    intro: str
    hidden: tuple[tuple[str, str], ...] = ()
    honeypot: str | None = None  # the field's name, rendered out of sight
    back: str = "/"


def show_form(pages: Pages, visitor: Visitor, page: FormPage, *, values: Mapping[str, Any] | None = None,
              errors: Mapping[str, str] | None = None, form_errors: Sequence[str] = (),
              choices: Mapping[str, Sequence[tuple[int, str]]] | None = None,
              before: Sequence[FormSection] = (), status: int = 200,
              headers: dict[str, str] | None = None) -> Response[str]:
    layout = page.form.layout(visitor.t, values=values, errors=errors, form_errors=form_errors, choices=choices)
    if before:
        layout = replace(layout, sections=(*before, *layout.sections))
    return pages.html("form.html", visitor, status=status, headers=headers, title=page.heading, page=page,
                      layout=layout)


def refusals(parsed: Parsed, type_model: Any) -> list[dict[str, str]]:
    """When some text could not be read at all, the service's model still judges the rest, so that the visitor
    sees every problem at once rather than one round after another."""
    readable = {k: v for k, v in parsed.payload.items() if k not in parsed.errors}
    try:
        validate(type_model, readable)
    except InvalidTicket as exc:
        return [e for e in exc.errors if e.get("field", "").split(".", 1)[0] not in parsed.errors]
    return []
