"""HTML mail bodies as plain text (for tickets, search and quote stripping) and as sanitized HTML (for display).

The text keeps what a reader sees: paragraphs and line breaks, list items, link targets, and blockquotes as
'>'-prefixed lines, so that ``quotes`` treats quoted history in HTML mail as it does in plain mail.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import nh3

BLOCKS = frozenset({
    "address", "article", "aside", "center", "dd", "div", "dl", "dt", "fieldset", "figure", "footer", "form",
    "header", "li", "main", "nav", "ol", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
})
PARAGRAPHS = frozenset({"p", "h1", "h2", "h3", "h4", "h5", "h6", "pre"})
HIDDEN = frozenset({"head", "script", "style", "template", "title", "xml"})
# Characters that format text invisibly (direction marks, zero-width spaces) and only get in the way of matching.
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
_RUN = re.compile(r"[ \t\r\n\f\xa0]+")


class _TextWriter(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.current: list[str] = []
        self.quote_depth = 0
        self.hidden = 0
        self.pre = 0
        self.links: list[str | None] = []

    def _break(self, blank: bool = False) -> None:
        """End the current line; with ``blank`` also leave one empty line (not several)."""
        line = "".join(self.current)
        line = line.rstrip(" ") if self.pre else line.strip(" ")
        self.current = []
        if line:
            self.lines.append(("> " * self.quote_depth) + line)
        if blank and self.lines and self.lines[-1].strip("> "):
            self.lines.append(">" * self.quote_depth if self.quote_depth else "")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self.hidden += 1
        elif tag == "br":
            self._hard_break()
        elif tag == "blockquote":
            self._break()
            self.quote_depth += 1
        elif tag in PARAGRAPHS or tag == "hr":
            self._break(blank=True)
            self.pre += tag == "pre"
            if tag == "hr":
                self.lines.append("________________________________")
        elif tag in BLOCKS:
            self._break()
            if tag == "li":
                self.current.append("- ")
        elif tag in ("td", "th") and self.current:
            self.current.append(" ")
        elif tag == "a":
            self.links.append(dict(attrs).get("href"))

    def _hard_break(self) -> None:
        line = "".join(self.current)
        line = line.rstrip(" ") if self.pre else line.strip(" ")
        self.current = []
        self.lines.append(("> " * self.quote_depth) + line if line else ">" * self.quote_depth)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            return
        self.handle_starttag(tag, attrs)
        if tag == "a":
            self.links.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag == "blockquote":
            self._break()
            self.quote_depth = max(0, self.quote_depth - 1)
        elif tag in PARAGRAPHS:
            self._break(blank=True)
            self.pre = max(0, self.pre - (tag == "pre"))
        elif tag in BLOCKS:
            self._break()
        elif tag == "a" and self.links:
            href = self.links.pop()
            shown = "".join(self.current)
            if href and href.startswith(("http://", "https://")) and href not in shown:
                self.current.append(f" <{href}>")

    def handle_data(self, data: str) -> None:
        if self.hidden:
            return
        if self.pre:
            pieces = data.split("\n")
            for piece in pieces[:-1]:
                self.current.append(piece)
                self._hard_break()
            self.current.append(pieces[-1])
            return
        text = _RUN.sub(" ", data)
        if text.strip() or (self.current and not self.current[-1].endswith(" ")):
            self.current.append(text if self.current else text.lstrip())

    def text(self) -> str:
        self._break()
        while self.lines and not self.lines[-1].strip("> "):
            self.lines.pop()
        while self.lines and not self.lines[0].strip("> "):
            self.lines.pop(0)
        collapsed: list[str] = []
        for line in self.lines:
            if not line.strip("> ") and collapsed and not collapsed[-1].strip("> "):
                continue  # one blank line between paragraphs is enough
            collapsed.append(line.rstrip())
        return "\n".join(collapsed)


def html_to_text(html: str) -> str:
    """What a reader of ``html`` sees, as text; blockquotes become '>' quoted lines."""
    writer = _TextWriter()
    try:
        writer.feed(_INVISIBLE.sub("", html))
        writer.close()
    except Exception:  # html.parser copes with nearly anything; if not, what was read so far is kept
        pass
    return writer.text()


def sanitize(html: str) -> str:
    """HTML safe to show to an agent: no scripts, styles, event handlers or remote-loading tricks."""
    return nh3.clean(html)
