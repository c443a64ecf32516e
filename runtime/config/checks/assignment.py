"""Assignment settings: the skills a category adds must belong to a category the desk has, and be real words.

Team names are not checked: teams are rows of the database, so a strategy for a team not (yet) created is simply
unused until it is."""

from __future__ import annotations

from collections.abc import Iterator

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.errors import did_you_mean, one_of


def check(desk: ir.Desk) -> Iterator[Problem]:
    settings = desk.project.assignment
    src = settings.src or desk.project.src.at("assignment")
    categories = [c.value for c in desk.categories]
    for category, skills in settings.category_skills:
        at = src.at("category_skills", category)
        if category not in categories:
            yield Problem(at, "not a category of the desk", found=f"'{category}'",
                          expected=one_of(categories) if categories else "a category of ticket_types/_master.yaml",
                          hint=did_you_mean(category, categories) or "declare it in ticket_types/_master.yaml",
                          at_key=True)
        if not skills:
            yield Problem(at, "no skills listed", hint="list the skills its tickets need, or remove the entry")
        for index, skill in enumerate(skills):
            if not skill.strip():
                yield Problem(at.at(index), "empty skill", hint="remove it: no agent could have it")
