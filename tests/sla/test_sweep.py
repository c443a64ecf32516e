"""The SLA sweep (SQLite and PostgreSQL): breaches recorded at their due time, each escalation step fired
exactly once with its effects (in-app notices, priority raised, email and webhook queued and delivered),
catch-up after downtime, and two workers racing without firing anything twice."""

from __future__ import annotations

import datetime as dt
import http.server
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from runtime.compile.desk import load_compiled
from runtime.config import ir
from runtime.sla.sweep import sweep
from runtime.tickets import service as service_module
from runtime.worker.loop import Worker
from tests.sla.test_timers import MARIA, Scene, local
from tests.tickets.service_fixtures import seeded_desk


@pytest.fixture
def scene(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Scene]:
    desk = seeded_desk(tmp_path, database_url)
    desk.execute("DELETE FROM sla_timers")  # the demo tickets' clocks run on today's date; these tests do not
    made = Scene(desk)
    monkeypatch.setattr(service_module, "_now", lambda: made.now)
    yield made
    desk.engine.dispose()


def ticket_for_alex(scene: Scene, priority: str = "P1") -> dict[str, Any]:
    team = scene.desk.id_of("teams", "name", "service_desk")
    return scene.desk.service.create(scene.alex, "it_support", {
        "title": "Printer on fire", "priority": priority, "team_id": team,
        "assignee_id": scene.desk.id_of("agents", "username", "alex"),
        "requester_id": scene.desk.id_of("contacts", "email", MARIA)})


def sla_events(scene: Scene, ticket_id: int | None = None) -> list[tuple[str, str, int | None, dt.datetime]]:
    timers, events = scene.desk.compiled.table("sla_timers"), scene.desk.compiled.table("sla_events")
    query = (sa.select(timers.c.metric, events.c.kind, events.c.escalation, events.c.at)
             .join_from(events, timers, events.c.timer_id == timers.c.id)
             .where(events.c.kind.in_(("breached", "escalation"))).order_by(events.c.id))
    if ticket_id is not None:
        query = query.where(timers.c.ticket_id == ticket_id)
    with scene.desk.engine.connect() as connection:
        return [(r.metric, r.kind, r.escalation, r.at) for r in connection.execute(query)]


def rows(scene: Scene, table: str) -> list[Any]:
    t = scene.desk.compiled.table(table)
    with scene.desk.engine.connect() as connection:
        return list(connection.execute(sa.select(t).order_by(t.c.id)))


def test_nothing_is_due_before_its_time(scene: Scene) -> None:
    ticket = scene.at(local(11, 30, 8)).create("P1")
    result = sweep(scene.desk.compiled, scene.desk.engine, local(11, 30, 8, 47))
    assert (result.breaches, result.escalations) == (0, 0)
    assert sla_events(scene, ticket["id"]) == []


def test_each_step_fires_once_when_due_dated_when_it_fell_due(scene: Scene) -> None:
    created = ticket_for_alex(scene.at(local(11, 30, 8)))  # Monday 08:00
    # First response (1h): 80 % at 08:48, breach at 09:00.
    first = sweep(scene.desk.compiled, scene.desk.engine, local(11, 30, 8, 48))
    assert (first.breaches, first.escalations) == (0, 1)
    second = sweep(scene.desk.compiled, scene.desk.engine, local(11, 30, 9) + dt.timedelta(seconds=3))
    assert (second.breaches, second.escalations) == (1, 0)
    again = sweep(scene.desk.compiled, scene.desk.engine, local(11, 30, 9, 30))
    assert (again.breaches, again.escalations) == (0, 0)
    assert sla_events(scene, created["id"]) == [
        ("first_response", "escalation", 0, local(11, 30, 8, 48)),
        ("first_response", "breached", -1, local(11, 30, 9))]
    notices = rows(scene, "notifications")
    assert [(n.agent_id, n.kind, n.ticket_id) for n in notices] == [(created["assignee_id"], "sla", created["id"])]
    assert "first response due" in notices[0].title


def test_the_breach_step_raises_the_priority_as_the_system(scene: Scene) -> None:
    created = scene.at(local(11, 30, 8)).desk.service.create(scene.alex, "it_support", {
        "title": "Server down", "priority": "P2", "team_id": scene.desk.id_of("teams", "name", "service_desk"),
        "assignee_id": scene.desk.id_of("agents", "username", "alex")})
    # P2 resolution is 24 business hours of 9.25 a day: from Monday 08:00, due on Wednesday 2 Dec at 14:15.
    resolution = scene.clocks(created["id"])["resolution"]
    assert resolution["due_at"] == local(12, 2, 14, 15)
    sweep(scene.desk.compiled, scene.desk.engine, local(12, 2, 14, 16))
    ticket = scene.desk.service.get(scene.alex, created["id"])
    assert ticket["priority"] == "P1"
    raised = [e for e in scene.desk.service.list_events(scene.alex, created["id"]) if e["field"] == "priority"]
    assert [(e["actor"], e["channel"], e["old_value"], e["new_value"]) for e in raised] == [
        ("agent:alex", "api", None, "P2"), ("system:system", "sla", "P2", "P1")]
    steps = [(m, k, i) for m, k, i, _ in sla_events(scene, created["id"]) if m == "resolution"]
    assert steps == [("resolution", "breached", -1), ("resolution", "escalation", 1),
                     ("resolution", "escalation", 2)]
    escalation = next(e for e in rows(scene, "sla_events") if e.kind == "escalation" and e.escalation == 2)
    assert escalation.detail["changed"] == ["priority"]


def test_after_downtime_every_step_fires_once(scene: Scene) -> None:
    created = scene.at(local(11, 27, 17)).desk.service.create(scene.alex, "it_support", {
        "title": "Disk full", "priority": "P1", "team_id": scene.desk.id_of("teams", "name", "service_desk"),
        "assignee_id": scene.desk.id_of("agents", "username", "alex")})
    # The worker was down from Friday 17:00 until Wednesday noon.
    late = local(12, 2, 12)
    while sweep(scene.desk.compiled, scene.desk.engine, late).clocks:
        pass
    for _ in range(3):
        sweep(scene.desk.compiled, scene.desk.engine, late)
    fired = sla_events(scene, created["id"])
    keys = [(m, k, i) for m, k, i, _ in fired]
    assert len(keys) == len(set(keys))
    assert ("first_response", "breached", -1) in keys
    assert ("resolution", "breached", -1) in keys
    assert {i for m, k, i in keys if k == "escalation"} == {0, 1, 2, 3}
    # Dated when due, not when noticed: the first response was due at Friday 18:00.
    assert {(m, k): at for m, k, _, at in fired}[("first_response", "breached")] == local(11, 27, 18)


@pytest.mark.parametrize("workers", [2])
def test_two_workers_racing_fire_each_step_once(scene: Scene, workers: int) -> None:
    scene.at(local(11, 30, 8))
    tickets = [ticket_for_alex(scene) for _ in range(12)]
    engines = [scene.desk.engine] + [sa.create_engine(scene.desk.engine.url) for _ in range(workers - 1)]
    errors: list[BaseException] = []

    def run(engine: sa.Engine) -> None:
        try:
            for minute in (48, 49, 50):
                sweep(scene.desk.compiled, engine, local(11, 30, 9, minute), batch=3)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(engine,)) for engine in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    mine = {t["id"] for t in tickets}
    timers = {r.id: r.ticket_id for r in rows(scene, "sla_timers")}
    events = [(timers[e.timer_id], e.kind, e.escalation) for e in rows(scene, "sla_events")
              if e.kind in ("breached", "escalation") and timers[e.timer_id] in mine]
    # Each ticket: the first response's 80 % step and its breach; nothing twice.
    assert sorted(events) == sorted([(t, "escalation", 0) for t in mine] + [(t, "breached", -1) for t in mine])
    notices = [n.ticket_id for n in rows(scene, "notifications") if n.ticket_id in mine]
    assert sorted(notices) == sorted(mine)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append(envelope)
        return "250 OK"


class Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        Hook.received.append(self.rfile.read(int(self.headers["Content-Length"])))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


def test_the_worker_sweeps_and_delivers_email_and_webhooks(scene: Scene) -> None:
    inbox = Inbox()
    with socket.socket() as probe:  # a free port: aiosmtpd checks its own start by connecting to the port given
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(inbox, hostname="127.0.0.1", port=port)
    smtp.start()
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    Hook.received.clear()
    try:
        root = scene.desk.compiled.root
        outgoing = f"  outgoing: {{host: 127.0.0.1, port: {port}, sender: Desk <desk@example.org>}}\n"
        settings = (root / "tessera.yaml").read_text()
        settings = settings.replace("\nmail:\n", "\nmail:\n" + outgoing, 1) if "\nmail:\n" in settings \
            else settings + "mail:\n" + outgoing
        (root / "tessera.yaml").write_text(settings, encoding="utf-8")
        policy = root / "sla_policies" / "standard.yaml"
        policy.write_text(policy.read_text().replace(
            "{metric: first_response, at: 80%, notify: [assignee]}",
            f"{{metric: first_response, at: 80%, notify: [assignee, requester, "
            f"'http://127.0.0.1:{web.server_address[1]}/hook']}}"), encoding="utf-8")
        compiled = load_compiled(root)
        assert compiled.definitions.project.smtp == ir.Smtp("127.0.0.1", port,
                                                            "Desk <desk@example.org>", False, None, None)
        scene.at(dt.datetime.now(dt.UTC) - dt.timedelta(days=7))
        created = scene.desk.service.create(scene.alex, "it_support", {
            "title": "Mail test", "priority": "P0", "team_id": scene.desk.id_of("teams", "name", "service_desk"),
            "assignee_id": scene.desk.id_of("agents", "username", "alex"),
            "requester_id": scene.desk.id_of("contacts", "email", MARIA)})
        Worker(compiled, scene.desk.engine).run(once=True)
    finally:
        smtp.stop()
        web.shutdown()
    recipients = [r for m in inbox.messages for r in m.rcpt_tos]
    assert set(recipients) == {"alex@example.org", MARIA}
    assert recipients.count(MARIA) == 1  # only the first-response step tells the requester
    mail = next(m for m in inbox.messages if m.rcpt_tos == [MARIA]).content.decode()
    assert f"Subject: {created['number']}: first response breached" in mail
    assert "Auto-Submitted: auto-generated" in mail
    assert len(Hook.received) == 1
    assert created["number"].encode() in Hook.received[0]
    assert all(job.done_at is not None and job.last_error is None for job in rows(scene, "jobs"))


def test_without_a_mail_server_the_email_job_fails_with_the_reason(scene: Scene) -> None:
    scene.at(dt.datetime.now(dt.UTC) - dt.timedelta(days=7))
    ticket_for_alex(scene, "P0")
    Worker(scene.desk.compiled, scene.desk.engine).run(once=True)
    failed = [job for job in rows(scene, "jobs") if job.kind == "email"]
    assert failed
    assert all("no mail.outgoing server" in (job.last_error or "") for job in failed)
