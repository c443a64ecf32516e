"""The committed outputs of the definitions (schemas/ and generated/): write them, or say which are stale."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from runtime.compile.desk import CompiledDesk
from runtime.config.jsonschemas import schema_files
from runtime.db import migrations

REGENERATE = "python cli.py generate"
GENERATED_MARK = "by python cli.py generate from the definitions and the routes; do not edit"


@dataclass(frozen=True)
class Stale:
    path: str
    reason: str

    def render(self) -> str:
        return f"File {self.path} is not up to date ({self.reason}). Run `{REGENERATE}`."


def migration_paths(compiled: CompiledDesk) -> migrations.Paths:
    return migrations.Paths(compiled.root / compiled.definitions.project.generated_dir)


def derived_files(compiled: CompiledDesk) -> dict[str, str]:
    """Relative path → text for every file derived wholly from the definitions (not migrations)."""
    project = compiled.definitions.project
    files = {f"{project.schemas_dir}/{name}": text for name, text in schema_files().items()}
    for type_name, schema in compiled.type_schemas.items():
        files[f"{project.generated_dir}/types/{type_name}.schema.json"] = json.dumps(schema, indent=2,
                                                                                     ensure_ascii=False) + "\n"
    files[f"{project.generated_dir}/openapi.json"] = openapi_text(compiled)
    return files


def openapi_text(compiled: CompiledDesk) -> str:
    """The app's OpenAPI document, marked as generated."""
    from runtime.web.app import openapi_document  # the web app imports this module

    document = {"x-generated": GENERATED_MARK, **openapi_document(compiled)}
    return json.dumps(document, indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def _derived_folders(compiled: CompiledDesk) -> list[Path]:
    project = compiled.definitions.project
    return [compiled.root / project.schemas_dir, compiled.root / project.generated_dir / "types"]


def stale_files(compiled: CompiledDesk) -> list[Stale]:
    """Every committed output that differs from what the definitions produce now."""
    stale = []
    expected = derived_files(compiled)
    for relative, text in expected.items():
        path = compiled.root / relative
        if not path.exists():
            stale.append(Stale(relative, "missing"))
        elif path.read_text(encoding="utf-8") != text:
            stale.append(Stale(relative, "differs from the definitions"))
    for folder in _derived_folders(compiled):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            relative = path.relative_to(compiled.root).as_posix()
            if relative not in expected:
                stale.append(Stale(relative, "belongs to nothing in the definitions"))
    paths = migration_paths(compiled)
    changes = migrations.pending_changes(paths, compiled.schema_snapshot)
    if changes:
        relative = paths.snapshot.relative_to(compiled.root).as_posix()
        stale.append(Stale(relative, f"{len(changes)} schema change{'s' if len(changes) != 1 else ''} "
                                     "without a migration"))
    head = migrations.read_snapshot(paths).get("head")
    if head and migrations.head_revision(paths) != head:
        stale.append(Stale(paths.migrations.relative_to(compiled.root).as_posix(),
                           f"the snapshot's head revision {head} is not the head of the revision files"))
    return stale


def write_derived(compiled: CompiledDesk) -> list[str]:
    """Write schemas, per-type schemas and the OpenAPI document; return the paths that changed."""
    changed = []
    expected = derived_files(compiled)
    for folder in _derived_folders(compiled):
        for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
            if path.relative_to(compiled.root).as_posix() not in expected:
                path.unlink()
                changed.append(path.relative_to(compiled.root).as_posix())
    for relative, text in expected.items():
        path = compiled.root / relative
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            changed.append(relative)
    return changed
