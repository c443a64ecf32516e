"""What agents change on the knowledge pages: a new article, an edit (a new version, checked against the version
the form was opened at), a translation, publishing and archiving (reviewers), deleting a draft, and a verdict of
helpful or not. Each is a CSRF-checked form that goes through ``KbArticles`` (or the API's ``translate``) with the
agent's actor; a refusal shows the form or the article again with its reason, and never loses what was typed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from litestar import Request, Response, get, post
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath

from runtime.kb.articles import KbArticles, WrongState
from runtime.kb.translate import TranslationFailed, translate
from runtime.pages.knowledge_form import FIELDS, ArticleForm, text
from runtime.pages.knowledge_view import KnowledgeView, checked_id, rights
from runtime.pages.login_pages import Form
from runtime.pages.render import Pages
from runtime.pages.ticket_names import when
from runtime.pages.visitors import Visitor, check_csrf
from runtime.tickets.errors import Forbidden, InvalidTicket, StaleVersion, TicketError

NEW_FIELDS = ("title", "problem", "solution", "category", "keywords", "visibility", "language")
EDIT_FIELDS = ("title", "problem", "solution", "category", "keywords", "visibility", "note")
TRANSLATION_FIELDS = ("language", "title", "problem", "solution")
VERDICTS = ("helpful", "not_helpful")


class BadForm(ValueError):
    """A form that no page of this desk sends (a missing version, an unknown verdict): a 400 with the reason."""


def _version(data: Mapping[str, Any]) -> int:
    raw = text(data.get("version")).strip()
    if not raw.isdigit() or not 0 < int(raw) < 2**31:
        msg = "version: the article version the form was opened at"
        raise BadForm(msg)
    return int(raw)


def _same(typed: Any, stored: Any) -> bool:
    """Typed text against the stored value, as the knowledge base would store it (text stripped)."""
    if isinstance(typed, str) and isinstance(stored, str | None):
        return typed.strip() == (stored or "").strip()
    return bool(typed == stored or (typed in (None, []) and stored in (None, [])))


def action_handlers(pages: Pages, articles: KbArticles, view: KnowledgeView) -> list[HTTPRouteHandler]:
    compiled, engine = pages.compiled, pages.engine

    def agent(request: Request[Any, Any, Any], data: Mapping[str, Any]) -> Visitor:
        visitor = pages.visitors.agent(request)
        check_csrf(request, visitor, dict(data))
        return visitor

    def form_page(visitor: Visitor, mode: str, form: ArticleForm, *, status: int = 200,
                  article: Mapping[str, Any] | None = None, version: int | None = None,
                  conflict: Mapping[str, Any] | None = None) -> Response[str]:
        """The new-article, edit or translate form, with what was typed and the reasons beside the fields."""
        t = visitor.t
        title = t(f"knowledge.{mode}_title", title=article["title"] if article else "")
        free = view.free_languages(article) if article is not None and mode == "translate" else []
        return pages.html(
            "knowledge_translate.html" if mode == "translate" else "knowledge_form.html", visitor, status=status,
            title=title, mode=mode, form=form, article=article, version=version, conflict=conflict,
            conflict_when=when(conflict.get("updated_at")) if conflict else "",
            categories=view.category_choices(t), article_languages=view.language_choices(t),
            free_languages=[(code, view.language(code, t)) for code in free], llm=view.llm,
            language_name=view.language(str(article["language"]), t) if article else "")

    def refusal(visitor: Visitor, article_id: int, exc: TicketError, wrong_state: str) -> Response[str]:
        """The article again with why the action was refused, in the visitor's words where the reason is known."""
        t = visitor.t
        said = (t("knowledge.stale_action") if isinstance(exc, StaleVersion)
                else t(wrong_state) if isinstance(exc, WrongState)
                else t("knowledge.forbidden") if isinstance(exc, Forbidden) else exc.detail)
        return view.html(visitor, article_id, status=exc.status, refusal=said)

    def bad(visitor: Visitor, exc: BadForm) -> Response[str]:
        return pages.error(visitor, 400, visitor.t("common.status_400"), str(exc))

    # -- a new article ----------------------------------------------------------------------------------------

    @get("/knowledge/new", sync_to_thread=True)
    def new_article(request: Request[Any, Any, Any]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        form = ArticleForm.of_article({"language": visitor.language if visitor.language in view.languages
                                       else pages.desk.project.default_language})
        return form_page(visitor, "new", form)

    @post("/knowledge/new", sync_to_thread=True)
    def create_article(request: Request[Any, Any, Any], data: Form) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        form = ArticleForm.read(data, NEW_FIELDS, visitor.t)
        if not form.errors:
            try:
                made = articles.create(visitor.actor, form.values)
            except InvalidTicket as exc:
                form.refused(exc.errors, NEW_FIELDS, visitor.t)
            else:
                return pages.redirect(f"/knowledge/{made['id']}?done=created")
        return form_page(visitor, "new", form, status=422)

    # -- editing: a new version -------------------------------------------------------------------------------

    def editable(visitor: Visitor, article_id: int) -> dict[str, Any]:
        """The article, if this agent may edit it (else the knowledge base's refusal, as a 403 page)."""
        assert visitor.actor is not None
        article = articles.get(visitor.actor, checked_id(article_id))
        if not rights(visitor.actor, article).edit:
            raise Forbidden(visitor.t("knowledge.forbidden_edit"))
        return article

    @get("/knowledge/{article_id:int}/edit", sync_to_thread=True)
    def edit_article(request: Request[Any, Any, Any], article_id: FromPath[int]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        article = editable(visitor, article_id)
        return form_page(visitor, "edit", ArticleForm.of_article(article), article=article,
                         version=int(article["version"]))

    @post("/knowledge/{article_id:int}/edit", sync_to_thread=True)
    def save_article(request: Request[Any, Any, Any], article_id: FromPath[int], data: Form) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        article = editable(visitor, article_id)
        try:
            version = _version(data)
        except BadForm as exc:
            return bad(visitor, exc)
        form = ArticleForm.read(data, EDIT_FIELDS, visitor.t)
        if form.errors:
            return form_page(visitor, "edit", form, status=422, article=article, version=version)
        # Only what changed is sent: saving an untouched form writes no version of its own.
        changes = {k: v for k, v in form.values.items() if not _same(v, article.get(k))}
        if not changes and not form.note and version == article["version"]:
            return pages.redirect(f"/knowledge/{article_id}?done=unchanged")
        try:
            articles.update(visitor.actor, article_id, changes, version, form.note)
        except StaleVersion:
            current = articles.get(visitor.actor, article_id)
            # The form keeps the agent's text and now carries the current version: saving again replaces it,
            # knowingly, after the current text shown beside it has been read.
            return form_page(visitor, "edit", form, status=409, article=current, version=int(current["version"]),
                             conflict=current)
        except InvalidTicket as exc:
            form.refused(exc.errors, EDIT_FIELDS, visitor.t)
            return form_page(visitor, "edit", form, status=422, article=article, version=version)
        return pages.redirect(f"/knowledge/{article_id}?done=saved")

    # -- translating ------------------------------------------------------------------------------------------

    @get("/knowledge/{article_id:int}/translate", sync_to_thread=True)
    def translation_form(request: Request[Any, Any, Any], article_id: FromPath[int]) -> Response[str]:
        visitor = pages.visitors.agent(request)
        assert visitor.actor is not None
        article = articles.get(visitor.actor, checked_id(article_id))
        form = ArticleForm(dict.fromkeys(FIELDS, ""))
        wanted = text(request.query_params.get("language"))
        form.typed["language"] = wanted if wanted in view.free_languages(article) else ""
        return form_page(visitor, "translate", form, article=article)

    @post("/knowledge/{article_id:int}/translate", sync_to_thread=True)
    def add_translation(request: Request[Any, Any, Any], article_id: FromPath[int], data: Form) -> Response[Any]:
        """With the text typed, a translation by hand; without it, the llm provider writes one (as the API does)."""
        visitor = agent(request, data)
        assert visitor.actor is not None
        t = visitor.t
        article = articles.get(visitor.actor, checked_id(article_id))
        form = ArticleForm.read(data, ("title", "problem", "solution"), t)
        language = form.typed["language"]
        if language not in view.free_languages(article):
            form.errors["language"] = t("knowledge.error_language_free")
        if form.errors:
            return form_page(visitor, "translate", form, status=422, article=article)
        values: dict[str, Any] = {"language": language}
        if any(form.typed[name].strip() for name in ("title", "problem", "solution")):
            values |= {name: form.values[name] for name in ("title", "problem", "solution")}
        try:
            made = translate(compiled, engine, visitor.actor, article_id, values)
        except InvalidTicket as exc:
            form.refused(exc.errors, TRANSLATION_FIELDS, t)
            return form_page(visitor, "translate", form, status=422, article=article)
        except WrongState:
            form.errors["language"] = t("knowledge.error_language_free")
            return form_page(visitor, "translate", form, status=409, article=article)
        except TranslationFailed as exc:
            form.general.append(t("knowledge.translation_failed", reason=exc.detail))
            return form_page(visitor, "translate", form, status=502, article=article)
        return pages.redirect(f"/knowledge/{made['id']}?done=translated")

    # -- review and verdicts ----------------------------------------------------------------------------------

    def versioned(path: str, act: Callable[[Any, int, int], Mapping[str, Any] | None], wrong_state: str,
                  done: str) -> HTTPRouteHandler:
        """A reviewer's (or author's) action on the version the page showed; the article again if refused."""

        @post(path, sync_to_thread=True, name=f"knowledge-{done}")
        def handler(request: Request[Any, Any, Any], article_id: FromPath[int], data: Form) -> Response[Any]:
            visitor = agent(request, data)
            checked_id(article_id)
            try:
                result = act(visitor.actor, article_id, _version(data))
            except BadForm as exc:
                return bad(visitor, exc)
            except (StaleVersion, WrongState, Forbidden) as exc:
                return refusal(visitor, article_id, exc, wrong_state)
            if result is None:
                return pages.redirect(f"/knowledge?done={done}")
            return pages.redirect(f"/knowledge/{result['id']}?done={done}")

        return handler

    def delete(actor: Any, article_id: int, _version: int) -> None:
        articles.delete(actor, article_id)

    @post("/knowledge/{article_id:int}/feedback", sync_to_thread=True)
    def feedback(request: Request[Any, Any, Any], article_id: FromPath[int], data: Form) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        kind = text(data.get("kind"))
        if kind not in VERDICTS:
            return bad(visitor, BadForm(f"kind: one of {', '.join(VERDICTS)}"))
        articles.rate(visitor.actor, checked_id(article_id), kind)
        return pages.redirect(f"/knowledge/{article_id}?done=feedback")

    routes: Sequence[HTTPRouteHandler] = (
        new_article, create_article, edit_article, save_article, translation_form, add_translation, feedback,
        versioned("/knowledge/{article_id:int}/publish", articles.publish, "knowledge.not_a_draft", "published"),
        versioned("/knowledge/{article_id:int}/archive", articles.archive, "knowledge.archived_already", "archived"),
        versioned("/knowledge/{article_id:int}/delete", delete, "knowledge.delete_not_draft", "deleted"))
    return list(routes)
