"""Seed the demo desk from the Bitext customer-support sample: one published article per intent, and a history of
resolved tickets answered with the sample's replies, so that recommendations and ``ai train`` work on first start.

Data: bitext/customer-support-llm-chatbot-training-dataset at 337b96868e02b40a05f9c0df3290c65a15ea573e
(``customer_support_sample.csv``), licensed CDLA-Sharing-1.0 (LICENSE.txt beside the file).

Each intent's requests are split by a hash of their text into rows the articles are written from and a held-out
fifth that measures retrieval (tests/kb/test_bitext_quality.py); an article never quotes a held-out request.
"""

from __future__ import annotations

import csv
import hashlib
import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.kb.articles import DRAFT, PUBLISHED, KbArticles
from runtime.kb.text import terms
from runtime.tickets.actors import SYSTEM, Actor, agent_actor
from runtime.tickets.service import TicketService

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "bitext" / "customer_support_sample.csv"
HELD_OUT_SHARE = 0.2
PHRASINGS = 12
KEYWORDS = 10
TICKETS = 200
SOURCE = "bitext"
AUTHOR = "alex"  # a supervisor: the articles are published under a reviewer's name
# Which ticket type, team and agent a seeded request goes to: account troubles to the service desk (category
# access), everything else to customer care.
ROUTES = {"customer_complaint": ("customer_care", "chen"), "it_support": ("service_desk", "alex")}
ACCOUNT_INTENTS = {"create_account", "delete_account", "edit_account", "recover_password", "registration_problems",
                   "switch_account"}
# The sample has no priorities; these give ``ai train`` more than one to learn: what blocks a customer is urgent,
# a question about how things work can wait, the rest is the desk's default.
PRIORITIES = {
    "complaint": "P1", "payment_issue": "P1", "recover_password": "P1",
    "check_cancellation_fee": "P3", "check_payment_methods": "P3", "check_refund_policy": "P3",
    "delivery_options": "P3", "delivery_period": "P3", "newsletter_subscription": "P3", "review": "P3",
}

# The desk's customer categories, where one fits the intent; the others (accounts, newsletters...) have none.
CATEGORIES = {
    "check_invoice": "billing", "get_invoice": "billing", "check_payment_methods": "billing",
    "payment_issue": "billing", "check_refund_policy": "billing", "get_refund": "billing",
    "track_refund": "billing", "check_cancellation_fee": "billing",
    "delivery_options": "delivery", "delivery_period": "delivery", "track_order": "delivery",
    "change_shipping_address": "delivery", "set_up_shipping_address": "delivery",
    "review": "product_quality",
}
ABOUT = {
    "cancel_order": "A customer wants to cancel an order they placed",
    "change_order": "A customer wants to change the items or details of an order",
    "change_shipping_address": "A customer wants to change the shipping address of their account or an order",
    "check_cancellation_fee": "A customer asks whether cancelling costs a fee, and how much",
    "check_invoice": "A customer wants to look at an invoice or bill",
    "check_payment_methods": "A customer asks which payment methods are accepted",
    "check_refund_policy": "A customer asks when and how money is refunded",
    "complaint": "A customer wants to file a complaint about the company or its service",
    "contact_customer_service": "A customer wants to reach customer service",
    "contact_human_agent": "A customer wants to talk to a person rather than an automated assistant",
    "create_account": "A customer wants to open a new account",
    "delete_account": "A customer wants to close or delete their account",
    "delivery_options": "A customer asks which shipping and delivery options there are",
    "delivery_period": "A customer asks how long delivery takes or when an order will arrive",
    "edit_account": "A customer wants to change the details of their account",
    "get_invoice": "A customer wants a copy of an invoice or bill",
    "get_refund": "A customer wants their money back",
    "newsletter_subscription": "A customer wants to subscribe to or unsubscribe from the newsletter",
    "payment_issue": "A customer reports a problem with a payment",
    "place_order": "A customer wants to buy something or place an order",
    "recover_password": "A customer forgot their password or cannot sign in",
    "registration_problems": "A customer cannot complete the sign-up",
    "review": "A customer wants to leave a review or feedback",
    "set_up_shipping_address": "A customer wants to add a new shipping address",
    "switch_account": "A customer wants to change to another account or plan",
    "track_order": "A customer wants to know where their order is",
    "track_refund": "A customer asks about the status of a refund",
}
# Generic words for the sample's placeholders; any other reads as the screen label it names ("Order History").
_FILLERS = (
    (re.compile(r"phone", re.I), "our", "customer support phone number"),
    (re.compile(r"e-?mail", re.I), "our", "support email address"),
    (re.compile(r"availability|hours", re.I), "", "during business hours"),
    (re.compile(r"live chat", re.I), "", "live chat"),
    (re.compile(r"website (name|url)|^website$|website or app", re.I), "our", "website"),
    (re.compile(r"company", re.I), "our", "company"),
    (re.compile(r"anonymized|^\d+$", re.I), "your", "reference number"),
    (re.compile(r"number of days", re.I), "", "a few"),
)
_DETERMINERS = {"a", "an", "the", "your", "our", "my", "their", "this", "that"}
# Most are {{Doubly braced}}; a few replies use [Square brackets] instead.
_PLACEHOLDER = re.compile(r"\{\{\s*([^}]*?)\s*\}\}|\[([A-Z][A-Za-z ]{2,40})\](?!\()")
# A reply quoting an amount or an order number fits one request, not the article's every reader.
_SPECIFIC = re.compile(r"\$\s?\d|\d{4,}")
_DOUBLED = re.compile(r"\b(during) \1\b", re.I)
# The sample deliberately includes rude phrasings; an article should not quote them.
_RUDE = re.compile(r"\b(damn|damned|bloody|fucking|fuck|shit|shitty|goddamn|crap|crappy|freaking)\b", re.I)


@dataclass(frozen=True)
class Row:
    number: int  # the row's place in the file: what a seeded ticket refers to
    instruction: str
    intent: str
    response: str


@dataclass(frozen=True)
class Seeded:
    articles: int
    tickets: int


def read_rows(path: Path) -> list[Row]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [Row(n, r["instruction"].strip(), r["intent"].strip(), r["response"].strip())
                for n, r in enumerate(csv.DictReader(handle), start=1) if r["instruction"].strip()]


def _key(text: str) -> str:
    return " ".join(text.lower().split())


def _rank(text: str) -> str:
    return hashlib.sha256(_key(text).encode()).hexdigest()


def split(rows: Iterable[Row]) -> tuple[dict[str, list[Row]], dict[str, list[Row]]]:
    """(writing, held out) rows per intent: the first fifth of each intent's distinct requests in hash order is held
    out, so the split is the same on every run and a request repeated in the file stays on one side."""
    by_intent: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_intent[row.intent].append(row)
    writing: dict[str, list[Row]] = {}
    held: dict[str, list[Row]] = {}
    for intent, members in sorted(by_intent.items()):
        distinct = sorted({_key(r.instruction) for r in members}, key=_rank)
        out = set(distinct[: round(len(distinct) * HELD_OUT_SHARE)])
        held[intent] = [r for r in members if _key(r.instruction) in out]
        writing[intent] = [r for r in members if _key(r.instruction) not in out]
    return writing, held


def title_of(intent: str) -> str:
    return intent.replace("_", " ").capitalize()


def readable(text: str) -> str:
    """The sample's ``{{Placeholders}}`` as generic words a reader understands."""
    def fill(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        for pattern, determiner, words in _FILLERS:
            if pattern.search(name):
                before = match.string[: match.start()].split()
                owned = not determiner or (before and before[-1].lower() in _DETERMINERS)
                return words if owned else f"{determiner} {words}"
        return name

    # "available during {{Customer Support Hours}}" would read "during during business hours".
    return _DOUBLED.sub(r"\1", _PLACEHOLDER.sub(fill, text))


def _weights(writing: dict[str, list[Row]]) -> dict[str, dict[str, float]]:
    """Per intent, how much each term says about it: how many of its requests use the term, times how few
    intents do."""
    counts = {intent: Counter(t for r in rows for t in set(terms(r.instruction))) for intent, rows in writing.items()}
    spread = Counter(t for c in counts.values() for t in c)
    return {intent: {t: n * math.log(len(counts) / spread[t]) for t, n in c.items()} for intent, c in counts.items()}


def _phrasings(rows: list[Row], weight: dict[str, float]) -> list[str]:
    """Requests that together cover the intent's telling words, each chosen for the most weight not yet covered."""
    candidates: dict[str, str] = {}
    for row in sorted(rows, key=lambda r: _rank(r.instruction)):
        text = readable(row.instruction)
        if not _RUDE.search(text) and not any(c.isdigit() for c in text):
            candidates.setdefault(_key(text), text)
    covered: set[str] = set()
    chosen: list[str] = []
    while candidates and len(chosen) < PHRASINGS:
        key = max(candidates, key=lambda k: sum(weight.get(t, 0.0) for t in set(terms(k)) - covered))
        text = candidates.pop(key)
        chosen.append(text[:1].upper() + text[1:])
        covered |= set(terms(key))
    return chosen


def _keywords(weight: dict[str, float], rows: list[Row]) -> list[str]:
    spelled: dict[str, Counter[str]] = defaultdict(Counter)
    for row in rows:
        for word in re.findall(r"[^\W\d_]{3,}", row.instruction.lower()):
            stems = terms(word)
            if stems:
                spelled[stems[0]][word] += 1
    best = sorted((t for t in weight if t in spelled and not _RUDE.search(t)), key=lambda t: (-weight[t], t))
    return [spelled[t].most_common(1)[0][0] for t in best[:KEYWORDS]]


def _response(rows: list[Row]) -> str:
    """The reply closest to all the intent's replies (cosine to their summed term counts): its most usual answer."""
    vectors = [Counter(terms(readable(r.response))) for r in rows]
    centre: Counter[str] = Counter()
    for vector in vectors:
        centre.update(vector)

    def closeness(vector: Counter[str]) -> float:
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        return sum(v * centre[t] for t, v in vector.items()) / norm

    best = max(range(len(rows)), key=lambda i: (not _SPECIFIC.search(rows[i].response), closeness(vectors[i]),
                                                -rows[i].number))
    return readable(rows[best].response)


def articles_from(writing: dict[str, list[Row]]) -> dict[str, dict[str, Any]]:
    """The article values of each intent, written from its writing rows only."""
    weights = _weights(writing)
    found = {}
    for intent, rows in sorted(writing.items()):
        title = title_of(intent)
        phrasings = "\n".join(f"- {p}" for p in _phrasings(rows, weights[intent]))
        found[intent] = {
            "title": title, "language": "en", "visibility": "public", "category": CATEGORIES.get(intent),
            "problem": f"{ABOUT.get(intent, title)}. Customers put it in many ways, for example:\n\n{phrasings}",
            "solution": _response(rows), "keywords": _keywords(weights[intent], rows)}
    return found


def seed_bitext(compiled: CompiledDesk, engine: sa.Engine, path: Path = DATA, *, tickets: int = TICKETS,
                say: Callable[[str], None] = print) -> Seeded:
    """Add what is missing of the articles and the ticket history; running it again adds nothing."""
    if not path.is_file():
        say(f"no Bitext sample at {path}: the knowledge base and ticket history are not seeded")
        return Seeded(0, 0)
    writing, _ = split(read_rows(path))
    _, added = seed_articles(compiled, engine, writing)
    made = seed_tickets(compiled, engine, writing, tickets)
    if added or made:
        say(f"Bitext sample (CDLA-Sharing-1.0): {added} published articles, {made} resolved tickets added")
    return Seeded(added, made)


def _agent(compiled: CompiledDesk, connection: sa.Connection, username: str) -> Actor | None:
    agents = compiled.table("agents")
    found = connection.execute(sa.select(agents.c.id).where(agents.c.username == username)).scalar()
    return None if found is None else agent_actor(connection, compiled, int(found))


def seed_articles(compiled: CompiledDesk, engine: sa.Engine, writing: dict[str, list[Row]]
                  ) -> tuple[dict[str, int], int]:
    """The published article of each intent (its id), and how many were published now. An article is found
    again by its title; a draft left by an interrupted run is published rather than written twice."""
    kb = KbArticles(compiled, engine)
    a = kb.articles
    values = articles_from(writing)
    with engine.connect() as connection:
        author = _agent(compiled, connection, AUTHOR) or SYSTEM
        rows = connection.execute(sa.select(a.c.id, a.c.title, a.c.status, a.c.version).where(
            a.c.title.in_([v["title"] for v in values.values()]), a.c.language == "en",
            a.c.status.in_((DRAFT, PUBLISHED))).order_by(a.c.id)).all()
    existing = {r.title: r for r in reversed(rows)}
    ids, added = {}, 0
    for intent, article in values.items():
        row = existing.get(article["title"])
        if row is None:
            created = kb.create(author, article)
            article_id, status, version = int(created["id"]), DRAFT, int(created["version"])
        else:
            article_id, status, version = int(row.id), row.status, int(row.version)
        if status == DRAFT:
            kb.publish(author, article_id, version)
            added += 1
        ids[intent] = article_id
    return ids, added


def _history(writing: dict[str, list[Row]], count: int) -> list[Row]:
    """``count`` writing rows, taken in turn from each intent so that every intent has a few; a request the
    sample repeats is taken once (twin tickets would crowd each other's similar-ticket list)."""
    queues = [list({_key(r.instruction): r for r in sorted(rows, key=lambda r: (_rank(r.instruction), -r.number))
                    }.values()) for _, rows in sorted(writing.items())]
    chosen: list[Row] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        chosen += [q[depth] for q in queues if depth < len(q)]
    return chosen[:count]


def _route(intent: str) -> tuple[str, str | None]:
    """The ticket type and category of a seeded request."""
    if intent in ACCOUNT_INTENTS:
        return "it_support", "access"
    return "customer_complaint", CATEGORIES.get(intent)


def seed_tickets(compiled: CompiledDesk, engine: sa.Engine, writing: dict[str, list[Row]], count: int) -> int:
    """Resolved tickets, each answered with its row's reply by the agent of its team; a row whose type, team or
    agent the desk lacks (or a desk without English-speaking contacts) is left out."""
    # What these tickets solved is in the seeded articles already: capture would only propose a duplicate of
    # one for every ticket.
    service = TicketService(compiled, engine, capture=False)
    t, teams, contacts = service.tickets, compiled.table("teams"), compiled.table("contacts")
    handlers: dict[str, tuple[int, Actor]] = {}
    with engine.connect() as connection:
        for type_name, (team_name, username) in ROUTES.items():
            team = connection.execute(sa.select(teams.c.id).where(teams.c.name == team_name)).scalar()
            agent = _agent(compiled, connection, username)
            if team is not None and agent is not None and compiled.definitions.ticket_type(type_name):
                handlers[type_name] = (int(team), agent)
        requesters = connection.execute(sa.select(contacts.c.id).where(contacts.c.language == "en")
                                        .order_by(contacts.c.id)).scalars().all()
        done = set(connection.execute(sa.select(t.c.external_ref).where(t.c.source_name == SOURCE)).scalars())
    made = 0
    for n, row in enumerate(_history(writing, count) if requesters else []):
        ref = f"{SOURCE}:{row.number}"
        type_name, category = _route(row.intent)
        if ref in done or type_name not in handlers:
            continue
        team, agent = handlers[type_name]
        title = row.instruction[:1].upper() + row.instruction[1:]
        new = service.prepare(agent, type_name, {
            "title": title[:120], "description": row.instruction, "requester_id": requesters[n % len(requesters)],
            "assignee_id": agent.id, "team_id": team, "category": category, "language": "en",
            "priority": PRIORITIES.get(row.intent, "P2")})
        with service.writing() as connection:
            ticket_id = int(service.create_in(connection, new, "manual", source_name=SOURCE, external_ref=ref)["id"])
            service.comment_in(connection, agent, ticket_id, readable(row.response), public=True, channel="manual")
            for transition in ("start", "resolve"):
                version = connection.execute(sa.select(t.c.version).where(t.c.id == ticket_id)).scalar_one()
                service.transition_in(connection, agent, ticket_id, transition, version, None, "manual")
        made += 1
    return made
