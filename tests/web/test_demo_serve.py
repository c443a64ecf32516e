"""``cli.py demo`` serves the desk with its worker beside it: a ticket created over HTTP is triaged by the worker
process (with the model the demo trained on its sample history), and stopping the demo stops the worker too."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.desk_fixtures import SHIPPED, copy_shipped_desk
from tests.web.test_serve import START_TIMEOUT, free_port, stop

CLI = SHIPPED / "cli.py"


def test_the_demo_triages_new_tickets_with_its_worker(tmp_path: Path) -> None:
    root = copy_shipped_desk(tmp_path / "desk")
    for folder in ("generated", "schemas"):
        shutil.copytree(SHIPPED / folder, root / folder)
    port = free_port()
    database = f"sqlite:///{tmp_path / 'demo.db'}"
    output = tmp_path / "demo.log"
    with output.open("wb") as log:
        demo = subprocess.Popen([sys.executable, str(CLI), "--root", str(root), "--database-url", database, "demo",
                                 "--host", "127.0.0.1", "--port", str(port)],
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + START_TIMEOUT * 4  # the first start seeds and trains
            token = None
            while token is None or not _healthy(base):
                assert demo.poll() is None, output.read_text()
                assert time.monotonic() < deadline, output.read_text()
                lines = output.read_text().splitlines()
                token = next((lines[i + 1].strip() for i, line in enumerate(lines)
                              if line.startswith("API token for the demo agent alex")), None)
                time.sleep(0.3)
            text = output.read_text()
            assert "worker running (pid " in text
            worker_pid = int(text.split("worker running (pid ", 1)[1].split(")", 1)[0])
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
                created = client.post("/api/v1/types/it_support/tickets", json={
                    "title": "I forgot my password", "description": "I cannot log in to my account any more."})
                assert created.status_code == 201, created.text
                ticket_id = created.json()["id"]
                decisions: list[dict[str, object]] = []
                while not decisions:
                    assert time.monotonic() < deadline, output.read_text()
                    answer = client.get(f"/api/v1/tickets/{ticket_id}/ai/decisions")
                    assert answer.status_code == 200, answer.text
                    decisions = [d for d in answer.json() if d["kind"] == "triage"]
                    time.sleep(0.3)
            assert decisions[0]["provider"] == "local"
            assert str(decisions[0]["model"]).startswith("tessera-local (")  # trained, not the untrained fallback
            _sign_in_as_printed(base, output.read_text())
        finally:
            stop(demo)
    time.sleep(0.5)
    assert not _alive(worker_pid), output.read_text()


def _sign_in_as_printed(base: str, text: str) -> None:
    """The demo prints how to sign in to its pages; doing so shows the agent the queue with the sample tickets."""
    line = next(line for line in text.splitlines() if line.startswith("sign in at "))
    password = line.split("with the password '", 1)[1].split("'", 1)[0]
    assert "alex (agent)" in line
    assert "maria.lopez@northwind.example.org (requester)" in line
    with httpx.Client(base_url=base, timeout=10) as browser:
        form = browser.get("/login").text
        token = form.split('name="login_token" value="', 1)[1].split('"', 1)[0]
        signed = browser.post("/login", data={"login": "alex", "password": password, "login_token": token})
        assert signed.status_code == 303, signed.text
        assert signed.headers["location"] == "/queue"
        queue = browser.get("/queue")
        assert queue.status_code == 200
        assert "Laptop shows a blue screen after the update" in queue.text  # a sample ticket of alex's team


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child reaped by nobody is a zombie: gone as far as work goes.
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "zombie" not in status.read_text()


