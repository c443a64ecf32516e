"""What the requesters' form pages submit through: the intake pipeline the JSON form API uses (one-use tokens, the
honeypot, the type's own validation, intake rules and duplicate checks), and the time zone a form's times are in.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.intake.form_tokens import FormTokens, desk_key
from runtime.intake.forms import FormIntake
from runtime.intake.pipeline import IntakePipeline
from runtime.intake.processing import IntakeProcessor
from runtime.intake.rate_limit import RateLimit
from runtime.tickets.service import TicketService


@dataclass(frozen=True)
class PageIntake:
    forms: FormIntake
    tokens: FormTokens
    rate: RateLimit  # anonymous submissions per client address
    honeypot: str


def page_intake(compiled: CompiledDesk, engine: sa.Engine, service: TicketService) -> PageIntake:
    settings = compiled.definitions.project.intake
    pipeline = IntakePipeline(compiled, engine, service)
    processor = IntakeProcessor(pipeline)
    # The key is read on the first token, as in the API: building the app must not create a key file.
    tokens = FormTokens(lambda: desk_key(compiled.root), settings.form_token_max_age_seconds)
    forms = FormIntake(pipeline, tokens, lambda message_id: processor.process([message_id]))
    return PageIntake(forms, tokens, RateLimit(settings.form_per_address_per_minute), settings.form_honeypot)


def desk_timezone(desk: ir.Desk, calendar: str | None = None) -> str:
    """The zone a form's date-times are typed in: the named calendar's, else the desk's first calendar's, else
    UTC (a desk without calendars keeps business time in UTC too)."""
    chosen = next((c for c in desk.calendars if c.name == calendar), None) or next(iter(desk.calendars), None)
    return chosen.timezone if chosen is not None else "UTC"
