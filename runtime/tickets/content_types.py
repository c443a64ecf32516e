"""Content types for attachments, decided from the bytes, never from what the uploader claims.

A declared type is only a hint for formats we cannot recognise and that no browser would run;
anything that could be rendered as a page (HTML, SVG, XML) is served as an opaque download.
"""

from __future__ import annotations

import codecs
import re

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain; charset=utf-8"
# How much of the file the sniffer looks at (the WHATWG sniffing algorithm reads 1445 bytes).
SNIFF_BYTES = 8192

ZIP = "application/zip"
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", ZIP),
    (b"PK\x05\x06", ZIP),  # an empty archive
    (b"PK\x07\x08", ZIP),  # a spanned archive
    (b"\x1f\x8b\x08", "application/gzip"),
)
# Office documents are ZIP archives; the extension only picks which kind once the bytes say ZIP.
_ZIP_BY_EXTENSION = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".odt": "application/vnd.oasis.opendocument.text",
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".odp": "application/vnd.oasis.opendocument.presentation",
}
# Declared types we accept when sniffing finds nothing: formats we cannot recognise that no browser
# executes. Types we *can* sniff are absent on purpose: a declared image/png that is not a PNG is a lie.
_SAFE_DECLARED = frozenset(
    {
        "application/msword",
        "application/vnd.ms-excel",
        "application/vnd.ms-powerpoint",
        "application/vnd.ms-outlook",
        "application/x-7z-compressed",
        "application/x-tar",
        "image/bmp",
        "image/tiff",
        "image/heic",
        "image/heif",
        "image/avif",
    }
)
_MEDIA = re.compile(r"(?:audio|video)/[a-z0-9][a-z0-9!#$&^_.+-]{0,126}", re.ASCII)
# Markup a browser could render as a document (and so run script from), anywhere near the start.
_MARKUP = re.compile(
    rb"<\s*(?:!doctype|\?xml|!--|!\[cdata\[|html|head|body|script|svg|iframe|frame|frameset|object|embed"
    rb"|applet|meta|link|base|style|form|img|math|xsl:|x:xmpmeta)[\s>/]|xmlns\s*=",
    re.IGNORECASE,
)

# Every type `sniff` can return, which is also every type `serving_type` lets through.
_SERVABLE = frozenset(
    {kind for _, kind in _MAGIC} | set(_ZIP_BY_EXTENSION.values()) | _SAFE_DECLARED | {OCTET_STREAM, TEXT_PLAIN}
)


def sniff(head: bytes, filename: str, declared_type: str | None, *, complete: bool) -> str:
    """The content type of a file from its first bytes (``complete`` when ``head`` is the whole file).

    Order matters: magic numbers, then markup (never text), then UTF-8 text, then a safe declared type.
    """
    head = head[:SNIFF_BYTES]
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            if kind == ZIP:
                return _ZIP_BY_EXTENSION.get(_extension(filename), ZIP)
            return kind
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if _MARKUP.search(head):
        return OCTET_STREAM
    if _is_utf8_text(head, complete=complete or len(head) < SNIFF_BYTES):
        return TEXT_PLAIN
    declared = _essence(declared_type or "")
    if declared in _SAFE_DECLARED or _MEDIA.fullmatch(declared):
        return declared
    return OCTET_STREAM


def serving_type(content_type: str) -> str:
    """The Content-Type to send for a stored type: anything we would not have produced becomes opaque."""
    essence = _essence(content_type)
    if essence == "text/plain":
        return TEXT_PLAIN
    if essence in _SERVABLE or _MEDIA.fullmatch(essence):
        return essence
    return OCTET_STREAM


def _is_utf8_text(head: bytes, *, complete: bool) -> bool:
    """Valid UTF-8 without NUL; a character cut at the end of a partial head does not count against it."""
    if b"\x00" in head:
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _essence(content_type: str) -> str:
    """``type/subtype`` lower-cased, without parameters."""
    return content_type.split(";", 1)[0].strip().lower()


def _extension(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot > 0 else ""
