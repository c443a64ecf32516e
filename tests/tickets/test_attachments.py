"""The attachment store: content addressing, streaming under a limit, safe names, sniffed types, headers."""

from __future__ import annotations

import email
import email.policy
import gzip
import hashlib
import io
import os
import struct
import tempfile
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import TesseraError
from runtime.tickets.attachments import (
    CHUNK_BYTES,
    AttachmentMissing,
    AttachmentStore,
    AttachmentTooLarge,
    StoredFile,
    download_headers,
    sanitize_filename,
)

MB = 1024 * 1024
MIKEL_ATTACHMENTS = Path(__file__).resolve().parents[3] / "shared" / "data" / "mail" / "mikel" / "attachment_emails"


class GeneratorStream:
    """A read-only stream fed by a generator, recording how much the store asked for and got."""

    def __init__(self, pieces: Iterator[bytes]) -> None:
        self._pieces = pieces
        self._buffer = b""
        self.largest_read = 0
        self.consumed = 0

    def read(self, size: int = -1, /) -> bytes:
        assert size > 0, "the store must read in bounded chunks, never the whole stream"
        self.largest_read = max(self.largest_read, size)
        while len(self._buffer) < size:
            piece = next(self._pieces, None)
            if piece is None:
                break
            self._buffer += piece
        out, self._buffer = self._buffer[:size], self._buffer[size:]
        self.consumed += len(out)
        return out


def pattern(total: int, piece: int = 50_000) -> Iterator[bytes]:
    """Deterministic non-repeating-per-piece bytes, ``total`` of them, produced lazily."""
    sent = 0
    counter = 0
    while sent < total:
        block = hashlib.sha256(str(counter).encode()).digest() * (piece // 32 + 1)
        block = block[: min(piece, total - sent)]
        sent += len(block)
        counter += 1
        yield block


def files_under(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def png_bytes() -> bytes:
    """A real 1×1 PNG."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def zip_bytes(member: str = "word/document.xml") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr(member, "<document/>")
    return buffer.getvalue()


GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff"
    b"!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00\xff\xd9"
WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00"
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture
def store(tmp_path: Path) -> AttachmentStore:
    return AttachmentStore(tmp_path / "attachments", max_bytes=4 * MB)


# --- content addressing ------------------------------------------------------------------------------


def test_file_lives_under_two_levels_of_fan_out(store: AttachmentStore) -> None:
    data = b"hello attachments"
    stored = store.store(data, "hello.txt", None)
    sha = hashlib.sha256(data).hexdigest()
    assert stored == StoredFile(
        sha256=sha, size=len(data), filename="hello.txt", content_type="text/plain; charset=utf-8"
    )
    expected = store.root / sha[:2] / sha[2:4] / sha
    assert store.path(sha) == expected
    assert expected.read_bytes() == data
    assert files_under(store.root) == [expected]
    with store.open(sha.upper()) as handle:
        assert handle.read() == data


def test_same_bytes_are_written_once(store: AttachmentStore) -> None:
    data = os.urandom(100_000)
    first = store.store(data, "a.bin", None)
    before = store.path(first.sha256).stat()
    again = store.store(data, "b.bin", None)
    streamed = store.store(io.BytesIO(data), "c.bin", None)
    assert first.sha256 == again.sha256 == streamed.sha256
    assert [p.name for p in files_under(store.root)] == [first.sha256]
    after = store.path(first.sha256).stat()
    # Neither the bytes nor the stream replaced the file: same inode, untouched modification time.
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert again.filename == "b.bin"


def test_known_bytes_are_not_written_again(store: AttachmentStore, monkeypatch: pytest.MonkeyPatch) -> None:
    data = b"the same scan, attached to three tickets"
    store.store(data, "scan.txt", None)
    opened: list[object] = []
    real_mkstemp = tempfile.mkstemp

    def counting_mkstemp(*args: Any, **kwargs: Any) -> tuple[int, str]:
        opened.append(args)
        return real_mkstemp(*args, **kwargs)

    monkeypatch.setattr(tempfile, "mkstemp", counting_mkstemp)
    store.store(data, "scan.txt", None)
    assert opened == []


def test_empty_file_is_allowed(store: AttachmentStore) -> None:
    stored = store.store(b"", "empty.txt", None)
    assert stored.size == 0
    assert stored.sha256 == hashlib.sha256(b"").hexdigest()
    assert store.path(stored.sha256).read_bytes() == b""
    assert store.store(io.BytesIO(b""), "empty.txt", None) == stored


# --- streaming and the size limit --------------------------------------------------------------------


def test_large_stream_is_stored_in_chunks(store: AttachmentStore) -> None:
    total = 3 * MB
    expected = hashlib.sha256(b"".join(pattern(total))).hexdigest()
    stream = GeneratorStream(pattern(total))
    tracemalloc.start()
    try:
        stored = store.store(stream, "big.bin", "video/mp4")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert stored.sha256 == expected
    assert stored.size == total == store.path(expected).stat().st_size
    assert stream.largest_read <= CHUNK_BYTES
    assert peak < MB, f"storing a 3 MB stream peaked at {peak} bytes: not streamed"


def test_stream_exactly_at_the_limit_is_accepted(store: AttachmentStore) -> None:
    stored = store.store(GeneratorStream(pattern(4 * MB)), "limit.bin", None)
    assert stored.size == 4 * MB


def test_one_byte_over_the_limit_is_refused_and_leaves_nothing(store: AttachmentStore) -> None:
    with pytest.raises(AttachmentTooLarge, match=r"\b4 MB\b") as caught:
        store.store(GeneratorStream(pattern(4 * MB + 1)), "over.bin", None)
    assert isinstance(caught.value, TesseraError)
    assert caught.value.status == 413
    assert files_under(store.root) == []


def test_endless_stream_is_refused_without_reading_it_all(store: AttachmentStore) -> None:
    endless = GeneratorStream(pattern(10**12))
    with pytest.raises(AttachmentTooLarge):
        store.store(endless, "endless.bin", None)
    assert endless.consumed <= 4 * MB + CHUNK_BYTES
    assert files_under(store.root) == []


def test_bytes_over_the_limit_are_refused(store: AttachmentStore) -> None:
    with pytest.raises(AttachmentTooLarge, match=r"\b4 MB\b"):
        store.store(b"x" * (4 * MB + 1), "over.bin", None)
    assert files_under(store.root) == []


def test_failing_stream_leaves_no_partial_file(store: AttachmentStore) -> None:
    def broken() -> Iterator[bytes]:
        yield from pattern(MB)
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        store.store(GeneratorStream(broken()), "partial.bin", None)
    assert files_under(store.root) == []


# --- filenames ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\evil\\x.exe", "x.exe"),
        ("in\x00voice\r\n\t.pdf", "invoice.pdf"),
        ("report\u202eexe.pdf", "reportexe.pdf"),  # a right-to-left override would disguise the extension
        (".htaccess", "htaccess"),
        ("..", "attachment"),
        ("", "attachment"),
        ("dir/", "attachment"),
        ("  notes.txt  ", "notes.txt"),
        ("Überweisung März.pdf", "Überweisung März.pdf"),
    ],
)
def test_filename_is_sanitized(raw: str, expected: str) -> None:
    assert sanitize_filename(raw) == expected


def test_long_unicode_filename_is_cut_to_255_bytes_keeping_its_extension() -> None:
    name = sanitize_filename("Ü" * 200 + "€" * 100 + ".xlsx")
    assert name.endswith(".xlsx")
    assert len(name.encode()) <= 255
    assert name.startswith("Ü" * 100)
    name.encode().decode("utf-8")  # never cut inside a character


def test_stored_filename_is_sanitized(store: AttachmentStore) -> None:
    assert store.store(b"x", "../../etc/passwd", None).filename == "passwd"


# --- content types -----------------------------------------------------------------------------------

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize(
    ("data", "filename", "declared", "expected"),
    [
        (png_bytes(), "a.png", None, "image/png"),
        (JPEG, "a.jpg", None, "image/jpeg"),
        (GIF, "a.gif", None, "image/gif"),
        (WEBP, "a.webp", None, "image/webp"),
        (PDF, "a.pdf", None, "application/pdf"),
        (zip_bytes(), "a.zip", None, "application/zip"),
        (zip_bytes(), "Report.DOCX", "application/zip", DOCX),
        (
            zip_bytes("xl/workbook.xml"),
            "a.xlsx",
            None,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        (
            zip_bytes("ppt/presentation.xml"),
            "a.pptx",
            None,
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        ),
        (gzip.compress(b"log line\n", mtime=0), "a.log.gz", None, "application/gzip"),
        ("Grüße aus Köln\n".encode(), "a.txt", None, "text/plain; charset=utf-8"),
        (b"", "empty", None, "text/plain; charset=utf-8"),
        # Sniffing wins over the declared type.
        (PDF, "a.png", "image/png", "application/pdf"),
        (b"a.docx that is not a zip", "a.docx", DOCX, "text/plain; charset=utf-8"),
        # Markup a browser could run is never text, whatever it claims to be.
        (b"<html><body><script>alert(1)</script></body></html>", "page.html", "text/html", "application/octet-stream"),
        (b"Hello\n<SCRIPT src=//evil></SCRIPT>", "note.txt", "text/plain", "application/octet-stream"),
        (
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
            "a.svg",
            "image/svg+xml",
            "application/octet-stream",
        ),
        (b'<?xml version="1.0"?><note/>', "a.xml", "application/xml", "application/octet-stream"),
        (b"<!DOCTYPE html><p>hi", "a.mp3", "audio/mpeg", "application/octet-stream"),
        # Not text, not recognised: a declared type only if it is on the safe list.
        (b"ID3\x04\x00\x00\xff\xfe\x00\x00", "a.mp3", "audio/mpeg", "audio/mpeg"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00",
            "a.doc",
            "application/msword; charset=binary",
            "application/msword",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "a.html", "text/html", "application/octet-stream"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "setup.exe", "application/x-msdownload", "application/octet-stream"),
        (b"\x00\x01\x02 not a png", "a.png", "image/png", "application/octet-stream"),
        (b"caf\xe9 latin-1", "a.txt", "text/plain", "application/octet-stream"),
        (b"text with a \x00 nul", "a.txt", None, "application/octet-stream"),
    ],
)
def test_content_type_is_sniffed(
    store: AttachmentStore, data: bytes, filename: str, declared: str | None, expected: str
) -> None:
    assert store.store(data, filename, declared).content_type == expected
    assert store.store(io.BytesIO(data), filename, declared).content_type == expected


def test_utf8_character_cut_by_the_sniffing_window_is_still_text(store: AttachmentStore) -> None:
    data = ("a" * 8191 + "é" + "b" * 100).encode()  # "é" straddles byte 8192
    assert store.store(data, "long.txt", None).content_type == "text/plain; charset=utf-8"
    assert store.store(GeneratorStream(iter([data[:8000], data[8000:]])), "long.txt", None).content_type == (
        "text/plain; charset=utf-8"
    )


def test_utf8_character_cut_at_the_end_of_a_short_file_is_not_text(store: AttachmentStore) -> None:
    assert store.store("abc€".encode()[:-1], "cut.txt", None).content_type == "application/octet-stream"


def _attachment(eml: str) -> EmailMessage:
    source = MIKEL_ATTACHMENTS / eml
    if not source.exists():
        pytest.skip(f"{source} is not available")
    message = email.message_from_bytes(source.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return next(part for part in message.walk() if isinstance(part, EmailMessage) and part.get_filename())


@pytest.mark.parametrize(
    ("eml", "filename", "expected"),
    [
        ("attachment_pdf.eml", "broken.pdf", "application/pdf"),
        ("attachment_with_quoted_filename.eml", "Eelanalüüsi päring.jpg", "image/jpeg"),
        ("attachment_message_rfc822_inline_image.eml", "img.png", "image/png"),
    ],
)
def test_attachments_of_real_emails_are_sniffed(store: AttachmentStore, eml: str, filename: str, expected: str) -> None:
    """Real MIME messages from the mail gem's fixtures (github.com/mikel/mail, MIT licence, © Mikel Lindsaar)."""
    part = _attachment(eml)
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    stored = store.store(payload, part.get_filename() or "", part.get_content_type())
    assert (stored.filename, stored.content_type) == (filename, expected)


# --- reading back ------------------------------------------------------------------------------------


def test_missing_file(store: AttachmentStore) -> None:
    absent = hashlib.sha256(b"never stored").hexdigest()
    with pytest.raises(AttachmentMissing):
        store.path(absent)
    with pytest.raises(AttachmentMissing):
        store.open(absent)


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "g" * 64, "a" * 63, "a" * 65, "../" + "a" * 61, "a" * 64 + "\n", "/etc/passwd", "٠" * 64],
)
def test_bad_hash_is_refused_before_touching_the_filesystem(store: AttachmentStore, bad: str) -> None:
    store.store(b"x", "x.txt", None)
    with pytest.raises(AttachmentMissing, match="64 hexadecimal"):
        store.path(bad)
    with pytest.raises(AttachmentMissing, match="64 hexadecimal"):
        store.open(bad)


# --- download headers --------------------------------------------------------------------------------


def test_download_headers_for_a_unicode_filename() -> None:
    headers = download_headers("Überweisung März.pdf", "application/pdf", 1234)
    assert headers == {
        "Content-Type": "application/pdf",
        "Content-Length": "1234",
        "Content-Disposition": (
            "attachment; filename=\"Uberweisung Marz.pdf\"; filename*=UTF-8''%C3%9Cberweisung%20M%C3%A4rz.pdf"
        ),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
    }
    assert all(value.isascii() for value in headers.values())


def test_download_headers_quote_safely() -> None:
    disposition = download_headers('a"b\\..\\c";x=1\r\n.txt', "text/plain", 1)["Content-Disposition"]
    assert "\r" not in disposition
    assert "\n" not in disposition
    fallback = disposition.split('filename="', 1)[1].split('"', 1)[0]
    assert fallback == "c__x=1.txt"
    assert disposition.endswith("filename*=UTF-8''c%22%3Bx%3D1.txt")


@pytest.mark.parametrize(
    ("stored_type", "served"),
    [
        ("text/html", "application/octet-stream"),
        ("TEXT/HTML; charset=utf-8", "application/octet-stream"),
        ("image/svg+xml", "application/octet-stream"),
        ("application/xhtml+xml", "application/octet-stream"),
        ("text/plain", "text/plain; charset=utf-8"),
        ("image/png", "image/png"),
        ("audio/mpeg", "audio/mpeg"),
        ("application/pdf\r\nSet-Cookie: a=b", "application/octet-stream"),
    ],
)
def test_download_headers_never_serve_renderable_types(stored_type: str, served: str) -> None:
    assert download_headers("x", stored_type, 1)["Content-Type"] == served
