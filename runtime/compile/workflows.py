"""IR workflows → state machines built with ``transitions``, every guard resolved now, not when it fires.

``auto_transitions`` is off, so a ticket moves only along the transitions the YAML declares. Guards are
plain data (roles, required fields, conditions) checked by ``blockers``, which says why a transition
is refused; the machine then performs the move.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from transitions import Machine

from runtime.config import ir


@dataclass(frozen=True)
class CompiledTransition:
    name: str
    sources: frozenset[str]
    target: str
    roles: frozenset[str]  # empty: any agent role
    requires: tuple[str, ...]
    conditions: tuple[tuple[str, Any], ...]  # (field, 'set' | 'empty' | value)
    updates: tuple[tuple[str, Any], ...]
    label: ir.Labels
    after: int | None = None
    unless: tuple[str, ...] = ()
    on: tuple[str, ...] = ()

    def blockers(self, ticket: dict[str, Any], roles: frozenset[str]) -> list[str]:
        """Why this transition may not run now for someone with ``roles``; empty when it may."""
        reasons = []
        if self.roles and not roles & self.roles and "system" not in roles:
            reasons.append(f"needs one of the roles {', '.join(sorted(self.roles))}")
        elif not self.roles and roles <= {"requester"}:
            reasons.append("only agents may do this")
        reasons += [f"field '{name}' must be set first" for name in self.requires if _empty(ticket.get(name))]
        for name, expected in self.conditions:
            value = ticket.get(name)
            if (expected == "set" and _empty(value)) or (expected == "empty" and not _empty(value)):
                reasons.append(f"field '{name}' must be {expected}")
            elif expected not in ("set", "empty") and value != expected:
                reasons.append(f"field '{name}' must be {expected!r}")
        return reasons


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == []


class _Ticket:
    """The object ``transitions`` moves; one per call, so machines are shared safely between threads."""

    state: str


@dataclass(frozen=True)
class CompiledWorkflow:
    name: str
    initial: str
    categories: dict[str, str]  # state → status category
    transitions: dict[str, CompiledTransition]
    machine: Machine

    def allowed(self, state: str, ticket: dict[str, Any], roles: frozenset[str]) -> list[CompiledTransition]:
        """The transitions this user could run from ``state`` now, in declared order."""
        return [t for t in self.transitions.values()
                if (state in t.sources) and not t.blockers(ticket, roles)]

    def on_event(self, event: str, state: str) -> CompiledTransition | None:
        """The transition ``event`` runs from ``state`` (the checks allow at most one per state)."""
        return next((t for t in self.transitions.values() if event in t.on and state in t.sources), None)

    def move(self, state: str, transition: str) -> str:
        """The state after ``transition`` from ``state``; raises ValueError when the workflow has no such move."""
        if not self.machine.get_transitions(transition, state):
            msg = f"transition '{transition}' does not leave state '{state}'"
            raise ValueError(msg)
        ticket = _Ticket()
        self.machine.add_model(ticket, initial=state)
        try:
            ticket.trigger(transition)  # type: ignore[attr-defined]
        finally:
            self.machine.remove_model(ticket)
        return ticket.state


def compile_workflow(workflow: ir.Workflow) -> CompiledWorkflow:
    states = [s.name for s in workflow.states]
    compiled: dict[str, CompiledTransition] = {}
    machine_transitions = []
    for t in workflow.transitions:
        sources = frozenset(states if "*" in t.sources else t.sources)
        compiled[t.name] = CompiledTransition(
            name=t.name, sources=sources, target=t.target, roles=frozenset(t.roles), requires=t.requires,
            conditions=t.when, updates=t.updates, label=t.label, after=t.after, unless=t.unless, on=t.on,
        )
        machine_transitions.append({"trigger": t.name, "source": sorted(sources), "dest": t.target})
    machine = Machine(model=None, states=states, transitions=machine_transitions, initial=workflow.initial,
                      auto_transitions=False, ignore_invalid_triggers=False)
    return CompiledWorkflow(workflow.name, workflow.initial, {s.name: s.category for s in workflow.states},
                            compiled, machine)
