"""``cli.py backup``: the database as of one moment, then the attachment files it refers to, then the manifest.

The order matters: the attachment store writes a file (and fsyncs it) before the row that names it commits, so
every file the database copy refers to already exists when the folders are copied after it. The manifest is
written last: a backup folder without one is unfinished."""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.ops import files, snapshot

FORMAT = "tessera-backup/1"
MANIFEST = "manifest.json"
ATTACHMENTS = "attachments"
MODEL = "ai-model"


@dataclass
class Backup:
    manifest: dict[str, Any]
    attachments: files.FileCopy
    missing: list[str] = field(default_factory=list)


def attachment_store(compiled: CompiledDesk) -> Path:
    return compiled.root / compiled.definitions.project.attachments_dir


def model_folder(compiled: CompiledDesk) -> Path:
    return compiled.root / compiled.definitions.project.ai.model_dir


def make_backup(compiled: CompiledDesk, engine: sa.Engine, folder: Path) -> Backup:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MANIFEST).unlink(missing_ok=True)  # until this run's manifest is written, the folder is unfinished
    started = dt.datetime.now(dt.UTC)
    taken = snapshot.take(engine, compiled.metadata, folder)
    copied = files.copy_new_files(attachment_store(compiled), folder / ATTACHMENTS)
    missing = files.missing_files(folder / ATTACHMENTS, taken.sha256s)
    has_model = files.copy_folder(model_folder(compiled), folder / MODEL)
    manifest = {
        "format": FORMAT,
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "dialect": engine.dialect.name,
        "database_file": taken.file,
        "revision": taken.revision,
        "counts": taken.counts,
        "attachments": {"files": copied.files, "bytes": copied.bytes, "referenced": len(taken.sha256s),
                        "missing": missing},
        "ai_model": MODEL if has_model else None,
    }
    write_manifest(folder, manifest)
    return Backup(manifest, copied, missing)


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    partial = folder / (MANIFEST + ".partial")
    partial.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, folder / MANIFEST)


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no manifest, so no finished backup in this folder")
    manifest: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} manifest")
    return manifest
