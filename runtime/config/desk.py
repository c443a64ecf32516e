"""Load a whole desk: every YAML file parsed, normalized and checked, all errors collected."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel

from runtime.config import ir, normalize, spec
from runtime.config.checks import Problem, run_checks
from runtime.config.checks import ai as ai_checks
from runtime.config.errors import ConfigError, render_report
from runtime.config.loader import RawDoc, load_yaml
from runtime.config.parse import parse_doc
from runtime.errors import ConfigInvalid

SpecT = TypeVar("SpecT", bound=BaseModel)
SPECIAL_FILES = {"_master": "master", "_workflows": "workflows", "_collections": "collections"}


@dataclass
class _Collector:
    root: Path
    docs: dict[str, RawDoc] = field(default_factory=dict)
    errors: list[ConfigError] = field(default_factory=list)

    def parse(self, path: Path, model: type[SpecT]) -> tuple[SpecT, ir.Src] | None:
        doc = load_yaml(path, self.root)
        if isinstance(doc, ConfigError):
            self.errors.append(doc)
            return None
        self.docs[doc.file] = doc
        result = parse_doc(doc, model)
        if isinstance(result, list):
            self.errors.extend(result)
            return None
        return result, ir.Src(doc.file, ())

    def locate(self, problem: Problem) -> ConfigError:
        doc = self.docs.get(problem.src.file)
        line, col = doc.position(problem.src.path, at_key=problem.at_key) if doc else (1, 1)
        return ConfigError(problem.src.file, line, col, problem.src.path, problem.message,
                           problem.expected, problem.found, problem.hint)


def _yaml_files(folder: Path) -> list[Path]:
    return sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])


def validate(root: Path) -> tuple[ir.Desk | None, list[ConfigError]]:
    """Return the desk, or None with every error; never raises on bad definitions."""
    collector = _Collector(root)
    project_file = root / "tessera.yaml"
    if not project_file.exists():
        error = ConfigError("tessera.yaml", 1, 1, (), "project file is missing", expected=f"{project_file}",
                            hint="run Tessera from the desk's folder or pass --root")
        return None, [error]
    parsed_project = collector.parse(project_file, spec.ProjectSpec)
    project_spec, project_src = parsed_project or (spec.ProjectSpec(name="(invalid tessera.yaml)"), ir.Src("", ()))
    norm = normalize.Normalizer(project_spec.default_language)
    project = normalize.project(project_spec, project_src)

    master_fields: tuple[ir.Field, ...] = ()
    categories: tuple[ir.Option, ...] = ()
    collections: list[ir.Collection] = []
    workflows: list[ir.Workflow] = []
    types: list[ir.TicketType] = []
    types_dir = root / project.ticket_types_dir
    if not types_dir.is_dir():
        collector.errors.append(ConfigError("tessera.yaml", 1, 1, ("paths", "ticket_types"),
                                            "ticket types folder is missing", expected=str(types_dir)))
    for path in _yaml_files(types_dir) if types_dir.is_dir() else []:
        kind = SPECIAL_FILES.get(path.stem, "ticket_type" if not path.stem.startswith("_") else "")
        if kind == "master":
            master = collector.parse(path, spec.MasterSpec)
            if master:
                master_fields = norm.fields(master[0].fields, master[1])
                categories = tuple(norm.option(c, master[1].at("categories", i))
                                   for i, c in enumerate(master[0].categories))
        elif kind == "workflows":
            shared = collector.parse(path, spec.WorkflowsFileSpec)
            if shared:
                workflows += [norm.workflow(n, w, shared[1].at("workflows", n)) for n, w in shared[0].workflows.items()]
        elif kind == "collections":
            refs = collector.parse(path, spec.CollectionsFileSpec)
            if refs:
                for name, c in refs[0].collections.items():
                    src = refs[1].at("collections", name)
                    collections.append(ir.Collection(name, norm.text(c.label, src.at("label")), c.display,
                                                     norm.fields(c.fields, src), src, c.renamed_from))
        elif kind == "ticket_type":
            parsed = collector.parse(path, spec.TicketTypeSpec)
            if parsed:
                ticket_type, inline = norm.ticket_type(*parsed)
                types.append(ticket_type)
                workflows += [inline] if inline else []
        else:
            file = path.relative_to(root).as_posix()
            collector.errors.append(ConfigError(
                file, 1, 1, (), "unknown special file", expected="_master.yaml, _workflows.yaml or _collections.yaml",
                found=path.name, hint="names starting with '_' are reserved; rename it to define a ticket type"))

    calendars: list[ir.Calendar] = []
    policies: list[ir.Policy] = []
    for path in _yaml_files(root / project.sla_policies_dir):
        sla = collector.parse(path, spec.SlaFileSpec)
        if sla:
            calendars += [norm.calendar(n, c, sla[1].at("calendars", n)) for n, c in sla[0].calendars.items()]
            policies += [norm.policy(p, sla[1].at("policies", i)) for i, p in enumerate(sla[0].policies)]

    if collector.errors:
        # Cross-file checks on a partly read desk would report names as unknown that are only unreadable.
        return None, collector.errors
    desk = ir.Desk(project, master_fields, categories, tuple(collections), tuple(workflows), tuple(types),
                   tuple(calendars), tuple(policies), label_sources=tuple(norm.labels))
    errors = [collector.locate(p) for p in (*run_checks(desk), *ai_checks.files(desk, root))]
    return (None, errors) if errors else (desk, [])


def load_desk(root: Path) -> ir.Desk:
    """The validated desk at ``root``; raises ConfigInvalid with the full report otherwise."""
    desk, errors = validate(root)
    if desk is None:
        raise ConfigInvalid(list(errors), render_report(errors))
    return desk
