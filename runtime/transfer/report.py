"""The rejected rows of an import, written as they are found: each with its line in the input, what the row is
called there (the other desk's id, or an export's ticket number) and every reason. CSV or JSONL by the file's
name; it is written on every run, so an empty one says that nothing was rejected."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from types import TracebackType
from typing import IO

HEADER = ("line", "key", "reasons")


def default_report(source: Path) -> Path:
    """``tickets.csv`` → ``tickets.rejected.csv`` beside it (JSONL likewise)."""
    return source.with_name(f"{source.stem}.rejected{source.suffix.lower() or '.csv'}")


class Report:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.jsonl = path.suffix.lower() in (".jsonl", ".ndjson", ".json")
        self.count = 0
        self._file: IO[str] | None = None
        self._csv: csv.DictWriter[str] | None = None

    def __enter__(self) -> Report:
        self._file = self.path.open("w", encoding="utf-8", newline="")
        if not self.jsonl:
            self._csv = csv.DictWriter(self._file, HEADER)
            self._csv.writeheader()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if self._file is not None:
            self._file.close()

    def rejected(self, line: int, key: str, reasons: list[str]) -> None:
        assert self._file is not None
        self.count += 1
        if self._csv is not None:
            self._csv.writerow({"line": line, "key": key, "reasons": "; ".join(reasons)})
        else:
            self._file.write(json.dumps({"line": line, "key": key, "reasons": reasons}, ensure_ascii=False) + "\n")
