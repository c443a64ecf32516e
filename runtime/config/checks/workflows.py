"""Workflows: states and transitions that exist, every state reachable, known roles and fields."""

from __future__ import annotations

from collections.abc import Iterator

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.core_columns import CORE_COLUMNS
from runtime.config.errors import did_you_mean, one_of

BUILTIN_ROLES = ("requester", "system")
UNDECLARED_STATE = "declare the state under 'states:' first"


def _reachable(workflow: ir.Workflow) -> set[str]:
    names = {s.name for s in workflow.states}
    seen = {workflow.initial}
    frontier = [workflow.initial]
    while frontier:
        current = frontier.pop()
        for transition in workflow.transitions:
            leaves = current in transition.sources or "*" in transition.sources
            if leaves and transition.target not in seen and transition.target in names:
                seen.add(transition.target)
                frontier.append(transition.target)
    return seen


def _structure(workflow: ir.Workflow, roles: list[str]) -> Iterator[Problem]:
    states = [s.name for s in workflow.states]
    if workflow.initial not in states:
        yield Problem(workflow.src.at("initial"), "initial names an unknown state", expected=one_of(states),
                      found=f"'{workflow.initial}'", hint=did_you_mean(workflow.initial, states) or UNDECLARED_STATE)
    for transition in workflow.transitions:
        for index, source in enumerate(transition.sources):
            if source != "*" and source not in states:
                path = ("from",) if len(transition.sources) == 1 else ("from", index)
                yield Problem(transition.src.at(*path), "transition from an unknown state", expected=one_of(states),
                              found=f"'{source}'", hint=did_you_mean(source, states) or UNDECLARED_STATE)
        if transition.target not in states:
            yield Problem(transition.src.at("to"), "transition to an unknown state", expected=one_of(states),
                          found=f"'{transition.target}'",
                          hint=did_you_mean(transition.target, states) or UNDECLARED_STATE)
        for index, role in enumerate(transition.roles):
            if role not in roles:
                yield Problem(transition.src.at("roles", index), "unknown role", expected=one_of(roles),
                              found=f"'{role}'", hint=did_you_mean(role, roles) or "declare roles in tessera.yaml")
    yield from _event_problems(workflow, states)
    if workflow.initial in states:
        reachable = _reachable(workflow)
        for state in workflow.states:
            if state.name not in reachable:
                yield Problem(state.src, "state cannot be reached from the initial state",
                              expected=f"a transition leading to '{state.name}'", found="none",
                              hint="add a transition to it or remove the state", at_key=True)
    if not any(s.category in ("resolved", "closed") for s in workflow.states):
        yield Problem(workflow.src.at("states"), "workflow has no resolved or closed state",
                      expected="at least one state with category resolved or closed", found="only open or paused",
                      hint="tickets must be able to end; add e.g. 'closed: {category: closed}'", at_key=True)


def _field_references(workflow: ir.Workflow, users: list[ir.TicketType], desk: ir.Desk) -> Iterator[Problem]:
    master = [*CORE_COLUMNS, *(f.name for f in desk.master_fields)]
    for ticket_type in users:
        known = [*master, *(f.name for f in ticket_type.fields)]
        for transition in workflow.transitions:
            refs: list[tuple[str, str | int, str]] = [("requires", i, n) for i, n in enumerate(transition.requires)]
            refs += [("when", n, n) for n, _ in transition.when] + [("set", n, n) for n, _ in transition.updates]
            for key, where, name in refs:
                if name not in known:
                    verb = {"requires": "requires", "when": "tests", "set": "sets"}[key]
                    yield Problem(transition.src.at(key, where), f"transition {verb} an unknown field",
                                  expected=f"a field of ticket type '{ticket_type.name}'", found=f"'{name}'",
                                  hint=did_you_mean(name, known) or f"declare '{name}' in {ticket_type.src.file}",
                                  at_key=key != "requires")


def _event_problems(workflow: ir.Workflow, states: list[str]) -> Iterator[Problem]:
    """One transition per event and state: a reply must lead to one place."""
    taken: dict[tuple[str, str], str] = {}
    for transition in workflow.transitions:
        for event in transition.on:
            sources = states if "*" in transition.sources else transition.sources
            for source in sources:
                other = taken.setdefault((event, source), transition.name)
                if other != transition.name:
                    yield Problem(transition.src.at("on"), f"two transitions run on {event} from state '{source}'",
                                  found=f"'{other}' and '{transition.name}'",
                                  hint=f"leave '{source}' out of one of them: the event must lead to one state")


def check(desk: ir.Desk) -> Iterator[Problem]:
    roles = [*desk.project.roles, *BUILTIN_ROLES]
    for workflow in desk.workflows:
        yield from _structure(workflow, roles)
        users = [t for t in desk.types if t.workflow == workflow.name]
        yield from _field_references(workflow, users, desk)
