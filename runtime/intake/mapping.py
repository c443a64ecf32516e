"""Values out of a JSON payload, as tessera.yaml writes them: a dotted path (``alert.summary``, ``items.0.id``)
or a Jinja2 template over ``payload`` and ``headers``.

Templates run in Jinja2's sandbox: they come from the builder, but the payload they read comes from outside.
A template that is one expression (``{{ ['monitoring', payload.alert.host] }}``) gives its value as it is — a
list stays a list, a number a number; anything else renders to text. Missing keys inside a template are
undefined (``payload.alert.details or payload.alert.summary`` works) and come out as None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

import jinja2
import jinja2.nodes
import jinja2.sandbox

from runtime.config.checks.intake import is_template
from runtime.intake.outcome import Unprocessable

Evaluate = Callable[[Any, Mapping[str, str]], Any]
_ENV = jinja2.sandbox.ImmutableSandboxedEnvironment(undefined=jinja2.ChainableUndefined, autoescape=False)


class MappingError(Unprocessable):
    """The payload does not give what the mapping asks of it."""


class Missing(MappingError):
    """A dotted path leads nowhere in this payload."""


def _plain(value: Any) -> Any:
    """Undefined becomes None and tuples lists, at any depth, so the value is what JSON could have held."""
    if isinstance(value, jinja2.Undefined):
        return None
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _walk(payload: Any, path: str) -> Any:
    value = payload
    walked: list[str] = []
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            where = f"'{'.'.join(walked)}'" if walked else "the payload"
            msg = f"'{path}' is not in the payload (no '{part}' in {where})"
            raise Missing(msg)
        walked.append(part)
    return value


def _single_expression(text: str) -> str | None:
    """The expression inside ``{{ … }}`` when that is the whole template, else None."""
    stripped = text.strip()
    try:
        body = _ENV.parse(stripped).body
    except jinja2.TemplateSyntaxError:
        return None
    if len(body) != 1 or not isinstance(body[0], jinja2.nodes.Output) or len(body[0].nodes) != 1:
        return None
    if isinstance(body[0].nodes[0], jinja2.nodes.TemplateData):
        return None
    inner = stripped[2:-2]
    # Whitespace control marks ({{- … -}}) belong to the delimiters, not to the expression.
    if inner.startswith(("-", "+")):
        inner = inner[1:]
    if inner.endswith(("-", "+")):
        inner = inner[:-1]
    return inner


@lru_cache(maxsize=512)
def compile_value(text: str) -> Evaluate:
    """A function of (payload, headers) giving the value ``text`` stands for; built once per text."""
    if not is_template(text):
        return lambda payload, _headers: _walk(payload, text)
    expression = _single_expression(text)
    if expression is not None:
        try:
            compiled = _ENV.compile_expression(expression, undefined_to_none=False)
        except jinja2.TemplateSyntaxError:
            pass
        else:
            return lambda payload, headers: _plain(compiled(payload=payload, headers=headers))
    template = _ENV.from_string(text)
    return lambda payload, headers: template.render(payload=payload, headers=headers)


def evaluate(where: str, text: str, payload: Any, headers: Mapping[str, str]) -> Any:
    """The value of ``text`` for this payload; a failure names ``where`` (``fields.title``) and why."""
    try:
        return compile_value(text)(payload, headers)
    except Missing as exc:
        msg = f"{where}: {exc}"
        raise Missing(msg) from None
    except jinja2.TemplateError as exc:
        msg = f"{where}: the template '{text}' failed: {type(exc).__name__}: {exc}"
        raise MappingError(msg) from exc
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        msg = f"{where}: the template '{text}' failed on this payload: {type(exc).__name__}: {exc}"
        raise MappingError(msg) from exc
