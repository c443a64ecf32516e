"""Rows of a CSV or JSONL file, one at a time, each with the line it starts on, and how far into the file the
reading is (for the progress bar). A row that cannot be read is handed on with the reason, not raised: one bad
line must not stop an import."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

FIELD_LIMIT = 64 * 1024 * 1024  # a description or a comment list may be long; csv's default stops at 128 KiB


@dataclass(frozen=True)
class Record:
    line: int
    data: dict[str, Any]
    problem: str | None = None


def kind_of(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}.get(suffix)


class SourceFile:
    def __init__(self, path: Path, kind: str, *, encoding: str = "utf-8-sig", delimiter: str = ",") -> None:
        self.path, self.kind = path, kind
        self.encoding, self.delimiter = encoding, delimiter
        self.size = path.stat().st_size
        self._raw: IO[bytes] | None = None

    def position(self) -> int:
        """Bytes read so far (in the reader's chunks: good enough to show progress)."""
        raw = self._raw
        if raw is None or raw.closed:
            return self.size
        return raw.tell()

    def header(self) -> list[str]:
        """A CSV's column names (empty for JSONL, whose keys may differ per line)."""
        if self.kind != "csv":
            return []
        with self.path.open(newline="", encoding=self.encoding) as handle:
            return next(csv.reader(handle, delimiter=self.delimiter), [])

    def records(self) -> Iterator[Record]:
        with self.path.open("rb") as raw:
            self._raw = raw
            yield from self._csv(raw) if self.kind == "csv" else self._jsonl(raw)

    def _csv(self, raw: IO[bytes]) -> Iterator[Record]:
        csv.field_size_limit(FIELD_LIMIT)
        text = io.TextIOWrapper(raw, encoding=self.encoding, newline="", errors="strict")
        reader = csv.reader(text, delimiter=self.delimiter)
        try:
            header = next(reader, [])
        except (csv.Error, UnicodeDecodeError) as exc:
            yield Record(1, {}, f"the header cannot be read: {exc}")
            return
        previous = reader.line_num
        while True:
            start = previous + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                previous = reader.line_num
                yield Record(start, {}, f"not readable as CSV: {exc}")
                continue
            except UnicodeDecodeError as exc:
                yield Record(start, {}, f"not {self.encoding} text: {exc}")
                return  # the decoder cannot find its way back into the text
            previous = reader.line_num
            if not row:
                continue
            problem = None
            if len(row) > len(header):
                problem = f"{len(row)} values, but the header has {len(header)} columns"
            yield Record(start, dict(zip(header, row, strict=False)), problem)

    @staticmethod
    def _jsonl(raw: IO[bytes]) -> Iterator[Record]:
        for number, line in enumerate(raw, start=1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError as exc:
                yield Record(number, {}, f"not JSON: {exc}")
                continue
            if not isinstance(data, dict):
                yield Record(number, {}, "not a JSON object")
                continue
            yield Record(number, data)


def column_value(data: dict[str, Any], column: str) -> Any:
    """A column of a CSV row, or a key of a JSONL object; ``a.b`` reaches into nested objects when there is no
    key ``a.b`` itself."""
    if column in data:
        return data[column]
    value: Any = data
    for part in column.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value
