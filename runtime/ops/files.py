"""The desk's folders in a backup: the content-addressed attachment store and the local triage model.

Attachment files are named by the SHA-256 of their bytes and never change once written, so bringing a copy up
to date means copying the files it lacks; a file of the right name and size is the same file."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass
class FileCopy:
    files: int = 0  # in the source folder
    bytes: int = 0
    copied: int = 0  # of them, new in the target


def stored_files(root: Path) -> Iterator[Path]:
    """The store's files (``ab/cd/<sha256>``); the store's half-written temporary files are left out."""
    if not root.is_dir():
        return
    for path in sorted(root.glob("??/??/*")):
        if _HEX64.fullmatch(path.name) and path.parent.name == path.name[2:4] and path.parent.parent.name == \
                path.name[:2] and path.is_file():
            yield path


def copy_new_files(source: Path, target: Path) -> FileCopy:
    """Copy the attachment files ``target`` lacks; each lands under a temporary name and is renamed when whole,
    so an interrupted copy never leaves a short file under a real name."""
    result = FileCopy()
    for path in stored_files(source):
        size = path.stat().st_size
        result.files += 1
        result.bytes += size
        destination = target / path.relative_to(source)
        try:
            if destination.stat().st_size == size:
                continue
        except FileNotFoundError:
            pass
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".partial")
        shutil.copyfile(path, partial)
        os.replace(partial, destination)
        result.copied += 1
    return result


def missing_files(store: Path, sha256s: Iterable[str]) -> list[str]:
    """The hashes the database refers to that have no file in ``store``."""
    return sorted({digest for digest in sha256s
                   if not (store / digest[:2] / digest[2:4] / digest).is_file()})


def copy_folder(source: Path, target: Path) -> bool:
    """A small folder (the triage model) copied whole, replacing what ``target`` held; False when absent."""
    if not source.is_dir():
        return False
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target)
    return True
