"""Intake settings: enrichment rules that can match and set real values, webhook sources whose mappings
compile and name real fields, IMAP mailboxes that say where processed mail goes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import jinja2
import jinja2.sandbox

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.core_columns import CORE_COLUMNS
from runtime.config.errors import did_you_mean, one_of

DOTTED_PATH = re.compile(r"^[A-Za-z_][\w-]*(\.[\w-]+)*$")
# Core columns a webhook may fill; the rest are the runtime's (numbers, states, stamps) or the pipeline's.
WEBHOOK_CORE_FIELDS = ("title", "description", "priority", "category", "tags", "language")


def is_template(text: str) -> bool:
    return "{{" in text or "{%" in text


def _template_problem(src: ir.Src, text: str) -> Problem | None:
    try:
        jinja2.sandbox.SandboxedEnvironment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        return Problem(src, "not a valid Jinja2 template", found=f"'{text}'", hint=f"line {exc.lineno}: {exc.message}")
    return None


def _expression_problem(src: ir.Src, text: str) -> Problem | None:
    if is_template(text):
        return _template_problem(src, text)
    if not DOTTED_PATH.match(text):
        return Problem(src, "not a path into the payload nor a template", expected="a dotted path such as "
                       "'alert.title', or a template such as '{{ payload.alert.title }}'", found=f"'{text}'")
    return None


def _category_problem(desk: ir.Desk, src: ir.Src, category: str, type_name: str | None) -> Problem | None:
    ticket_type = desk.ticket_type(type_name) if type_name else None
    allowed = list(ticket_type.categories) if ticket_type and ticket_type.categories else \
        [c.value for c in desk.categories]
    if category in allowed:
        return None
    scope = f"of type '{type_name}'" if ticket_type else "of the desk"
    return Problem(src, f"not a category {scope}", expected=one_of(allowed) if allowed else "no categories exist",
                   found=f"'{category}'", hint=did_you_mean(category, allowed))


def _rule_problems(desk: ir.Desk, rule: ir.Rule) -> Iterator[Problem]:
    types = [t.name for t in desk.types]
    if not (rule.keywords or rule.pattern or rule.sender_domains or rule.channels):
        yield Problem(rule.src, "rule without a condition: it would apply to every ticket",
                      expected="keywords, pattern, sender_domains or channels", at_key=True)
    if any(not k.strip() for k in rule.keywords):
        yield Problem(rule.src.at("keywords"), "empty keyword", hint="remove it: it would match every text")
    if rule.pattern is not None:
        try:
            re.compile(rule.pattern)
        except re.error as exc:
            yield Problem(rule.src.at("pattern"), "not a valid regular expression", found=f"'{rule.pattern}'",
                          hint=str(exc))
    if rule.set_type is not None and desk.ticket_type(rule.set_type) is None:
        yield Problem(rule.src.at("set", "type"), "unknown ticket type", expected=one_of(types),
                      found=f"'{rule.set_type}'", hint=did_you_mean(rule.set_type, types))
    if rule.set_category is not None:
        problem = _category_problem(desk, rule.src.at("set", "category"), rule.set_category, rule.set_type)
        if problem:
            yield problem
    if not (rule.set_type or rule.set_category or rule.set_priority or rule.set_tags):
        yield Problem(rule.src.at("set"), "rule sets nothing", expected="type, category, priority or tags")


def _webhook_problems(desk: ir.Desk, hook: ir.Webhook) -> Iterator[Problem]:
    types = [t.name for t in desk.types]
    ticket_type = None
    if is_template(hook.type):
        problem = _expression_problem(hook.src.at("type"), hook.type)
        if problem:
            yield problem
    else:
        ticket_type = desk.ticket_type(hook.type)
        if ticket_type is None:
            yield Problem(hook.src.at("type"), "unknown ticket type", expected=one_of(types) + " or a template",
                          found=f"'{hook.type}'", hint=did_you_mean(hook.type, types))
    for key, text in (("delivery_id", hook.delivery_id), ("external_id", hook.external_id),
                      ("requester", hook.requester)):
        if text is not None:
            problem = _expression_problem(hook.src.at(key), text)
            if problem:
                yield problem
    names = dict(hook.fields)
    if "title" not in names:
        yield Problem(hook.src.at("fields"), "no title", expected="fields.title: where the ticket's title comes from",
                      at_key=True)
    if ticket_type is not None:
        allowed = [*WEBHOOK_CORE_FIELDS, *(f.name for f in (*desk.master_fields, *ticket_type.fields))]
    else:  # the type is chosen per delivery: any type's field may be meant
        allowed = [*WEBHOOK_CORE_FIELDS, *(f.name for f in desk.master_fields),
                   *(f.name for t in desk.types for f in t.fields)]
    for name, text in hook.fields:
        src = hook.src.at("fields", name)
        if name not in allowed:
            if name in CORE_COLUMNS:
                reason, hint = "set by the runtime", f"a webhook can fill {', '.join(allowed)}"
            else:
                reason, hint = "no such field", did_you_mean(name, allowed) or f"fields: {', '.join(allowed)}"
            yield Problem(src, f"not a field a webhook can fill ({reason})", found=f"'{name}'", hint=hint,
                          at_key=True)
            continue
        problem = _expression_problem(src, text)
        if problem:
            yield problem


def _imap_problems(mailbox: ir.Mailbox) -> Iterator[Problem]:
    imap = mailbox.imap
    if imap is None:
        return
    src = mailbox.src.at("imap")
    if imap.after == "move" and not imap.move_to:
        yield Problem(src.at("after"), "after: move needs a folder", expected="move_to: the folder processed mail "
                      "goes to", hint="add 'move_to: Processed', or use 'after: flag'")
    if imap.after != "move" and imap.move_to:
        yield Problem(src.at("move_to"), "move_to is only used with after: move", found=f"after: {imap.after}",
                      hint="set 'after: move' or remove move_to")
    if imap.move_to is not None and imap.move_to == imap.folder:
        yield Problem(src.at("move_to"), "processed mail would be moved into the folder it is read from",
                      found=f"'{imap.move_to}'", hint="name another folder")
    if imap.poll_seconds < 1:
        yield Problem(src.at("poll_every"), "polling interval below one second", found=f"{imap.poll_seconds}s")


def check(desk: ir.Desk) -> Iterator[Problem]:
    settings = desk.project.intake
    ack = desk.project.acknowledge
    for key, text in (("subject", ack.subject), ("body", ack.body)):
        problem = _template_problem(desk.project.src.at("mail", "acknowledge", key), text) if text else None
        if problem:
            yield problem
    for rule in settings.rules:
        yield from _rule_problems(desk, rule)
    for hook in settings.webhooks:
        yield from _webhook_problems(desk, hook)
    for mailbox in desk.project.mailboxes:
        yield from _imap_problems(mailbox)
    if settings.near_flag_at <= 0:
        yield Problem(desk.project.src.at("intake", "near_duplicates", "flag_at"),
                      "flag_at 0 would flag every ticket as a near duplicate", expected="a score above 0, e.g. 0.6")
    for ticket_type in desk.types:
        merge = ticket_type.merge_duplicates_above
        if merge is not None and merge < settings.near_flag_at:
            yield Problem(ticket_type.src.at("intake", "merge_duplicates_above"),
                          "merges tickets that would not even be flagged",
                          expected=f"at least intake.near_duplicates.flag_at ({settings.near_flag_at})",
                          found=str(merge))
