"""AI settings: the ``llm`` provider needs its endpoint, and every template the settings name must exist and parse.

Templates are files beside the desk, so their check needs the desk's folder (``files``); the rest reads the IR."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jinja2
import jinja2.sandbox

from runtime.config import ir
from runtime.config.checks import Problem


def check(desk: ir.Desk) -> Iterator[Problem]:
    ai = desk.project.ai
    src = ai.src or desk.project.src.at("ai")
    if ai.provider == "llm" and ai.llm is None:
        yield Problem(src.at("provider"), "the llm provider needs its endpoint", found="provider: llm",
                      hint="add ai.llm: {base_url: …, model: …}, or use provider: local")


def files(desk: ir.Desk, root: Path) -> Iterator[Problem]:
    ai = desk.project.ai
    src = ai.src or desk.project.src.at("ai")
    named: list[tuple[ir.Src, str]] = []
    if ai.reply_template:
        named.append((src.at("reply_template"), ai.reply_template))
    if ai.llm:
        named += [(src.at("llm", "prompts", purpose), path) for purpose, path in ai.llm.prompts]
    for at, name in named:
        path = root / name
        if not path.is_file():
            yield Problem(at, "no such template file", found=f"'{name}'",
                          hint=f"create {name} (relative to tessera.yaml) or remove the setting")
            continue
        try:
            jinja2.sandbox.SandboxedEnvironment().parse(path.read_text(encoding="utf-8"))
        except (jinja2.TemplateSyntaxError, UnicodeDecodeError) as exc:
            line = f" (line {exc.lineno})" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            yield Problem(at, f"the template does not parse{line}: {exc}", found=f"'{name}'",
                          hint="fix the Jinja2 syntax")
