"""``cli.py serve --workers 2``: the production server, several processes on one port, from a fresh desk."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.desk_fixtures import SHIPPED, copy_shipped_desk

CLI = SHIPPED / "cli.py"
START_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def cli(root: Path, database: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(CLI), "--root", str(root), "--database-url", database, *args],
                          capture_output=True, text=True, timeout=120, check=False)


def stop(server: subprocess.Popen[bytes]) -> None:
    """Terminate the server's whole process group (the parent and its workers) and wait for it."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=5)
    with contextlib.suppress(ProcessLookupError):  # workers left behind by a parent that died first
        os.killpg(server.pid, signal.SIGKILL)


def wait_until_answering(process: subprocess.Popen[bytes], url: str, output: Path) -> None:
    """Until ``url`` answers 200; fails the test with the server's output when it exits or stays silent."""
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited with {process.returncode}:\n{output.read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"no answer on {url} within {START_TIMEOUT:g} s:\n{output.read_text()}")
        time.sleep(0.2)


@pytest.fixture
def desk(tmp_path: Path) -> tuple[Path, str]:
    root = copy_shipped_desk(tmp_path / "desk")
    for folder in ("generated", "schemas"):
        shutil.copytree(SHIPPED / folder, root / folder)
    database = f"sqlite:///{tmp_path / 'x.db'}"
    for step in (("migrate",), ("demo", "--no-serve")):
        result = cli(root, database, *step)
        assert result.returncode == 0, result.stderr
    return root, database


@pytest.fixture
def token(desk: tuple[Path, str]) -> str:
    result = cli(*desk, "token", "create", "--agent", "alex", "--label", "serve test",
                 "--scope", "tickets:read", "--scope", "tickets:write")
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[1]


@pytest.fixture
def server(desk: tuple[Path, str], tmp_path: Path) -> Iterator[str]:
    port = free_port()
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, str(CLI), "--root", str(desk[0]), "--database-url", desk[1],
                                "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base, output = f"http://127.0.0.1:{port}", tmp_path / "serve.log"
    try:
        wait_until_answering(process, f"{base}/healthz", output)
        yield base
    finally:
        stop(process)
        log.close()
    assert process.returncode is not None


def test_serve_with_two_workers_answers_authenticated_calls(server: str, token: str) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server, headers=headers, timeout=10) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/api/v1/tickets", headers={"Authorization": ""}).status_code == 401
        created = client.post("/api/v1/types/it_support/tickets",
                              json={"title": "Printer on floor 2 is offline", "description": "Shows error 49.",
                                    "priority": "P3", "category": "hardware"})
        assert created.status_code == 201, created.text
        assert created.json()["number"].startswith("IT-")
        # Several requests, so that both workers are likely to answer one: they share the database.
        for _ in range(4):
            fetched = client.get(f"/api/v1/tickets/{created.json()['id']}")
            assert fetched.status_code == 200, fetched.text
        listed = client.get("/api/v1/tickets", params={"type": "it_support"})
        assert listed.status_code == 200, listed.text
        assert created.json()["id"] in [t["id"] for t in listed.json()["items"]]


def test_serve_refuses_a_database_behind_the_definitions(tmp_path: Path) -> None:
    root = copy_shipped_desk(tmp_path / "desk")
    for folder in ("generated", "schemas"):
        shutil.copytree(SHIPPED / folder, root / folder)
    result = cli(root, f"sqlite:///{tmp_path / 'empty.db'}", "serve", "--workers", "2", "--port", str(free_port()))
    assert result.returncode == 2
    assert "Run `python cli.py migrate`" in result.stderr
