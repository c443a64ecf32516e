"""Enrichment rules on drafts from every channel: conditions, order, type changes, and the channel's own values."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from runtime.compile.desk import CompiledDesk, load_compiled
from runtime.intake.draft import Draft
from runtime.intake.enrich import Enricher
from runtime.intake.rules import RuleStage
from tests.desk_fixtures import copy_shipped_desk
from tests.intake.mail_fixtures import intake_desk, mail

RULES: list[dict[str, Any]] = [
    {"name": "printers", "keywords": ["printer", "paper jam"], "set": {"category": "hardware", "tags": ["print"]}},
    {"name": "urgent", "pattern": r"(?i)\burgent\b", "set": {"priority": "P1", "tags": ["urgent"]}},
    {"name": "toner", "keywords": ["toner"], "set": {"category": "software", "priority": "P3"}},
    {"name": "partner", "sender_domains": ["partner.example.com"], "set": {"priority": "P0", "tags": ["partner"]}},
    {"name": "web forms", "channels": ["form"], "set": {"tags": ["web"]}},
    {"name": "refunds", "keywords": ["refund"], "set": {"type": "customer_complaint", "category": "billing"}},
    {"name": "badges", "keywords": ["badge"], "set": {"type": "admin_request"}},
    {"name": "wifi", "keywords": ["wifi"], "set": {"category": "network"}},
]


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> CompiledDesk:
    root = copy_shipped_desk(tmp_path_factory.mktemp("rules") / "desk")
    yaml = YAML()
    project = yaml.load(root / "tessera.yaml")
    project["intake"]["rules"] = RULES
    yaml.dump(project, root / "tessera.yaml")
    return load_compiled(root)


def enriched(compiled: CompiledDesk, text: str, *, title: str = "Help", channel: str = "email",
             ticket_type: str = "it_support", sender: str | None = "maria@example.org", **extra: Any) -> Draft:
    draft = Draft(channel, ticket_type, {"title": title, "description": text, **extra.pop("payload", {})},
                  sender_email=sender, **extra)
    return RuleStage(compiled).apply(draft)


def test_a_keyword_rule_sets_category_and_tags_and_is_recorded(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "The Printer on floor 2 is out of order.")
    assert draft.payload["category"] == "hardware"
    assert draft.payload["tags"] == ["print"]
    assert "priority" not in draft.payload
    assert draft.applied_rules == ("printers",)
    assert draft.inferred == {"category", "tags"}


def test_keywords_match_whole_words_and_phrases_whatever_the_case_and_spacing(compiled: CompiledDesk) -> None:
    assert enriched(compiled, "A PAPER\n  JAM again").applied_rules == ("printers",)
    assert enriched(compiled, "all printers", title="reprinter").applied_rules == ()
    assert enriched(compiled, "text", title="printer broken").applied_rules == ("printers",)


def test_a_later_rule_wins_and_tags_accumulate(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "URGENT: the printer needs toner")
    assert draft.applied_rules == ("printers", "urgent", "toner")
    assert (draft.payload["category"], draft.payload["priority"]) == ("software", "P3")
    assert draft.payload["tags"] == ["print", "urgent"]


def test_a_sender_domain_rule_applies_to_the_domain_and_its_subdomains_only(compiled: CompiledDesk) -> None:
    assert enriched(compiled, "hello there", sender="ann@Partner.Example.com").payload.get("priority") == "P0"
    assert enriched(compiled, "hello there", sender="ann@eu.partner.example.com").payload.get("tags") == ["partner"]
    assert enriched(compiled, "hello there", sender="ann@notpartner.example.com").applied_rules == ()
    assert enriched(compiled, "hello there", sender=None).applied_rules == ()


def test_a_channel_rule_applies_to_its_channel_only(compiled: CompiledDesk) -> None:
    assert enriched(compiled, "hello there", channel="form").payload.get("tags") == ["web"]
    assert enriched(compiled, "hello there", channel="email").applied_rules == ()


def test_a_rule_changes_the_type_with_a_category_of_the_new_type(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "I want a refund")
    assert (draft.ticket_type, draft.payload["category"]) == ("customer_complaint", "billing")
    assert draft.notes == ()


def test_a_type_change_drops_a_category_and_fields_the_new_type_lacks(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "Refund for the laptop", channel="webhook",
                     payload={"category": "network", "asset_number": "LT-004711", "impact": "team"})
    assert draft.ticket_type == "customer_complaint"
    assert "category" not in draft.payload  # the channel's, set before; the rule's billing yields to it
    assert "asset_number" not in draft.payload
    assert draft.payload["impact"] == "team"  # a master field: every type has it
    assert draft.notes == (
        "rule 'refunds' changed the type to 'customer_complaint', which has no field 'asset_number': dropped",
        "category 'network' dropped: not a category of type 'customer_complaint'")
    compiled.create_models[draft.ticket_type].model_validate(draft.payload)


def test_a_rule_does_not_set_a_category_its_type_lacks(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "the wifi in the shop", ticket_type="customer_complaint")
    assert "category" not in draft.payload
    assert draft.applied_rules == ("wifi",)
    assert draft.notes == ("rule 'wifi' did not set category 'network': not a category of type "
                           "'customer_complaint'",)


def test_a_type_whose_required_fields_the_draft_lacks_is_not_taken(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "my badge is lost")
    assert draft.ticket_type == "it_support"
    assert draft.notes == ("rule 'badges' did not change the type to 'admin_request': request_kind required there",)


def test_the_channels_explicit_values_win_over_rules(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "urgent: printer toner", channel="webhook",
                     payload={"priority": "P2", "category": "access", "tags": ["monitoring"]})
    assert (draft.payload["priority"], draft.payload["category"]) == ("P2", "access")
    assert draft.payload["tags"] == ["monitoring", "print", "urgent"]
    assert draft.inferred == {"tags"}


def test_a_fixed_type_stays_and_the_rules_category_for_another_type_is_skipped(compiled: CompiledDesk) -> None:
    draft = enriched(compiled, "refund please", channel="form", type_fixed=True)
    assert draft.ticket_type == "it_support"
    assert "category" not in draft.payload
    assert draft.payload["tags"] == ["web"]


def test_a_later_stage_sees_what_rules_inferred_and_language_comes_last(compiled: CompiledDesk) -> None:
    seen: list[frozenset[str]] = []

    class Classifier:
        def apply(self, draft: Draft) -> Draft:
            seen.append(draft.inferred)
            return draft

    draft = Enricher(compiled, [Classifier()]).apply(Draft(
        "email", "it_support", {"title": "Printer", "description": "The printer on the second floor does not "
                                "print since this morning.\n\n-- \nMaria Lopez\nNorthwind"}))
    assert seen == [frozenset({"category", "tags"})]
    assert draft.payload["language"] == "en"
    assert draft.inferred == {"category", "tags", "language"}


def test_a_given_language_is_kept(compiled: CompiledDesk) -> None:
    draft = Enricher(compiled).apply(Draft("webhook", "it_support", {
        "title": "Drucker", "description": "Der Drucker druckt seit heute Morgen nicht mehr.", "language": "en"}))
    assert draft.payload["language"] == "en"


def test_the_shipped_rules_enrich_a_mailed_ticket(tmp_path: Path, database_url: str) -> None:
    intake = intake_desk(tmp_path, database_url)
    outcome = intake.deliver(mail(subject="VPN down for everyone",
                                  body="Nobody in the Hamburg office can connect to the VPN since 9:00."))
    assert outcome.kind == "ticket"
    assert outcome.ticket_id is not None
    ticket = intake.ticket(outcome.ticket_id)
    assert (ticket["category"], ticket["priority"], ticket["language"]) == ("network", "P1", "en")
    [row] = intake.rows("intake_messages")
    assert row["metadata"]["rules"] == ["network words", "outage"]
