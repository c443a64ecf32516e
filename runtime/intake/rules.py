"""The desk's enrichment rules (tessera.yaml ``intake.rules``) applied to a draft, in the order written.

A rule applies when every condition it gives holds: any of its keywords as a whole word or phrase (ignoring
case), its pattern found, the sender's domain among its domains, the channel among its channels. What it sets:

- the type, unless the channel fixed it, and only to a type the draft can become (its required fields filled);
  fields the new type does not have are dropped;
- the category and priority, unless the channel gave them: the sender's explicit choice outranks any rule. A
  later rule's value replaces an earlier rule's; a category the type at that point does not offer is skipped;
- tags, added to the channel's and earlier rules' tags.

Whatever a rule could not do is noted on the draft, as is a channel's category that the final type lacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from runtime.compile.desk import CompiledDesk
from runtime.config import ir
from runtime.intake.draft import Draft


@dataclass(frozen=True)
class CompiledRule:
    rule: ir.Rule
    keywords: re.Pattern[str] | None
    pattern: re.Pattern[str] | None

    def applies(self, draft: Draft, text: str) -> bool:
        rule = self.rule
        if rule.channels and draft.channel not in rule.channels:
            return False
        if rule.sender_domains and not _from_domain(draft.sender_email, rule.sender_domains):
            return False
        if self.keywords is not None and not self.keywords.search(text):
            return False
        return self.pattern is None or self.pattern.search(text) is not None


def _from_domain(address: str | None, domains: tuple[str, ...]) -> bool:
    domain = (address or "").rpartition("@")[2].lower()
    # A subdomain belongs to its domain: mail from eu.example.com is from example.com.
    return bool(domain) and any(domain == d or domain.endswith(f".{d}") for d in domains)


def keyword_regex(keywords: tuple[str, ...]) -> re.Pattern[str] | None:
    """Any of ``keywords`` as a whole word or phrase, whatever the case and the spacing between its words."""
    phrases = [r"\s+".join(re.escape(word) for word in keyword.split()) for keyword in keywords if keyword.strip()]
    if not phrases:
        return None
    return re.compile(rf"(?<!\w)(?:{'|'.join(phrases)})(?!\w)", re.IGNORECASE)


def compiled_rules(compiled: CompiledDesk) -> tuple[CompiledRule, ...]:
    def build() -> tuple[CompiledRule, ...]:
        return tuple(CompiledRule(rule, keyword_regex(rule.keywords),
                                  re.compile(rule.pattern) if rule.pattern else None)
                     for rule in compiled.definitions.project.intake.rules)

    return compiled.memo("intake.rules", build)


def _given(value: Any) -> bool:
    return value not in (None, "", [], ())


class RuleStage:
    def __init__(self, compiled: CompiledDesk) -> None:
        self.compiled = compiled
        self.rules = compiled_rules(compiled)

    def apply(self, draft: Draft) -> Draft:
        text = draft.text
        matching = [r.rule for r in self.rules if r.applies(draft, text)]
        if not matching:
            return draft
        explicit = {name for name, value in draft.payload.items() if _given(value)} - draft.inferred
        payload = dict(draft.payload)
        type_name = draft.ticket_type
        inferred, notes = set(draft.inferred), list(draft.notes)
        for rule in matching:
            if rule.set_type and rule.set_type != type_name and not draft.type_fixed:
                missing = self._missing_required(rule.set_type, payload)
                if missing:
                    notes.append(f"rule '{rule.name}' did not change the type to '{rule.set_type}': "
                                 f"{', '.join(missing)} required there")
                else:
                    type_name = rule.set_type
                    notes.extend(self._drop_unknown(type_name, payload, inferred, rule.name))
            if rule.set_category and "category" not in explicit:
                if rule.set_category in self._categories(type_name):
                    payload["category"] = rule.set_category
                    inferred.add("category")
                else:
                    notes.append(f"rule '{rule.name}' did not set category '{rule.set_category}': "
                                 f"not a category of type '{type_name}'")
            if rule.set_priority and "priority" not in explicit:
                payload["priority"] = rule.set_priority
                inferred.add("priority")
            if rule.set_tags:
                tags = list(payload.get("tags") or [])
                payload["tags"] = tags + [tag for tag in rule.set_tags if tag not in tags]
                inferred.add("tags")
        category = payload.get("category")
        if type_name != draft.ticket_type and _given(category) and category not in self._categories(type_name):
            # The ticket could not be created with it. A category wrong for the channel's own type is left for
            # creation to refuse: that is the channel's mistake, not something a rule brought about.
            del payload["category"]
            inferred.discard("category")
            notes.append(f"category '{category}' dropped: not a category of type '{type_name}'")
        return replace(draft, ticket_type=type_name, payload=payload, inferred=frozenset(inferred),
                       notes=tuple(notes), applied_rules=draft.applied_rules + tuple(r.name for r in matching))

    def _categories(self, type_name: str) -> tuple[str, ...]:
        desk = self.compiled.definitions
        ticket_type = desk.ticket_type(type_name)
        return ticket_type.categories if ticket_type and ticket_type.categories else \
            tuple(c.value for c in desk.categories)

    def _missing_required(self, type_name: str, payload: dict[str, Any]) -> list[str]:
        model = self.compiled.create_models[type_name]
        return [name for name, info in model.model_fields.items() if info.is_required() and name not in payload]

    def _drop_unknown(self, type_name: str, payload: dict[str, Any], inferred: set[str], rule: str) -> list[str]:
        known = self.compiled.create_models[type_name].model_fields
        dropped = [name for name in payload if name not in known]
        for name in dropped:
            del payload[name]
            inferred.discard(name)
        return [f"rule '{rule}' changed the type to '{type_name}', which has no field '{name}': dropped"
                for name in dropped]
