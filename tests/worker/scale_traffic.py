"""The clients of the scale-out test: API calls spread over the web processes, and a ledger of what they saw
succeed and what they saw refused, to hold the database's final state against."""

from __future__ import annotations

import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from tests.worker.scale_stack import Api

CREATE = "/api/v1/types/it_support/tickets"


def _ticket(ticket_id: int) -> str:
    return f"{CREATE}/{ticket_id}"


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: dict[int, dict[str, Any]] = field(default_factory=dict)
    # Per ticket: the version each successful write answered with, and what it was.
    versions: dict[int, list[int]] = field(default_factory=lambda: defaultdict(list))
    writes: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    # Titles written by writes that succeeded, in order, and by writes that were refused (stale or out-raced).
    titles: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    refused: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    stale_sent: int = 0
    problems: list[str] = field(default_factory=list)

    def succeeded(self, ticket_id: int, what: str, answer: dict[str, Any], title: str | None = None) -> int:
        with self.lock:
            self.versions[ticket_id].append(int(answer["version"]))
            self.writes[ticket_id].append(what)
            if title is not None:
                self.titles[ticket_id].append(title)
        return int(answer["version"])

    def problem(self, text: str) -> None:
        with self.lock:
            self.problems.append(text)


class Client:
    """One person at the API: creates, writes with the version it last saw, and sometimes a stale one."""

    def __init__(self, api: Api, ledger: Ledger) -> None:
        self.api = api
        self.ledger = ledger

    def create(self, title: str, priority: str, requester_id: int, *, assignee_id: int | None = 1) -> dict[str, Any]:
        body = {"title": title, "description": f"{title}. Reported by phone; a restart did not help.",
                "priority": priority, "category": "hardware", "requester_id": requester_id, "team_id": 1,
                "assignee_id": assignee_id, "impact": "single_user", "operating_system": "windows"}
        answer = self.api.call("POST", CREATE, json=body)
        if answer.status_code != 201:
            self.ledger.problem(f"create answered {answer.status_code}: {answer.text}")
            answer.raise_for_status()
        ticket: dict[str, Any] = answer.json()
        with self.ledger.lock:
            self.ledger.created[int(ticket["id"])] = ticket
        return ticket

    def version(self, ticket_id: int) -> int:
        return int(self.api.call("GET", _ticket(ticket_id)).raise_for_status().json()["version"])

    def _send(self, ticket_id: int, what: str, changes: dict[str, Any], version: int) -> httpx.Response:
        if what == "update":
            return self.api.call("PATCH", _ticket(ticket_id), json={**changes, "version": version})
        name = what.removeprefix("transition:")
        return self.api.call("POST", f"/api/v1/tickets/{ticket_id}/transitions/{name}", json={"version": version})

    def write(self, ticket_id: int, what: str, version: int, changes: dict[str, Any] | None = None) -> int | None:
        """``what`` ("update" or "transition:NAME") from ``version``, again from the current version as long as
        someone else (triage, an escalation, a reply) got there first; the new version, or None when the write is
        refused for another reason (the ticket has moved on)."""
        changes = changes or {}
        for _ in range(20):
            answer = self._send(ticket_id, what, changes, version)
            if answer.status_code == 200:
                return self.ledger.succeeded(ticket_id, what, answer.json(), changes.get("title"))
            if answer.status_code != 409:
                self.ledger.problem(f"{what} on {ticket_id} answered {answer.status_code}: {answer.text}")
                return None
            current = self.version(ticket_id)
            if current == version:
                return None  # refused as such, not for a stale version
            version = current
        self.ledger.problem(f"{what} on {ticket_id}: still stale after 20 tries")
        return None

    def stale(self, ticket_id: int, version: int, title: str) -> None:
        """A write from a version that is known to be old: it must be refused with 409."""
        with self.ledger.lock:
            self.ledger.stale_sent += 1
        answer = self._send(ticket_id, "update", {"title": title}, version)
        if answer.status_code != 409:
            self.ledger.problem(f"a stale write on {ticket_id} (version {version}) answered {answer.status_code}")
            return
        with self.ledger.lock:
            self.ledger.refused[ticket_id].append(title)

    def race(self, ticket_id: int, version: int) -> None:
        """Two writes from the same version at once: at most one may succeed."""
        titles = [f"race {ticket_id} {side}" for side in "ab"]
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda t: self._send(ticket_id, "update", {"title": t}, version), titles))
        codes = sorted(a.status_code for a in answers)
        if codes not in ([200, 409], [409, 409]):
            self.ledger.problem(f"two writes of {ticket_id} from version {version} answered {codes}")
        for title, answer in zip(titles, answers, strict=True):
            if answer.status_code == 200:
                self.ledger.succeeded(ticket_id, "update", answer.json(), title)
            elif answer.status_code == 409:
                with self.ledger.lock:
                    self.ledger.refused[ticket_id].append(title)

    def reply_while_writing(self, ticket_id: int, version: int, changes: dict[str, Any]) -> None:
        """An agent's public reply and a write of the same ticket at once: both must get through (the write
        again from a newer version if the reply's first response got there first), neither with an error."""
        with ThreadPoolExecutor(2) as pool:
            replied = pool.submit(self.comment, ticket_id, "Please hold the power button for ten seconds.")
            written = pool.submit(self.write, ticket_id, "update", version, changes)
            replied.result()
            if written.result() is None:
                self.ledger.problem(f"a write of {ticket_id} beside a reply was refused")

    def comment(self, ticket_id: int, body: str) -> None:
        answer = self.api.call("POST", f"/api/v1/tickets/{ticket_id}/comments", json={"body": body, "public": True})
        if answer.status_code != 201:
            self.ledger.problem(f"comment on {ticket_id} answered {answer.status_code}: {answer.text}")
