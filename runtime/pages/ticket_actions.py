"""What an agent changes from the ticket page: fields (version-checked), a transition, a reply or internal note,
a verdict on a triage decision, a new suggested reply. Every change goes through the service with the agent's
actor and passes the CSRF check; a refusal shows the page again with its reason and what was typed kept."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Request, Response, post
from litestar.concurrency import sync_to_thread
from litestar.datastructures import UploadFile
from litestar.handlers import HTTPRouteHandler
from litestar.params import PathParameter

from runtime.ai.outbound import check_reply
from runtime.ai.triage import FIELDS
from runtime.pages.form_errors import place_errors
from runtime.pages.form_fields import TypeForm
from runtime.pages.login_pages import Form
from runtime.pages.render import Pages
from runtime.pages.ticket_answer import Answers, refusal
from runtime.pages.ticket_view import Draft, TicketView, secret_error
from runtime.pages.visitors import Visitor, check_csrf
from runtime.tickets.errors import InvalidTicket, StaleVersion, TicketError
from runtime.tickets.listing import MAX_ID

Id = Annotated[int, PathParameter(ge=1, le=MAX_ID)]
BODY_MAX = 100_000
# The parts of the page a change can touch; a reply adds the timeline entry and may stop a clock or set the
# first response.
AFTER_CHANGE = ("header", "timeline", "transitions", "sla", "fields", "ai")
AFTER_COMMENT = ("header", "timeline", "composer", "transitions", "sla")


def _number(raw: Any) -> int | None:
    text = raw[-1] if isinstance(raw, list) and raw else raw
    return int(text) if isinstance(text, str) and text.isdigit() and 0 < int(text) <= MAX_ID else None


def _text(raw: Any) -> str:
    text = raw[-1] if isinstance(raw, list) and raw else raw
    return text if isinstance(text, str) else ""


async def _submitted(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """A form sent URL-encoded or, when it carries files, as multipart; a name sent twice gives a list."""
    form = await request.form()
    values: dict[str, list[Any]] = {}
    for key, value in form.multi_items():
        values.setdefault(key, []).append(value)
    return {key: items[0] if len(items) == 1 else items for key, items in values.items()}


def action_handlers(pages: Pages, view: TicketView, answers: Answers) -> list[HTTPRouteHandler]:
    service = pages.service

    def agent(request: Request[Any, Any, Any], data: Mapping[str, Any]) -> Visitor:
        visitor = pages.visitors.agent(request)
        check_csrf(request, visitor, dict(data))
        return visitor

    def typed_values(form: TypeForm, data: Mapping[str, Any]) -> dict[str, Any]:
        """What the agent typed, as the form shows it again (files cannot be shown again)."""
        return {f.name: data.get(f.name) for f in form.fields if f.kind != "attachment"}

    def store_files(visitor: Visitor, ticket: Mapping[str, Any], form: TypeForm, data: Mapping[str, Any],
                    payload: dict[str, Any]) -> None:
        """Files chosen in the form become attachments of the ticket; the field then holds their ids."""
        assert visitor.actor is not None
        for name, uploads in form.uploads(data).items():
            ids = []
            for upload in uploads:
                assert isinstance(upload, UploadFile)
                stored = view.files.attach(visitor.actor, int(ticket["id"]), upload.file, upload.filename,
                                           upload.content_type, channel="web")
                ids.append(int(stored["id"]))
            definition = form.definitions[name]
            before = ticket.get(name)
            payload[name] = [*(before if isinstance(before, list) else []), *ids] if definition.multiple else ids[-1]

    def save(request: Request[Any, Any, Any], ticket_id: int, data: dict[str, Any]) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        t = visitor.t
        ticket = service.get(visitor.actor, ticket_id)
        form = view.form(ticket)
        typed = typed_values(form, data)
        version = _number(data.get("version"))
        if version is None or version != ticket["version"]:
            # Nothing is written: the agent sees what the ticket holds now beside what they typed.
            return answers.page(request, visitor, ticket_id, status=409, typed=typed, conflict=True,
                                parts=AFTER_CHANGE)
        parsed = form.parse(data)
        if parsed.errors:
            return answers.page(request, visitor, ticket_id, status=422, typed=typed, parts=("fields",),
                                field_errors={name: t(key) for name, key in parsed.errors.items()},
                                form_version=version)
        payload = dict(parsed.payload)
        try:
            store_files(visitor, ticket, form, data, payload)
            service.update(visitor.actor, ticket_id, {**payload, "version": version}, channel="web")
        except StaleVersion:
            return answers.page(request, visitor, ticket_id, status=409, typed=typed, conflict=True,
                                parts=AFTER_CHANGE)
        except InvalidTicket as exc:
            per_field, rest = place_errors(exc.errors, [f.name for f in form.fields], form.definitions,
                                           lambda name: form.label(form.definitions[name], t), t)
            return answers.page(request, visitor, ticket_id, status=422, typed=typed, field_errors=per_field,
                                form_messages=rest or ([] if per_field else [exc.detail]), parts=("fields",),
                                form_version=version)
        return answers.done(request, visitor, ticket_id, {"saved": 1}, AFTER_CHANGE, anchor="ticket-fields")

    @post("/tickets/{ticket_id:int}/fields")
    async def save_fields(request: Request[Any, Any, Any], ticket_id: Id) -> Response[Any]:
        data = await _submitted(request)
        return await sync_to_thread(save, request, ticket_id, data)

    @post("/tickets/{ticket_id:int}/transition", sync_to_thread=True)
    def transition(request: Request[Any, Any, Any], ticket_id: Id, data: Form) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        name, version = _text(data.get("name"))[:100], _number(data.get("version"))
        if not name or version is None:
            exc = InvalidTicket(visitor.t("ticket.transition_incomplete"))
            return answers.page(request, visitor, ticket_id, status=422, refusal=refusal(visitor, exc))
        try:
            service.transition(visitor.actor, ticket_id, name, version, channel="web")
        except TicketError as exc:
            if exc.status == 404:
                raise
            # A required field still empty, a state left meanwhile, a role this agent lacks: the reason, shown.
            return answers.page(request, visitor, ticket_id, status=exc.status, refusal=refusal(visitor, exc))
        return answers.done(request, visitor, ticket_id, {"moved": name}, AFTER_CHANGE)

    @post("/tickets/{ticket_id:int}/comments", sync_to_thread=True)
    def comment(request: Request[Any, Any, Any], ticket_id: Id, data: Form) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        public = _text(data.get("public")) != "0"
        body, suggestion_id = _text(data.get("body")), _number(data.get("suggestion_id"))
        draft = Draft(body=body, suggestion_id=suggestion_id if public else None)

        def refused(message: str) -> Response[str]:
            draft.error = message
            drafts = {"reply": draft} if public else {"note": draft}
            return answers.page(request, visitor, ticket_id, status=422, parts=("composer",), **drafts)

        if not body.strip():
            return refused(visitor.t("ticket.comment_empty"))
        if len(body) > BODY_MAX or "\x00" in body:
            return refused(visitor.t("ticket.comment_too_long", n=BODY_MAX))
        try:
            row = service.comment(visitor.actor, ticket_id, body, public=public, channel="web",
                                  suggestion_id=draft.suggestion_id)
        except InvalidTicket as exc:
            check = check_reply(body)
            return refused(secret_error(visitor, check) if public and check.blocked else exc.detail)
        query = {"sent": row["id"], "public": 1 if public else 0}
        return answers.done(request, visitor, ticket_id, query, AFTER_COMMENT, anchor=f"comment-{row['id']}",
                            sent=int(row["id"]))

    @post("/tickets/{ticket_id:int}/ai/{decision_id:int}/review", sync_to_thread=True)
    def review(request: Request[Any, Any, Any], ticket_id: Id, decision_id: Id, data: Form) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        verdict = _text(data.get("verdict"))
        values = {name: _text(data.get(f"value_{name}")) or None for name in FIELDS if f"value_{name}" in data}
        try:
            if not view.ai.belongs(visitor.actor, ticket_id, decision_id):
                raise InvalidTicket(visitor.t("ticket.decision_elsewhere"))
            view.ai.review(visitor.actor, decision_id, verdict, values if verdict == "override" else None,
                           _number(data.get("version")))
        except TicketError as exc:
            if exc.status == 404:
                raise
            return answers.page(request, visitor, ticket_id, status=exc.status, refusal=refusal(visitor, exc))
        return answers.done(request, visitor, ticket_id, {"reviewed": verdict}, AFTER_CHANGE, anchor="ticket-ai")

    @post("/tickets/{ticket_id:int}/ai/reply", sync_to_thread=True)
    def suggest(request: Request[Any, Any, Any], ticket_id: Id, data: Form) -> Response[Any]:
        visitor = agent(request, data)
        assert visitor.actor is not None
        view.ai.suggest(visitor.actor, ticket_id)
        return answers.done(request, visitor, ticket_id, {"suggested": 1}, ("ai",), anchor="ticket-ai")

    return [save_fields, transition, comment, review, suggest]
