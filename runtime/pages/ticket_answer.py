"""How the ticket page answers: the whole page for a browser, or for htmx only the parts an action changed, each
swapped into place by its id; after a plain form post that worked, a redirect back (303) so that reloading the
page does not send the form again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response

from runtime.pages.render import Pages
from runtime.pages.ticket_view import TicketView
from runtime.pages.visitors import Visitor
from runtime.tickets.errors import TicketError

ALL_PARTS = ("header", "timeline", "composer", "transitions", "sla", "fields", "ai")


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    """A request for a fragment; a history restore asks for the whole page although it comes from htmx."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def refusal(visitor: Visitor, exc: TicketError) -> dict[str, str]:
    return {"title": visitor.t(f"common.status_{exc.status}"), "detail": exc.detail}


class Answers:
    def __init__(self, pages: Pages, view: TicketView) -> None:
        self.pages, self.view = pages, view

    def page(self, request: Request[Any, Any, Any], visitor: Visitor, ticket_id: int, *, status: int = 200,
             parts: Iterable[str] = ALL_PARTS, **context: Any) -> Response[str]:
        """The page (or, for htmx, ``parts`` of it) built afresh from the service, with ``context`` on top."""
        full = self.view.context(visitor, ticket_id, **context)
        if is_htmx(request):
            # htmx swaps only successful answers by default, so a refusal comes back as 200 with its reason in
            # the parts it swaps; a plain form post gets the real status.
            return self.pages.html("_ticket_swap.html", visitor, unread=0, parts=tuple(parts), **full)
        return self.pages.html("ticket.html", visitor, status=status, **full)

    def done(self, request: Request[Any, Any, Any], visitor: Visitor, ticket_id: int, query: dict[str, Any],
             parts: Iterable[str], anchor: str = "", **context: Any) -> Response[Any]:
        """An action that worked: htmx gets the changed parts with the notice, a plain post a redirect to the
        page, whose query says which notice to show."""
        if is_htmx(request):
            return self.page(request, visitor, ticket_id, parts=parts, notice=self.notice(visitor, query),
                             **context)
        suffix = f"#{anchor}" if anchor else ""
        return self.pages.redirect(f"/tickets/{ticket_id}?{urlencode(query)}{suffix}")

    def notice(self, visitor: Visitor, query: dict[str, Any]) -> str | None:
        """The sentence that confirms what the last action did, from the query of the page it returns to."""
        t = visitor.t
        if "saved" in query:
            return t("ticket.saved")
        if "moved" in query:
            return t("ticket.moved")
        if "sent" in query:
            return t("ticket.sent_reply") if str(query.get("public")) == "1" else t("ticket.sent_note")
        verdict = str(query.get("reviewed") or "")
        if verdict in ("accept", "override", "dismiss"):
            return t(f"ticket.reviewed_{verdict}")
        if "suggested" in query:
            return t("ticket.suggested")
        return None
