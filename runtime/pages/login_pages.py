"""Signing in and out from the pages, and choosing the language of the interface.

The sign-in form carries a token that matches a short-lived cookie set with the form (double submit), so another
site cannot sign a visitor into an account of its own choosing; the session itself is the one the API uses.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated, Any

import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body

from runtime.auth.sessions import ABSOLUTE_TIMEOUT, check_password, end_session, start_session
from runtime.auth.throttle import LoginThrottle
from runtime.db.engine import write_transaction
from runtime.pages.render import Pages
from runtime.pages.visitors import LANGUAGE_COOKIE, check_csrf, safe_next
from runtime.web.auth import SESSION_COOKIE

LOGIN_COOKIE = "tessera_login"
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
YEAR = 365 * 24 * 3600


def cookie(request: Request[Any, Any, Any], key: str, value: str, max_age: int, samesite: str = "lax") -> Cookie:
    return Cookie(key=key, value=value, path="/", httponly=True, samesite=samesite,  # type: ignore[arg-type]
                  secure=request.url.scheme == "https", max_age=max_age)


def login_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    compiled, engine = pages.compiled, pages.engine
    throttle = LoginThrottle()

    def form(request: Request[Any, Any, Any], *, login: str = "", error: str | None = None,
             status: int = 200) -> Response[str]:
        visitor = pages.visitors.of(request)
        token = secrets.token_urlsafe(24)
        response = pages.html("login.html", visitor, status=status, login_token=token, login=login, error=error,
                              next=safe_next(request.query_params.get("next"), ""))
        response.cookies.append(cookie(request, LOGIN_COOKIE, token, 3600, "strict"))
        return response

    @get("/login", sync_to_thread=True)
    def login_page(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = pages.visitors.of(request)
        if visitor.actor is not None:
            return pages.redirect(safe_next(request.query_params.get("next"), visitor.home))
        return form(request)

    @post("/login", sync_to_thread=True)
    def sign_in(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        visitor = pages.visitors.of(request)
        login, password = str(data.get("login", "")).strip(), str(data.get("password", ""))
        sent, expected = str(data.get("login_token", "")), request.cookies.get(LOGIN_COOKIE, "")
        if not sent or not expected or not hmac.compare_digest(sent, expected):
            return form(request, login=login, error=visitor.t("login.form_expired"), status=403)
        if not login or not password:
            return form(request, login=login, error=visitor.t("login.missing"), status=422)
        address = request.client.host if request.client else "unknown"
        wait = throttle.retry_after(login, address)
        if wait:
            return form(request, login=login, error=visitor.t("login.throttled", seconds=wait), status=429)
        with write_transaction(engine) as connection:
            principal = check_password(connection, compiled, login, password)
            if principal is not None:
                secret, _ = start_session(connection, compiled, principal, request.headers.get("user-agent"))
                table = compiled.table("agents" if principal.kind == "agent" else "contacts")
                language = connection.execute(sa.select(table.c.language).where(table.c.id == principal.id)
                                              ).scalar_one_or_none()
        if principal is None:
            throttle.failed(login, address)
            return form(request, login=login, error=visitor.t("login.wrong"), status=401)
        throttle.succeeded(login)
        home = "/queue" if principal.kind == "agent" else "/portal"
        response = pages.redirect(safe_next(str(data.get("next") or ""), home))
        response.cookies.append(cookie(request, SESSION_COOKIE, secret, int(ABSOLUTE_TIMEOUT.total_seconds())))
        response.cookies.append(cookie(request, LOGIN_COOKIE, "", 0, "strict"))
        if language in pages.visitors.languages:
            response.cookies.append(cookie(request, LANGUAGE_COOKIE, str(language), YEAR))
        return response

    @post("/logout", sync_to_thread=True)
    def sign_out(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        visitor = pages.visitors.anyone(request)
        check_csrf(request, visitor, data)
        secret = request.cookies.get(SESSION_COOKIE, "")
        with write_transaction(engine) as connection:
            end_session(connection, compiled, secret)
        pages.credentials.forget("s:", secret)
        response = pages.redirect("/login")
        response.cookies.append(cookie(request, SESSION_COOKIE, "", 0))
        return response

    @post("/language", sync_to_thread=True)
    def language(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        """Anyone may switch the interface language (a cookie); a signed-in person keeps it on their account."""
        visitor = pages.visitors.of(request)
        chosen = str(data.get("language", ""))
        back = safe_next(str(data.get("next") or ""), visitor.home)
        if chosen not in pages.visitors.languages:
            return pages.redirect(back)
        if visitor.actor is not None and visitor.actor.id is not None:
            check_csrf(request, visitor, data)
            table = compiled.table("agents" if visitor.is_agent else "contacts")
            with write_transaction(engine) as connection:
                connection.execute(sa.update(table).where(table.c.id == visitor.actor.id).values(language=chosen))
        response = pages.redirect(back)
        response.cookies.append(cookie(request, LANGUAGE_COOKIE, chosen, YEAR))
        return response

    return [login_page, sign_in, sign_out, language]
