"""/readyz, /metrics and the request log, in process on SQLite and PostgreSQL: readiness turns 503 naming what
is wrong; every figure of /metrics moves by what the test did (requests, tickets by channel, intake messages
waiting and quarantined, SLA clocks at risk and breached, an AI fallback, pending jobs); request ids travel from
the header to the response and into every log line made while serving."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from litestar.testing import TestClient
from prometheus_client.parser import text_string_to_metric_families

from runtime.ai.triage import Triage, provider_for
from runtime.ai.triage_jobs import TriageWorker
from runtime.artifacts import migration_paths
from runtime.auth.tokens import create_token
from runtime.db import migrations
from runtime.intake.pipeline import MailPipeline
from runtime.observe import desk_gauges, readiness
from runtime.observe.logs import ContextFilter, JsonFormatter
from runtime.tickets.service import TicketService
from runtime.web.app import create_app
from tests.ai.chat_standin import ChatStandin, Status, serve
from tests.intake.mail_fixtures import mail
from tests.tickets.service_fixtures import SeededDesk, migrated_desk

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Observed:
    desk: SeededDesk
    client: TestClient  # type: ignore[type-arg]
    root: Path
    standin: ChatStandin

    def token(self, *scopes: str, username: str = "alex") -> str:
        with self.desk.engine.begin() as connection:
            _, plaintext = create_token(connection, self.desk.compiled,
                                        self.desk.id_of("agents", "username", username), "test", scopes, None)
        return plaintext

    def metrics(self) -> Samples:
        response = self.client.get("/metrics", headers={"Authorization": f"Bearer {self.token('metrics:read')}"})
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
        return parse(response.text)


def parse(text: str) -> Samples:
    """Every sample of a Prometheus text exposition, by name and labels (the parser refuses malformed text)."""
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(text) for sample in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def observed(tmp_path: Path, database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Observed]:
    # Fresh figures on every scrape: the cache would hide what the test just did.
    monkeypatch.setattr(desk_gauges, "CACHE_SECONDS", -1.0)
    with serve() as standin:
        settings = f"""
ai:
  provider: llm
  llm: {{base_url: "{standin.base_url}", model: standin-1, timeout: 5s, max_retries: 0}}
"""
        root, compiled, engine = migrated_desk(tmp_path, database_url, settings)
        desk = SeededDesk(compiled, engine, TicketService(compiled, engine))
        with TestClient(app=create_app(compiled, engine), raise_server_exceptions=False) as client:
            yield Observed(desk, client, root, standin)
        engine.dispose()


def test_readyz_is_200_when_the_database_and_the_attachment_folder_are_fine(observed: Observed) -> None:
    response = observed.client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "attachments": "ok"}}
    assert observed.client.get("/healthz").json() == {"status": "ok"}


def test_readyz_is_503_on_a_database_behind_the_definitions(observed: Observed) -> None:
    paths = migration_paths(observed.desk.compiled)
    head = migrations.head_revision(paths)
    migrations.downgrade(paths, observed.desk.engine, "-1")
    response = observed.client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["title"]) == (503, "Not ready")
    assert body["checks"]["attachments"] == "ok"
    assert body["checks"]["database"].endswith(f"the definitions need {head}")
    assert body["detail"] == f"database: {body['checks']['database']}"
    migrations.upgrade(paths, observed.desk.engine)
    assert observed.client.get("/readyz").status_code == 200


def test_readyz_is_503_on_an_unwritable_attachment_folder(observed: Observed) -> None:
    folder = observed.root / observed.desk.compiled.definitions.project.attachments_dir
    shutil.rmtree(folder, ignore_errors=True)
    folder.parent.mkdir(parents=True, exist_ok=True)
    # A file where the folder should be: unwritable even for root, whom permissions would not stop.
    folder.write_text("not a folder")
    body = observed.client.get("/readyz").json()
    assert body["status"] == 503
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["attachments"].startswith("the attachment folder is not writable")
    assert str(folder) not in body["detail"]  # the answer is public: no paths


def test_readyz_is_503_on_a_missing_database(tmp_path: Path) -> None:
    _, compiled, engine = migrated_desk(tmp_path, f"sqlite:///{tmp_path / 'desk.db'}", seed=False)
    # SQLite makes an empty file where the database was expected.
    empty = sa.create_engine(f"sqlite:///{tmp_path / 'missing.db'}")
    with TestClient(app=create_app(compiled, empty, check_database=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("empty (no Tessera tables)")
    empty.dispose()
    engine.dispose()


def test_metrics_need_a_token_with_the_metrics_scope_off_the_machine(observed: Observed) -> None:
    # The test client calls from "testclient", not a loopback address.
    assert observed.client.get("/metrics").status_code == 401
    tickets_only = observed.token("tickets:read")
    refused = observed.client.get("/metrics", headers={"Authorization": f"Bearer {tickets_only}"})
    assert refused.status_code == 403
    assert "metrics:read" in refused.json()["detail"]
    admin = observed.token("admin")
    assert observed.client.get("/metrics", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_metrics_count_requests_by_route_template_and_status_class(observed: Observed) -> None:
    before = observed.metrics()
    token = observed.token("tickets:read")
    for _ in range(3):
        assert observed.client.get("/api/v1/types").status_code == 200
    listed = observed.client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    ticket_id = listed.json()["items"][0]["id"]
    assert observed.client.get(f"/api/v1/tickets/{ticket_id}",
                               headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert observed.client.get("/api/v1/tickets/999999",
                               headers={"Authorization": f"Bearer {token}"}).status_code == 404
    assert observed.client.get("/no/such/page/42").status_code == 404
    after = observed.metrics()

    def moved(route: str, status: str) -> float:
        labels = {"method": "GET", "route": route, "status": status}
        return (value(after, "tessera_http_requests_total", **labels)
                - value(before, "tessera_http_requests_total", **labels))

    assert moved("/api/v1/types", "2xx") == 3
    assert moved("/api/v1/tickets/{ticket_id}", "2xx") == 1
    assert moved("/api/v1/tickets/{ticket_id}", "4xx") == 1
    assert moved("(unmatched)", "4xx") == 1
    # The scrape before this one is counted too, once it is answered.
    assert moved("/metrics", "2xx") == 1
    labels = {"method": "GET", "route": "/api/v1/types", "status": "2xx"}
    count = value(after, "tessera_http_request_duration_seconds_count", **labels)
    assert count == value(after, "tessera_http_requests_total", **labels)
    assert value(after, "tessera_http_request_duration_seconds_bucket", le="+Inf", **labels) == count
    assert not any(name.startswith("tessera_http") and ("route", "/api/v1/tickets/999999") in labels
                   for name, labels in after)


def test_metrics_follow_tickets_intake_sla_ai_and_jobs(observed: Observed) -> None:
    desk = observed.desk
    before = observed.metrics()
    observed.standin.script(Status(503, {"error": {"message": "model is loading"}}))

    alex = desk.agent("alex")
    created = desk.service.create(alex, "it_support", {"title": "VPN down", "description": "No tunnel.",
                                                       "priority": "P1"}, channel="manual")
    token = observed.token("tickets:read", "tickets:write")
    response = observed.client.post("/api/v1/types/it_support/tickets", headers={"Authorization": f"Bearer {token}"},
                                    json={"title": "Printer offline", "description": "Error 49.", "priority": "P3"})
    assert response.status_code == 201, response.text
    pipeline = MailPipeline(desk.compiled, desk.engine, desk.service)
    by_mail = pipeline.process(pipeline.receive([mail(subject="Screen flickers")], "import")[0].id)
    assert by_mail.ticket_id is not None
    pipeline.process(pipeline.receive([b"not a mail\r\n\r\n"], "import")[0].id)  # quarantined
    pipeline.receive([mail(subject="Waiting in the queue")], "import")  # stored, not processed yet

    # Time passes for two clocks: one falls due a minute ago, one is due in a minute (within a fifth of its target).
    timers = desk.compiled.table("sla_timers")
    now = dt.datetime.now(dt.UTC)
    with desk.engine.begin() as connection:
        first, second = (connection.execute(sa.select(timers.c.id).where(
            timers.c.ticket_id == ticket, timers.c.metric == "first_response")).scalar_one()
            for ticket in (created["id"], response.json()["id"]))
        connection.execute(sa.update(timers).where(timers.c.id == first).values(due_at=now - dt.timedelta(minutes=1)))
        connection.execute(sa.update(timers).where(timers.c.id == second).values(due_at=now + dt.timedelta(minutes=1)))
        connection.execute(sa.insert(desk.compiled.table("jobs")), {
            "kind": "email", "payload": {"ticket_id": created["id"]}, "run_at": now + dt.timedelta(hours=1),
            "attempts": 0})

    waiting_triage = value(observed.metrics(), "tessera_worker_jobs_pending", kind="triage")
    worker = TriageWorker(desk.compiled, desk.engine, Triage(desk.compiled, provider_for(desk.compiled),
                                                             desk.service))
    assert worker.run_round(limit=1) == 1  # the endpoint fails: the local provider answers
    after = observed.metrics()

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("tessera_tickets_created_total", channel="manual") == 1
    assert moved("tessera_tickets_created_total", channel="api") == 1
    assert moved("tessera_tickets_created_total", channel="email") == 1
    assert moved("tessera_tickets_created_total", channel="webhook") == 0
    assert moved("tessera_intake_quarantined_messages", channel="email") == 1
    assert moved("tessera_intake_queue_depth", channel="email") == 1
    assert moved("tessera_sla_clocks_breached", metric="first_response") == 1
    assert moved("tessera_sla_clocks_at_risk", metric="first_response") == 1
    assert moved("tessera_ai_fallbacks_total", kind="triage") == 1
    assert moved("tessera_ai_decision_latency_seconds_count", kind="triage", provider="local") == 1
    assert moved("tessera_ai_decision_latency_seconds_count", kind="triage", provider="llm") == 0
    assert moved("tessera_worker_jobs_pending", kind="email") == 1
    assert value(after, "tessera_worker_jobs_pending", kind="triage") == waiting_triage - 1


def test_metrics_still_count_requests_when_the_database_fails(observed: Observed,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    assert value(observed.metrics(), "tessera_desk_figures_up") == 1

    def fail(_self: desk_gauges.DeskGauges) -> None:
        raise sa.exc.OperationalError("SELECT", {}, Exception("disk I/O error"))

    monkeypatch.setattr(desk_gauges.DeskGauges, "_read", fail)
    samples = observed.metrics()
    assert value(samples, "tessera_desk_figures_up") == 0
    assert value(samples, "tessera_http_requests_total", method="GET", route="/metrics", status="2xx") >= 1
    assert not any(name.startswith("tessera_tickets") for name, _ in samples)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the tessera loggers write, as the JSON lines ``serve`` writes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(ContextFilter())
    logger = logging.getLogger("tessera")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_a_request_id_travels_from_the_header_to_the_response_and_the_log(observed: Observed,
                                                                          log_lines: io.StringIO) -> None:
    token = observed.token("tickets:read")
    response = observed.client.get("/api/v1/tickets", headers={"X-Request-ID": "lb-7f3a.42",
                                                              "Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "lb-7f3a.42"
    [line] = [entry for entry in lines(log_lines) if entry["logger"] == "tessera.request"]
    assert line["request_id"] == "lb-7f3a.42"
    assert (line["level"], line["method"], line["path"], line["route"], line["status"]) == (
        "info", "GET", "/api/v1/tickets", "/api/v1/tickets", 200)
    assert (line["actor_kind"], line["actor_id"]) == ("agent", observed.desk.id_of("agents", "username", "alex"))
    assert line["client"] == "testclient"
    assert isinstance(line["duration_ms"], float)
    assert line["time"].endswith("Z")


@pytest.mark.parametrize("given", ["two words", "x" * 65, "quote\"d", "line\nbreak", ""])
def test_an_unusable_request_id_is_replaced_by_a_new_one(observed: Observed, log_lines: io.StringIO,
                                                          given: str) -> None:
    response = observed.client.get("/healthz", headers={"X-Request-ID": given} if given else {})
    new = response.headers["x-request-id"]
    assert new != given
    assert len(new) == 32
    int(new, 16)
    [line] = [entry for entry in lines(log_lines) if entry["logger"] == "tessera.request"]
    assert (line["request_id"], line["level"], line["actor_kind"]) == (new, "debug", None)


def test_records_made_while_serving_carry_the_request_id(observed: Observed, log_lines: io.StringIO,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # /readyz runs in a worker thread: the id must reach records made there, as a service's warnings are.
    def checks(_self: readiness.Readiness) -> dict[str, str]:
        logging.getLogger("tessera.tickets").warning("the disk is almost full")
        return {"database": "ok", "attachments": "ok"}

    monkeypatch.setattr(readiness.Readiness, "checks", checks)
    response = observed.client.get("/readyz", headers={"X-Request-ID": "probe-1"})
    assert response.status_code == 200
    warning, request = lines(log_lines)
    assert (warning["logger"], warning["level"], warning["message"]) == ("tessera.tickets", "warning",
                                                                          "the disk is almost full")
    assert warning["request_id"] == request["request_id"] == "probe-1"
    observed.client.get("/healthz")
    logging.getLogger("tessera.tickets").warning("outside any request")
    assert "request_id" not in lines(log_lines)[-1]
