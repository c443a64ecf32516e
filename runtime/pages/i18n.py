"""Interface text in several languages: one flat YAML catalog per page area and language under ``locale/``.

Field labels and help come from the desk's own YAML; these catalogs hold only the text of the pages themselves.
A key missing in a language falls back to English, then to the key, so that a page never fails over a missing
translation (a test keeps the catalogs complete).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

LOCALE = Path(__file__).with_name("locale")
FALLBACK = "en"


@cache
def catalog(language: str) -> dict[str, str]:
    """Every key of ``language``: the files ``locale/<language>/<area>.yaml`` merged, keys prefixed by area."""
    merged: dict[str, str] = {}
    folder = LOCALE / language
    if not folder.is_dir():
        return merged
    yaml = YAML(typ="safe")
    for path in sorted(folder.glob("*.yaml")):
        entries = yaml.load(path.read_text(encoding="utf-8")) or {}
        merged.update({f"{path.stem}.{key}": str(text) for key, text in entries.items()})
    return merged


def available() -> tuple[str, ...]:
    return tuple(sorted(p.name for p in LOCALE.iterdir() if p.is_dir()))


class Translator:
    """``t("queue.title")`` in one language; ``t("queue.count", n=3)`` fills ``{n}`` in the text."""

    def __init__(self, language: str) -> None:
        self.language = language
        self._own = catalog(language)
        self._fallback = catalog(FALLBACK)

    def __call__(self, key: str, **values: Any) -> str:
        text = self._own.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text


def choose(wanted: Iterable[str | None], offered: tuple[str, ...], default: str) -> str:
    """The first wanted language the desk offers (``de-AT`` counts as ``de``), else the desk's default."""
    for language in wanted:
        if not language:
            continue
        code = language.strip().lower().replace("_", "-")
        for candidate in (code, code.split("-", 1)[0]):
            if candidate in offered:
                return candidate
    return default


def accept_language(header: str) -> list[str]:
    """The languages of an Accept-Language header, most wanted first."""
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        code, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if code and code != "*" and weight > 0:
            weighted.append((-weight, position, code))
    return [code for _, _, code in sorted(weighted)]
