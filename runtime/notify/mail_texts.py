"""The words of mail to requesters: Jinja2 templates, built in here and overridable in tessera.yaml.

They render in a sandbox: the desk's admins write them, and what fills them in (titles, comments) comes from
customers. Autoescaping is off, as the mail is plain text.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

import jinja2
from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger("tessera.notify")

ACK_BODY = """\
Hello {{ requester.name or requester.email }},

thank you for your message. We have opened ticket {{ ticket.number }} for it:

    {{ ticket.title }}

We will come back to you as soon as we can. To add anything, reply to this mail and keep [{{ ticket.number }}]
in the subject.

{{ desk.name }}
"""
REPLY_SUBJECT = "{% if replying %}Re: {% endif %}[{{ ticket.number }}] {{ ticket.title }}"
# "-- " (with its space) is the signature separator mail programs and our own quote stripper recognise.
REPLY_BODY = "{{ comment.body }}\n\n-- \n{{ agent.name }}, {{ desk.name }}\n" \
             "Ticket {{ ticket.number }}: reply to this mail to answer.\n"

_environment = SandboxedEnvironment(autoescape=False, trim_blocks=True, keep_trailing_newline=True)


@lru_cache(maxsize=64)
def _template(source: str) -> jinja2.Template:
    return _environment.from_string(source)


def render(source: str, built_in: str, context: dict[str, Any]) -> str:
    """``source`` filled in from ``context``; the built-in text when the desk's own template fails, so that a
    mistake in tessera.yaml costs the mail its wording, not the mail (nor the ticket it is queued with)."""
    try:
        return _template(source).render(context)
    except Exception as exc:  # a syntax error, a sandbox refusal, or anything the template's expressions raise
        if source == built_in:
            raise
        log.warning("mail template failed (%s: %s); the built-in text is used", type(exc).__name__, exc)
        return _template(built_in).render(context)
