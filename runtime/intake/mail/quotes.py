"""The new text of a reply: quoted history and the signature taken off, by line patterns alone.

History comes in four shapes, each recognised here:

- ``>``-quoted blocks, wherever they are (top, bottom or interleaved posting), with the attribution line
  above them ("On Mon, 2 Apr 2012, Bob <b@x.org> wrote:", possibly wrapped over two or three lines, in several
  languages, or any short line ending in ':' that names an address or a date);
- an attribution line with nothing quoted under it: everything after it is history;
- Outlook separators ("-----Original Message-----" and its translations): everything after is history;
- a block of copied headers ("From: … / Sent: … / To: … / Subject: …", in several languages, possibly after a
  line of underscores): everything from there on is history.

Forwarded mail keeps everything, since there the "history" is the request. The signature is what follows the
last "-- " line when that is short, and a trailing "Sent from my …" line.
"""

from __future__ import annotations

import re

_VERBS = (r"wrote|writes|schrieb|a écrit|escribió|ha scritto|escreveu|написал\(а\)|написала|написал|napisał|"
          r"skrev|schreef|kirjoitti|írta|yazdı|scrisse|napsal")
_OPENERS = r"on|am|le|el|il|em|op|den|dne|w dniu"
# An attribution on one line, or on two or three joined ones (mail programs wrap long lines): "On …, Bob
# wrote:", "Am … schrieb Bob <b@x.org>:" (the verb inside), or any line ending in "wrote:".
_ATTRIBUTION = re.compile(rf"^\s*({_OPENERS})\b.{{0,240}}\b({_VERBS})\b.{{0,240}}:\s*$"
                          rf"|^\s*({_OPENERS})\b.{{0,240}}\b({_VERBS})\s*:?\s*$"
                          rf"|^.{{0,240}}\b({_VERBS})\s*:\s*$", re.IGNORECASE)
_OPENER = re.compile(rf"^\s*({_OPENERS})\s", re.IGNORECASE)
_EVIDENCE = re.compile(r"@|\d{1,2}:\d{2}|\d{4}|\d{1,2}[./-]\d{1,2}")
_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}")
# A line introducing quoted text without a verb ("26.06.2014, 14:41, "Alex" <a@x.org>:"): only taken as an
# attribution right above a quoted block, and only when it names an address or a date.
_INTRO = re.compile(r"^(?=.*(@|\d{1,4}[./:-]\d{1,2})).{4,240}:\s*$")
_SEPARATOR = re.compile(
    r"^\s*[-_=]{2,}\s*(original message|ursprüngliche nachricht|originalnachricht|message d'origine|"
    r"mensaje original|messaggio originale|mensagem original|исходное сообщение|oorspronkelijk bericht|"
    r"oprindelig meddelelse|opprinnelig melding|ursprungligt meddelande|alkuperäinen viesti|"
    r"wiadomość oryginalna|původní zpráva)\s*[-_=]{2,}\s*$", re.IGNORECASE)
_FORWARD_MARK = re.compile(r"^\s*([-_=]{2,}\s*)?(forwarded message|begin forwarded message|weitergeleitete "
                           r"nachricht|message transféré|mensaje reenviado|messaggio inoltrato|"
                           r"пересылаемое сообщение)", re.IGNORECASE)
_RULE = re.compile(r"^\s*(_{8,}|-{8,})\s*$")
_HEADER_KEYS = {
    "from": ("from", "von", "de", "da", "van", "от", "från", "fra", "od", "lähettäjä", "feladó", "kimden", "发件人"),
    "sent": ("sent", "date", "gesendet", "datum", "envoyé", "date d'envoi", "enviado", "enviada", "fecha",
             "inviato", "data", "отправлено", "дата", "verzonden", "skickat", "sendt", "lähetetty", "elküldve",
             "gönderildi", "odesláno", "wysłano", "发送时间"),
    "to": ("to", "an", "à", "a", "para", "кому", "aan", "till", "til", "do", "vastaanottaja", "címzett", "kime",
           "komu", "收件人"),
    "subject": ("subject", "betreff", "objet", "asunto", "oggetto", "assunto", "тема", "onderwerp", "ämne",
                "emne", "temat", "aihe", "tárgy", "konu", "předmět", "主题"),
    "cc": ("cc", "kopie", "копия", "cc/bcc"),
}
_KEY_OF = {word: key for key, words in _HEADER_KEYS.items() for word in words}
_HEADER_LINE = re.compile(r"^\s*\*?([^\W\d_][^:*]{0,20}?)\*?\s*[:：]")
_SIGNATURE = re.compile(r"^-- ?$")
_MOBILE = re.compile(r"^\s*(sent from my|sent from (outlook|mail) for|get outlook for|von meinem|envoyé de mon|"
                     r"enviado desde mi|inviato da|отправлено с)\b.{0,60}$", re.IGNORECASE)
SIGNATURE_MAX_LINES = 12


def _quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _blank(line: str) -> bool:
    return not line.strip()


def _header_key(line: str) -> str | None:
    match = _HEADER_LINE.match(line)
    return _KEY_OF.get(match.group(1).strip().lower()) if match else None


def _header_block_at(lines: list[str], start: int) -> bool:
    """Whether copied headers of a quoted message begin at ``start``: a From line among at least two header
    lines in a row (blank lines between them allowed)."""
    keys: set[str] = set()
    index = start
    while index < len(lines) and index < start + 10:
        if _blank(lines[index]):
            index += 1
            continue
        key = _header_key(lines[index])
        if key is None:
            break
        keys.add(key)
        index += 1
    return "from" in keys and len(keys) >= 2


def _attribution_start(lines: list[str], end: int) -> int | None:
    """Where an attribution ending on line ``end`` starts, or None.

    It may be wrapped over up to three lines; a longer span is taken only when its first line opens like an
    attribution ("On …", or a date), so that the reply's last line is never mistaken for part of it."""
    for span in (3, 2, 1):
        start = end - span + 1
        chunk = lines[max(start, 0):end + 1]
        if start < 0 or any(_blank(line) or _quoted(line) for line in chunk):
            continue
        if span > 1 and not (_OPENER.match(chunk[0]) or _DATE.search(chunk[0])):
            continue
        if _ATTRIBUTION.match(" ".join(line.strip() for line in chunk)):
            return start
    return None


def _next_content(lines: list[str], index: int) -> int:
    while index < len(lines) and _blank(lines[index]):
        index += 1
    return index


def _history_starts(lines: list[str]) -> int:
    """The first line from which everything is history (a separator, copied headers, a bare attribution)."""
    forwarded = False
    for index, line in enumerate(lines):
        if _FORWARD_MARK.match(line):
            forwarded = True
            continue
        if _SEPARATOR.match(line):
            return index
        if _header_block_at(lines, index) and not forwarded:
            previous = index - 1
            while previous >= 0 and _blank(lines[previous]):
                previous -= 1
            return previous if previous >= 0 and _RULE.match(lines[previous]) else index
        start = None if _quoted(line) else _attribution_start(lines, index)
        if start is not None:
            following = _next_content(lines, index + 1)
            attribution = " ".join(lines[start:index + 1])
            # Unquoted history after it: taken as history only when the line names a time, date or address, as
            # every mail program's attribution does ("On Monday I wrote the report, see below:" does not).
            if (following >= len(lines) or not _quoted(lines[following])) and _EVIDENCE.search(attribution):
                return start
        if not _blank(line):
            forwarded = False
    return len(lines)


def _drop_quoted_blocks(lines: list[str]) -> list[str]:
    """Remove every '>' block, with the attribution (or introducing line) right above it."""
    kept: list[str] = []
    index = 0
    while index < len(lines):
        if not _quoted(lines[index]):
            kept.append(lines[index])
            index += 1
            continue
        end = index
        while end < len(lines) and (_quoted(lines[end]) or (_blank(lines[end]) and
                                                           _next_content(lines, end) < len(lines) and
                                                           _quoted(lines[_next_content(lines, end)]))):
            end += 1
        while kept and _blank(kept[-1]):
            kept.pop()
        if kept:
            start = _attribution_start(kept, len(kept) - 1)
            if start is not None:
                del kept[start:]
            elif _INTRO.match(kept[-1]):
                kept.pop()
        index = end
    return kept


def strip_quotes(text: str, *, forwarded: bool = False) -> str:
    """``text`` without quoted history; a forward (``forwarded``) is returned whole."""
    if forwarded:
        return text.strip()
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    lines = lines[:_history_starts(lines)]
    return "\n".join(_drop_quoted_blocks(lines)).strip()


def strip_signature(text: str) -> str:
    """``text`` without a short signature after the last '-- ' line, and without "Sent from my …"."""
    lines = text.split("\n")
    for index in range(len(lines) - 1, -1, -1):
        if _SIGNATURE.match(lines[index].rstrip("\r")):
            if len(lines) - index - 1 <= SIGNATURE_MAX_LINES:
                lines = lines[:index]
            break
    while lines and (_blank(lines[-1]) or _MOBILE.match(lines[-1])):
        lines.pop()
    return "\n".join(lines).strip()


def new_text(text: str, *, forwarded: bool = False) -> str:
    """What the sender wrote in this message: quotes and signature removed."""
    return strip_signature(strip_quotes(text, forwarded=forwarded))
