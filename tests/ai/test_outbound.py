"""The outbound check: each kind of secret blocks a reply and is shown masked; ordinary support wording passes;
hostile wording and shouting warn."""

from __future__ import annotations

import pytest

from runtime.ai.outbound import check_reply


@pytest.mark.parametrize(("text", "kind", "secret"), [
    ("Your new password is Summer2026! Please change it.", "password", "Summer2026!"),
    ("Passwort: Geheim#1", "password", "Geheim#1"),
    ("PIN: 4711", "password", "4711"),
    ("api_key = 9f8e7d6c5b4a", "password", "9f8e7d6c5b4a"),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "private_key", "b3BlbnNzaC1rZXktdjEAAAAA"),
    ("Use AKIAIOSFODNN7EXAMPLE for uploads", "api_key", "AKIAIOSFODNN7EXAMPLE"),
    ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789", "api_key", "ghp_abcdefghijklmnopqrstuvwxyz0123456789"),
    ("Slack: xoxb-123456789012-abcdefghij", "api_key", "xoxb-123456789012-abcdefghij"),
    ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "api_key", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    ("key sk-proj-abcdefghijklmnopqrstuvwx", "api_key", "sk-proj-abcdefghijklmnopqrstuvwx"),
    ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U", "token",
     "eyJzdWIiOiIxMjM0NTY3ODkwIn0"),
    ("connect to postgres://admin:hunter22@db.example.org/app", "password", "hunter22"),
    ("We charged card 4111 1111 1111 1111 twice.", "card_number", "4111 1111 1111 1111"),
    ("Card 5500-0000-0000-0004 was declined", "card_number", "5500-0000-0000-0004"),
])
def test_each_kind_of_secret_blocks_and_is_never_echoed(text: str, kind: str, secret: str) -> None:
    check = check_reply(text)
    assert check.blocked
    assert [f.kind for f in check.findings] == [kind]
    shown = str(check.as_json())
    assert secret not in shown
    assert secret.replace(" ", "").replace("-", "") not in shown


@pytest.mark.parametrize("text", [
    "Your password is expired, please reset it with the link in the portal.",
    "Your ticket number is IT-000123 and the order 1234567890123 is on its way.",
    "Please restart the laptop and sign in again; the token will refresh by itself.",
    "Invoice 4111 1111 1111 1112 is attached.",  # sixteen digits that fail the Luhn check
    "Call us on +49 30 1234567 between 8:00 and 18:00.",
])
def test_ordinary_support_wording_passes(text: str) -> None:
    check = check_reply(text)
    assert not check.blocked, check.findings
    assert check.warnings == ()


def test_hostile_wording_and_shouting_warn_but_do_not_block() -> None:
    rude = check_reply("Read the manual. This is not our problem, stop complaining.")
    assert not rude.blocked
    assert [w.excerpt for w in rude.warnings] == ["Read the manual", "not our problem", "stop complaining"]
    shouting = check_reply("PLEASE STOP SENDING THESE REQUESTS")
    assert [w.message for w in shouting.warnings] == ["shouting: several words in capitals"]
    assert check_reply("Sie sind selbst schuld.").warnings[0].excerpt == "selbst schuld"
