"""Observability of the production processes: ``cli.py serve --workers 2`` adds up its request counters across
both processes and writes JSON request lines with their ids; ``cli.py worker`` writes a JSON line per job."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.desk_fixtures import SHIPPED, copy_shipped_desk
from tests.web.test_serve import CLI, cli, free_port, stop, wait_until_answering

BATCH = 16
TYPES = {"method": "GET", "route": "/api/v1/types", "status": "2xx"}


@pytest.fixture
def desk(tmp_path: Path) -> tuple[Path, str]:
    root = copy_shipped_desk(tmp_path / "desk")
    for folder in ("generated", "schemas"):
        shutil.copytree(SHIPPED / folder, root / folder)
    database = f"sqlite:///{tmp_path / 'x.db'}"
    result = cli(root, database, "migrate")
    assert result.returncode == 0, result.stderr
    return root, database


def json_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.startswith("{")]


@pytest.fixture
def served(desk: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[str, Path]]:
    port, output = free_port(), tmp_path / "serve.log"
    with output.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(CLI), "--root", str(desk[0]), "--database-url", desk[1],
                                    "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_answering(process, f"{base}/readyz", output)
            yield base, output
        finally:
            stop(process)


def request_lines(output: Path, route: str, count: int) -> list[dict[str, Any]]:
    """The JSON request lines of ``route``, once ``count`` of them are written (a thread writes them)."""
    deadline = time.monotonic() + 10
    while True:
        found = [line for line in json_lines(output) if line.get("route") == route]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def types_count(base: str) -> float:
    # A connection of its own, so that either process may take the scrape.
    text = httpx.get(f"{base}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "tessera_http_requests_total" and sample.labels == TYPES:
                return sample.value
    return 0.0


def test_both_server_processes_report_every_request_and_log_it_as_json(served: tuple[str, Path]) -> None:
    base, output = served
    sent = 0
    with ThreadPoolExecutor(max_workers=8) as pool:
        # Concurrent connections, batch after batch until both processes have answered some.
        for _ in range(20):
            statuses = list(pool.map(lambda _: httpx.get(f"{base}/api/v1/types", timeout=10).status_code,
                                     range(BATCH)))
            assert statuses == [200] * BATCH
            sent += BATCH
            if len({line["pid"] for line in request_lines(output, "/api/v1/types", sent)}) == 2:
                break
    lines = request_lines(output, "/api/v1/types", sent)
    assert len(lines) == sent
    assert len({line["pid"] for line in lines}) == 2, "one process took every request: nothing to add up"
    # Each process answered only part of the requests, yet every scrape, whichever process takes it, has them all.
    assert [types_count(base) for _ in range(6)] == [sent] * 6

    answered = httpx.get(f"{base}/api/v1/types", headers={"X-Request-ID": "serve-test-1"}, timeout=10)
    assert answered.headers["x-request-id"] == "serve-test-1"
    [line] = [entry for entry in request_lines(output, "/api/v1/types", sent + 1)
              if entry.get("request_id") == "serve-test-1"]
    assert (line["logger"], line["level"], line["status"], line["client"]) == ("tessera.request", "info", 200,
                                                                               "127.0.0.1")
    # uvicorn's own lines are JSON too; its access log is off (the request line replaces it).
    assert any(entry["logger"].startswith("uvicorn") for entry in json_lines(output))
    assert not any(entry["logger"] == "uvicorn.access" for entry in json_lines(output))


def test_the_worker_logs_each_job_as_a_json_line(desk: tuple[Path, str]) -> None:
    root, database = desk
    with sqlite3.connect(database.removeprefix("sqlite:///")) as connection:
        connection.execute("INSERT INTO jobs (kind, payload, run_at, attempts) VALUES "
                           "('mystery', '{\"ticket_id\": 7}', '2020-01-01 00:00:00.000000', 0)")
    result = cli(root, database, "worker", "--once")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stderr.splitlines()]
    [job] = [line for line in lines if line.get("outcome") and line.get("job_kind") == "mystery"]
    assert (job["logger"], job["level"], job["ticket_id"], job["attempt"], job["outcome"]) == (
        "tessera.worker", "info", 7, 1, "unknown kind")
    assert isinstance(job["duration_ms"], float)
    # The error said on the way carries the job too.
    [error] = [line for line in lines if line["level"] == "error"]
    assert (error["job_kind"], error["message"]) == ("mystery", f"job {job['job_id']}: no handler for kind mystery")
