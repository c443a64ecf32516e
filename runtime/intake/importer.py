"""Mail from files: single messages (.eml), mbox files and Maildir folders, each message through the pipeline.

Messages are committed in batches before any is processed, so an import that stops halfway leaves every read
message stored (``intake retry --all`` finishes them); importing the same files again makes nothing new.
"""

from __future__ import annotations

import mailbox
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from runtime.intake.pipeline import MailPipeline
from runtime.intake.store import FINAL

BATCH = 200  # messages committed per transaction before they are processed
MAIL_SUFFIXES = (".eml", ".mbox", ".mbx")


@dataclass
class ImportReport:
    outcomes: Counter[str] = field(default_factory=Counter)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (where it came from, why)

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _from_mbox(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.mbox(path, create=False)
    try:
        for index, key in enumerate(box.iterkeys(), start=1):
            yield f"{path}#{index}", box.get_bytes(key)
    finally:
        box.close()


def _from_maildir(path: Path) -> Iterator[tuple[str, bytes]]:
    box = mailbox.Maildir(path, factory=None, create=False)
    for key in sorted(box.iterkeys()):
        yield f"{path}/{key}", box.get_bytes(key)


def _from_file(path: Path) -> Iterator[tuple[str, bytes]]:
    if _is_mbox(path):
        yield from _from_mbox(path)
    else:
        yield str(path), path.read_bytes()


def read_messages(paths: Iterable[Path]) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) of every message under ``paths``: files given by name whatever they are called; inside
    plain folders only .eml/.mbox files and files that start like an mbox, so notes and licences are skipped."""
    for path in paths:
        if path.is_dir() and _is_maildir(path):
            yield from _from_maildir(path)
        elif path.is_dir():
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                if child.suffix.lower() in MAIL_SUFFIXES or _is_mbox(child):
                    yield from _from_file(child)
        else:
            yield from _from_file(path)


def _batches(messages: Iterator[tuple[str, bytes]], size: int) -> Iterator[list[tuple[str, bytes]]]:
    batch: list[tuple[str, bytes]] = []
    for message in messages:
        batch.append(message)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def import_mail(pipeline: MailPipeline, paths: Iterable[Path], source: str = "import",
                progress: Callable[[ImportReport], None] | None = None) -> ImportReport:
    """Store and process every message under ``paths``; counts by outcome."""
    report = ImportReport()
    for batch in _batches(read_messages(paths), BATCH):
        stored = pipeline.receive([raw for _, raw in batch], source, [{"file": where} for where, _ in batch])
        for (where, _), row in zip(batch, stored, strict=True):
            if not row.new and row.state in FINAL:
                report.outcomes["done before"] += 1
                continue
            outcome = pipeline.process(row.id)
            report.outcomes[outcome.kind] += 1
            if outcome.kind == "quarantined":
                report.quarantined.append((where, outcome.reason or ""))
        if progress is not None:
            progress(report)
    return report
