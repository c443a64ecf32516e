"""Who is looking at a page: the signed-in agent or requester behind the session cookie (or nobody), the
language their pages are in, and the CSRF check every form that changes something must pass."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any

from litestar import Request

from runtime.compile.desk import CompiledDesk
from runtime.pages.i18n import Translator, accept_language, available, choose
from runtime.tickets.actors import Actor
from runtime.web.auth import CSRF_HEADER, SESSION_COOKIE, Credentials

LANGUAGE_COOKIE = "tessera_lang"
CSRF_FIELD = "csrf_token"


class SignInRequired(Exception):
    """A page for signed-in people was asked for without a live session: the answer sends them to /login."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfRejected(Exception):
    """A form that changes something arrived without this session's CSRF token (another site, or a stale page)."""


class WrongPlace(Exception):
    """A signed-in person asked for a page meant for the other kind (a requester opening the agent console):
    they are sent to their own start page."""

    def __init__(self, home: str) -> None:
        super().__init__(home)
        self.home = home


@dataclass(frozen=True)
class Visitor:
    actor: Actor | None
    csrf_token: str | None
    language: str
    t: Translator
    path: str = "/"  # the page being shown, path and query: where the language switch comes back to

    @property
    def is_agent(self) -> bool:
        return self.actor is not None and self.actor.kind == "agent"

    @property
    def is_contact(self) -> bool:
        return self.actor is not None and self.actor.kind == "contact"

    def can(self, role: str) -> bool:
        return self.actor is not None and self.actor.kind == "agent" and self.actor.has(role)

    @property
    def home(self) -> str:
        return "/queue" if self.is_agent else "/portal" if self.is_contact else "/"


def safe_next(path: str | None, default: str = "/") -> str:
    """Only a path on this site: never ``//other.example`` or ``https://…``, which would send a signed-in person
    elsewhere."""
    if path and path.startswith("/") and not path.startswith("//") and "\\" not in path:
        return path
    return default


class Visitors:
    def __init__(self, compiled: CompiledDesk, credentials: Credentials) -> None:
        self.credentials = credentials
        project = compiled.definitions.project
        catalogs = available()
        self.languages = tuple(lang for lang in project.languages if lang in catalogs) or ("en",)
        self.default_language = project.default_language if project.default_language in self.languages \
            else self.languages[0]

    def language(self, request: Request[Any, Any, Any]) -> str:
        wanted = [request.cookies.get(LANGUAGE_COOKIE), *accept_language(request.headers.get("accept-language", ""))]
        return choose(wanted, self.languages, self.default_language)

    def of(self, request: Request[Any, Any, Any]) -> Visitor:
        language, path = self.language(request), _here(request)
        secret = request.cookies.get(SESSION_COOKIE)
        found = self.credentials.browser(secret) if secret else None
        if found is None:
            return Visitor(None, None, language, Translator(language), path)
        grant, actor = found
        return Visitor(actor, grant.csrf_token, language, Translator(language), path)

    def agent(self, request: Request[Any, Any, Any]) -> Visitor:
        """The signed-in agent, else a redirect to sign in (or, for a requester, to the portal)."""
        return self._signed_in(request, "agent")

    def contact(self, request: Request[Any, Any, Any]) -> Visitor:
        """The signed-in requester, else a redirect to sign in (or, for an agent, to the queue)."""
        return self._signed_in(request, "contact")

    def anyone(self, request: Request[Any, Any, Any]) -> Visitor:
        """A signed-in person of either kind."""
        return self._signed_in(request, None)

    def _signed_in(self, request: Request[Any, Any, Any], kind: str | None) -> Visitor:
        visitor = self.of(request)
        if visitor.actor is None:
            raise SignInRequired(_here(request))
        if kind is not None and visitor.actor.kind != kind:
            raise WrongPlace(visitor.home)
        return visitor


def check_csrf(request: Request[Any, Any, Any], visitor: Visitor, form: dict[str, Any]) -> None:
    """A change from a page must carry the session's token, in the form (a plain POST) or in the header (htmx)."""
    sent = str(form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or "")
    if visitor.csrf_token is None or not sent or not hmac.compare_digest(sent, visitor.csrf_token):
        raise CsrfRejected


def _here(request: Request[Any, Any, Any]) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")
