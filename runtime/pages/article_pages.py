"""Public help articles, for anyone, signed in or not: the published public articles (one per translation group,
in the visitor's language where a translation exists), a search over them, and an article rendered from its
markdown with nothing of the text able to become markup. Whoever visits, these pages read as an anonymous
requester does: agents see drafts and internal articles in their knowledge pages, not here."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, get
from litestar.exceptions import NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath, QueryParameter

from runtime.config import ir
from runtime.intake.rate_limit import RateLimit
from runtime.kb.articles import KbArticles, group_of
from runtime.kb.recommend import Recommender
from runtime.pages.markdown_text import render
from runtime.pages.render import Pages
from runtime.tickets.actors import Actor
from runtime.tickets.listing import MAX_ID

READER = Actor("contact", None, "anonymous", frozenset())  # reads exactly what the public may read
LISTED = 200  # articles read for the list (translations included)
FOUND = 20
SEARCHES_PER_MINUTE = 60  # per address, as the public KB API allows
EXCERPT = 240
Search = Annotated[str | None, QueryParameter(max_length=500)]
Language = Annotated[str | None, QueryParameter(max_length=16)]


def _excerpt(text: str) -> str:
    flat = " ".join(text.replace("#", " ").replace("*", "").split())
    return flat if len(flat) <= EXCERPT else flat[:EXCERPT].rsplit(" ", 1)[0] + " …"


def article_handlers(pages: Pages) -> list[HTTPRouteHandler]:
    articles = KbArticles(pages.compiled, pages.engine)
    recommender = Recommender(pages.compiled, pages.engine)
    searches = RateLimit(SEARCHES_PER_MINUTE)
    categories = {c.value: c.label for c in pages.desk.categories}

    def category(value: str | None, language: str) -> str:
        return ir.label_for(categories.get(value or "", ()), language, value or "")

    @get("/articles", sync_to_thread=True)
    def list_articles(request: Request[Any, Any, Any], q: Search = None) -> Response[str]:
        visitor = pages.visitors.of(request)
        query = (q or "").strip()
        if query:
            wait = searches.take(request.client.host if request.client else "unknown")
            if wait:
                return pages.error(visitor, 429, visitor.t("common.status_429"),
                                   visitor.t("portal.search_wait", seconds=wait))
            found = recommender.articles_for(query, visitor.language, public_only=True, k=FOUND)
            items = [{"id": a["id"], "title": a["title"], "excerpt": a["passage"],
                      "category": category(a["category"], visitor.language)} for a in found]
        else:
            # One entry per article: the visitor's language where a translation exists, else the original.
            chosen: dict[int, dict[str, Any]] = {}
            for article in articles.page(READER, status="published", limit=LISTED):
                group = group_of(article)
                best = chosen.get(group)
                if best is None or (article["language"] == visitor.language != best["language"]) or (
                        best["language"] != visitor.language and article["id"] == group):
                    chosen[group] = article
            items = [{"id": a["id"], "title": a["title"], "excerpt": _excerpt(a["problem"]),
                      "category": category(a["category"], visitor.language)}
                     for a in sorted(chosen.values(), key=lambda a: str(a["title"]).lower())]
        return pages.html("articles.html", visitor, title=visitor.t("portal.articles_title"), items=items,
                          q=query)

    @get("/articles/{article_id:int}", sync_to_thread=True)
    def show_article(request: Request[Any, Any, Any], article_id: FromPath[int], language: Language = None
                     ) -> Response[str]:
        """``language``: a translation the visitor chose; else the visitor's own language where there is one."""
        visitor = pages.visitors.of(request)
        if not 1 <= article_id <= MAX_ID:
            msg = f"no article {article_id}"
            raise NotFoundException(msg)
        shown_id = articles.in_language(READER, article_id, language or visitor.language)
        article = articles.get(READER, shown_id, count_view=True)
        translations = [{"id": other["id"], "language": other["language"], "title": other["title"]}
                        for other in article["translations"] if other["status"] == "published"]
        return pages.html("article.html", visitor, title=article["title"], article=article,
                          problem=render(article["problem"]), solution=render(article["solution"]),
                          category=category(article["category"], visitor.language), translations=translations)

    return [list_articles, show_article]
