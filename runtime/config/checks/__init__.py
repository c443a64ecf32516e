"""Semantic checks on the IR: each module covers one family of rules and yields Problems."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from runtime.config import ir


@dataclass(frozen=True)
class Problem:
    """A check's finding; the desk loader turns ``src`` into file, line and column."""

    src: ir.Src
    message: str
    expected: str | None = None
    found: str | None = None
    hint: str | None = None
    at_key: bool = False


def run_checks(desk: ir.Desk) -> list[Problem]:
    """Every rule family, all findings together (no check stops the others)."""
    from runtime.config.checks import ai, assignment, fields, i18n, intake, mail, names, sla, types, values, workflows
    from runtime.config.checks import canned as canned_responses

    problems: list[Problem] = []
    for family in (names, fields, types, workflows, values, sla, mail, intake, assignment, ai, canned_responses, i18n):
        found: Iterator[Problem] = family.check(desk)
        problems.extend(found)
    return problems
