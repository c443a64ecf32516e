"""The service's refusals (``InvalidTicket.errors``: ``{field, reason}``) placed next to the fields of a form, in the
visitor's language.

The reasons are the validation library's English sentences; the common ones are recognized and said again
from the pages' catalog, with the field's own limits. One not recognized is shown as the service wrote it, so
that no reason is ever lost.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from runtime.config import ir
from runtime.pages.i18n import Translator

# The reasons of the submitter's own keys on public forms (runtime.intake.forms), by their first words.
_OWN = (("your email address", "forms.error_email_required"), ("your name", "forms.error_name"),
        ("set by the desk", "forms.error_desk_chosen"), ("required: it cannot be emptied", "forms.error_required"))
_BY_KIND = {"email": "forms.error_email", "url": "forms.error_url", "phone": "forms.error_phone",
            "duration": "forms.error_duration", "relation": "forms.error_relation"}
_NUMBER_IN = re.compile(r"(-?\d+(?:\.\d+)?)")


def _number(reason: str) -> str:
    found = _NUMBER_IN.search(reason)
    return found.group(1) if found else ""


def _rules(field: ir.Field | None) -> list[tuple[Callable[[str], bool], Callable[[Translator, str], str]]]:
    kind = field.kind if field is not None else ""
    by_kind = _BY_KIND.get(kind)
    return [
        (lambda r: r in ("Field required", "String should have at least 1 character"),
         lambda t, _r: t("forms.error_required")),
        (lambda r: r.startswith("String should match pattern"),
         lambda t, _r: t(by_kind) if by_kind else t("forms.error_pattern")),
        (lambda r: r.startswith("String should have at most"),
         lambda t, r: t("forms.error_too_long", n=_number(r))),
        (lambda r: r.startswith("Input should be greater than"), lambda t, r: t("forms.error_min", limit=_number(r))),
        (lambda r: r.startswith("Input should be less than"), lambda t, r: t("forms.error_max", limit=_number(r))),
        (lambda r: r.startswith("Decimal input should have no more than") and "decimal place" in r,
         lambda t, r: t("forms.error_decimals", n=_number(r))),
        (lambda r: r.startswith("Decimal input should have no more than") and "digit" in r,
         lambda t, r: t("forms.error_digits", n=_number(r))),
        (lambda r: r.startswith(("Input should be a valid integer", "Input should be a valid decimal",
                                 "Input should be a valid number", "Decimal input")),
         lambda t, _r: t(by_kind) if by_kind in ("forms.error_duration", "forms.error_relation")
         else t("forms.error_integer") if kind == "integer" else t("forms.error_number")),
        (lambda r: r.startswith("Input should be a valid date"),
         lambda t, _r: t("forms.error_datetime") if kind == "datetime" else t("forms.error_date")),
        (lambda r: r.startswith(("Input should be a valid datetime", "Input should have timezone")),
         lambda t, _r: t("forms.error_datetime")),
        (lambda r: r.startswith("Input should be '"), lambda t, _r: t("forms.error_choice")),
        (lambda r: r.startswith("List should have at most"), lambda t, r: t("forms.error_too_many", n=_number(r))),
        (lambda r: r.startswith("no ") and " record with id " in r, lambda t, _r: t("forms.error_relation")),
    ]


def message(field: ir.Field | None, reason: str, t: Translator) -> str:
    """A refusal's reason as the visitor reads it next to ``field`` (None: a key that is no field)."""
    for start, key in _OWN:
        if reason.startswith(start):
            return t(key)
    for matches, say in _rules(field):
        if matches(reason):
            return say(t, reason)
    return reason


def place_errors(items: Iterable[Mapping[str, Any]], shown: Iterable[str], definitions: Mapping[str, ir.Field],
                 label: Callable[[str], str], t: Translator) -> tuple[dict[str, str], list[str]]:
    """Per-field messages for the fields the form shows, and the rest for the top of the form (each named by
    its label when it has one). ``tags.0`` belongs to ``tags``; a field's several reasons are joined."""
    visible = set(shown)
    per_field: dict[str, str] = {}
    rest: list[str] = []
    for item in items:
        path, reason = str(item.get("field", "")), str(item.get("reason", ""))
        name = path.split(".", 1)[0]
        text = message(definitions.get(name), reason, t)
        if name in visible:
            if text not in per_field.get(name, ""):
                per_field[name] = f"{per_field[name]} {text}" if name in per_field else text
            continue
        named = label(name) if name in definitions else name
        line = text if name.startswith("(") or not name else f"{named}: {text}"
        if line not in rest:
            rest.append(line)
    return per_field, rest
