"""Build desks for tests: the minimal fixture desk with a case's files laid over it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
MINIMAL = FIXTURES / "minimal"
SHIPPED = Path(__file__).parent.parent
CASE_FILES_IGNORED = {"expected.txt", "DELETE", "README.md"}


def overlay_desk(case: Path, target: Path) -> Path:
    """Copy the minimal desk to ``target``, then the case's files over it; ``DELETE`` lists files to remove."""
    shutil.copytree(MINIMAL, target)
    for source in sorted(case.rglob("*")):
        relative = source.relative_to(case)
        if source.is_dir() or relative.as_posix() in CASE_FILES_IGNORED:
            continue
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
    deletions = case / "DELETE"
    if deletions.exists():
        for line in deletions.read_text().split():
            (target / line).unlink()
    return target


def copy_shipped_desk(target: Path) -> Path:
    """The shipped desk's definitions (not its generated files) in a scratch folder."""
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHIPPED / "tessera.yaml", target / "tessera.yaml")
    for folder in ("ticket_types", "sla_policies"):
        shutil.copytree(SHIPPED / folder, target / folder)
    return target


def add_it_support_field(root: Path, name: str = "vpn_client") -> None:
    """Add a plain string field to the shipped IT support type, the smallest schema change there is."""
    path = root / "ticket_types" / "it_support.yaml"
    path.write_text(path.read_text().replace("fields:\n", f"fields:\n  {name}:\n    kind: string\n", 1))


def snapshot_matches(expected_file: Path, actual: str) -> bool:
    """Compare with a stored snapshot; TESSERA_UPDATE_SNAPSHOTS=1 rewrites it instead."""
    if os.environ.get("TESSERA_UPDATE_SNAPSHOTS") == "1":
        expected_file.write_text(actual, encoding="utf-8")
        return True
    return expected_file.read_text(encoding="utf-8") == actual
