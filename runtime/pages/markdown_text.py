"""Knowledge-base markdown as HTML that cannot carry markup of its own: every character of the text is escaped
first, and only the few constructs articles use become tags — headings, paragraphs, lists, code, emphasis and
links to web or mail addresses (never ``javascript:`` or other schemes)."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*[-*+]\s+(.*)$")
_NUMBERED = re.compile(r"^\s*\d{1,9}[.)]\s+(.*)$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE = re.compile(r"`([^`]+)`")
_STRONG = re.compile(r"(\*\*|__)(?=\S)(.+?)(?<=\S)\1")
_EMPHASIS = re.compile(r"(?<![\w*])([*_])(?=\S)(.+?)(?<=\S)\1(?![\w*])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_SAFE_TARGET = re.compile(r"^(https?://|mailto:|/(?!/))", re.IGNORECASE)
HEADING_OFFSET = 2  # an article's own headings sit below the page's <h1> and its sections' <h2>


def _link(match: re.Match[str]) -> str:
    text, target = match.group(1), match.group(2)
    if not _SAFE_TARGET.match(target):
        return text
    return f'<a href="{target}" rel="nofollow noopener">{text}</a>'


def _inline(escaped: str) -> str:
    """Inline marks on text that is escaped already; code spans are kept apart so nothing inside them changes."""
    parts = _CODE.split(escaped)
    out = []
    for index, part in enumerate(parts):
        if index % 2:
            out.append(f"<code>{part}</code>")
            continue
        part = _LINK.sub(_link, part)
        part = _STRONG.sub(r"<strong>\2</strong>", part)
        out.append(_EMPHASIS.sub(r"<em>\2</em>", part))
    return "".join(out)


def render(markdown: str) -> Markup:
    html: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_tag = ""
    code: list[str] | None = None

    def close() -> None:
        nonlocal list_tag
        if paragraph:
            html.append(f"<p>{_inline(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            html.append(f"<{list_tag}>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + f"</{list_tag}>")
            items.clear()
            list_tag = ""

    for raw in markdown.replace("\r\n", "\n").split("\n"):
        line = str(escape(raw))
        if code is not None:
            if _FENCE.match(raw):
                html.append("<pre><code>" + "\n".join(code) + "</code></pre>")
                code = None
            else:
                code.append(line)
            continue
        if _FENCE.match(raw):
            close()
            code = []
            continue
        if not raw.strip():
            close()
            continue
        heading = _HEADING.match(line)
        bullet, numbered = _BULLET.match(line), _NUMBERED.match(line)
        if heading:
            close()
            level = min(len(heading.group(1)) + HEADING_OFFSET, 6)
            html.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif bullet or numbered:
            wanted = "ul" if bullet else "ol"
            if paragraph or (list_tag and list_tag != wanted):
                close()
            list_tag = wanted
            items.append((bullet or numbered).group(1))  # type: ignore[union-attr]
        elif items and raw.startswith((" ", "\t")):
            items[-1] += " " + line.strip()  # a list item continued on the next, indented line
        else:
            if items:
                close()
            paragraph.append(line.strip())
    if code is not None:
        html.append("<pre><code>" + "\n".join(code) + "</code></pre>")
    close()
    return Markup("\n".join(html))  # built from escaped text only
