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

from bench import procnet
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
def server(served: tuple[subprocess.Popen[bytes], int, Path]) -> str:
    return f"http://127.0.0.1:{served[1]}"


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


def _listening_and_established(port: int) -> tuple[set[str], set[str]]:
    """Inodes of the sockets listening on ``port`` and of the connections accepted on it (Linux /proc)."""
    found = procnet.port_sockets(port)
    return found.get(procnet.LISTEN, set()), found.get(procnet.ESTABLISHED, set())


def _children(pid: int) -> list[int]:
    return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.fixture
def served(desk: tuple[Path, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """``serve --workers 2``: its process, port and output file."""
    port = free_port()
    output = tmp_path / "served.log"
    with output.open("wb") as log:
        process = subprocess.Popen([sys.executable, str(CLI), "--root", str(desk[0]), "--database-url", desk[1],
                                    "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port)],
                                   stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            wait_until_answering(process, f"http://127.0.0.1:{port}/readyz", output)
            yield process, port, output
        finally:
            stop(process)


def server_processes(parent: int, port: int) -> dict[int, set[str]]:
    """The parent's children that listen on ``port``, each with the inodes of its listening sockets there."""
    listening, _ = _listening_and_established(port)
    held = {child: procnet.sockets_of(child) & listening for child in _children(parent)}
    return {child: inodes for child, inodes in held.items() if inodes}


def test_each_server_process_listens_on_a_socket_of_its_own_and_connections_reach_both(
        served: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    process, port, _ = served
    listeners = server_processes(process.pid, port)
    assert len(listeners) == 2
    first, second = listeners.values()
    assert len(first) == len(second) == 1
    assert first != second  # uvicorn's own --workers would show one socket shared by both
    assert not procnet.sockets_of(process.pid) & _listening_and_established(port)[0]  # the parent only supervises
    # Thirty-two connections opened at once, as a proxy's pool would: the kernel spreads them over both sockets
    # (all of them on one would happen once in two billion runs).
    clients = [httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) for _ in range(32)]
    try:
        for client in clients:
            assert client.get("/healthz").status_code == 200
        _, established = _listening_and_established(port)
        held = [len(procnet.sockets_of(child) & established) for child in listeners]
        assert sum(held) == 32
        assert min(held) > 0, held
    finally:
        for client in clients:
            client.close()


def test_a_server_process_that_dies_is_replaced_and_the_port_keeps_answering(
        served: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    process, port, output = served
    before = server_processes(process.pid, port)
    victim = min(before)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + START_TIMEOUT
    after = server_processes(process.pid, port)
    while (len(after) < 2 or victim in after) and time.monotonic() < deadline:
        time.sleep(0.2)
        after = server_processes(process.pid, port)
    assert victim not in after
    assert len(after) == 2, output.read_text()
    assert process.poll() is None
    for _ in range(8):
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
    assert f"server process {victim} exited" in output.read_text()


def test_sigterm_stops_every_server_process_and_the_parent_exits_0(
        served: tuple[subprocess.Popen[bytes], int, Path]) -> None:
    process, port, _ = served
    children = list(server_processes(process.pid, port))
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    for child in children:
        assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)


def test_the_supervisor_stops_with_an_error_when_its_processes_cannot_load_the_app() -> None:
    """Exit code 1 at once, rather than starting process after process that fails the same way."""
    result = subprocess.run([sys.executable, "-m", "runtime.web.processes", "runtime.no_such_module:app",
                             "--port", str(free_port()), "--workers", "2"],
                            capture_output=True, text=True, timeout=60, check=False, cwd=SHIPPED)
    assert result.returncode == 1
    assert "could not start (exit code 3); stopping" in result.stderr
    assert "starting another" not in result.stderr


def test_serve_refuses_a_port_another_server_listens_on(desk: tuple[Path, str]) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = cli(*desk, "serve", "--workers", "2", "--host", "127.0.0.1", "--port", str(port))
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr + result.stdout
