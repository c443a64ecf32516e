"""The agents' knowledge base: every article they may see (published, drafts, capture's proposals from resolved
tickets, archived ones on request) listed, filtered and searched, and an article with its translations, source
tickets, version history and readers' verdicts. What the pages change is in ``knowledge_actions``.

Everything goes through ``KbArticles`` with the visitor's actor, so the knowledge base's rules apply as they do
to the API; the public help pages (``article_pages``) are the requesters' side of the same articles.
"""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from runtime.kb.articles import KbArticles
from runtime.pages.knowledge_actions import action_handlers
from runtime.pages.knowledge_list import STATUS_CHOICES, BadFilter, KnowledgeList, read_filters
from runtime.pages.knowledge_view import KnowledgeView
from runtime.pages.render import Pages
from runtime.pages.ticket_names import when
from runtime.pages.visitors import Visitor

# What the page says after a change it redirected from (``?done=``); anything else is not shown.
DONE = ("created", "saved", "unchanged", "published", "archived", "deleted", "translated", "feedback")


def done_notice(visitor: Visitor, request: Request[Any, Any, Any]) -> str | None:
    done = request.query_params.get("done")
    return visitor.t(f"knowledge.done_{done}") if done in DONE else None


def knowledge_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    articles = KbArticles(pages.compiled, pages.engine)
    view = KnowledgeView(pages, articles)
    lister = KnowledgeList(articles)

    @get("/knowledge", sync_to_thread=True)
    def knowledge_list(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        assert visitor.actor is not None
        t = visitor.t
        try:
            filters = read_filters(request.query_params, view.languages, sorted(view.categories))
        except BadFilter as exc:
            return pages.error(visitor, 400, t("common.status_400"), t("knowledge.bad_filter", reason=str(exc)))
        found = lister.listing(visitor.actor, filters, visitor.language)
        rows = [row | {"category_label": view.category(row["category"], t),
                       "language_name": view.language(row["language"], t), "updated": when(row["updated_at"])}
                for row in found.rows]
        return pages.html("knowledge.html", visitor, title=t("knowledge.title"), filters=filters, rows=rows,
                          listing=found, statuses=STATUS_CHOICES, categories=view.category_choices(t),
                          article_languages=view.language_choices(t),
                          next_url=filters.query(after=found.next_after) if found.next_after else None,
                          notice=done_notice(visitor, request))

    @get("/knowledge/{article_id:int}", sync_to_thread=True)
    def knowledge_article(request: Request[Any, Any, Any], article_id: FromPath[int]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        return view.html(visitor, article_id, notice=done_notice(visitor, request))

    return [knowledge_list, knowledge_article, *action_handlers(pages, articles, view)]
