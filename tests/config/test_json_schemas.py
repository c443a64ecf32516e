"""The JSON Schemas that editors use accept and reject exactly the documents that the Spec models do."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from runtime.config.errors import ConfigError
from runtime.config.jsonschemas import file_kind, spec_schema
from runtime.config.loader import RawDoc, load_yaml
from runtime.config.parse import parse_doc
from runtime.config.spec import FILE_KINDS
from tests.desk_fixtures import FIXTURES, MINIMAL, SHIPPED


def _desk_files(root: Path) -> list[Path]:
    """The definition files of a whole desk (not its generated files or schemas)."""
    files = [root / "tessera.yaml"]
    for folder in ("ticket_types", "sla_policies"):
        files += sorted((root / folder).glob("*.yaml"))
    return files


def _all_files() -> list[tuple[Path, Path]]:
    """(desk or case folder, file) for the shipped and minimal desks and every fixture case's own files."""
    pairs = [(root, path) for root in (SHIPPED, MINIMAL) for path in _desk_files(root)]
    for group in ("valid", "invalid"):
        for case in sorted(p for p in (FIXTURES / group).iterdir() if p.is_dir()):
            pairs += [(case, path) for path in sorted(case.rglob("*.yaml"))]
    return pairs


ALL_FILES = _all_files()
# Files that fail as YAML never reach either model; they are counted below but not compared.
FILES = [(root, path) for root, path in ALL_FILES if not isinstance(load_yaml(path, root), ConfigError)]
IDS = [f"{root.relative_to(SHIPPED).as_posix() or 'shipped'}/{path.relative_to(root).as_posix()}"
       for root, path in FILES]


@cache
def _validator(kind: str) -> Draft202012Validator:
    return Draft202012Validator(spec_schema(kind))


def _verdicts(doc: RawDoc, kind: str) -> tuple[bool, bool]:
    """(Spec accepts, JSON Schema accepts) for one document."""
    spec_ok = not isinstance(parse_doc(doc, FILE_KINDS[kind]), list)
    return spec_ok, _validator(kind).is_valid(doc.data)


def _file_verdicts(root: Path, path: Path) -> tuple[bool, bool] | None:
    """The verdicts for a desk file; None when YAML itself fails, which neither model ever sees."""
    doc = load_yaml(path, root)
    if isinstance(doc, ConfigError):
        return None
    return _verdicts(doc, file_kind(path.relative_to(root).as_posix()))


@pytest.mark.parametrize("kind", sorted(FILE_KINDS))
def test_schema_is_a_valid_draft_2020_12_schema(kind: str) -> None:
    Draft202012Validator.check_schema(spec_schema(kind))


@pytest.mark.parametrize(("root", "path"), FILES, ids=IDS)
def test_schema_and_spec_agree_on_desk_file(root: Path, path: Path) -> None:
    verdicts = _file_verdicts(root, path)
    assert verdicts is not None
    spec_ok, schema_ok = verdicts
    assert spec_ok == schema_ok, f"Spec accepts: {spec_ok}, JSON Schema accepts: {schema_ok}"


def test_desk_files_include_both_accepted_and_rejected_ones() -> None:
    # Guards the test above against passing vacuously, e.g. if every file were skipped or alike.
    counts = Counter(_file_verdicts(root, path) for root, path in ALL_FILES)
    assert counts[(True, True)] >= 30
    assert counts[(False, False)] >= 10
    assert counts[None] >= 3  # YAML syntax, tab and empty-file cases


def _ticket_type(**changes: Any) -> dict[str, Any]:
    return {"type": "repair", "label": "Repair", "number_prefix": "RP", "workflow": "simple", **changes}


def _field(**spec: Any) -> dict[str, Any]:
    return _ticket_type(fields={"serial": {"kind": "string", **spec}})


def _policy(targets: dict[str, Any] | None = None, **changes: Any) -> dict[str, Any]:
    policy = {"name": "base", "calendar": "24x7", "targets": targets or {"P0": {"resolution": "2h"}}, **changes}
    return {"policies": [policy]}


def _calendar(hours: Any) -> dict[str, Any]:
    return {"calendars": {"office": {"timezone": "Europe/Berlin", "hours": hours}}}


def _transition(**transition: Any) -> dict[str, Any]:
    states = {"open": {"category": "open"}, "done": {"category": "resolved"}}
    return {"workflows": {"simple": {"initial": "open", "states": states, "transitions": {"finish": transition}}}}


# (kind, document, accepted?) — structural rules written out, each checked against both validators.
STRUCTURAL = {
    "ticket type": ("ticket_type", _ticket_type(), True),
    "unknown key": ("ticket_type", _field(lable="Serial"), False),
    "missing required key": ("ticket_type", {"type": "repair", "label": "Repair", "workflow": "simple"}, False),
    "list where a mapping belongs": ("ticket_type", _ticket_type(fields=[{"serial": {"kind": "string"}}]), False),
    "text for a boolean": ("ticket_type", _field(required="yes"), False),
    "text '5' for an integer": ("ticket_type", _field(max_length="5"), False),
    "whole float for an integer": ("ticket_type", _field(max_length=32.0), True),
    "fraction for an integer": ("ticket_type", _field(max_length=2.5), False),
    "true for an integer": ("ticket_type", _field(max_length=True), False),
    "integer below its minimum": ("ticket_type", _field(max_length=0), False),
    "unknown field kind": ("ticket_type", _ticket_type(fields={"serial": {"kind": "strng"}}), False),
    "number as option": ("ticket_type", _ticket_type(fields={"floor": {"kind": "choice", "options": [1]}}), False),
    "option mapping without value": ("master", {"fields": {"f": {"kind": "choice", "options": [{"label": "L"}]}}},
                                     False),
    "labels per language": ("ticket_type", _ticket_type(label={"en": "Repair", "de": "Reparatur"}), True),
    "number as label": ("ticket_type", _ticket_type(label=5), False),
    "lowercase number prefix": ("ticket_type", _ticket_type(number_prefix="rp"), False),
    "inline workflow": ("ticket_type", _ticket_type(workflow={"initial": "a", "states": {}, "transitions": {}}), True),
    "number as workflow": ("ticket_type", _ticket_type(workflow=5), False),
    "policy": ("sla", _policy(), True),
    "bad duration": ("sla", _policy({"P0": {"resolution": "1 day"}}), False),
    "number as duration": ("sla", _policy({"P0": {"resolution": 15}}), False),
    "unknown priority under targets": ("sla", _policy({"P5": {"resolution": "2h"}}), False),
    "unknown priority in applies_to": ("sla", _policy(applies_to={"priorities": ["P5"]}), False),
    "escalation point": ("sla", _policy(escalations=[{"metric": "resolution", "at": "100% + 1h"}]), True),
    "bad escalation point": ("sla", _policy(escalations=[{"metric": "resolution", "at": "80 percent"}]), False),
    "escalation sets null": ("sla", _policy(escalations=[{"metric": "resolution", "at": "80%", "set": {"x": None}}]),
                             False),
    "date not as YYYY-MM-DD": ("sla", _policy(valid_from="01.07.2025"), False),
    "text as order": ("sla", _policy(order="1"), False),
    "always open": ("sla", _calendar("24x7"), True),
    "other text as hours": ("sla", _calendar("always"), False),
    "opening hours": ("sla", _calendar({"mon-fri": "08:00-12:00, 13:00-17:00"}), True),
    "bad opening hours": ("sla", _calendar({"mon-fri": "9-17"}), False),
    "transition": ("workflows", _transition(**{"from": ["open"], "to": "done", "when": {"x": None}}), True),
    "python name 'from_' for 'from'": ("workflows", _transition(from_="open", to="done"), False),
    "unknown status category": ("workflows", {"workflows": {"w": {"initial": "a", "states": {"a": {"category": "x"}},
                                                                 "transitions": {}}}}, False),
    "project": ("project", {"name": "Desk"}, True),
    "no languages": ("project", {"name": "Desk", "languages": []}, False),
    "port out of range": ("project", {"name": "Desk", "server": {"port": 80800}}, False),
    "list as document": ("collections", ["assets"], False),
}


@pytest.mark.parametrize(("kind", "data", "accepted"), STRUCTURAL.values(), ids=STRUCTURAL.keys())
def test_schema_and_spec_agree_on_structural_case(kind: str, data: Any, accepted: bool) -> None:
    spec_ok, schema_ok = _verdicts(RawDoc("inline.yaml", data), kind)
    assert (spec_ok, schema_ok) == (accepted, accepted)
