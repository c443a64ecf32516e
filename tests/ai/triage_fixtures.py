"""A desk with a history to learn from: resolved IT tickets in four categories and three priorities, written for
these tests (short, plain requests of the kind a service desk gets every day)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.ai.local_model import train
from runtime.ai.training import desk_examples
from runtime.ai.triage import Triage, provider_for
from runtime.ai.triage_jobs import TriageWorker
from runtime.tickets.service import TicketService
from tests.tickets.service_fixtures import SeededDesk, migrated_desk

HISTORY: dict[str, list[str]] = {
    "network": ["VPN disconnects every few minutes", "wifi in the meeting room keeps dropping",
                "cannot reach the file share over the VPN", "network port at my desk is dead",
                "internet is very slow on the office wifi", "VPN client says the tunnel failed",
                "no network connection after the switch was replaced", "guest wifi password does not work",
                "DNS does not resolve the intranet name", "VPN login hangs at connecting",
                "wireless access point on floor two is blinking red", "ping to the server times out"],
    "access": ["locked out of my account after the password reset", "need access to the finance folder",
               "MFA codes are not accepted when I sign in", "cannot sign in to my email account",
               "my password expired and I cannot change it", "please give me access to the HR system",
               "new colleague needs an account from Monday", "my badge does not open the door to the lab",
               "permission denied on the shared drive", "reset my authenticator app on the new phone",
               "remove access for a colleague who left", "single sign-on keeps asking for my login"],
    "hardware": ["laptop does not boot any more", "monitor flickers all the time", "keyboard keys are stuck",
                 "printer jams on every page", "docking station shows no display", "laptop battery is swollen",
                 "mouse stopped working", "headset microphone is not detected", "screen cracked after a fall",
                 "desktop fan is very loud", "the projector in room 4 shows no picture", "USB ports are dead"],
    "software": ["Excel crashes when I open the budget file", "please install Adobe Reader",
                 "Outlook freezes at startup", "the Teams update fails with an error",
                 "browser shows a certificate error for the intranet", "Word cannot save documents",
                 "licence for the design tool has expired", "the accounting app shows error 1603 on install",
                 "calendar invitations are not synchronised", "PDF export produces empty pages",
                 "the ERP client crashes after the update", "macro in the spreadsheet does not run"],
}


@dataclass
class TriageDesk(SeededDesk):
    root: Path

    def triage_worker(self) -> TriageWorker:
        return TriageWorker(self.compiled, self.engine, Triage(self.compiled, provider_for(self.compiled),
                                                               self.service))

    def create(self, title: str, description: str = "", **more: Any) -> dict[str, Any]:
        return self.service.create(self.agent("alex"), "it_support", {"title": title, "description": description}
                                   | more)

    def ticket(self, ticket_id: int) -> dict[str, Any]:
        return self.service.get(self.agent("alex"), ticket_id)

    def decisions(self, ticket_id: int, kind: str = "triage") -> list[Any]:
        d = self.compiled.table("ai_decisions")
        with self.engine.connect() as connection:
            return list(connection.execute(sa.select(d).where(d.c.ticket_id == ticket_id, d.c.kind == kind)
                                           .order_by(d.c.id)))

    def clear_triage_jobs(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(sa.delete(self.compiled.table("triage_jobs")))

    def add_history(self) -> int:
        """Every history text, resolved; P1 when the whole office is affected, P3 when the requester says there
        is no hurry, P2 otherwise."""
        count = 0
        for category, titles in HISTORY.items():
            for n, title in enumerate(titles):
                priority = ("P1", "P3", "P2", "P2")[n % 4]
                words = {"P1": " The whole office is affected.", "P3": " No hurry, whenever you have time.",
                         "P2": ""}[priority]
                ticket = self.create(title, f"{title}.{words}", category=category, priority=priority)
                count += 1
                with self.engine.begin() as connection:
                    t = self.compiled.table("tickets")
                    connection.execute(sa.update(t).where(t.c.id == ticket["id"]).values(
                        status="resolved", status_category="resolved"))
        self.clear_triage_jobs()
        return count

    def resolve(self, ticket_id: int, reply: str) -> None:
        """Answer the ticket publicly as alex, then mark it resolved."""
        self.service.comment(self.agent("alex"), ticket_id, reply, public=True)
        with self.engine.begin() as connection:
            t = self.compiled.table("tickets")
            connection.execute(sa.update(t).where(t.c.id == ticket_id).values(status="resolved",
                                                                               status_category="resolved"))

    def train(self) -> None:
        with self.engine.connect() as connection:
            examples = desk_examples(connection, self.compiled)
        model, _ = train(examples, "desk")
        model.save(self.root / self.compiled.definitions.project.ai.model_dir)


def triage_desk(tmp: Path, database_url: str, settings: str = "", files: dict[str, str] | None = None
                ) -> TriageDesk:
    root, compiled, engine = migrated_desk(tmp, database_url, settings, files=files)
    desk = TriageDesk(compiled, engine, TicketService(compiled, engine), root)
    desk.clear_triage_jobs()
    return desk
