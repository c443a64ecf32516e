"""Every shipped YAML file points editors at the JSON Schema of its own kind."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.config.jsonschemas import file_kind
from tests.desk_fixtures import SHIPPED

FILES = [SHIPPED / "tessera.yaml", *sorted((SHIPPED / "ticket_types").glob("*.yaml")),
         *sorted((SHIPPED / "sla_policies").glob("*.yaml"))]
PREFIX = "# yaml-language-server: $schema="


@pytest.mark.parametrize("path", FILES, ids=[p.relative_to(SHIPPED).as_posix() for p in FILES])
def test_file_names_the_schema_of_its_kind(path: Path) -> None:
    first_line = path.read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith(PREFIX)
    schema = (path.parent / first_line.removeprefix(PREFIX)).resolve()
    kind = file_kind(path.relative_to(SHIPPED).as_posix())
    assert schema == (SHIPPED / "schemas" / f"{kind}.schema.json").resolve()
    assert schema.exists()
