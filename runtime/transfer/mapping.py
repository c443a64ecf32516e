"""A mapping file, read and checked against the desk: every mistake reported at once, with its file, line, key
and a hint, as the definitions' errors are; then resolved into a ``Mapping`` the importer runs.

``tessera`` (or no mapping at all) names the built-in identity mapping of a Tessera export instead of a file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from collections.abc import Mapping as MappingOf
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from runtime.compile.columns import relation_table
from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.config.core_columns import PRIORITIES, SOURCES
from runtime.config.errors import ConfigError, KeyPath, did_you_mean, one_of, show
from runtime.config.loader import RawDoc, load_yaml
from runtime.config.parse import parse_doc
from runtime.errors import ConfigInvalid
from runtime.transfer.mapping_spec import ColumnSpec, CommentsSpec, CsvSpec, MappingSpec, PersonSpec

TESSERA = "tessera"  # the built-in identity mapping: a Tessera export read back as it was written
TIMESTAMPS = ("created_at", "updated_at", "status_changed_at", "first_response_at", "resolved_at", "closed_at")
# The core fields a mapping may fill through ``fields``, with the kind their values are read as.
CORE_FIELDS = {"title": "string", "description": "text", "priority": "choice", "category": "choice",
               "tags": "list", "language": "string"}
# Core columns that have their own key in the mapping (or are the runtime's to set): named in ``fields``, they get
# this hint.
OWN_KEYS = {"requester_id": "use 'requester:' (by email)", "assignee_id": "use 'assignee:' (by username)",
            "team_id": "use 'team:' (by name)", "status": "use 'status:'", "number": "use 'number:'",
            "external_ref": "use 'external_ref:'", "source": "use 'channel:'",
            **dict.fromkeys(TIMESTAMPS, "use 'timestamps:'")}
PERSON_COLUMNS = {"assignee": ("username", "email"), "team": ("name", "label", "email")}


@dataclass(frozen=True)
class Pick:
    """Where one value comes from: a column, or a fixed value; then the value map."""

    path: KeyPath  # where the mapping says so, for errors about it
    column: str | None = None
    value: Any = None
    values: MappingOf[str, Any] = field(default_factory=dict)
    default: Any = None
    by: str | None = None
    missing: str = "reject"


@dataclass(frozen=True)
class Mapping:
    file: str
    source: str
    external_ref: Pick
    type: Pick
    channel: Pick
    number: Pick | None
    status: Pick | None
    fields: dict[str, dict[str, Pick]]  # type → field → pick: the shared fields the type has, and its own
    requester: dict[str, Pick]  # email, name, organization
    assignee: Pick | None
    team: Pick | None
    timestamps: dict[str, Pick]
    time_format: str | None
    zone: dt.tzinfo
    comments: CommentsSpec | None
    csv: CsvSpec
    doc: RawDoc | None = field(default=None, compare=False, repr=False)  # for the positions of later errors

    def picks(self) -> Iterable[Pick]:
        """Every pick that reads a column, each once."""
        seen: set[KeyPath] = set()
        fixed = [self.external_ref, self.type, self.channel, self.number, self.status, self.assignee, self.team,
                 *self.requester.values(), *self.timestamps.values()]
        for pick in [*fixed, *(p for by_field in self.fields.values() for p in by_field.values())]:
            if pick is not None and pick.column is not None and pick.path not in seen:
                seen.add(pick.path)
                yield pick


def _pick(source: str | ColumnSpec | None, path: KeyPath) -> Pick | None:
    if source is None:
        return None
    if isinstance(source, str):
        return Pick(path, column=source)
    return Pick(path, source.column, source.value, dict(source.values), source.default, source.by,
                source.missing if isinstance(source, PersonSpec) else "reject")


class _Checker:
    """Collects every error of one mapping file against one desk."""

    def __init__(self, doc: RawDoc, spec: MappingSpec, compiled: CompiledDesk) -> None:
        self.doc, self.spec, self.compiled = doc, spec, compiled
        self.desk = compiled.definitions
        self.errors: list[ConfigError] = []

    def error(self, path: KeyPath, message: str, *, at_key: bool = False, **extra: str | None) -> None:
        line, column = self.doc.position(path, at_key=at_key)
        self.errors.append(ConfigError(self.doc.file, line, column, path, message, **extra))

    def has_source(self, pick: Pick | None) -> None:
        if pick is not None and pick.column is None and pick.value is None:
            self.error(pick.path, "no source for this value", expected="a column name, or 'column:' or 'value:'",
                       hint="write the column's name, e.g. Subject, or {value: ...} for a fixed value")

    def types(self) -> list[ir.TicketType]:
        """The types rows can have: a fixed one, or those a type column's values map to."""
        names = [t.name for t in self.desk.types]
        source = self.spec.type
        if isinstance(source, str):  # the shorthand names a fixed type, not a column
            wanted: list[tuple[KeyPath, Any]] = [(("type",), source)]
        else:
            pick = _pick(source, ("type",))
            assert pick is not None
            self.has_source(pick)
            wanted = [((*pick.path, "values", key), value) for key, value in pick.values.items()]
            wanted += [((*pick.path, key), getattr(pick, key)) for key in ("value", "default")
                       if getattr(pick, key) is not None]
        found = []
        for path, value in wanted:
            ticket_type = self.desk.ticket_type(value) if isinstance(value, str) else None
            if ticket_type is None:
                self.error(path, f"{show(value)} is not a ticket type", expected=one_of(names), found=show(value),
                           hint=did_you_mean(value, names))
            else:
                found.append(ticket_type)
        if isinstance(source, ColumnSpec) and source.column is not None and not source.values:
            return list(self.desk.types)  # the column holds this desk's type names themselves
        return list({t.name: t for t in found}.values())

    def field_kinds(self, ticket_type: ir.TicketType) -> dict[str, ir.Field | str]:
        kinds: dict[str, ir.Field | str] = dict(CORE_FIELDS)
        kinds |= {f.name: f for f in (*self.desk.master_fields, *ticket_type.fields)}
        return kinds

    def choices(self, name: str, kind: ir.Field | str, ticket_type: ir.TicketType) -> list[str] | None:
        if name == "priority":
            return list(PRIORITIES)
        if name == "category":
            return list(ticket_type.categories) or [c.value for c in self.desk.categories]
        if isinstance(kind, ir.Field) and kind.kind in ("choice", "multichoice"):
            return [o.value for o in kind.options]
        return None

    def fields(self, types: list[ir.TicketType]) -> dict[str, dict[str, Pick]]:
        plans: dict[str, dict[str, Pick]] = {t.name: {} for t in self.desk.types}
        everywhere = {name for t in self.desk.types for name in self.field_kinds(t)}
        for name, source in self.spec.fields.items():
            pick = _pick(source, ("fields", name))
            assert pick is not None
            holders = [t for t in self.desk.types if name in self.field_kinds(t)]
            if not holders:
                self.unknown_field(("fields", name), name, everywhere)
                continue
            self.check_field(pick, name, holders, types)
            for ticket_type in holders:
                plans[ticket_type.name][name] = pick
        for type_name, own in self.spec.types.items():
            found = self.desk.ticket_type(type_name)
            if found is None:
                names = [t.name for t in self.desk.types]
                self.error(("types", type_name), f"'{type_name}' is not a ticket type", at_key=True,
                           expected=one_of(names), found=f"'{type_name}'", hint=did_you_mean(type_name, names))
                continue
            ticket_type = found
            for name, source in own.fields.items():
                pick = _pick(source, ("types", type_name, "fields", name))
                assert pick is not None
                if name not in self.field_kinds(ticket_type):
                    self.unknown_field(pick.path, name, list(self.field_kinds(ticket_type)), f" of {type_name}")
                    continue
                self.check_field(pick, name, [ticket_type], [ticket_type])
                plans[type_name][name] = pick
        return plans

    def unknown_field(self, path: KeyPath, name: str, known: Iterable[str], where: str = "") -> None:
        known = sorted(known)
        hint = OWN_KEYS.get(name) or did_you_mean(name, known) or "remove it, or name a field of the type"
        self.error(path, f"'{name}' is not a field{where}", at_key=True, expected=one_of(known, limit=20),
                   found=f"'{name}'", hint=hint)

    def check_field(self, pick: Pick, name: str, holders: list[ir.TicketType], mapped: list[ir.TicketType]) -> None:
        self.has_source(pick)
        relevant = [t for t in holders if t in mapped] or holders
        ticket_type = relevant[0]
        kind = self.field_kinds(ticket_type)[name]
        kind_name = kind if isinstance(kind, str) else kind.kind
        if kind_name == "attachment":
            self.error(pick.path, f"'{name}' holds attachments, which a mapping cannot import", at_key=True,
                       hint="leave it out: only a Tessera export carries attachments")
        if pick.by is not None:
            self.check_by(pick, name, kind)
        # A value is right when one of the types the field is mapped for allows it (categories differ by type).
        choices = [self.choices(name, self.field_kinds(t)[name], t) for t in relevant]
        if any(c is None for c in choices):
            return
        allowed = sorted({value for c in choices for value in c or ()})
        for key, value in pick.values.items():
            for item in value if isinstance(value, list) else [value]:
                if item is not None and item not in allowed:
                    self.error((*pick.path, "values", key), f"{show(item)} is not a value of '{name}'",
                               expected=one_of(allowed, limit=20), found=show(item), hint=did_you_mean(item, allowed))

    def check_by(self, pick: Pick, name: str, kind: ir.Field | str) -> None:
        if not isinstance(kind, ir.Field) or kind.kind != "relation":
            self.error((*pick.path, "by"), f"'by' is for relation fields; '{name}' is not one", at_key=True,
                       hint="remove 'by'")
            return
        table = self.compiled.table(self.relation_table(kind))
        columns = [c.name for c in table.c if c.name != "password_hash"]
        if pick.by not in columns:
            self.error((*pick.path, "by"), f"'{pick.by}' is not a column of {table.name}", expected=one_of(columns),
                       found=show(pick.by), hint=did_you_mean(pick.by, columns))

    @staticmethod
    def relation_table(kind: ir.Field) -> str:
        return relation_table(kind.to or "")

    def status(self, types: list[ir.TicketType]) -> Pick | None:
        pick = _pick(self.spec.status, ("status",))
        self.has_source(pick)
        if pick is None:
            return None
        states = sorted({s.name for t in types for s in self.workflow(t).states})
        targets = [((*pick.path, "values", k), v) for k, v in pick.values.items()]
        if pick.value is not None:
            targets.append(((*pick.path, "value"), pick.value))
        if pick.default is not None:
            targets.append(((*pick.path, "default"), pick.default))
        for path, value in targets:
            if value not in states:
                self.error(path, f"{show(value)} is not a state of the mapped types' workflows",
                           expected=one_of(states, limit=20), found=show(value), hint=did_you_mean(value, states))
        return pick

    def workflow(self, ticket_type: ir.TicketType) -> ir.Workflow:
        workflow = self.desk.workflow(ticket_type.workflow)
        assert workflow is not None
        return workflow

    def channel(self) -> Pick:
        source = self.spec.channel
        pick = Pick(("channel",), value=source) if isinstance(source, str) else _pick(source, ("channel",))
        assert pick is not None
        self.has_source(pick)
        fixed = [(pick.path if isinstance(source, str) else (*pick.path, "value"), pick.value)]
        for path, value in [*fixed, *(((*pick.path, "values", k), v) for k, v in pick.values.items())]:
            if value is not None and value not in SOURCES:
                self.error(path, f"{show(value)} is not a channel", expected=one_of(SOURCES), found=show(value),
                           hint=did_you_mean(value, SOURCES))
        return pick

    def person(self, key: str) -> Pick | None:
        source = getattr(self.spec, key)
        pick = _pick(source, (key,))
        self.has_source(pick)
        if pick is None:
            return None
        allowed = PERSON_COLUMNS[key]
        by = pick.by or allowed[0]
        if by not in allowed:
            self.error((key, "by"), f"{key}s are not found by '{by}'", expected=one_of(allowed), found=show(by),
                       hint=did_you_mean(by, allowed))
        return Pick(pick.path, pick.column, pick.value, pick.values, pick.default, by, pick.missing)

    def requester(self) -> dict[str, Pick]:
        source = self.spec.requester
        if source is None:
            return {}
        if isinstance(source, str):
            return {"email": Pick(("requester",), column=source)}
        picks = {name: _pick(getattr(source, name), ("requester", name)) for name in ("email", "name", "organization")}
        for pick in picks.values():
            self.has_source(pick)
        return {name: pick for name, pick in picks.items() if pick is not None}

    def timestamps(self) -> tuple[dict[str, Pick], dt.tzinfo]:
        spec = self.spec.timestamps
        picks = {name: _pick(getattr(spec, name), ("timestamps", name)) for name in TIMESTAMPS}
        for pick in picks.values():
            self.has_source(pick)
        zone: dt.tzinfo = dt.UTC
        try:
            zone = ZoneInfo(spec.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            self.error(("timestamps", "timezone"), f"'{spec.timezone}' is not a time zone",
                       expected="an IANA time zone such as UTC or Europe/Berlin", found=show(spec.timezone))
        if spec.format is not None:
            probe = dt.datetime(2001, 2, 3, 4, 5, 6)
            try:
                dt.datetime.strptime(probe.strftime(spec.format), spec.format)
            except ValueError as exc:
                self.error(("timestamps", "format"), "this format cannot read back what it writes",
                           expected="a strptime format such as '%Y-%m-%d %H:%M'", found=str(exc))
        return {name: pick for name, pick in picks.items() if pick is not None}, zone


def load_mapping(path: Path, compiled: CompiledDesk) -> Mapping:
    """The mapping in ``path``, checked against the desk; ConfigInvalid with every error otherwise."""
    loaded = load_yaml(path, Path.cwd())
    if isinstance(loaded, ConfigError):
        raise ConfigInvalid([loaded], report([loaded]))
    parsed = parse_doc(loaded, MappingSpec)
    if isinstance(parsed, list):
        raise ConfigInvalid(list(parsed), report(parsed))
    checker = _Checker(loaded, parsed, compiled)
    types = checker.types()
    external_ref = _pick(parsed.external_ref, ("external_ref",))
    number = _pick(parsed.number, ("number",))
    for pick in (external_ref, number):
        checker.has_source(pick)
    fields = checker.fields(types)
    status = checker.status(types)
    channel = checker.channel()
    assignee, team = checker.person("assignee"), checker.person("team")
    requester = checker.requester()
    timestamps, zone = checker.timestamps()
    if checker.errors:
        raise ConfigInvalid(list(checker.errors), report(checker.errors))
    type_pick = Pick(("type",), value=parsed.type) if isinstance(parsed.type, str) else _pick(parsed.type, ("type",))
    assert external_ref is not None
    assert type_pick is not None
    return Mapping(loaded.file, parsed.source, external_ref, type_pick, channel, number, status, fields, requester,
                   assignee, team, timestamps, parsed.timestamps.format, zone, parsed.comments, parsed.csv, loaded)


def check_columns(mapping: Mapping, header: list[str]) -> None:
    """Refuse a CSV whose header lacks a column the mapping names, each one reported at the mapping's line."""
    errors = []
    wanted = [(p.path, p.column) for p in mapping.picks()]
    if mapping.comments is not None:
        wanted.append((("comments", "column"), mapping.comments.column))
    for path, column in wanted:
        if column in header:
            continue
        line, col = mapping.doc.position(path) if mapping.doc is not None else (1, 1)
        errors.append(ConfigError(mapping.file, line, col, path, f"the file has no column '{column}'",
                                  expected=one_of(header, limit=20), found=show(column),
                                  hint=did_you_mean(column, header) or "check the spelling against the header"))
    if errors:
        raise ConfigInvalid(list(errors), report(errors))


def report(errors: Iterable[ConfigError]) -> str:
    unique = sorted(set(errors), key=ConfigError.sort_key)
    noun = "error" if len(unique) == 1 else "errors"
    return "\n".join([*(e.render() for e in unique), f"{len(unique)} {noun} in the mapping"])
