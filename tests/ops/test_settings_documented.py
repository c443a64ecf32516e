"""Every setting of tessera.yaml has its row in docs/operations.md's settings table, and every row is a setting."""

from __future__ import annotations

import json
import re
from typing import Any

from tests.ops.guide import GUIDE, REPO

SCHEMA = REPO / "schemas" / "project.schema.json"
ROW = re.compile(r"^\|\s*`([a-z_.]+)`\s*\|")


def _resolve(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """Through a $ref, or the one object of an anyOf (a section that may be null)."""
    if "$ref" in node:
        return _resolve(definitions[node["$ref"].rsplit("/", 1)[1]], definitions)
    for choice in node.get("anyOf", ()):
        if "$ref" in choice:
            return _resolve(choice, definitions)
    return node


def schema_settings() -> set[str]:
    """Top-level keys and, for sections, their keys (``mail``, ``mail.outgoing`` …)."""
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    definitions = schema["$defs"]
    keys = set()
    for name, node in schema["properties"].items():
        keys.add(name)
        for child in _resolve(node, definitions).get("properties", {}):
            keys.add(f"{name}.{child}")
    return keys


def documented() -> set[str]:
    text = GUIDE.read_text(encoding="utf-8")
    table = text[text.index("## Settings"):]
    return {match.group(1) for line in table.splitlines() if (match := ROW.match(line))}


def test_every_setting_has_a_row() -> None:
    missing = sorted(schema_settings() - documented())
    assert not missing, f"docs/operations.md, Settings: no row for {missing}"


def test_every_row_is_a_setting() -> None:
    unknown = sorted(documented() - schema_settings())
    assert not unknown, f"docs/operations.md, Settings: rows for settings the schema lacks: {unknown}"


def test_the_check_is_not_vacuous() -> None:
    keys = schema_settings()
    assert {"database.url", "paths.attachments", "mail.outgoing", "ai.llm", "metrics.open_on_loopback"} <= keys
    assert len(keys) >= 45
