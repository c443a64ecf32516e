"""A content-addressed store for ticket attachments: files named by their SHA-256, written once.

The database keeps the rows (sha256, filename, content_type, size, ticket and comment); this module
only owns the bytes, so identical uploads share one file and a crash never leaves a partial one.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol
from urllib.parse import quote

from runtime.tickets.content_types import SNIFF_BYTES, serving_type, sniff
from runtime.tickets.errors import TicketError

CHUNK_BYTES = 64 * 1024
MAX_FILENAME_BYTES = 255
FALLBACK_FILENAME = "attachment"
_TEMP_PREFIX = ".incoming-"
_HEX64 = re.compile(r"[0-9a-f]{64}", re.ASCII)
# Extensions longer than this are not worth keeping when a name has to be shortened.
_MAX_EXTENSION_BYTES = 32
# Control, format (bidi overrides, zero-width), surrogate and line/paragraph separator characters.
_DROPPED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
# RFC 5987 attr-char, minus the alphanumerics `quote` always keeps.
_ATTR_CHAR_PUNCTUATION = "!#$&+-.^_`|~"
_ASCII_FALLBACK_UNSAFE = re.compile(r"[^A-Za-z0-9 !#$&\'()+,\-.=@\[\]^_`{}~]")


class AttachmentTooLarge(TicketError):
    """The upload is over the configured limit; nothing was kept."""

    status = 413
    title = "Attachment too large"

    def __init__(self, limit_bytes: int) -> None:
        megabytes = f"{limit_bytes / (1024 * 1024):.1f}".rstrip("0").rstrip(".")
        super().__init__(f"Attachments may be at most {megabytes} MB.")
        self.limit_bytes = limit_bytes


class AttachmentMissing(TicketError):
    """No stored file has this hash (or the hash is malformed, so none could)."""

    status = 404
    title = "Not found"


class ByteStream(Protocol):
    """Anything with a binary ``read(size)``: open files, sockets' makefile, request bodies."""

    def read(self, size: int = ..., /) -> bytes: ...


@dataclass(frozen=True)
class StoredFile:
    """What the caller records in the ``attachments`` table."""

    sha256: str
    size: int
    filename: str
    content_type: str


class AttachmentStore:
    """Files under ``root/ab/cd/<sha256>``: two levels of fan-out keep directories small."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        self.root = Path(root)
        self.max_bytes = max_bytes

    def store(self, data: bytes | BinaryIO | ByteStream, filename: str, declared_type: str | None) -> StoredFile:
        """Keep ``data`` (bytes or a stream read in chunks), hashing while writing; same bytes, one file."""
        name = sanitize_filename(filename)
        if isinstance(data, bytes):
            if len(data) > self.max_bytes:
                raise AttachmentTooLarge(self.max_bytes)
            digest, size, head = hashlib.sha256(data).hexdigest(), len(data), data[:SNIFF_BYTES]
            if not self._present(digest, size):
                self._write(_slices(data))
        else:
            digest, size, head = self._write(_read_chunks(data))
        return StoredFile(digest, size, name, sniff(head, name, declared_type, complete=size <= SNIFF_BYTES))

    def path(self, sha256: str) -> Path:
        """Where the file with this hash lives; ``AttachmentMissing`` when it is not stored."""
        location = self._location(sha256)
        if not location.is_file():
            raise AttachmentMissing(f"No attachment {sha256}.")
        return location

    def open(self, sha256: str) -> BinaryIO:
        """The stored bytes for reading; the caller closes the file."""
        location = self._location(sha256)
        try:
            return location.open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise AttachmentMissing(f"No attachment {sha256}.") from None

    def _location(self, sha256: str) -> Path:
        """Validated first, since the hash often comes from a URL and must never reach the filesystem raw."""
        digest = sha256.lower()
        if not _HEX64.fullmatch(digest):
            raise AttachmentMissing("Not an attachment id: expected 64 hexadecimal characters.")
        return self.root / digest[:2] / digest[2:4] / digest

    def _present(self, digest: str, size: int) -> bool:
        try:
            return self._location(digest).stat().st_size == size
        except (FileNotFoundError, NotADirectoryError):
            return False

    def _write(self, chunks: Iterator[bytes]) -> tuple[str, int, bytes]:
        """Write to a temp file in ``root`` (same filesystem, so the rename is atomic), fsync, then rename.

        The hash, and so the final folder, is known only at the end. Returns (sha256, size, first bytes).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(prefix=_TEMP_PREFIX, suffix=".tmp", dir=self.root)
        temp = Path(temp_name)
        try:
            hasher, size, head = hashlib.sha256(), 0, bytearray()
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise AttachmentTooLarge(self.max_bytes)
                    if len(head) < SNIFF_BYTES:
                        head += chunk[: SNIFF_BYTES - len(head)]
                    hasher.update(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            if self._present(digest, size):
                temp.unlink()
            else:
                final = self._location(digest)
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(temp, final)
                _fsync_directory(final.parent)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return digest, size, bytes(head)


def sanitize_filename(filename: str) -> str:
    """A name safe to store and offer for download: basename only, printable, at most 255 UTF-8 bytes."""
    name = unicodedata.normalize("NFC", filename)
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch) not in _DROPPED_CATEGORIES)
    name = _trim(name)
    if len(name.encode()) > MAX_FILENAME_BYTES:
        stem, dot, extension = name.rpartition(".")
        suffix = dot + extension if stem and len(extension.encode()) <= _MAX_EXTENSION_BYTES else ""
        stem = stem if suffix else name
        budget = MAX_FILENAME_BYTES - len(suffix.encode())
        name = _trim(stem.encode()[:budget].decode("utf-8", "ignore")) + suffix
        name = _trim(name)
    return name or FALLBACK_FILENAME


def download_headers(stored_filename: str, content_type: str, size: int) -> dict[str, str]:
    """Headers that make every attachment a download the browser will neither sniff nor render."""
    name = sanitize_filename(stored_filename)
    return {
        "Content-Type": serving_type(content_type),
        "Content-Length": str(int(size)),
        "Content-Disposition": (
            f'attachment; filename="{_ascii_fallback(name)}"; '
            f"filename*=UTF-8''{quote(name, safe=_ATTR_CHAR_PUNCTUATION)}"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }


def _ascii_fallback(name: str) -> str:
    """For clients without RFC 6266 ``filename*``: accents dropped, anything else non-ASCII as ``_``."""
    decomposed = unicodedata.normalize("NFKD", name)
    ascii_name = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _trim(_ASCII_FALLBACK_UNSAFE.sub("_", ascii_name)) or FALLBACK_FILENAME


def _trim(name: str) -> str:
    """No leading dots (hidden files, ``..``), no surrounding whitespace, no trailing dots (Windows)."""
    return re.sub(r"^[\s.]+|[\s.]+$", "", name)


def _slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), CHUNK_BYTES):
        yield bytes(view[start : start + CHUNK_BYTES])


def _read_chunks(stream: BinaryIO | ByteStream) -> Iterator[bytes]:
    while chunk := stream.read(CHUNK_BYTES):
        yield chunk


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable; directories cannot be opened this way on Windows."""
    if os.name != "posix":
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
