"""Web processes and workers of one desk on one database, started as operators start them (``cli.py serve`` and
``cli.py worker``, each a process of its own) and stopped however the test ends, with their output kept."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.desk_fixtures import SHIPPED
from tests.web.test_serve import free_port
from tests.web.test_serve import stop as stop_group

CLI = SHIPPED / "cli.py"
START_TIMEOUT = 60.0  # a bound for a loaded machine, not a speed figure


@dataclass
class Stack:
    root: Path
    url: str
    logs: Path
    processes: list[tuple[str, subprocess.Popen[bytes]]] = field(default_factory=list)
    bases: list[str] = field(default_factory=list)

    def _start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        out = (self.logs / f"{name}.log").open("wb")
        # A session of its own, so that stopping a server stops the processes it forked too.
        process = subprocess.Popen([sys.executable, str(CLI), "--root", str(self.root), "--database-url", self.url,
                                    *args], stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
        out.close()
        self.processes.append((name, process))
        return process

    def web(self, processes: int = 1) -> str:
        """Start ``cli.py serve`` on a free port; its base URL once it answers."""
        port = free_port()
        name = f"web{len(self.bases)}"
        process = self._start(name, "serve", "--workers", str(processes), "--host", "127.0.0.1", "--port", str(port))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                msg = f"{name} exited with {process.returncode}:\n{self.output(name)}"
                raise RuntimeError(msg)
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                msg = f"{name} did not answer /healthz within {START_TIMEOUT:g} s:\n{self.output(name)}"
                raise RuntimeError(msg)
            time.sleep(0.2)
        self.bases.append(base)
        return base

    def worker(self) -> None:
        """Start ``cli.py worker``; return once it says it runs (past its imports and its check of the database)."""
        name = f"worker{sum(1 for n, _ in self.processes if n.startswith('worker'))}"
        process = self._start(name, "worker")
        deadline = time.monotonic() + START_TIMEOUT
        while "worker started" not in self.output(name):
            if process.poll() is not None or time.monotonic() > deadline:
                msg = f"{name} did not start:\n{self.output(name)}"
                raise RuntimeError(msg)
            time.sleep(0.2)

    def output(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def dead(self) -> list[str]:
        """The processes that stopped on their own: a worker that died of an error, say."""
        return [f"{name} exited with {p.returncode}:\n{self.output(name)}" for name, p in self.processes
                if p.poll() is not None]

    def stop(self) -> dict[str, str]:
        """Stop everything (SIGTERM, the way a process manager does); each process's output by name."""
        for _, process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _, process in self.processes:
            stop_group(process)
        return {name: self.output(name) for name, _ in self.processes}


class Api:
    """An API client that spreads its requests over every web process, in turn."""

    def __init__(self, bases: list[str], token: str) -> None:
        self.clients = [httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)
                        for base in bases]
        self.turn = itertools.cycle(range(len(self.clients)))
        self.lock = threading.Lock()

    def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        with self.lock:
            client = self.clients[next(self.turn)]
        return client.request(method, path, **kwargs)

    def close(self) -> None:
        for client in self.clients:
            client.close()
