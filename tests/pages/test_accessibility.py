"""Every main page passes the HTML accessibility checks, and the stylesheet's text colours have enough contrast."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient

from runtime.compile.desk import CompiledDesk
from runtime.pages.render import STATIC
from runtime.people.service import PeopleService
from runtime.tickets.actors import SYSTEM
from runtime.web.app import create_app
from tests.pages.html_checks import problems
from tests.pages.page_client import REQUESTER, give_passwords, sign_in
from tests.tickets.service_fixtures import migrated_desk

ANONYMOUS_PAGES = ["/login", "/forms", "/forms/it_support", "/articles"]
ADMIN = "dana"
AGENT_PAGES = ["/queue", "/queue?priority=P1&sort=-updated_at", "/tickets/1", "/tickets/new", "/tickets/new/it_support",
               "/notifications", "/dashboard", "/admin", "/admin/types/it_support", "/admin/workflows/standard"]
REQUESTER_PAGES = ["/portal", "/portal/new", "/portal/new/it_support"]


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> tuple[CompiledDesk, sa.Engine]:
    tmp = tmp_path_factory.mktemp("a11y")
    _, compiled, engine = migrated_desk(tmp, f"sqlite:///{tmp / 'desk.db'}")
    PeopleService(compiled, engine).create(SYSTEM, "agents", {
        "username": ADMIN, "name": "Dana Admin", "email": "dana@example.org", "roles": ["agent", "admin"]})
    give_passwords(compiled, engine, ("agent", ADMIN), ("contact", REQUESTER))
    return compiled, engine


@pytest.fixture
def client(desk: tuple[CompiledDesk, sa.Engine]) -> Iterator[TestClient]:  # type: ignore[type-arg]
    with TestClient(create_app(*desk)) as client:
        yield client


def test_the_checks_find_what_they_look_for() -> None:
    bad = '<html><body><h1>a</h1><h1>b</h1><input name="x"><img src="a.png"><button></button><p id="d"></p>' \
          '<p id="d"></p></body></html>'
    assert problems(bad) == ["<html> has no lang", "2 <h1> elements (want one)", "duplicate ids ['d']",
                             "<input name='x'> has no label", "1 images without alt", "1 buttons without text"]
    good = '<html lang="en"><h1>a</h1><label for="x">X</label><input id="x" name="x"><label>Y <select name="y">' \
           '</select></label><input type="hidden" name="z"><button>Go</button></html>'
    assert problems(good) == []


@pytest.mark.parametrize("path", ANONYMOUS_PAGES)
def test_anonymous_pages(client: TestClient, path: str) -> None:  # type: ignore[type-arg]
    page = client.get(path)
    assert page.status_code == 200, path
    assert problems(page.text) == [], path


@pytest.mark.parametrize("path", AGENT_PAGES)
def test_agent_pages(client: TestClient, path: str) -> None:  # type: ignore[type-arg]
    sign_in(client, ADMIN)  # an administrator reaches every agent page
    page = client.get(path)
    assert page.status_code == 200, path
    assert problems(page.text) == [], path


@pytest.mark.parametrize("path", REQUESTER_PAGES)
def test_requester_pages(client: TestClient, path: str) -> None:  # type: ignore[type-arg]
    sign_in(client, REQUESTER)
    page = client.get(path)
    assert page.status_code == 200, path
    assert problems(page.text) == [], path


def _luminance(colour: str) -> float:
    if len(colour) == 4:  # #abc is #aabbcc
        colour = "#" + "".join(c * 2 for c in colour[1:])
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_text_colours_meet_wcag_aa_on_their_backgrounds() -> None:
    css = (STATIC / "tessera.css").read_text(encoding="utf-8")
    colours = dict(re.findall(r"--([a-z-]+):\s*(#[0-9a-fA-F]{6}|#[0-9a-fA-F]{3})\b", css))
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    pairs = [("ink", "paper"), ("muted", "paper"), ("accent", "paper"), ("danger", "paper"), ("warn", "paper"),
             ("ok", "paper"), ("accent-ink", "accent"), ("ink", "soft"), ("muted", "soft")]
    for text, background in pairs:
        assert contrast(colours[text], colours[background]) >= 4.5, (text, background)
    assert contrast("#ffffff", "#1f2a44") >= 4.5  # the header bar
