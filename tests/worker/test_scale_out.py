"""Scale-out on PostgreSQL: three web processes (``cli.py serve --workers 2`` on one port, ``cli.py serve`` on
another) and two ``cli.py worker`` processes on one database, under mixed traffic from several threads — typed
creates, writes with the version last seen (some deliberately stale, some racing each other from one version),
inbound mail (new requests and replies), SLA clocks made overdue and resolved tickets made old enough to close by
themselves. Once the workers have drained it all: every breach and escalation step happened once per clock (and
its effects once), every message became one ticket or one comment, ticket numbers are unique and gap-free per
prefix, no write was lost, and no job ran twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.auth.tokens import create_token
from runtime.intake.store import PROCESSED
from tests.intake.mail_fixtures import mail, message_id_of
from tests.intake.outbound_fixtures import MailDesk, mail_desk
from tests.worker import scale_checks as check
from tests.worker.scale_stack import Api, Stack
from tests.worker.scale_traffic import Client, Ledger

pytestmark = pytest.mark.postgres

PEOPLE = 4  # API clients, each a thread
CHURN = 5  # tickets per client that it keeps writing to
OVERDUE = 3  # tickets per client whose SLA clocks are made overdue
CLOSING = 2  # resolved tickets per client made old enough for auto_close
NEW_MAIL = 16  # inbound requests from as many new senders
DRAIN = 90.0  # seconds for the workers to finish: a bound for a loaded machine, not a speed figure
ALEX = 1  # the seeded supervisor the token belongs to and the tickets are assigned to


def token_for_alex(desk: MailDesk) -> str:
    with desk.desk.engine.begin() as connection:
        _, plaintext = create_token(connection, desk.desk.compiled, ALEX, "scale-out test",
                                    ["tickets:read", "tickets:write"], None)
    return plaintext


def request_mail(n: int) -> bytes:
    """A request from a sender of its own, worded apart from the others (no near-duplicate merges)."""
    return mail(sender=f"caller{n}@site{n}.example.net", subject=f"Badge {n * 7919} refused at door {n}",
                body=f"Door {n} rejects badge {n * 7919} since {n % 24}:00; the reader shows code E{n}.")


class Traffic:
    """The clients' threads and the mail that arrives meanwhile, in two phases: first the tickets that later
    become overdue or old, then (once those are made so) everything at once."""

    def __init__(self, desk: MailDesk, api: Api) -> None:
        self.desk, self.api = desk, api
        self.ledger = Ledger()
        self.overdue: list[dict[str, Any]] = []
        self.closing: list[tuple[int, int]] = []  # (ticket, version when resolved)
        self.churned: list[dict[str, Any]] = []
        self.moved: dict[int, tuple[int, str]] = {}
        self.replies: dict[str, int] = {}  # Message-ID of a requester's reply → the ticket it answers
        self.requests: list[str] = []  # Message-IDs of the new requests
        self.phase_two = threading.Barrier(PEOPLE + 1, action=self._make_due)
        self.failures: list[BaseException] = []

    def _make_due(self) -> None:
        self.moved = check.make_overdue(self.desk.desk, [t["id"] for t in self.overdue])
        check.make_old(self.desk.desk, [ticket for ticket, _ in self.closing])

    def run(self) -> None:
        threads = [threading.Thread(target=self._guarded, args=(self.person, i)) for i in range(PEOPLE)]
        threads.append(threading.Thread(target=self._guarded, args=(self.mailer, 0)))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.failures:
            raise self.failures[0]

    def _guarded(self, work: Any, index: int) -> None:
        try:
            work(index)
        except BaseException as exc:
            self.failures.append(exc)
            self.phase_two.abort()  # the others stop waiting for this one

    def person(self, index: int) -> None:
        client = Client(self.api, self.ledger)
        overdue = [client.create(f"Overdue {index}.{n}: scanner offline", "P2", 1 + (index + n) % 4)
                   for n in range(OVERDUE)]
        closing = []
        for n in range(CLOSING):
            ticket = client.create(f"Closing {index}.{n}: dock has no picture", "P3", 1 + n % 4)
            version = client.write(ticket["id"], "transition:start", 1)
            client.comment(ticket["id"], "The docking station was replaced; the screen works again.")
            version = client.write(ticket["id"], "transition:resolve", client.version(ticket["id"]))
            assert version is not None, self.ledger.problems
            closing.append((ticket["id"], version))
        with self.ledger.lock:
            self.overdue += overdue
            self.closing += closing
        self.phase_two.wait()
        for n in range(CHURN):
            self.churn(client, index, n)
            if n < len(overdue):  # from the version it was created with: the sweep may have changed it since
                client.write(overdue[n]["id"], "transition:start", 1)
            if n < len(closing) and n % 2 == 0:  # racing the workers' auto_close
                client.write(closing[n][0], "transition:close", closing[n][1])

    def churn(self, client: Client, index: int, n: int) -> None:
        ticket = client.create(f"Churn {index}.{n}: laptop will not wake", ("P2", "P3")[n % 2], 1 + n % 4)
        with self.ledger.lock:
            self.churned.append(ticket)
        ticket_id = ticket["id"]
        version = client.write(ticket_id, "transition:start", 1)
        assert version is not None, self.ledger.problems
        client.stale(ticket_id, 1, f"stale {ticket_id}")
        client.race(ticket_id, client.version(ticket_id))
        client.reply_while_writing(ticket_id, client.version(ticket_id), {"impact": "team"})
        client.write(ticket_id, "update", client.version(ticket_id), {"title": f"final {ticket_id}"})

    def mailer(self, _index: int) -> None:
        """New requests from the start; replies of the overdue tickets' requesters once those tickets exist."""
        pipeline = self.desk.intake.pipeline
        raws = [request_mail(n) for n in range(NEW_MAIL)]
        self.requests = [message_id_of(raw) for raw in raws]
        sent = NEW_MAIL // 2
        pipeline.receive(raws[:sent], "it")
        self.phase_two.wait()
        emails = {r.id: r.email for r in check.rows(self.desk.desk, "contacts")}
        for n, ticket in enumerate(self.overdue):
            raw = mail(sender=emails[ticket["requester_id"]], subject=f"Re: [{ticket['number']}] scanner offline",
                       body=f"Still offline this morning ({n}); the scanner shows a red light.")
            self.replies[message_id_of(raw)] = ticket["id"]
            pipeline.receive([raw], "it")
            if n % 3 == 0:  # new requests among the replies
                pipeline.receive(raws[sent:sent + 1], "it")
                sent += 1
        pipeline.receive(raws[sent:], "it")


def drain(desk: MailDesk, stack: Stack, closing: list[int]) -> dict[str, int]:
    deadline = time.monotonic() + DRAIN
    left = check.outstanding(desk.desk, closing)
    while left and time.monotonic() < deadline and not stack.dead():
        time.sleep(0.5)
        left = check.outstanding(desk.desk, closing)
    return left


def test_two_web_processes_and_two_workers_do_everything_once(tmp_path: Path, pg_url: str) -> None:
    with mail_desk(tmp_path, pg_url) as desk:
        stack = Stack(desk.desk.compiled.root, pg_url, tmp_path)
        try:
            stack.web(processes=2)  # cli.py serve --workers 2: uvicorn's worker processes on one port
            stack.web()
            stack.worker()
            stack.worker()
            api = Api(stack.bases, token_for_alex(desk))
            traffic = Traffic(desk, api)
            try:
                traffic.run()
            finally:
                api.close()
            left = drain(desk, stack, [ticket for ticket, _ in traffic.closing])
            dead = stack.dead()
        finally:
            outputs = stack.stop()
        assert not dead, dead
        assert not left, f"the workers left work undone: {left}"
        assert traffic.ledger.problems == []
        errors = {name: text for name, text in outputs.items() if "Traceback" in text}
        assert not errors, errors
        _each_step_fired_once(desk, traffic)
        _each_message_processed_once(desk, traffic)
        _numbers_unique_and_gap_free(desk)
        _no_write_lost(desk, traffic)
        _no_job_twice(desk, traffic)


def _each_step_fired_once(desk: MailDesk, traffic: Traffic) -> None:
    steps = check.fired(desk.desk)
    assert check.repeated(steps) == []
    by_clock: dict[int, set[tuple[str, int]]] = {}
    for timer_id, kind, escalation in steps:
        by_clock.setdefault(timer_id, set()).add((kind, escalation))
    assert len(traffic.moved) == 2 * len(traffic.overdue)  # first response and resolution of each
    for timer_id, (_, metric) in traffic.moved.items():
        assert by_clock.get(timer_id) == check.expected_steps(desk.desk, metric), (timer_id, metric)
    # Effects once: 'priority: raise' took each P2 ticket one step up, not two; one in-app notice per agent named.
    tickets = desk.desk.compiled.table("tickets")
    overdue = [t["id"] for t in traffic.overdue]
    assert {r.priority for r in check.rows(desk.desk, "tickets", tickets.c.id.in_(overdue))} == {"P1"}
    events, notices = desk.desk.compiled.table("sla_events"), desk.desk.compiled.table("notifications")
    named = sum(sum(1 for target in (r.detail or {}).get("notified", []) if target.startswith("agent:"))
                for r in check.rows(desk.desk, "sla_events", events.c.kind == "escalation",
                                    events.c.timer_id.in_(list(traffic.moved))))
    assert named > 0
    assert len(check.rows(desk.desk, "notifications", notices.c.kind == "sla", notices.c.ticket_id.in_(overdue))) \
        == named


def _each_message_processed_once(desk: MailDesk, traffic: Traffic) -> None:
    messages = check.rows(desk.desk, "intake_messages")
    assert {m.state for m in messages} == {PROCESSED}
    assert len(messages) == NEW_MAIL + len(traffic.replies)
    by_external = {m.external_id: m for m in messages}
    tickets = desk.desk.compiled.table("tickets")
    made = check.rows(desk.desk, "tickets", tickets.c.external_ref.in_(traffic.requests))
    assert sorted(t.external_ref for t in made) == sorted(traffic.requests)  # one ticket each
    assert {by_external[t.external_ref].ticket_id for t in made} == {t.id for t in made}
    comments = desk.desk.compiled.table("comments")
    answered = check.rows(desk.desk, "comments", comments.c.message_id.in_(list(traffic.replies)))
    assert sorted(c.message_id for c in answered) == sorted(traffic.replies)  # one comment each
    assert {c.message_id: c.ticket_id for c in answered} == traffic.replies


def _numbers_unique_and_gap_free(desk: MailDesk) -> None:
    numbers, counters = check.numbers_by_prefix(desk.desk), check.counters(desk.desk)
    assert set(numbers) == set(counters)
    for prefix, found in numbers.items():
        assert sorted(found) == list(range(1, counters[prefix] + 1)), prefix


def _no_write_lost(desk: MailDesk, traffic: Traffic) -> None:
    ledger, label = traffic.ledger, desk.desk.agent("alex").label
    assert ledger.stale_sent == PEOPLE * CHURN
    for ticket_id, created in ledger.created.items():
        final = desk.intake.ticket(ticket_id)
        versions = ledger.versions.get(ticket_id, [])
        # Two successful writes answering with one version would mean both started from the same one.
        assert check.repeated(versions) == [], ticket_id
        groups = check.write_groups(desk.desk, ticket_id)
        bumps = [g for g in groups if check.BUMPS.match(g[3]) and g[0] != final["created_at"]]
        assert final["version"] == 1 + len(bumps), (ticket_id, groups)
        ours = sorted(g[3] for g in bumps if (g[1], g[2]) == (label, "api") and g[3] != "first_response")
        assert ours == sorted(ledger.writes.get(ticket_id, [])), ticket_id
        written = check.titles_written(desk.desk, ticket_id)
        assert set(ledger.titles.get(ticket_id, [])) <= written
        assert not set(ledger.refused.get(ticket_id, [])) & written, ticket_id
        if ledger.titles.get(ticket_id):
            assert final["title"] == ledger.titles[ticket_id][-1]
        else:
            assert final["title"] == created["title"]


def _no_job_twice(desk: MailDesk, traffic: Traffic) -> None:
    jobs = check.rows(desk.desk, "jobs")
    assert [j for j in jobs if j.last_error or j.attempts != 1] == []
    # Each email job reached the SMTP server once: a job sent twice would leave more mail than jobs.
    assert len(desk.inbox.received) == sum(1 for j in jobs if j.kind == "email")
    tickets = desk.desk.compiled.table("tickets")
    closing = [ticket for ticket, _ in traffic.closing]
    for ticket_id in closing:  # closed once each, by a person or by the worker
        closes = [g for g in check.write_groups(desk.desk, ticket_id)
                  if g[3] in ("transition:close", "transition:auto_close")]
        assert len(closes) == 1, (ticket_id, closes)
    assert {r.status for r in check.rows(desk.desk, "tickets", tickets.c.id.in_(closing))} == {"closed"}
    captured = check.rows(desk.desk, "kb_article_sources")
    assert check.repeated([s.ticket_id for s in captured]) == []
    decisions = desk.desk.compiled.table("ai_decisions")
    triaged = [d.ticket_id for d in check.rows(desk.desk, "ai_decisions", decisions.c.kind == "triage")]
    assert check.repeated(triaged) == []
    with desk.desk.engine.connect() as connection:
        assert connection.execute(sa.select(sa.func.count()).select_from(
            desk.desk.compiled.table("triage_jobs"))).scalar_one() == 0
