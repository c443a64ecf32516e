"""Typed creates sent at the same time share write transactions (runtime/db/group_commit.py), through the app and
on SQLite and PostgreSQL: every request gets its own ticket with its own number (unique, without gaps) and all its
rows, one the database refuses gets its own 4xx while the others are made, a key-carrying create keeps its record,
and a failed shared transaction is made good request by request."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.db.engine import write_transaction
from runtime.db.group_commit import group_commit
from runtime.tickets.service import TicketService
from tests.intake.intake_http import intake_api, intake_desk, rows
from tests.tickets.service_fixtures import SeededDesk
from tests.web.api_client import Api

CREATE = "/api/v1/types/it_support/tickets"
HANG_GUARD = 60.0  # seconds: far beyond any run; only a request left waiting for ever reaches it
# Requests held back together: the test client runs handlers on the event loop's default thread pool, which has at
# least five threads, so all of them are queued at once.
TOGETHER = 5


@pytest.fixture
def desk(tmp_path: Path, database_url: str) -> SeededDesk:
    return intake_desk(tmp_path, database_url)


@pytest.fixture
def api(desk: SeededDesk) -> Iterator[Api]:
    with intake_api(desk) as api:
        api.token("alex")  # made before the threads start, which would race to make it
        yield api


def post(api: Api, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {api.token('alex')}", **({"Idempotency-Key": key} if key else {})}
    return api.client.post(CREATE, json=body, headers=headers)


def sending(api: Api, body: dict[str, Any], key: str | None = None) -> Callable[[], Any]:
    return lambda: post(api, body, key)


def numbers(desk: SeededDesk) -> list[str]:
    return [t["number"] for t in rows(desk, "tickets", type="it_support")]


class Held:
    """The app's shared writer with its first transaction held until ``others`` creates have queued behind it
    (then ``meanwhile`` runs), so that they join it (as creates queued while a leader waits at the writer gate do);
    the transaction numbered ``fail_at`` fails as its commit would."""

    def __init__(self, desk: SeededDesk, others: int, meanwhile: Callable[[], None] = lambda: None,
                 fail_at: int | None = None) -> None:
        self.desk, self.others, self.meanwhile, self.fail_at = desk, others, meanwhile, fail_at
        self.group = group_commit(desk.engine)
        self.opened = 0

    @contextmanager
    def __call__(self) -> Iterator[sa.Connection]:
        number, self.opened = self.opened, self.opened + 1
        if number == 0:
            deadline = time.monotonic() + HANG_GUARD
            while self.group.waiting < self.others and time.monotonic() < deadline:
                time.sleep(0.002)
            self.meanwhile()
        with write_transaction(self.desk.engine) as connection:
            yield connection
            if number == self.fail_at:
                msg = "the disk went away"
                raise OSError(msg)


def send_together(held: Held, requests: list[Callable[[], Any]], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The first request alone, held in its transaction until the others have queued; every response."""
    monkeypatch.setattr(held.group, "transaction", held)
    responses: list[Any] = [None] * len(requests)

    def one(n: int) -> None:
        responses[n] = requests[n]()

    threads = [threading.Thread(target=one, args=(n,)) for n in range(len(requests))]
    threads[0].start()
    deadline = time.monotonic() + HANG_GUARD
    while held.opened == 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(HANG_GUARD)
    assert not any(thread.is_alive() for thread in threads), "a request is still waiting for its ticket"
    return responses


def test_creates_sent_at_once_get_distinct_numbers_without_gaps_and_all_their_rows(api: Api,
                                                                                   desk: SeededDesk) -> None:
    before = numbers(desk)
    with ThreadPoolExecutor(max_workers=12) as pool:
        responses = list(pool.map(lambda n: post(api, {"title": f"Parallel {n}", "priority": "P2"}), range(36)))
    assert [r.status_code for r in responses] == [201] * 36
    made = sorted(r.json()["number"] for r in responses)
    last = max(int(n.split("-")[1]) for n in before) if before else 0
    assert made == [f"IT-{n:06d}" for n in range(last + 1, last + 37)]
    assert sorted(numbers(desk)) == sorted([*before, *made])
    for response in responses:
        ticket = response.json()
        assert api.call("GET", f"/api/v1/tickets/{ticket['id']}").json()["title"] == ticket["title"]
        events = api.call("GET", f"/api/v1/tickets/{ticket['id']}/events").json()
        assert {e["field"] for e in events if e["action"] == "create"} >= {"title", "priority"}
        clocks = api.call("GET", f"/api/v1/tickets/{ticket['id']}/sla").json()
        assert sorted(c["metric"] for c in clocks) == ["first_response", "resolution"]
    jobs = desk.compiled.table("triage_jobs")
    with desk.engine.connect() as connection:
        queued = set(connection.execute(sa.select(jobs.c.ticket_id)).scalars())
    assert {r.json()["id"] for r in responses} <= queued


def test_a_create_the_database_refuses_fails_alone_with_its_own_problem(api: Api, desk: SeededDesk,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    now = dt.datetime.now(dt.UTC)
    with desk.engine.begin() as connection:
        leaving = int(connection.execute(sa.insert(desk.compiled.table("contacts")).values(
            email="leaving@example.org", name="Leaving", created_at=now, updated_at=now)
            .returning(desk.compiled.table("contacts").c.id)).scalar_one())

    def delete_the_requester() -> None:
        # After the create naming them was checked and queued, before it is written: the database refuses it.
        with desk.engine.begin() as connection:
            connection.execute(sa.delete(desk.compiled.table("contacts")).where(
                desk.compiled.table("contacts").c.id == leaving))

    before = numbers(desk)
    held = Held(desk, others=TOGETHER - 1, meanwhile=delete_the_requester)
    bodies: list[tuple[dict[str, Any], str | None]] = [({"title": f"Together {n}"}, None) for n in range(TOGETHER)]
    bodies[2] = ({"title": "From someone leaving", "requester_id": leaving}, None)
    bodies[3] = ({"title": "With a key"}, "together-key")
    requests = [sending(api, body, key) for body, key in bodies]
    responses = send_together(held, requests, monkeypatch)
    assert held.opened == 1  # the four that queued while the first's transaction was opened joined it
    assert [r.status_code for r in responses] == [201, 201, 422, 201, 201]
    problem = responses[2].json()
    assert problem["status"] == 422
    assert [e["field"] for e in problem["errors"]] == ["(ticket)"]
    assert "From someone leaving" not in {t["title"] for t in rows(desk, "tickets")}
    made = sorted(r.json()["number"] for n, r in enumerate(responses) if n != 2)
    last = max(int(n.split("-")[1]) for n in before)
    assert made == [f"IT-{n:06d}" for n in range(last + 1, last + 5)]  # the refused one's number went back
    [keyed] = rows(desk, "intake_messages", channel="api", external_id="together-key")
    assert (keyed["state"], keyed["ticket_id"]) == ("processed", responses[3].json()["id"])
    again = post(api, {"title": "With a key"}, key="together-key")
    assert (again.status_code, again.json()["id"]) == (201, responses[3].json()["id"])


def test_a_failed_shared_transaction_is_made_good_request_by_request(api: Api, desk: SeededDesk,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    held = Held(desk, others=TOGETHER - 1, fail_at=0)
    titles = [f"Retried {n}" for n in range(TOGETHER)]
    responses = send_together(held, [sending(api, {"title": t}) for t in titles], monkeypatch)
    assert [r.status_code for r in responses] == [201] * TOGETHER
    assert held.opened == 1 + TOGETHER  # the failed batch, then each of its creates alone
    stored = [t["title"] for t in rows(desk, "tickets") if t["title"].startswith("Retried ")]
    assert sorted(stored) == sorted(titles)  # each made once
    assert len({r.json()["number"] for r in responses}) == TOGETHER


BODIES: list[dict[str, Any]] = [
    {"title": "Laptop will not boot", "description": "Black screen after the logo.", "priority": "P1",
     "category": "hardware", "impact": "single_user", "asset_number": "LT-004001", "operating_system": "windows",
     "software": ["Outlook", "Teams"], "error_code": "0x800CCC0E", "users_affected": 1},
    {"title": "VPN drops every hour", "priority": "P2", "category": "network", "team_id": 1},
    {"title": "Cannot open the shared drive", "priority": "P3", "category": "access", "requester_id": 2},
    {"title": "Printer jams", "description": "Tray 2 only."},
    {"title": "New starter needs an account", "priority": "P2", "category": "access", "team_id": 1,
     "requester_id": 1, "users_affected": 3},
]
# What differs between any two creates of the same body: keys, numbers and times.
UNCOMPARED = frozenset({"id", "ticket_id", "number", "created_at", "updated_at", "status_changed_at", "at",
                        "timer_id", "started_at", "due_at", "next_check_at", "running_since", "run_at", "pauses"})


def keyless(desk: SeededDesk, table: str, ticket_id: int) -> list[dict[str, Any]]:
    """The rows of a table keyed by its ticket (one at most)."""
    t = desk.compiled.table(table)
    with desk.engine.connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.select(t).where(t.c.ticket_id == ticket_id))]


def written(desk: SeededDesk, ticket_id: int) -> dict[str, Any]:
    """Every row a create wrote for the ticket, without what differs between two creates of the same body."""
    def kept(row: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in row.items() if k not in UNCOMPARED}

    clocks = [{**kept(t), "ledger": [kept(e) for e in rows(desk, "sla_events", timer_id=t["id"])]}
              for t in rows(desk, "sla_timers", ticket_id=ticket_id)]
    return {"ticket": kept(rows(desk, "tickets", id=ticket_id)[0]),
            "extension": [kept(r) for r in keyless(desk, "ticket_it_support", ticket_id)],
            "events": [kept(e) for e in rows(desk, "ticket_events", ticket_id=ticket_id)],
            "clocks": sorted(clocks, key=lambda c: c["metric"]),
            "triage": [kept(j) for j in keyless(desk, "triage_jobs", ticket_id)],
            "notifications": len(rows(desk, "notifications", ticket_id=ticket_id))}


def test_creates_written_together_write_the_same_rows_as_one_by_one(api: Api, desk: SeededDesk,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """On SQLite the creates of one shared transaction write each table's rows in one statement
    (``TicketService._write_drafts``); on PostgreSQL each its own. Either way every ticket gets exactly the rows it
    gets when created alone: its audit events, both SLA clocks with their ledger, its triage job."""
    together_calls: list[int] = []
    write_drafts = TicketService._write_drafts

    def counted(service: TicketService, connection: sa.Connection, drafts: list[Any]) -> list[dict[str, Any]]:
        together_calls.append(len(drafts))
        return write_drafts(service, connection, drafts)

    monkeypatch.setattr(TicketService, "_write_drafts", counted)
    held = Held(desk, others=len(BODIES) - 1)
    together = send_together(held, [sending(api, body) for body in BODIES], monkeypatch)
    assert [r.status_code for r in together] == [201] * len(BODIES), [r.text for r in together]
    assert held.opened == 1
    assert together_calls == ([len(BODIES)] if desk.engine.dialect.name == "sqlite" else [])
    alone = [post(api, body) for body in BODIES]
    assert [r.status_code for r in alone] == [201] * len(BODIES)
    assert together_calls == ([len(BODIES)] if desk.engine.dialect.name == "sqlite" else [])  # alone: one by one
    for made, reference in zip(together, alone, strict=True):
        mine, theirs = written(desk, made.json()["id"]), written(desk, reference.json()["id"])
        assert mine == theirs
        assert len(mine["events"]) > 1  # something was compared
        assert len(mine["clocks"]) == 2
        assert mine["triage"]
        assert all(len(clock["ledger"]) >= 1 for clock in mine["clocks"])
        answered = {k: v for k, v in made.json().items() if k not in UNCOMPARED}
        assert answered == {k: v for k, v in reference.json().items() if k not in UNCOMPARED}
    numbers_made = sorted(int(r.json()["number"].split("-")[1]) for r in together)
    assert numbers_made == list(range(numbers_made[0], numbers_made[0] + len(BODIES)))


def test_on_sqlite_creates_are_drafted_on_the_event_loop_and_on_postgresql_side_by_side_in_threads(
        api: Api, desk: SeededDesk, monkeypatch: pytest.MonkeyPatch) -> None:
    """Drafting is CPU on SQLite: it runs on the event loop, one create at a time, and the process's writer thread
    writes; threads side by side would only take the GIL from the writer. On PostgreSQL a draft waits for the
    server, and drafts overlap in the handler threads."""
    prepare, write_one, write_many = TicketService.prepare, TicketService._write_draft, TicketService._write_drafts
    inside, most = 0, 0
    counting = threading.Lock()
    drafting: set[str] = set()
    writing: set[str] = set()

    def watched(service: TicketService, *args: Any, **kwargs: Any) -> Any:
        nonlocal inside, most
        with counting:
            inside += 1
            most = max(most, inside)
            drafting.add(threading.current_thread().name)
        try:
            time.sleep(0.02)  # long enough for the other requests to arrive while this draft is under way
            return prepare(service, *args, **kwargs)
        finally:
            with counting:
                inside -= 1

    def one(service: TicketService, *args: Any) -> Any:
        writing.add(threading.current_thread().name)
        return write_one(service, *args)

    def many(service: TicketService, *args: Any) -> Any:
        writing.add(threading.current_thread().name)
        return write_many(service, *args)

    monkeypatch.setattr(TicketService, "prepare", watched)
    monkeypatch.setattr(TicketService, "_write_draft", one)
    monkeypatch.setattr(TicketService, "_write_drafts", many)
    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(lambda n: post(api, {"title": f"Drafted {n}"}), range(16)))
    assert [r.status_code for r in responses] == [201] * 16
    assert drafting
    if desk.engine.dialect.name == "sqlite":
        assert most == 1
        # One thread drafted them all, the app's own (the test client's event loop), and none of the handler pool's.
        assert len(drafting) == 1, drafting
        assert not any(name.startswith("tessera-handler") for name in drafting), drafting
        # And the process's writer thread wrote them.
        assert writing == {"tessera-writer"}, writing
    else:
        assert most > 1
        # The handlers ran on the app's own pool (runtime/web/threaded.HANDLER_THREADS), not the loop's default one.
        assert all(name.startswith("tessera-handler") for name in drafting), drafting
