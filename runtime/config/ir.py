"""The resolved, frozen form of a desk's definitions: what checks inspect and compilers read.

Every node keeps ``src`` (file and key path) so a check can point at the line that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from runtime.config.errors import KeyPath

Labels = tuple[tuple[str, str], ...]  # (language, text) pairs in the order written


@dataclass(frozen=True)
class Src:
    file: str
    path: KeyPath

    def at(self, *more: str | int) -> Src:
        return Src(self.file, (*self.path, *more))


def label_for(labels: Labels, language: str, fallback: str) -> str:
    """The text in ``language``, else the first one written, else ``fallback``."""
    for lang, text in labels:
        if lang == language:
            return text
    return labels[0][1] if labels else fallback


@dataclass(frozen=True)
class Option:
    value: str
    label: Labels
    src: Src


@dataclass(frozen=True)
class Field:
    name: str
    kind: str
    src: Src
    label: Labels = ()
    help: Labels = ()
    placeholder: Labels = ()
    required: bool = False
    unique: bool = False
    indexed: bool = False
    default: Any = None
    min: Any = None
    max: Any = None
    max_length: int | None = None
    pattern: str | None = None
    options: tuple[Option, ...] = ()
    of: str | None = None
    to: str | None = None
    precision: int | None = None
    scale: int | None = None
    multiple: bool = False
    renamed_from: str | None = None
    # Which constraint keys the builder actually wrote, to report ones that do not fit the kind.
    written: frozenset[str] = frozenset()


@dataclass(frozen=True)
class Collection:
    name: str
    label: Labels
    display: str
    fields: tuple[Field, ...]
    src: Src
    renamed_from: str | None = None


@dataclass(frozen=True)
class State:
    name: str
    category: str
    label: Labels
    src: Src


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[str, ...]  # '*' means every state
    target: str
    label: Labels
    roles: tuple[str, ...]
    requires: tuple[str, ...]
    when: tuple[tuple[str, Any], ...]
    updates: tuple[tuple[str, Any], ...]
    src: Src
    after: int | None = None  # seconds: a timed transition the worker runs
    unless: tuple[str, ...] = ()
    on: tuple[str, ...] = ()  # events that run it as the system (requester_reply)


@dataclass(frozen=True)
class Workflow:
    name: str
    label: Labels
    initial: str
    states: tuple[State, ...]
    transitions: tuple[Transition, ...]
    src: Src

    def state(self, name: str) -> State | None:
        return next((s for s in self.states if s.name == name), None)


@dataclass(frozen=True)
class Section:
    title: Labels
    fields: tuple[str, ...]
    visible_in: tuple[str, ...] | None
    help: Labels
    src: Src


@dataclass(frozen=True)
class CannedResponse:
    name: str
    label: Labels
    body: Labels  # a Jinja2 template per language
    src: Src


@dataclass(frozen=True)
class TicketType:
    name: str
    label: Labels
    description: Labels
    number_prefix: str
    default_priority: str
    categories: tuple[str, ...]
    fields: tuple[Field, ...]
    sections: tuple[Section, ...]
    workflow: str  # name of a shared workflow, or of this type's inline one
    email_mailbox: str | None
    email_subject_hint: str | None
    public_form: bool
    intake_keywords: tuple[str, ...]
    ai_description: Labels
    ai_skills: tuple[str, ...]
    ai_keywords: tuple[str, ...]
    ai_examples: tuple[str, ...]
    src: Src
    renamed_from: str | None = None
    merge_duplicates_above: float | None = None  # a near duplicate above this becomes a comment
    canned_responses: tuple[CannedResponse, ...] = ()

    def canned_response(self, name: str) -> CannedResponse | None:
        return next((c for c in self.canned_responses if c.name == name), None)

    @property
    def table_name(self) -> str:
        return f"ticket_{self.name}"


@dataclass(frozen=True)
class HalfDay:
    date: str
    hours: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Calendar:
    name: str
    timezone: str
    always_open: bool
    hour_rules: tuple[tuple[str, tuple[tuple[int, int], ...]], ...]  # ('mon-fri', minute ranges)
    holiday_country: str | None
    holiday_subdiv: str | None
    holiday_dates: tuple[str, ...]
    half_days: tuple[HalfDay, ...]
    src: Src


@dataclass(frozen=True)
class Target:
    priority: str
    first_response: int | None  # seconds of business time
    next_response: int | None
    resolution: int | None
    calendar: str | None
    src: Src


@dataclass(frozen=True)
class Escalation:
    metric: str
    percent: float | None
    offset: int  # seconds after the percentage point (or after due when percent is None)
    notify: tuple[str, ...]
    updates: tuple[tuple[str, Any], ...]
    assign_team: str | None
    assign_agent: str | None
    transition: str | None
    src: Src


@dataclass(frozen=True)
class Policy:
    name: str
    description: str | None
    order: int | None
    types: tuple[str, ...]
    priorities: tuple[str, ...]
    categories: tuple[str, ...]
    organizations: tuple[str, ...]
    field_matches: tuple[tuple[str, Any], ...]
    calendar: str
    valid_from: str | None
    valid_until: str | None
    pause_on: tuple[str, ...]
    targets: tuple[Target, ...]
    escalations: tuple[Escalation, ...]
    src: Src
    on_reopen: str = "resume"  # or "restart"


@dataclass(frozen=True)
class Smtp:
    host: str
    port: int
    sender: str
    starttls: bool
    username: str | None
    password_env: str | None


@dataclass(frozen=True)
class Imap:
    host: str
    port: int
    ssl: bool
    username: str
    password_env: str
    folder: str
    after: str  # flag | move | delete
    move_to: str | None
    idle: bool
    poll_seconds: int


@dataclass(frozen=True)
class Mailbox:
    name: str
    address: str  # as written; compared without regard to case
    type: str
    team: str | None
    src: Src
    imap: Imap | None = None


@dataclass(frozen=True)
class Listener:
    host: str
    port: int
    max_bytes: int


@dataclass(frozen=True)
class Acknowledge:
    enabled: bool = True
    per_sender_per_hour: int = 5
    subject: str = "[{{ ticket.number }}] {{ ticket.title }}"
    body: str | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    keywords: tuple[str, ...]
    pattern: str | None
    sender_domains: tuple[str, ...]
    channels: tuple[str, ...]
    set_type: str | None
    set_category: str | None
    set_priority: str | None
    set_tags: tuple[str, ...]
    src: Src


@dataclass(frozen=True)
class Webhook:
    name: str
    type: str  # a type's name or a template
    team: str | None
    secret_env: str
    tolerance_seconds: int
    delivery_id: str
    external_id: str | None
    requester: str | None
    fields: tuple[tuple[str, str], ...]
    src: Src
    queued: bool = False  # answered once stored; the worker processes it


@dataclass(frozen=True)
class IntakeSettings:
    rules: tuple[Rule, ...] = ()
    near_window_seconds: int = 3 * 86400
    near_flag_at: float = 0.6
    form_honeypot: str = "website"
    form_per_address_per_minute: int = 10
    form_token_max_age_seconds: int = 86400
    webhooks: tuple[Webhook, ...] = ()

    def webhook(self, name: str) -> Webhook | None:
        return next((w for w in self.webhooks if w.name == name), None)


@dataclass(frozen=True)
class Assignment:
    auto: bool = False
    strategy: str = "skills_then_load"
    teams: tuple[tuple[str, str], ...] = ()  # (team name, strategy)
    category_skills: tuple[tuple[str, tuple[str, ...]], ...] = ()
    src: Src | None = None

    def strategy_of(self, team: str) -> str:
        return next((s for name, s in self.teams if name == team), self.strategy)

    def skills_of(self, category: str | None) -> tuple[str, ...]:
        return next((skills for name, skills in self.category_skills if name == category), ())


@dataclass(frozen=True)
class Llm:
    base_url: str
    model: str
    api_key_env: str | None
    mode: str
    timeout_seconds: int
    max_retries: int
    prompts: tuple[tuple[str, str], ...] = ()  # (purpose, template path relative to the desk)

    def prompt(self, purpose: str) -> str | None:
        return next((path for name, path in self.prompts if name == purpose), None)


@dataclass(frozen=True)
class Ai:
    provider: str = "local"
    model_dir: str = "var/ai/triage"
    classifier: str = "lean"
    triage: bool = True
    apply_at: float = 0.7
    triage_fields: tuple[str, ...] = ("category", "priority", "language")
    llm: Llm | None = None
    reply_template: str | None = None
    src: Src | None = None


@dataclass(frozen=True)
class Kb:
    capture: bool = True
    dense: bool = False


@dataclass(frozen=True)
class Observability:
    log_format: str = "json"
    log_level: str = "info"
    metrics_open_on_loopback: bool = True


@dataclass(frozen=True)
class Project:
    name: str
    languages: tuple[str, ...]
    default_language: str
    roles: tuple[str, ...]
    database_url: str
    ticket_types_dir: str
    sla_policies_dir: str
    generated_dir: str
    schemas_dir: str
    attachments_dir: str
    host: str
    port: int
    src: Src
    attachment_max_bytes: int = 25 * 1024 * 1024
    agents_see: str = "team"
    requesters_see_organization: bool = False
    smtp: Smtp | None = None
    mailboxes: tuple[Mailbox, ...] = ()
    default_mailbox: str | None = None
    listener: Listener | None = None
    acknowledge: Acknowledge = field(default_factory=Acknowledge)
    intake: IntakeSettings = field(default_factory=IntakeSettings)
    assignment: Assignment = field(default_factory=Assignment)
    ai: Ai = field(default_factory=Ai)
    kb: Kb = field(default_factory=Kb)
    observability: Observability = field(default_factory=Observability)

    def mailbox(self, name: str) -> Mailbox | None:
        return next((m for m in self.mailboxes if m.name == name), None)


@dataclass(frozen=True)
class Desk:
    """Everything a desk defines, after normalization."""

    project: Project
    master_fields: tuple[Field, ...]
    categories: tuple[Option, ...]
    collections: tuple[Collection, ...]
    workflows: tuple[Workflow, ...]
    types: tuple[TicketType, ...]
    calendars: tuple[Calendar, ...]
    policies: tuple[Policy, ...]
    label_sources: tuple[tuple[Labels, Src], ...] = field(default=(), repr=False)

    def ticket_type(self, name: str) -> TicketType | None:
        return next((t for t in self.types if t.name == name), None)

    def workflow(self, name: str) -> Workflow | None:
        return next((w for w in self.workflows if w.name == name), None)

    def collection(self, name: str) -> Collection | None:
        return next((c for c in self.collections if c.name == name), None)

    def calendar(self, name: str) -> Calendar | None:
        return next((c for c in self.calendars if c.name == name), None)
