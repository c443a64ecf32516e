"""A requester's form, public (anonymous, with their email) or in the portal (signed in): submitted through the
same intake as the JSON form API, so the token, the honeypot, the type's validation, intake rules and duplicate
checks are the API's own. An invalid field brings the form back with the reason beside it, the token unused and
everything typed kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from litestar import Request, Response
from litestar.exceptions import NotFoundException

from runtime.intake.form_tokens import TokenRefused
from runtime.intake.forms import Invalid, Submitted
from runtime.pages.form_choices import relation_choices
from runtime.pages.form_errors import message
from runtime.pages.form_fields import TypeForm
from runtime.pages.form_intake import desk_timezone, page_intake
from runtime.pages.form_values import as_json
from runtime.pages.form_views import FormPage, contact_section, refusals, show_form, text_of
from runtime.pages.render import Pages
from runtime.pages.visitors import CSRF_FIELD, Visitor
from runtime.tickets.actors import Actor
from runtime.tickets.errors import TicketNotFound

CONTACT_KEYS = ("email", "name")  # the anonymous submitter's own keys in a form submission


class RequestForms:
    def __init__(self, pages: Pages) -> None:
        self.pages = pages
        self.intake = page_intake(pages.compiled, pages.engine, pages.service)
        self.timezone = desk_timezone(pages.desk)

    def form(self, type_name: str, *, public: bool) -> TypeForm:
        """The requester's form of a type; a public form only for the types that have one."""
        audience = "public" if public else "requester"
        form = TypeForm.of(self.pages.desk, type_name, audience, timezone=self.timezone)
        if form is None or (public and not form.ticket_type.public_form):
            msg = f"no form '{type_name[:100]}'"
            raise NotFoundException(msg)
        return form

    def _page(self, visitor: Visitor, form: TypeForm, token: str) -> FormPage:
        ticket_type = form.ticket_type
        anonymous = visitor.actor is None
        hidden: tuple[tuple[str, str], ...] = (("token", token),)
        if not anonymous and visitor.csrf_token:
            hidden = (*hidden, (CSRF_FIELD, visitor.csrf_token))
        return FormPage(form, f"/forms/{ticket_type.name}" if anonymous else f"/portal/new/{ticket_type.name}",
                        self.pages.label(ticket_type.label, visitor, ticket_type.name),
                        self.pages.label(ticket_type.description, visitor, ""), hidden,
                        self.intake.honeypot if anonymous else None, "/forms" if anonymous else "/portal/new")

    def show(self, visitor: Visitor, form: TypeForm, *, token: str | None = None,
             values: Mapping[str, Any] | None = None, errors: Mapping[str, str] | None = None,
             form_errors: Sequence[str] = (), contact_errors: Mapping[str, str] | None = None, status: int = 200,
             headers: dict[str, str] | None = None) -> Response[str]:
        """The form, with a new token unless the visitor's unused one is handed back."""
        token = token or self.intake.tokens.issue(form.ticket_type.name)[0]
        before = [contact_section(visitor, values or {}, contact_errors or {})] if visitor.actor is None else []
        choices = relation_choices(self.pages.compiled, self.pages.engine, form.fields)
        return show_form(self.pages, visitor, self._page(visitor, form, token), values=values, errors=errors,
                         form_errors=form_errors, choices=choices, before=before, status=status, headers=headers)

    def submit(self, request: Request[Any, Any, Any], visitor: Visitor, form: TypeForm, data: dict[str, Any],
               actor: Actor | None) -> Response[Any]:
        """``actor``: the signed-in requester, or None for an anonymous visitor of a public form."""
        t, type_name = visitor.t, form.ticket_type.name
        token = text_of(data.get("token"))
        if actor is None:
            wait = self.intake.rate.take(request.client.host if request.client else "unknown")
            if wait:
                return self.show(visitor, form, token=token, values=data, status=429,
                                 form_errors=[t("forms.too_many", seconds=wait)], headers={"Retry-After": str(wait)})
        parsed = form.parse(data)
        if parsed.errors:
            per_field, rest = form.place_errors(refusals(parsed, self.pages.compiled.create_models[type_name]), t,
                                                parsed.errors)
            return self.show(visitor, form, token=token, values=data, errors=per_field, form_errors=rest,
                             status=422)
        body: dict[str, Any] = {**as_json(parsed.payload), "token": token}
        if actor is None:
            body |= {"email": text_of(data.get("email")).strip(), self.intake.honeypot: text_of(data.get(
                self.intake.honeypot))}
            if text_of(data.get("name")).strip():
                body["name"] = text_of(data.get("name")).strip()
        try:
            result = self.intake.forms.submit(type_name, body, actor)
        except TokenRefused as exc:
            # A stale or foreign token: a fresh one, and the visitor sends what they typed again.
            return self.show(visitor, form, values=data, form_errors=[t("forms.token_refused")], status=exc.status)
        except Invalid as exc:
            own = [e for e in exc.errors if actor is None and e.get("field") in CONTACT_KEYS]
            contact = {e["field"]: message(None, e["reason"], t) for e in own}
            per_field, rest = form.place_errors([e for e in exc.errors if e not in own], t)
            return self.show(visitor, form, token=token, values=data, errors=per_field, form_errors=rest,
                             contact_errors=contact, status=422)
        return self._done(visitor, form, result, actor, body.get("email"))

    def _done(self, visitor: Visitor, form: TypeForm, result: Submitted, actor: Actor | None,
              email: str | None) -> Response[Any]:
        if actor is not None and result.ticket_id is not None:
            try:
                self.pages.service.get(actor, result.ticket_id)
            except TicketNotFound:
                pass  # merged into a ticket of the organization this requester does not see
            else:
                return self.pages.redirect(f"/portal/tickets/{result.ticket_id}")
        t = visitor.t
        # An anonymous visitor learns what the API tells them: the submission was accepted, nothing of the
        # ticket (a duplicate of someone else's, or a spam submission, must look the same).
        return self.pages.html(
            "form_done.html", visitor, status=409 if result.repeated else 200,
            title=t("forms.already_title") if result.repeated else t("forms.received_title"),
            repeated=result.repeated, reference=result.message_id, email=email if actor is None else None,
            type_label=self.pages.label(form.ticket_type.label, visitor, form.ticket_type.name),
            back="/forms" if actor is None else "/portal")

