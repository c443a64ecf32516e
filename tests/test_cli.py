"""The command line as a builder uses it: exit codes, reports and the files it writes."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.desk_fixtures import FIXTURES, SHIPPED, add_it_support_field, copy_shipped_desk, overlay_desk

CLI = SHIPPED / "cli.py"


def revision_files(root: Path) -> list[Path]:
    return sorted((root / "generated" / "migrations").glob("[0-9][0-9][0-9][0-9]_*.py"))


def run(root: Path, *args: str, database: Path | None = None) -> subprocess.CompletedProcess[str]:
    options = ["--root", str(root)]
    if database is not None:
        options += ["--database-url", f"sqlite:///{database}"]
    return subprocess.run([sys.executable, str(CLI), *options, *args], capture_output=True, text=True, timeout=120,
                          check=False)


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    root = copy_shipped_desk(tmp_path / "desk")
    for folder in ("generated", "schemas"):
        shutil.copytree(SHIPPED / folder, root / folder)
    return root


def test_validate_reports_every_error_and_exits_nonzero(tmp_path: Path) -> None:
    root = overlay_desk(FIXTURES / "invalid" / "unknown_field_kind", tmp_path / "desk")
    result = run(root, "validate")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == (FIXTURES / "invalid" / "unknown_field_kind" / "expected.txt").read_text()


def test_validate_accepts_the_shipped_desk(shipped: Path) -> None:
    result = run(shipped, "validate")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: 4 ticket types")


def test_check_passes_on_the_shipped_desk_as_committed() -> None:
    result = run(SHIPPED, "check")
    assert result.returncode == 0, result.stderr


def test_check_names_the_command_when_a_schema_file_is_stale(shipped: Path) -> None:
    (shipped / "schemas" / "sla.schema.json").write_text("{}\n")
    result = run(shipped, "check")
    assert result.returncode == 2
    assert "File schemas/sla.schema.json is not up to date (differs from the definitions). " \
           "Run `python cli.py generate`." in result.stderr


def test_check_flags_a_stale_openapi_document_and_generate_rewrites_it(shipped: Path) -> None:
    committed = (shipped / "generated" / "openapi.json").read_text()
    (shipped / "generated" / "openapi.json").write_text(committed.replace('"title": "Tessera: ', '"title": "Old: '))
    result = run(shipped, "check")
    assert result.returncode == 2
    assert "File generated/openapi.json is not up to date (differs from the definitions)" in result.stderr
    assert run(shipped, "generate").stdout == "wrote generated/openapi.json\n"
    assert (shipped / "generated" / "openapi.json").read_text() == committed


def test_check_fails_when_a_field_was_added_without_a_migration(shipped: Path) -> None:
    add_it_support_field(shipped)
    result = run(shipped, "check")
    assert result.returncode == 2
    assert "File generated/schema.json is not up to date (1 schema change without a migration)" in result.stderr
    assert "File generated/types/it_support.schema.json is not up to date" in result.stderr


def test_check_flags_a_schema_for_a_type_that_no_longer_exists(shipped: Path) -> None:
    (shipped / "generated" / "types" / "old_type.schema.json").write_text("{}\n")
    result = run(shipped, "check")
    assert "File generated/types/old_type.schema.json is not up to date (belongs to nothing in the " \
           "definitions)" in result.stderr


def test_generate_then_check_then_generate_again_writes_nothing(shipped: Path) -> None:
    add_it_support_field(shipped)
    sequence = len(revision_files(shipped)) + 1
    first = run(shipped, "generate")
    assert first.returncode == 0, first.stderr
    assert f"wrote generated/migrations/{sequence:04d}_add_column_ticket_it_support_vpn_client.py" in first.stdout
    assert run(shipped, "check").returncode == 0
    again = run(shipped, "generate")
    assert again.stdout == "nothing to generate: generated/ and schemas/ match the definitions\n"


def test_revisions_are_identical_wherever_they_are_generated(tmp_path: Path) -> None:
    texts = []
    for name in ("a", "b"):
        root = copy_shipped_desk(tmp_path / name)
        assert run(root, "generate").returncode == 0
        texts.append([p.read_bytes() for p in sorted((root / "generated").rglob("*")) if p.is_file()])
    assert texts[0] == texts[1]


def test_destructive_generate_is_refused_with_the_flag_named(shipped: Path) -> None:
    before = revision_files(shipped)
    path = shipped / "ticket_types" / "it_support.yaml"
    text = path.read_text()
    path.write_text(text.replace("  remote_address:", "  remote_host:", 1).replace(
        "software, remote_address]", "software, remote_host]"))
    result = run(shipped, "generate")
    assert result.returncode == 2
    assert "! drop column ticket_it_support.remote_address (values archived)" in result.stderr
    assert "python cli.py generate --allow-destructive" in result.stderr
    assert revision_files(shipped) == before


def test_plan_prints_the_change_and_the_database_state(shipped: Path, tmp_path: Path) -> None:
    path = shipped / "ticket_types" / "it_support.yaml"
    path.write_text(path.read_text().replace("  os_version:", "  os_release:\n    renamed_from: os_version"
                                             ).replace("os_version, software", "os_release, software"))
    result = run(shipped, "plan", database=tmp_path / "plan.db")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:2] == [
        "Definitions → generated/ (1 change to generate):",
        "  ~ rename column ticket_it_support.os_version → os_release (values kept)",
    ]
    count = len(revision_files(shipped))
    assert f"Database: {count} revision{'s' if count > 1 else ''} to apply with `migrate`:" in result.stdout


def test_migrate_refuses_definitions_without_a_migration(shipped: Path, tmp_path: Path) -> None:
    add_it_support_field(shipped)
    result = run(shipped, "migrate", database=tmp_path / "m.db")
    assert result.returncode == 2
    assert "Run `python cli.py generate` first" in result.stderr


def test_demo_prepares_the_database_once(shipped: Path, tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    first = run(shipped, "demo", "--no-serve", database=database)
    lines = first.stdout.splitlines()
    assert lines[0] == "Bitext sample (CDLA-Sharing-1.0): 27 published articles, 200 resolved tickets added", \
        first.stderr
    assert lines[1].startswith("triage model trained on 20")  # the history above, and the types' examples
    assert "category (4 values)" in lines[1]
    assert lines[2:] == ["demo desk ready: 8 sample tickets added"]
    second = run(shipped, "demo", "--no-serve", database=database)
    assert second.stdout.splitlines()[-1] == "demo desk ready"
    assert "triage model trained" not in second.stdout  # kept from the first start


def test_downgrade_to_an_unknown_revision_is_a_message_not_a_traceback(shipped: Path, tmp_path: Path) -> None:
    database = tmp_path / "d.db"
    assert run(shipped, "migrate", database=database).returncode == 0
    result = run(shipped, "migrate", "--downgrade", "abcdef123456", database=database)
    assert result.returncode == 2
    assert result.stderr.startswith("migration failed: ")
    assert "abcdef123456" in result.stderr
    assert "Traceback" not in result.stderr
