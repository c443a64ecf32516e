"""JSON Schemas of the YAML file kinds, generated from the Spec models (editors autocomplete with them)."""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

from runtime.config.spec import FILE_KINDS

HEADER = "Generated from runtime/config/spec.py by `python cli.py generate`; do not edit."


def file_kind(relative_path: str) -> str:
    """Which Spec model a desk file is read with, from its path inside the desk."""
    path = PurePosixPath(relative_path)
    if path.name == "tessera.yaml":
        return "project"
    if path.parent.name == "sla_policies":
        return "sla"
    return {"_master": "master", "_workflows": "workflows", "_collections": "collections"}.get(path.stem, "ticket_type")


def spec_schema(kind: str) -> dict[str, Any]:
    model = FILE_KINDS[kind]
    schema = model.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": f"{kind}.schema.json",
            "$comment": HEADER, **schema}


def schema_files() -> dict[str, str]:
    """File name → text for every schema in ``schemas/``."""
    return {f"{kind}.schema.json": json.dumps(spec_schema(kind), indent=2, ensure_ascii=False) + "\n"
            for kind in FILE_KINDS}
