"""Placeholder until its page area is built: no routes yet."""

from __future__ import annotations

from litestar.handlers import HTTPRouteHandler

from runtime.pages.render import Pages


def portal_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    del pages
    return []
