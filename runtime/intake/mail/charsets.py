"""Bytes of a mail into text whatever the declared charset says, never failing.

Mail programs declare charsets wrongly or not at all, or name ones Python lacks. Like browsers (the WHATWG
Encoding Standard), a declared charset is read as its common superset — ISO-8859-1 as windows-1252, EUC-KR as
CP949 — since the superset's extra characters are exactly what the mislabelled mail contains.
"""

from __future__ import annotations

import codecs
import re

SUPERSETS = {
    "ascii": "cp1252", "us-ascii": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "iso-8859-1": "cp1252",
    "iso8859-1": "cp1252", "iso_8859-1": "cp1252", "iso-8859-9": "cp1254", "iso-8859-11": "cp874",
    "tis-620": "cp874", "windows-874": "cp874", "euc-kr": "cp949", "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "x-sjis": "cp932", "sjis": "cp932", "gb2312": "gb18030",
    "gbk": "gb18030", "x-gbk": "gb18030", "big5": "big5hkscs", "iso-8859-8-i": "iso-8859-8",
    "x-mac-roman": "mac-roman", "utf8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
}
_CLEAN = re.compile(r"[\x00\ufeff]")


def codec_for(charset: str | None) -> str | None:
    """The Python codec to read ``charset`` with, or None when it names nothing Python knows."""
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    name = SUPERSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode(data: bytes, charset: str | None) -> str:
    """``data`` as text: the declared charset if it fits, else UTF-8, else windows-1252 with replacements.

    NUL and byte-order marks are dropped (PostgreSQL text cannot hold NUL)."""
    declared = codec_for(charset)
    for codec in (declared, "utf-8") if declared != "utf-8" else ("utf-8",):
        if codec is None:
            continue
        try:
            return _CLEAN.sub("", data.decode(codec))
        except UnicodeDecodeError:
            continue
    fallback = declared if declared and declared not in ("ascii", "utf-8") else "cp1252"
    text = data.decode(fallback, errors="replace")
    return _CLEAN.sub("", text)


def redecode_surrogates(text: str) -> str:
    """Undo the parser's surrogate escapes of raw 8-bit header bytes (RFC 6532 UTF-8, or legacy 8-bit)."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode(text.encode("utf-8", errors="surrogateescape"), "utf-8")
