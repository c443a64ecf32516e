"""Inbound mailboxes: well-formed, distinct addresses, known ticket types that mail can fill, a default."""

from __future__ import annotations

import re
from collections.abc import Iterator

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.errors import did_you_mean, one_of

ADDRESS = re.compile(r"^[^@\s<>\"]+@[^@\s<>\"]+\.[^@\s<>\"]+$")


def _unfillable(desk: ir.Desk, ticket_type: ir.TicketType) -> list[str]:
    """Required fields without a default: a mail carries only a subject and a text, so it could never fill them."""
    fields = (*desk.master_fields, *ticket_type.fields)
    return [f.name for f in fields if f.required and f.default is None]


def _mailbox_problems(desk: ir.Desk, mailbox: ir.Mailbox, seen: dict[str, ir.Mailbox]) -> Iterator[Problem]:
    types = [t.name for t in desk.types]
    if not ADDRESS.match(mailbox.address):
        yield Problem(mailbox.src.at("address"), "not an email address", expected="name@example.org",
                      found=f"'{mailbox.address}'", hint="write the bare address, without a display name or <>")
    elif mailbox.address.lower() in seen:
        yield Problem(mailbox.src.at("address"), "address already belongs to another mailbox",
                      found=f"'{mailbox.address}'",
                      hint=f"mailbox '{seen[mailbox.address.lower()].name}' has it (addresses ignore case); one "
                           "address feeds one mailbox")
    seen.setdefault(mailbox.address.lower(), mailbox)
    ticket_type = desk.ticket_type(mailbox.type)
    if ticket_type is None:
        yield Problem(mailbox.src.at("type"), "mailbox for an unknown ticket type", expected=one_of(types),
                      found=f"'{mailbox.type}'", hint=did_you_mean(mailbox.type, types))
        return
    missing = _unfillable(desk, ticket_type)
    if missing:
        yield Problem(mailbox.src.at("type"), "mail cannot fill this ticket type's required fields",
                      expected="a ticket type whose required fields all have a default",
                      found=f"'{mailbox.type}' requires {', '.join(missing)}",
                      hint="give those fields a default, or let the mailbox open another type")


def check(desk: ir.Desk) -> Iterator[Problem]:
    project = desk.project
    seen: dict[str, ir.Mailbox] = {}
    for mailbox in project.mailboxes:
        yield from _mailbox_problems(desk, mailbox, seen)
    yield from _type_problems(desk)
    names = [m.name for m in project.mailboxes]
    default_src = project.src.at("mail", "default_mailbox")
    if project.default_mailbox is None:
        if names:
            yield Problem(project.src.at("mail", "mailboxes"), "no default mailbox",
                          expected="mail.default_mailbox: the mailbox for mail addressed to none of them",
                          hint=f"add 'default_mailbox: {names[0]}' under 'mail:'", at_key=True)
    elif project.default_mailbox not in names:
        yield Problem(default_src, "default mailbox is not declared",
                      expected=one_of(names) if names else "a mailbox declared under mail.mailboxes",
                      found=f"'{project.default_mailbox}'", hint=did_you_mean(project.default_mailbox, names))


def _type_problems(desk: ir.Desk) -> Iterator[Problem]:
    """A type's ``intake.email`` names the mailbox whose mail may open it (by a subject hint)."""
    names = [m.name for m in desk.project.mailboxes]
    for ticket_type in desk.types:
        if ticket_type.email_mailbox is None:
            continue
        src = ticket_type.src.at("intake", "email", "mailbox")
        if ticket_type.email_mailbox not in names:
            yield Problem(src, "no such mailbox in tessera.yaml", found=f"'{ticket_type.email_mailbox}'",
                          expected=one_of(names) if names else "a mailbox declared under mail.mailboxes",
                          hint=did_you_mean(ticket_type.email_mailbox, names) or "declare it, or remove intake.email")
            continue
        missing = _unfillable(desk, ticket_type)
        if missing:
            yield Problem(src, "mail cannot fill this ticket type's required fields",
                          found=f"'{ticket_type.name}' requires {', '.join(missing)}",
                          hint="give those fields a default, or remove intake.email from this type")
