"""The interface text: every language has every key, and every key a template uses exists."""

from __future__ import annotations

import re

from runtime.pages.i18n import LOCALE, Translator, accept_language, catalog, choose
from runtime.pages.render import TEMPLATES

# A literal key (t("area.key") or t("area.key", n=1)); keys built at run time ("common.lang_" ~ code) are left out.
KEY_USE = re.compile(r"""\bt\(\s*["']([a-z_]+\.[a-z0-9_]+)["']\s*[,)]""")


def test_every_language_has_the_same_keys_as_english() -> None:
    english = set(catalog("en"))
    assert english
    for folder in LOCALE.iterdir():
        missing, extra = english - set(catalog(folder.name)), set(catalog(folder.name)) - english
        assert not missing, f"{folder.name} lacks {sorted(missing)}"
        assert not extra, f"{folder.name} has keys English lacks: {sorted(extra)}"


def test_every_key_the_templates_use_is_in_the_catalog() -> None:
    english = catalog("en")
    used = {key for path in TEMPLATES.rglob("*.html") for key in KEY_USE.findall(path.read_text(encoding="utf-8"))}
    assert "login.title" in used  # the pattern finds the uses
    assert not used - set(english), f"keys without text: {sorted(used - set(english))}"


def test_placeholders_are_filled_and_missing_keys_fall_back() -> None:
    german = Translator("de")
    assert german("common.notifications_count", n=3) == "Benachrichtigungen, 3 ungelesen"
    assert Translator("fr")("login.title") == "Sign in"  # no French catalog: English
    assert german("nowhere.key") == "nowhere.key"


def test_the_browser_language_is_matched_to_the_desk_languages() -> None:
    assert accept_language("fr-CH, fr;q=0.9, de;q=0.8, *;q=0.5") == ["fr-CH", "fr", "de"]
    assert accept_language("en;q=0, de") == ["de"]
    assert choose(accept_language("fr-CH, de-AT;q=0.8"), ("en", "de"), "en") == "de"
    assert choose([None, "pt-BR"], ("en", "de"), "en") == "en"


def test_every_language_is_named_in_the_language_menu() -> None:
    english = catalog("en")
    assert all(f"common.lang_{folder.name}" in english for folder in LOCALE.iterdir())
