"""The generated form of every shipped type: sections, labels, hints, what requesters are asked for, reading the
submitted text into the service's payload, and the service's refusals placed next to their fields."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Any

import pytest

from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.config import ir
from runtime.pages.form_fields import DESK_CHOSEN, FormLayout, TypeForm, html_pattern, requester_may_set
from runtime.pages.form_values import as_json, format_duration
from runtime.pages.i18n import Translator
from runtime.pages.render import environment
from runtime.tickets.errors import InvalidTicket
from runtime.tickets.records import validate
from tests.desk_fixtures import SHIPPED

EN, DE = Translator("en"), Translator("de")
# Texts that the patterned fields of the shipped types accept.
PATTERNED = {"asset_number": "LT-004711", "cost_centre": "12345", "order_number": "ORD-2024-17", "fault_code": "PK-104"}
BY_KIND = {"string": "Some words", "text": "A longer text\nover two lines", "email": "kim@example.org",
           "url": "https://shop.example.org/p/1", "phone": "+49 30 1234567", "integer": "5", "decimal": "12,50",
           "date": "2024-05-01", "datetime": "2024-05-01T10:30", "duration": "1h 30m", "boolean": "true",
           "list": "first, second", "relation": "1", "json": '{"order": 17}'}


@pytest.fixture(scope="module")
def compiled() -> CompiledDesk:
    return load_compiled(SHIPPED)


def _types(compiled: CompiledDesk) -> list[ir.TicketType]:
    types = list(compiled.definitions.types)
    assert len(types) == 4
    return types


def _filled(form: TypeForm) -> dict[str, Any]:
    """A valid submission of every field the form shows, as a browser sends it (text; lists for checkboxes)."""
    data: dict[str, Any] = {}
    for f in form.fields:
        if f.kind == "attachment":
            continue
        if f.kind == "choice":
            data[f.name] = f.options[0].value
        elif f.kind == "multichoice":
            data[f.name] = [f.options[0].value, f.options[1].value]
        else:
            data[f.name] = PATTERNED.get(f.name, BY_KIND[f.kind])
    return data


def _names(layout: FormLayout) -> list[str]:
    return [w.name for w in layout.widgets]


@pytest.mark.parametrize("audience", ["agent", "requester", "public"])
def test_every_shipped_type_lays_out_its_sections_with_labels(compiled: CompiledDesk, audience: str) -> None:
    for ticket_type in _types(compiled):
        form = TypeForm(compiled.definitions, ticket_type, audience)
        layout = form.layout(DE)
        shown = _names(layout)
        assert "title" in shown
        assert len(shown) == len(set(shown)), "a field appears twice"
        initial = form.state
        for section in ticket_type.sections:
            visible = section.visible_in is None or initial in section.visible_in
            for name in section.fields:
                definition = form.definitions[name]
                wanted = visible and (audience == "agent" or requester_may_set(definition))
                assert (name in shown) == wanted, (ticket_type.name, audience, name)
        for own in (*compiled.definitions.master_fields, *ticket_type.fields):
            placed = any(own.name in s.fields for s in ticket_type.sections)
            if not placed and (audience == "agent" or requester_may_set(own)):
                assert own.name in [w.name for w in layout.sections[-1].widgets], (ticket_type.name, own.name)
        for widget in layout.widgets:
            assert widget.label
            assert widget.id == f"f-{widget.name}"
        if audience != "agent":
            assert not DESK_CHOSEN & set(shown)
            assert not {f.name for f in form.fields if f.kind in ("attachment", "json")}


def test_labels_help_and_options_come_in_the_visitors_language(compiled: CompiledDesk) -> None:
    form = TypeForm.of(compiled.definitions, "it_support", "public")
    assert form is not None
    german, english = form.layout(DE), form.layout(EN)
    assert german.sections[0].title == "Anfrage"
    assert english.sections[0].title == "Request"
    asset = german.widget("asset_number")
    assert asset is not None
    assert asset.label == "Inventarnummer"
    assert asset.help.startswith("Der Aufkleber")
    title = german.widget("title")
    assert title is not None
    assert title.label == "Titel"
    assert title.required
    impact = german.widget("impact")
    assert impact is not None
    assert [o.label for o in impact.options][:2] == ["Eine Person", "Ein Team"]
    assert next(o.selected for o in impact.options), "the default is chosen on a new ticket"
    priority = english.widget("priority")
    assert priority is not None
    assert [o.value for o in priority.options] == ["P0", "P1", "P2", "P3"]
    assert next(o for o in priority.options if o.selected).value == "P2"  # the type's default priority
    assert german.sections[-1].title == "Weitere Angaben"


def test_hidden_sections_follow_the_state(compiled: CompiledDesk) -> None:
    new = TypeForm.of(compiled.definitions, "customer_complaint", "agent")
    working = TypeForm.of(compiled.definitions, "customer_complaint", "agent", status="in_progress")
    assert new is not None
    assert working is not None
    assert "compensation_amount" not in _names(new.layout(EN))
    assert "compensation_amount" in _names(working.layout(EN))
    # Fields of a hidden section are not moved to the last section either.
    it_new = TypeForm.of(compiled.definitions, "it_support", "agent")
    it_assigned = TypeForm.of(compiled.definitions, "it_support", "agent", status="assigned")
    assert it_new is not None
    assert it_assigned is not None
    assert "assignee_id" not in _names(it_new.layout(EN))
    assert {"assignee_id", "team_id", "tags"} <= set(_names(it_assigned.layout(EN)))
    assert "requester_id" in _names(it_new.layout(EN))


def test_browser_hints_match_the_field_definitions(compiled: CompiledDesk) -> None:
    def attrs(type_name: str, name: str, audience: str = "agent") -> tuple[str, dict[str, str]]:
        form = TypeForm.of(compiled.definitions, type_name, audience, status="in_progress", timezone="Europe/Berlin")
        assert form is not None
        widget = form.layout(EN).widget(name)
        assert widget is not None, name
        return widget.input_type or widget.control, dict(widget.attrs)

    assert attrs("it_support", "asset_number") == ("text", {"maxlength": "32", "pattern": "[A-Z]{2,4}-\\d{4,6}"})
    assert attrs("it_support", "users_affected") == ("number", {"min": "1", "max": "100000", "step": "1"})
    assert attrs("admin_request", "estimated_cost") == ("number", {"min": "0", "step": "0.01",
                                                                   "inputmode": "decimal"})
    assert attrs("admin_request", "needed_by")[0] == "date"
    assert attrs("equipment_maintenance", "scheduled_for")[0] == "datetime-local"
    assert attrs("customer_complaint", "customer_email")[0] == "email"
    assert attrs("customer_complaint", "product_url")[0] == "url"
    assert attrs("customer_complaint", "customer_phone")[0] == "tel"
    assert attrs("customer_complaint", "order_number")[1]["pattern"] == "[A-Z0-9\\-]{4,32}"
    assert attrs("it_support", "description")[0] == "textarea"
    assert attrs("admin_request", "systems")[0] == "checkbox"
    assert attrs("equipment_maintenance", "safety_risk")[0] == "checkbox"
    assert attrs("it_support", "error_screenshot")[0] == "file"
    form = TypeForm.of(compiled.definitions, "equipment_maintenance", "agent", status="assigned",
                       timezone="Europe/Berlin")
    assert form is not None
    layout = form.layout(EN)
    assert layout.multipart
    new = TypeForm.of(compiled.definitions, "equipment_maintenance", "agent")
    assert new is not None
    assert not new.layout(EN).multipart
    scheduled = layout.widget("scheduled_for")
    assert scheduled is not None
    assert "Europe/Berlin" in scheduled.help


def test_patterns_reach_the_browser_only_when_it_reads_them_alike() -> None:
    assert html_pattern("^\\d{4,8}$") == "\\d{4,8}"
    assert html_pattern("\\d+") is None  # searched by the server, whole-value in a browser
    assert html_pattern("(?i)^abc$") is None
    assert html_pattern(None) is None
    for pattern in ("^[A-Z0-9-]{4,32}$", "^[-a-z]+$"):
        converted = html_pattern(pattern)
        assert converted is not None
        assert re.fullmatch(converted, "AB-12" if "A" in pattern else "a-b")


def test_a_filled_form_reads_as_a_payload_the_service_accepts(compiled: CompiledDesk) -> None:
    for ticket_type in _types(compiled):
        for audience in ("agent", "public"):
            form = TypeForm(compiled.definitions, ticket_type, audience, timezone="Europe/Berlin")
            parsed = form.parse(_filled(form))
            assert not parsed.errors
            validate(compiled.create_models[ticket_type.name], parsed.payload)  # raises when refused
            validate(compiled.create_models[ticket_type.name], as_json(parsed.payload))  # as intake stores it
    equipment = TypeForm.of(compiled.definitions, "equipment_maintenance", "agent", status="in_progress",
                            timezone="Europe/Berlin")
    assert equipment is not None
    payload = equipment.parse(_filled(equipment)).payload
    assert payload["downtime"] == 5400
    assert payload["labour_cost"] == Decimal("12.50")
    assert payload["safety_risk"] is True
    assert payload["spare_parts"] == ["first", "second"]
    assert payload["scheduled_for"] == dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.UTC)
    assert payload["equipment"] == 1


def test_empty_fields_are_left_out_of_a_new_ticket_and_cleared_on_an_edit(compiled: CompiledDesk) -> None:
    new = TypeForm.of(compiled.definitions, "admin_request", "agent")
    edit = TypeForm.of(compiled.definitions, "admin_request", "agent", status="submitted")
    assert new is not None
    assert edit is not None
    sent = {"title": "Badge for Kim", "request_kind": "access", "cost_centre": " ", "systems": []}
    assert new.parse(sent).payload == {"title": "Badge for Kim", "request_kind": "access"}
    cleared = edit.parse(sent).payload
    assert cleared["cost_centre"] is None
    assert cleared["systems"] is None
    assert cleared["description"] == ""
    assert cleared["tags"] == []
    assert cleared["approver"] is None


def test_text_no_kind_can_read_is_left_for_the_service_to_refuse(compiled: CompiledDesk) -> None:
    form = TypeForm.of(compiled.definitions, "it_support", "agent")
    assert form is not None
    sent = {"title": "Printer", "users_affected": "many", "asset_number": "lt-1", "software": "Word"}
    parsed = form.parse(sent)
    assert parsed.payload["users_affected"] == "many"
    with pytest.raises(InvalidTicket) as refused:
        validate(compiled.create_models["it_support"], parsed.payload)
    per_field, rest = form.place_errors(refused.value.errors, DE)
    assert per_field == {"users_affected": "Geben Sie eine ganze Zahl ein.",
                         "asset_number": "Das hat nicht das erwartete Format."}
    assert rest == []
    layout = form.layout(DE, values=sent, errors=per_field)
    users = layout.widget("users_affected")
    assert users is not None
    assert users.value == "many"
    assert users.error
    software = layout.widget("software")
    assert software is not None
    assert software.value == "Word"
    json_form = TypeForm.of(compiled.definitions, "customer_complaint", "agent")
    assert json_form is not None
    unreadable = json_form.parse({"title": "x", "order_snapshot": "{not json"})
    assert unreadable.errors == {"order_snapshot": "forms.error_json"}
    assert json_form.place_errors([], EN, unreadable.errors)[0] == {"order_snapshot": "This is not valid JSON."}


def test_refusals_of_fields_not_shown_go_to_the_top_of_the_form(compiled: CompiledDesk) -> None:
    form = TypeForm.of(compiled.definitions, "it_support", "public")
    assert form is not None
    per_field, rest = form.place_errors([
        {"field": "email", "reason": "your email address, so that we can answer you"},
        {"field": "assignee_id", "reason": "set by the desk, not by the requester"},
        {"field": "(ticket)", "reason": "UNIQUE constraint failed"},
        {"field": "tags.0", "reason": "String should have at most 64 characters"},
        {"field": "title", "reason": "Field required"},
        {"field": "category", "reason": "Input should be 'hardware' or 'software'"},
    ], EN)
    assert per_field == {"title": "This field is required.", "category": "Choose one of the offered values."}
    assert rest == ["email: Enter your email address, so that we can answer you.",
                    "Assignee: This is set by the desk.", "UNIQUE constraint failed", "Tags: At most 64 characters."]


def test_durations_and_stored_values_show_as_typed_text(compiled: CompiledDesk) -> None:
    assert format_duration(5400) == "1h 30m"
    assert format_duration(0) == "0s"
    assert format_duration(90061) == "1d 1h 1m 1s"
    form = TypeForm.of(compiled.definitions, "equipment_maintenance", "agent", status="in_progress",
                       timezone="Europe/Berlin")
    assert form is not None
    stored = {"downtime": 5400, "labour_cost": Decimal("80.00"), "spare_parts": ["belt", "fuse"],
              "scheduled_for": dt.datetime(2024, 5, 1, 8, 30, tzinfo=dt.UTC), "safety_risk": True, "equipment": 3}
    layout = form.layout(EN, values=stored, choices={"equipment": [(3, "Packaging line 2")]})
    shown = {w.name: w for w in layout.widgets}
    assert shown["downtime"].value == "1h 30m"
    assert shown["labour_cost"].value == "80.00"
    assert shown["spare_parts"].value == "belt, fuse"
    assert shown["scheduled_for"].value == "2024-05-01T10:30"
    assert shown["safety_risk"].checked
    assert [(c.value, c.selected) for c in shown["equipment"].options] == [("3", True)]  # required: no empty choice
    # Parsing the shown values gives back what was stored.
    again = form.parse({w.name: ([c.value for c in w.options if c.selected] if w.multiple else
                                 (w.value if w.control != "select" else next((c.value for c in w.options
                                                                              if c.selected), "")))
                        for w in layout.widgets if w.control != "checkbox" or w.checked})
    for name, value in stored.items():
        assert again.payload[name] == value, name


def test_the_macro_links_labels_help_and_errors(compiled: CompiledDesk) -> None:
    form = TypeForm.of(compiled.definitions, "it_support", "public")
    assert form is not None
    sent = {"title": "VPN <down>", "asset_number": "bad", "operating_system": "linux"}
    layout = form.layout(EN, values=sent, errors={"asset_number": "This does not have the expected format."})
    template = environment().from_string('{% from "_fields.html" import form_fields, form_errors %}'
                                         '{{ form_errors(layout, "Fix:") }}{{ form_fields(layout) }}')
    html = template.render(layout=layout)
    assert '<label for="f-title" class="required">Title' in html
    assert 'value="VPN &lt;down&gt;"' in html  # kept, and escaped
    assert re.search(r'<input type="text" id="f-asset_number" name="asset_number" value="bad"[^>]*'
                     r'aria-describedby="f-asset_number-help f-asset_number-error" aria-invalid="true"', html)
    assert '<p class="field-error" id="f-asset_number-error">This does not have the expected format.</p>' in html
    assert '<option value="linux" selected>' in html
    assert 'href="#f-asset_number"' in html  # the summary links to the field
    assert html.count("<fieldset class=\"form-section\">") == len(layout.sections)
    for widget in layout.widgets:
        assert f'id="{widget.id}"' in html


def test_a_new_tickets_form_shown_again_keeps_the_defaults_of_fields_sent_empty(compiled: CompiledDesk) -> None:
    new = TypeForm.of(compiled.definitions, "it_support", "public")
    edit = TypeForm.of(compiled.definitions, "it_support", "agent", status="in_progress")
    assert new is not None
    assert edit is not None
    again = new.layout(EN, values={"title": "VPN", "users_affected": "many"})
    shown = {w.name: w for w in again.widgets}
    assert [c.value for c in shown["priority"].options if c.selected] == ["P2"]
    assert [c.value for c in shown["impact"].options if c.selected] == ["single_user"]
    assert shown["users_affected"].value == "many"
    # An edit shows what the ticket holds: an empty field stays empty.
    stored = {w.name: w for w in edit.layout(EN, values={"title": "VPN", "priority": "P1"}).widgets}
    assert stored["users_affected"].value == ""
    assert [c.value for c in stored["impact"].options if c.selected] == [""]
