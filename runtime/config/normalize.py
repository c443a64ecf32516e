"""Spec → IR: a pure translation that fills defaults and resolves text formats, never failing.

References between definitions stay names here; ``checks`` proves them, the compilers resolve them.
"""

from __future__ import annotations

from collections.abc import Iterable

from runtime.config import ir, spec
from runtime.config.units import parse_duration, parse_escalation_point, parse_ranges


class Normalizer:
    """Keeps the desk's default language and a record of every label for the language checks."""

    def __init__(self, default_language: str) -> None:
        self.language = default_language
        self.labels: list[tuple[ir.Labels, ir.Src]] = []

    def text(self, value: str | dict[str, str] | None, src: ir.Src) -> ir.Labels:
        if value is None:
            return ()
        labels = ((self.language, value),) if isinstance(value, str) else tuple(value.items())
        self.labels.append((labels, src))
        return labels

    def option(self, value: str | spec.OptionSpec, src: ir.Src) -> ir.Option:
        if isinstance(value, str):
            return ir.Option(value=value, label=(), src=src)
        return ir.Option(value=value.value, label=self.text(value.label, src.at("label")), src=src)

    def field(self, name: str, field: spec.FieldSpec, src: ir.Src) -> ir.Field:
        return ir.Field(
            name=name, kind=field.kind, src=src,
            label=self.text(field.label, src.at("label")), help=self.text(field.help, src.at("help")),
            placeholder=self.text(field.placeholder, src.at("placeholder")),
            required=field.required, unique=field.unique, indexed=field.indexed, default=field.default,
            min=field.min, max=field.max, max_length=field.max_length, pattern=field.pattern,
            options=tuple(self.option(o, src.at("options", i)) for i, o in enumerate(field.options or ())),
            of=field.of, to=field.to, precision=field.precision, scale=field.scale, multiple=field.multiple,
            renamed_from=field.renamed_from, written=frozenset(field.model_fields_set),
        )

    def fields(self, fields: dict[str, spec.FieldSpec], src: ir.Src) -> tuple[ir.Field, ...]:
        return tuple(self.field(name, f, src.at("fields", name)) for name, f in fields.items())

    def workflow(self, name: str, wf: spec.WorkflowSpec, src: ir.Src) -> ir.Workflow:
        states = tuple(
            ir.State(n, s.category, self.text(s.label, src.at("states", n, "label")), src.at("states", n))
            for n, s in wf.states.items()
        )
        transitions = tuple(self.transition(n, t, src.at("transitions", n)) for n, t in wf.transitions.items())
        return ir.Workflow(name, self.text(wf.label, src.at("label")), wf.initial, states, transitions, src)

    def transition(self, name: str, t: spec.TransitionSpec, src: ir.Src) -> ir.Transition:
        sources = (t.from_,) if isinstance(t.from_, str) else tuple(t.from_)
        return ir.Transition(
            name=name, sources=sources, target=t.to, label=self.text(t.label, src.at("label")),
            roles=tuple(t.roles), requires=tuple(t.requires), when=tuple(t.when.items()),
            updates=tuple(t.set.items()), src=src,
            after=None if t.after is None else parse_duration(t.after), unless=tuple(t.unless),
            on=tuple(t.on),
        )

    def ticket_type(self, t: spec.TicketTypeSpec, src: ir.Src) -> tuple[ir.TicketType, ir.Workflow | None]:
        inline = None
        if isinstance(t.workflow, spec.WorkflowSpec):
            inline = self.workflow(f"{t.type} (inline)", t.workflow, src.at("workflow"))
        sections = tuple(
            ir.Section(
                title=self.text(s.title, src.at("form", "sections", i, "title")), fields=tuple(s.fields),
                visible_in=None if s.visible_in is None else tuple(s.visible_in),
                help=self.text(s.help, src.at("form", "sections", i, "help")), src=src.at("form", "sections", i),
            )
            for i, s in enumerate(t.form.sections if t.form else ())
        )
        intake = t.intake or spec.IntakeSpec()
        ai = t.ai or spec.AiHintsSpec()
        ticket_type = ir.TicketType(
            name=t.type, label=self.text(t.label, src.at("label")),
            description=self.text(t.description, src.at("description")), number_prefix=t.number_prefix,
            default_priority=t.default_priority, categories=tuple(t.categories),
            fields=self.fields(t.fields, src), sections=sections,
            workflow=inline.name if inline else str(t.workflow),
            email_mailbox=intake.email.mailbox if intake.email else None,
            email_subject_hint=intake.email.subject_hint if intake.email else None,
            public_form=intake.public_form, intake_keywords=tuple(intake.keywords),
            ai_description=self.text(ai.description, src.at("ai", "description")),
            ai_skills=tuple(ai.skills), ai_keywords=tuple(ai.keywords), ai_examples=tuple(ai.examples),
            src=src, renamed_from=t.renamed_from, merge_duplicates_above=intake.merge_duplicates_above,
            canned_responses=tuple(
                ir.CannedResponse(name, self.text(c.label, src.at("canned_responses", name, "label")),
                                  self.text(c.body, src.at("canned_responses", name, "body")),
                                  src.at("canned_responses", name))
                for name, c in t.canned_responses.items()),
        )
        return ticket_type, inline

    def calendar(self, name: str, cal: spec.CalendarSpec, src: ir.Src) -> ir.Calendar:
        hours: Iterable[tuple[str, str]] = () if isinstance(cal.hours, str) else cal.hours.items()
        holidays = cal.holidays or spec.HolidaysSpec()
        return ir.Calendar(
            name=name, timezone=cal.timezone, always_open=cal.hours == "24x7",
            hour_rules=tuple((days, parse_ranges(text)) for days, text in hours),
            holiday_country=holidays.country, holiday_subdiv=holidays.subdiv,
            holiday_dates=tuple(holidays.dates),
            half_days=tuple(ir.HalfDay(h.date, parse_ranges(h.hours)) for h in holidays.half_days), src=src,
        )

    def policy(self, p: spec.PolicySpec, src: ir.Src) -> ir.Policy:
        def seconds(value: str | None) -> int | None:
            return None if value is None else parse_duration(value)

        targets = tuple(
            ir.Target(prio, seconds(t.first_response), seconds(t.next_response), seconds(t.resolution),
                      t.calendar, src.at("targets", prio))
            for prio, t in p.targets.items()
        )
        escalations = []
        for i, e in enumerate(p.escalations):
            percent, offset = parse_escalation_point(e.at)
            escalations.append(ir.Escalation(
                metric=e.metric, percent=percent, offset=offset, notify=tuple(e.notify),
                updates=tuple(e.set.items()), assign_team=e.assign.team if e.assign else None,
                assign_agent=e.assign.agent if e.assign else None, transition=e.transition,
                src=src.at("escalations", i),
            ))
        a = p.applies_to
        return ir.Policy(
            name=p.name, description=p.description, order=p.order, types=tuple(a.types),
            priorities=tuple(a.priorities), categories=tuple(a.categories), organizations=tuple(a.organizations),
            field_matches=tuple(a.fields.items()), calendar=p.calendar, valid_from=p.valid_from,
            valid_until=p.valid_until, pause_on=tuple(p.pause_on), targets=targets,
            escalations=tuple(escalations), src=src, on_reopen=p.on_reopen,
        )


def project(p: spec.ProjectSpec, src: ir.Src) -> ir.Project:
    return ir.Project(
        name=p.name, languages=tuple(p.languages), default_language=p.default_language, roles=tuple(p.roles),
        database_url=p.database.url, ticket_types_dir=p.paths.ticket_types, sla_policies_dir=p.paths.sla_policies,
        generated_dir=p.paths.generated, schemas_dir=p.paths.schemas, attachments_dir=p.paths.attachments,
        host=p.server.host, port=p.server.port, src=src,
        attachment_max_bytes=p.attachments.max_size_mb * 1024 * 1024, agents_see=p.access.agents_see,
        requesters_see_organization=p.access.requesters_see_organization,
        smtp=ir.Smtp(**p.mail.outgoing.model_dump()) if p.mail.outgoing else None,
        mailboxes=tuple(ir.Mailbox(name, m.address, m.type, m.team, src.at("mail", "mailboxes", name),
                                   _imap(m.imap) if m.imap else None)
                        for name, m in p.mail.mailboxes.items()),
        default_mailbox=p.mail.default_mailbox,
        listener=ir.Listener(p.mail.listener.host, p.mail.listener.port, p.mail.listener.max_size_mb * 1024 * 1024)
        if p.mail.listener else None,
        acknowledge=ir.Acknowledge(**p.mail.acknowledge.model_dump()),
        intake=_intake(p.intake, src.at("intake")),
        assignment=ir.Assignment(
            auto=p.assignment.auto, strategy=p.assignment.strategy, teams=tuple(p.assignment.teams.items()),
            category_skills=tuple((c, tuple(s)) for c, s in p.assignment.category_skills.items()),
            src=src.at("assignment")),
        ai=_ai(p.ai, src.at("ai")),
        kb=ir.Kb(capture=p.kb.capture, dense=p.kb.dense),
        observability=ir.Observability(log_format=p.logging.format, log_level=p.logging.level,
                                       metrics_open_on_loopback=p.metrics.open_on_loopback),
    )


def _ai(a: spec.AiSpec, src: ir.Src) -> ir.Ai:
    llm = a.llm
    return ir.Ai(
        provider=a.provider, model_dir=a.model, classifier=a.classifier, triage=a.triage.enabled,
        apply_at=a.triage.apply_at, triage_fields=tuple(a.triage.fields), reply_template=a.reply_template, src=src,
        llm=ir.Llm(base_url=llm.base_url, model=llm.model, api_key_env=llm.api_key_env, mode=llm.mode,
                   timeout_seconds=parse_duration(llm.timeout), max_retries=llm.max_retries,
                   prompts=tuple(llm.prompts.items())) if llm else None)


def _imap(m: spec.ImapSpec) -> ir.Imap:
    return ir.Imap(host=m.host, port=m.port or (993 if m.ssl else 143), ssl=m.ssl, username=m.username,
                   password_env=m.password_env, folder=m.folder, after=m.after, move_to=m.move_to, idle=m.idle,
                   poll_seconds=parse_duration(m.poll_every))


def _intake(i: spec.IntakeSettingsSpec, src: ir.Src) -> ir.IntakeSettings:
    rules = tuple(ir.Rule(
        name=r.name or f"rule {n + 1}", keywords=tuple(r.keywords), pattern=r.pattern,
        sender_domains=tuple(d.lower().lstrip("@") for d in r.sender_domains), channels=tuple(r.channels),
        set_type=r.set.type, set_category=r.set.category, set_priority=r.set.priority, set_tags=tuple(r.set.tags),
        src=src.at("rules", n)) for n, r in enumerate(i.rules))
    webhooks = tuple(ir.Webhook(
        name=name, type=w.type, team=w.team, secret_env=w.secret_env, tolerance_seconds=parse_duration(w.tolerance),
        delivery_id=w.delivery_id, external_id=w.external_id, requester=w.requester, fields=tuple(w.fields.items()),
        src=src.at("webhooks", name), queued=w.process == "queued") for name, w in i.webhooks.items())
    return ir.IntakeSettings(
        rules=rules, near_window_seconds=parse_duration(i.near_duplicates.window),
        near_flag_at=i.near_duplicates.flag_at, form_honeypot=i.forms.honeypot,
        form_per_address_per_minute=i.forms.per_address_per_minute,
        form_token_max_age_seconds=parse_duration(i.forms.token_max_age), webhooks=webhooks)


