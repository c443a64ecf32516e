"""Accessibility checks on rendered HTML that need no browser: every control has a name, headings start at one
<h1>, the document says its language, ids are unique, images have alt text."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

UNNAMED_OK = {"hidden", "submit", "button", "reset", "image"}  # named by their value or not shown


@dataclass
class _Control:
    tag: str
    attrs: dict[str, str]
    wrapped: bool  # inside a <label>


@dataclass
class PageFacts:
    lang: str | None = None
    h1: int = 0
    ids: list[str] = field(default_factory=list)
    label_for: set[str] = field(default_factory=set)
    controls: list[_Control] = field(default_factory=list)
    images_without_alt: int = 0
    buttons_without_text: int = 0


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.facts = PageFacts()
        self._labels = 0
        self._button: dict[str, str] | None = None
        self._button_text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if "id" in values:
            self.facts.ids.append(values["id"])
        if tag == "html":
            self.facts.lang = values.get("lang")
        elif tag == "h1":
            self.facts.h1 += 1
        elif tag == "label":
            self._labels += 1
            if values.get("for"):
                self.facts.label_for.add(values["for"])
        elif tag in ("input", "select", "textarea"):
            self.facts.controls.append(_Control(tag, values, self._labels > 0))
        elif tag == "img" and "alt" not in values:
            self.facts.images_without_alt += 1
        elif tag == "button":
            self._button, self._button_text = values, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self._labels = max(0, self._labels - 1)
        elif tag == "button" and self._button is not None:
            if not self._button_text.strip() and not self._button.get("aria-label"):
                self.facts.buttons_without_text += 1
            self._button = None

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button_text += data


def problems(html: str) -> list[str]:
    """What a screen-reader user would stumble over on this page; empty when nothing."""
    reader = _Reader()
    reader.feed(html)
    facts = reader.facts
    found: list[str] = []
    if not facts.lang:
        found.append("<html> has no lang")
    if facts.h1 != 1:
        found.append(f"{facts.h1} <h1> elements (want one)")
    duplicates = sorted({i for i in facts.ids if facts.ids.count(i) > 1})
    if duplicates:
        found.append(f"duplicate ids {duplicates}")
    for control in facts.controls:
        if control.attrs.get("type", "") in UNNAMED_OK and control.tag == "input":
            continue
        named = control.wrapped or control.attrs.get("id", "\0") in facts.label_for \
            or control.attrs.get("aria-label") or control.attrs.get("aria-labelledby") or control.attrs.get("title")
        if not named:
            found.append(f"<{control.tag} name={control.attrs.get('name')!r}> has no label")
    if facts.images_without_alt:
        found.append(f"{facts.images_without_alt} images without alt")
    if facts.buttons_without_text:
        found.append(f"{facts.buttons_without_text} buttons without text")
    return found
