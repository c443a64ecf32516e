"""What the browser tests share: Debian's Chromium driven by Playwright, a desk served by ``cli.py serve`` on a
free local port, signing in through the real form, and screenshots kept as test artifacts."""

from __future__ import annotations

import contextlib
import http.server
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from runtime.auth.accounts import set_password
from runtime.compile.desk import CompiledDesk
from tests.desk_fixtures import SHIPPED
from tests.web.test_serve import free_port, stop, wait_until_answering

if TYPE_CHECKING:  # Playwright is imported at run time only by the test modules, which skip without it
    from playwright.sync_api import Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
# Without the background-networking flags Chromium keeps trying to reach its vendor's services, which are closed
# here and would only slow it down; the sandbox needs user namespaces that a test run as root does not have.
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic")
DESKTOP: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000  # a page of this desk answers in milliseconds; waiting Playwright's 30 s only delays a failure

PASSWORD = "a browser test's long password"
AGENT = "alex"  # agent and supervisor in the service desk team (the demo's sample people)
OTHER_AGENT = "chen"  # customer care; the language journey changes their account, not alex's
REQUESTER = "maria.lopez@northwind.example.org"
PEOPLE = (("agent", AGENT), ("agent", OTHER_AGENT), ("contact", REQUESTER))


@dataclass
class LiveDesk:
    """A migrated, seeded desk served over HTTP; ``engine`` reads its database from the test's side."""

    base: str
    root: Path
    database_url: str
    compiled: CompiledDesk
    engine: sa.Engine
    log: Path

    def url(self, path: str) -> str:
        return self.base + path

    def scalar(self, sql: str, **params: object) -> object:
        with self.engine.connect() as connection:
            return connection.execute(sa.text(sql), params).scalar()


def give_passwords(compiled: CompiledDesk, engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for kind, login in PEOPLE:
            assert set_password(connection, compiled, kind, login, PASSWORD), f"no {kind} {login} in the sample"


@contextlib.contextmanager
def serving(root: Path, database_url: str, log: Path) -> Iterator[str]:
    """``cli.py serve`` on the desk at ``root``, as an operator starts it; yields its base URL once /healthz
    answers and stops its process group afterwards."""
    port = free_port()
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, str(SHIPPED / "cli.py"), "--root", str(root), "--database-url", database_url, "serve",
             "--host", "127.0.0.1", "--port", str(port)],
            stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(process, f"{base}/healthz", log)
            yield base
        finally:
            stop(process)


def artifacts() -> Path:
    """Where screenshots go: ``test-artifacts/screenshots`` at the project's root, or under TESSERA_ARTIFACTS."""
    folder = Path(os.environ.get("TESSERA_ARTIFACTS") or SHIPPED / "test-artifacts") / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def artifact_name(test: str) -> str:
    """A test's node name as a file name: ``test_x[param]`` -> ``test_x-param``."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", test).strip("-")


def sign_in(page: Page, desk: LiveDesk, login: str, password: str = PASSWORD) -> None:
    """Sign in through the form as a person does, and wait until the desk has sent them on from /login."""
    page.goto(desk.url("/login"))
    page.get_by_label("User name or email").fill(login)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.wait_for_url(lambda url: "/login" not in url)


@dataclass
class Shots:
    """Full-page screenshots of one test, named ``<test>-<page>.png``."""

    folder: Path
    test: str

    def take(self, page: Page, name: str, *, phone: bool = False) -> Path:
        path = self.folder / f"{self.test}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if phone:
            page.set_viewport_size(PHONE)
            page.screenshot(path=str(self.folder / f"{self.test}-{name}-phone.png"), full_page=True)
            page.set_viewport_size(DESKTOP)
        return path


@contextlib.contextmanager
def other_origin(pages: dict[str, str]) -> Iterator[str]:
    """A second site on this machine (same host, another port: same site, another origin), serving ``pages``
    (path -> HTML): where a forged form comes from. Yields its base URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            del format, args  # not a line on stderr for every request

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
