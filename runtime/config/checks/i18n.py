"""Labels and help texts: only declared languages, and always the desk's default language."""

from __future__ import annotations

from collections.abc import Iterator

from runtime.config import ir
from runtime.config.checks import Problem
from runtime.config.errors import did_you_mean, one_of


def check(desk: ir.Desk) -> Iterator[Problem]:
    project = desk.project
    languages = list(project.languages)
    if project.default_language not in languages:
        yield Problem(project.src.at("default_language"), "default language is not among the languages",
                      expected=one_of(languages), found=f"'{project.default_language}'",
                      hint=f"add '{project.default_language}' to languages or pick one of them")
        return
    for labels, src in desk.label_sources:
        written = [lang for lang, _ in labels]
        for lang in written:
            if lang not in languages:
                yield Problem(src.at(lang), "text in an undeclared language", expected=one_of(languages),
                              found=f"'{lang}'", hint=did_you_mean(lang, languages)
                              or f"add '{lang}' to languages in tessera.yaml", at_key=True)
        if len(written) > 1 and project.default_language not in written:
            yield Problem(src, f"text lacks the default language '{project.default_language}'",
                          expected=f"an entry for '{project.default_language}'", found=", ".join(written),
                          hint="the default language is the fallback for every reader", at_key=True)
