"""Turn a RawDoc into a Spec model, translating pydantic's errors into builder-facing ones."""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ValidationError

from runtime.config import spec
from runtime.config.errors import ConfigError, KeyPath, did_you_mean, one_of, show
from runtime.config.loader import RawDoc

ModelT = TypeVar("ModelT", bound=BaseModel)

PATTERN_MEANING = {
    spec.DURATION_PATTERN: ("a duration such as 15m, 4h, 3d or 1h30m", "units are w, d, h, m, s"),
    spec.ESCALATION_AT_PATTERN: (
        "a share of the target such as 80% or 100% + 1h, or an offset such as -30m",
        "write the percentage with a % sign; offsets use the units w, d, h, m, s",
    ),
    spec.HOURS_PATTERN: ("opening hours such as 08:00-12:00, 13:00-17:00", "use 24-hour HH:MM-HH:MM ranges"),
    spec.DATE_PATTERN: ("a date as YYYY-MM-DD", "write year, month and day, for example 2025-12-24"),
    spec.PREFIX_PATTERN: ("2 to 6 capital letters or digits, starting with a letter", "for example IT or EQ"),
}
LITERAL_NOUN = {"kind": "field kind", "category": "status category", "of": "list item kind",
                "metric": "SLA metric", "default_priority": "priority", "priorities": "priority",
                "strategy": "assignment strategy"}
KEY_NOUN = {"targets": "priority"}
# Mappings whose keys are the builder's names, so that a value is named after its mapping.
PARENT_NOUN = {"teams": "assignment strategy"}
EMPTY_HINT = "the value is empty; inside {…} a comma ends a value, so quote text that contains commas"
SHAPE_HINT = "a mapping is written as 'key: value' lines; a list as '- item' lines"
BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
          "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}


def _unwrap(tp: Any) -> Any:
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            members = [m for m in typing.get_args(tp) if m is not type(None)]
            if len(members) == 1:
                tp = members[0]
                continue
        return tp


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) in (typing.Union, types.UnionType)


def _tag_matches(member: Any, tag: str) -> bool:
    base = _unwrap(member)
    origin = typing.get_origin(base)
    if typing.get_origin(member) is typing.Annotated and tag.startswith("constrained-"):
        return True
    if origin is typing.Literal:
        return tag.startswith("literal[")
    if origin is not None:
        return tag.startswith(getattr(origin, "__name__", str(origin)))
    return tag == getattr(base, "__name__", None)


def _pattern(tp: Any) -> str | None:
    """The regex a (possibly optional, annotated) text type must match, if any."""
    while True:
        if typing.get_origin(tp) is typing.Annotated:
            for meta in typing.get_args(tp)[1:]:
                # Field(...) nested in Annotated keeps its constraints in its own metadata.
                for item in [meta, *getattr(meta, "metadata", [])]:
                    if isinstance(getattr(item, "pattern", None), str):
                        return str(item.pattern)
            tp = typing.get_args(tp)[0]
            continue
        members = [m for m in typing.get_args(tp) if m is not type(None)] if _is_union(tp) else []
        if len(members) != 1:
            return None
        tp = members[0]


def describe_type(tp: Any) -> str:
    """Say in plain words what kind of YAML value a type accepts."""
    if _is_union(tp):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        return " or ".join(dict.fromkeys(describe_type(m) for m in members))
    if typing.get_origin(tp) is typing.Annotated:
        pattern = _pattern(tp)
        if pattern in PATTERN_MEANING:
            return PATTERN_MEANING[pattern][0]
        return describe_type(typing.get_args(tp)[0])
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return one_of([str(a) for a in typing.get_args(tp)])
    if origin is dict:
        value = typing.get_args(tp)[1]
        return "a mapping of language to text" if value is str else "a mapping"
    if origin is list:
        return "a list"
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return "a mapping"
    return {str: "text", int: "a whole number", float: "a number", bool: "true or false"}.get(tp, "a value")


@dataclass
class _Located:
    path: KeyPath
    union_at: KeyPath | None
    at_key: bool
    tp: Any  # the type expected at the error, when known
    union_tp: Any


def _locate(model: type[BaseModel], loc: tuple[Any, ...]) -> _Located:
    tp: Any = model
    path: list[str | int] = []
    union_at: KeyPath | None = None
    union_tp: Any = None
    at_key = False
    key_type: Any = None
    for part in loc:
        if part == "[key]":
            at_key, tp = True, key_type
            continue
        if tp is None:
            path.append(part)
            continue
        tp = _unwrap(tp)
        if _is_union(tp):
            union_at, union_tp = tuple(path), tp
            members = [m for m in typing.get_args(tp) if _tag_matches(m, str(part))]
            tp = members[0] if members else None
            continue
        origin = typing.get_origin(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            path.append(part)
            fields = {(f.alias or name): f for name, f in tp.model_fields.items()}
            field = fields.get(part)
            # Constraints given with Field(...) live beside the annotation; keep them for the messages.
            tp = None if field is None else Annotated[(field.annotation, *field.metadata)] if field.metadata \
                else field.annotation
        elif origin is dict:
            path.append(part)
            key_type, tp = typing.get_args(tp)
        elif origin is list:
            path.append(part)
            tp = typing.get_args(tp)[0]
        else:
            path.append(part)
            tp = None
    return _Located(tuple(path), union_at, at_key, tp, union_tp)


def _model_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    located = _locate(model, loc)
    parent = _unwrap(located.tp) if located.tp is not None else None
    if isinstance(parent, type) and issubclass(parent, BaseModel):
        return [(f.alias or name) for name, f in parent.model_fields.items()]
    return []


def _type_hint(tp: Any, value: Any) -> str | None:
    """What to change when a value has the wrong YAML type, judged from what was expected and found."""
    if value is None:
        return EMPTY_HINT
    pattern = _pattern(tp)
    if pattern in PATTERN_MEANING:
        return PATTERN_MEANING[pattern][1]
    base = _unwrap(tp)
    shaped = typing.get_origin(base) in (dict, list) or (isinstance(base, type) and issubclass(base, BaseModel))
    if shaped or isinstance(value, (dict, list)):
        return SHAPE_HINT
    if base is bool and isinstance(value, str):
        return "write true or false without quotes"
    if base in (int, float) and isinstance(value, str):
        return "write the number without quotes"
    if base is str and isinstance(value, (int, float, bool)):
        return "put it in quotes to make it text"
    return None


def _translate(doc: RawDoc, model: type[BaseModel], err: Any, located: _Located) -> ConfigError:
    kind, value, path = err["type"], err.get("input"), located.path
    line, col = doc.position(path, at_key=located.at_key or kind == "extra_forbidden")

    def make(message: str, **extra: str | None) -> ConfigError:
        return ConfigError(doc.file, line, col, path, message, **extra)

    if kind == "extra_forbidden":
        allowed = _model_keys(model, tuple(err["loc"][:-1]))
        return make(f"unknown key '{path[-1]}'", expected=one_of(allowed, limit=20),
                    found=f"'{path[-1]}'", hint=did_you_mean(path[-1], allowed) or "remove it")
    if kind == "missing":
        return make(f"required key '{path[-1]}' is missing", expected=f"a '{path[-1]}' entry",
                    hint=f"add '{path[-1]}:' to this mapping")
    if kind == "literal_error":
        allowed = [str(a) for a in typing.get_args(_unwrap(located.tp))] if located.tp else []
        # An item of a list is named after the list: priorities[1] → "priority".
        key = next((p for p in reversed(path) if isinstance(p, str)), "")
        noun = LITERAL_NOUN.get(key) or PARENT_NOUN.get(str(path[-2]) if len(path) > 1 else "", "value")
        if located.at_key:
            noun = KEY_NOUN.get(str(path[-2]), "key") if len(path) > 1 else "key"
        return make(f"{show(value)} is not a valid {noun}", expected=one_of(allowed, limit=20),
                    found=show(value), hint=did_you_mean(value, allowed))
    if kind == "string_pattern_mismatch":
        expected, hint = PATTERN_MEANING.get(err["ctx"]["pattern"], (f"text matching {err['ctx']['pattern']}", None))
        return make("invalid format", expected=expected, found=show(value), hint=hint)
    if kind.endswith("_type") or kind in ("model_attributes_type",):
        if located.tp is None:
            return make("wrong type of value", expected=err["msg"], found=show(value),
                        hint=EMPTY_HINT if value is None else None)
        return make("wrong type of value", expected=describe_type(located.tp), found=show(value),
                    hint=_type_hint(located.tp, value))
    if kind in BOUNDS:
        bound, words = BOUNDS[kind]
        return make("number out of range", expected=f"{words} {err['ctx'][bound]}", found=show(value))
    if kind == "too_short":
        limit, actual = err["ctx"]["min_length"], err["ctx"]["actual_length"]
        return make("too few items", expected=f"at least {limit} item{'s' * (limit != 1)}",
                    found="an empty list" if actual == 0 else f"{actual} items")
    return make(err["msg"][0].lower() + err["msg"][1:], found=show(value))


def _merge_unions(doc: RawDoc, model: type[BaseModel], errs: list[tuple[Any, _Located]]) -> list[ConfigError]:
    """Report one error per union: the branch that matched the input's shape, else one mismatch."""
    plain = [(e, loc) for e, loc in errs if loc.union_at is None]
    by_union: dict[KeyPath, list[tuple[Any, _Located]]] = {}
    for e, loc in errs:
        if loc.union_at is not None:
            by_union.setdefault(loc.union_at, []).append((e, loc))
    result = [_translate(doc, model, e, loc) for e, loc in plain]
    for union_at, group in by_union.items():
        deeper = [(e, loc) for e, loc in group if len(loc.path) > len(union_at) or loc.at_key]
        if deeper:
            result.extend(_translate(doc, model, e, loc) for e, loc in deeper)
            continue
        value = group[0][0].get("input")
        line, col = doc.position(union_at)
        result.append(ConfigError(doc.file, line, col, union_at, "wrong type of value",
                                  expected=describe_type(group[0][1].union_tp), found=show(value)))
    return result


def parse_doc(doc: RawDoc, model: type[ModelT]) -> ModelT | list[ConfigError]:
    """Validate ``doc`` against ``model``; on failure return every error found, translated."""
    if not isinstance(doc.data, dict):
        return [ConfigError(doc.file, 1, 1, (), "the document must be a mapping", expected="a mapping of keys",
                            found=show(doc.data), hint="remove the leading '- ' if the file starts with a list")]
    try:
        return model.model_validate(doc.data)
    except ValidationError as exc:
        located = [(err, _locate(model, err["loc"])) for err in exc.errors()]
        return _merge_unions(doc, model, located)
