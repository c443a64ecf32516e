"""The agents' queue: the ticket list with filters, sorting, pages and counts, and their saved views.

The filter form is a plain GET form whose query string is the page's state; with htmx it asks for the rows only
(the HX-Request header) and the server names the canonical address to push into the history. Counts per status
category come in a request of their own after the rows (``/queue/counts``), so the list is never held up by them.
The notification pages belong to this area too and are registered from here.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import sqlalchemy as sa
from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from runtime.pages.login_pages import Form
from runtime.pages.notification_pages import agent_visit, notification_handlers, row_key
from runtime.pages.queue_filters import SORTS, Choices, QueueFilters, parse
from runtime.pages.queue_results import (
    LISTING_FIELDS,
    CategoryCount,
    Directory,
    QueuePage,
    category_counts,
    directory,
    fetch,
    labels_for,
)
from runtime.pages.queue_views import NAME_MAX, QUERY_MAX, SavedViews, TooManyViews
from runtime.pages.render import Pages
from runtime.pages.visitors import Visitor, check_csrf, safe_next
from runtime.tickets.actors import Actor
from runtime.tickets.errors import InvalidTicket

Params = dict[str, str]


def _htmx(request: Request[Any, Any, Any]) -> bool:
    """A request for a fragment; a history restore asks for the whole page although it comes from htmx."""
    return bool(request.headers.get("hx-request")) and not request.headers.get("hx-history-restore-request")


def _choices(people: Directory, pages: Pages) -> Choices:
    desk = pages.desk
    return Choices(types={t.name for t in desk.types},
                   statuses={s.name for w in desk.workflows for s in w.states},
                   agent_ids={a[0] for a in people.agents}, team_ids={t[0] for t in people.teams})


def _countable(filters: QueueFilters) -> bool:
    """Counts per category are shown for filters, not for searches: each count would run the search again (on a
    common word over a million tickets, half a second each), so a search shows its own total only."""
    return not filters.errors and not filters.values["q"]


def _sort_key(sort: str) -> str:
    return sort.lstrip("-") + ("_desc" if sort.startswith("-") else "")


def queue_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    compiled, engine = pages.compiled, pages.engine
    views = SavedViews(compiled, engine)

    def lookup(connection: sa.Connection, params: Params) -> tuple[Directory, QueueFilters]:
        people = directory(connection, compiled)
        return people, parse(params, _choices(people, pages))

    def load(connection: sa.Connection, actor: Actor, filters: QueueFilters) -> tuple[QueueFilters, QueuePage | None]:
        """The page of rows, or the filters with the listing's reason when it refused them."""
        if filters.errors:
            return filters, None
        try:
            return filters, fetch(connection, compiled, actor, filters)
        except InvalidTicket as exc:
            for problem in exc.errors or [{"field": "cursor", "reason": exc.detail}]:
                name = LISTING_FIELDS.get(problem.get("field", ""), "cursor")
                filters = filters.with_error(name, "queue.error_cursor" if name == "cursor" else "queue.error_choice")
            return filters, None

    def context(visitor: Visitor, people: Directory, filters: QueueFilters, page: QueuePage | None,
                saved: list[Any], **more: Any) -> dict[str, Any]:
        labels = labels_for(compiled, visitor.language)
        t = visitor.t
        counts = [CategoryCount(c, filters.link(category=c), None, False, c == filters.category)
                  for c in labels.categories]
        return {
            "filters": filters, "values": filters.values, "errors": filters.errors, "page": page, "labels": labels,
            "people": people, "saved": saved, "counts": counts,
            "counts_url": filters.link().replace("/queue", "/queue/counts", 1) if page is not None
            and _countable(filters) else None,
            "sorts": [(s, t(f"queue.sort_{_sort_key(s)}")) for s in SORTS],
            # Agents who left keep their tickets: one stays in the choices while the filter names them.
            "assignees": [("me", t("queue.assignee_me")), ("none", t("queue.assignee_none")),
                          *((str(id_), name) for id_, name, active in people.agents
                            if active or str(id_) == filters.values["assignee"])],
            "current_query": filters.query_string(),
            "here": page.address if page else filters.link(cursor=filters.cursor, before=filters.before),
            "save_error": None, "save_name": "", "name_max": NAME_MAX, **more}

    def answer(request: Request[Any, Any, Any], visitor: Visitor, values: dict[str, Any], *,
               status: int | None = None) -> Response[str]:
        filters: QueueFilters = values["filters"]
        if not _htmx(request):
            failed = status or (400 if filters.errors else 200)
            return pages.html("queue.html", visitor, status=failed, **values)
        headers = {"HX-Push-Url": values["here"], "Vary": "HX-Request"}
        if filters.errors:
            # The reasons belong beside the form's fields, which the rows' fragment does not hold: answer with
            # the form and the rows, in their place (htmx swaps only 2xx answers, hence the 200).
            headers |= {"HX-Retarget": "#queue-body", "HX-Reswap": "outerHTML"}
            return pages.html("_queue_body.html", visitor, headers=headers, unread=0, **values)
        return pages.html("_queue_rows.html", visitor, headers=headers, unread=0, **values)

    @get("/queue", sync_to_thread=True)
    def queue(request: Request[Any, Any, Any]) -> Response[str]:
        visitor, actor, agent_id = agent_visit(pages, request)
        with engine.connect() as connection:
            people, filters = lookup(connection, dict(request.query_params))
            filters, page = load(connection, actor, filters)
            saved = views.of(connection, agent_id)
        return answer(request, visitor, context(visitor, people, filters, page, saved))

    @get("/queue/counts", sync_to_thread=True)
    def counts(request: Request[Any, Any, Any]) -> Response[str]:
        """The status categories' links with their counts under the other filters (loaded after the rows)."""
        visitor, actor, _ = agent_visit(pages, request)
        with engine.connect() as connection:
            _, filters = lookup(connection, dict(request.query_params))
            found = category_counts(connection, compiled, actor, filters) if _countable(filters) else None
        labels = labels_for(compiled, visitor.language)
        if found is None:  # links without numbers, as before the counts came
            found = [CategoryCount(c, filters.link(category=c), None, False, c == filters.category)
                     for c in labels.categories]
        return pages.html("_queue_counts.html", visitor, status=200, unread=0, counts=found, labels=labels,
                          counts_url=None, headers={"Vary": "HX-Request"})

    @post("/queue/views", sync_to_thread=True)
    def save_view(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        visitor, actor, agent_id = agent_visit(pages, request)
        check_csrf(request, visitor, data)
        name = " ".join(str(data.get("name", "")).split())
        query = str(data.get("query", ""))
        with engine.connect() as connection:
            people, filters = lookup(connection, dict(parse_qsl(query[:QUERY_MAX * 2])))
        canonical = filters.query_string()
        problem = "queue.error_view_name" if not name or len(name) > NAME_MAX or "\x00" in name else \
            "queue.error_view_filters" if filters.errors or len(canonical) > QUERY_MAX else None
        if problem is None:
            try:
                views.save(agent_id, name, canonical)
                return pages.redirect(filters.link())
            except TooManyViews:
                problem = "queue.error_view_limit"
        with engine.connect() as connection:
            filters, page = load(connection, actor, filters)
            saved = views.of(connection, agent_id)
        values = context(visitor, people, filters, page, saved, save_error=problem, save_name=name[:NAME_MAX])
        return pages.html("queue.html", visitor, status=422, **values)

    @post("/queue/views/{view_id:str}/delete", sync_to_thread=True)
    def delete_view(request: Request[Any, Any, Any], view_id: FromPath[str], data: Form) -> Response[Any]:
        visitor, _, agent_id = agent_visit(pages, request)
        check_csrf(request, visitor, data)
        key = row_key(view_id)
        if key is None or not views.delete(agent_id, key):
            return pages.error(visitor, 404, visitor.t("common.status_404"), visitor.t("queue.view_missing"))
        return pages.redirect(safe_next(str(data.get("next") or ""), "/queue"))

    return [queue, counts, save_view, delete_view, *notification_handlers(pages)]

