"""The check every public reply passes before it leaves: secrets block it, a hostile tone warns.

Secrets are recognised by shape, never by a model: private key blocks, the fixed prefixes of common API keys and
tokens (AWS, GitHub, Slack, Stripe, Google, OpenAI-style ``sk-``), JSON Web Tokens, URLs with a password in them,
card numbers (13–19 digits that pass the Luhn check), and a password, PIN or key "is/:/=" a value that looks like
one (with a digit or a sign in it, so "your password is expired" passes). A finding names the kind and where it
is, and shows only the first characters of what it found: the check must not itself spread the secret (its
answer is logged, shown and stored).

Tone is a warning only: phrases that insult or dismiss the requester, and shouting in capitals. An agent may
have reasons; the draft is theirs.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

_SHAPE_TEXTS = (
    ("private_key", "a private key", r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    ("api_key", "an AWS access key", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    ("api_key", "a GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{40,})\b"),
    ("api_key", "a Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    ("api_key", "a Stripe key", r"\b(?:sk|rk|pk)_(?:live|test)_[0-9A-Za-z]{16,}\b"),
    ("api_key", "a Google API key", r"\bAIza[0-9A-Za-z_-]{35}\b"),
    ("api_key", "an API key", r"\bsk-[A-Za-z0-9_-]{20,}\b"),
    ("token", "a JSON Web Token", r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    ("password", "a password in a URL", r"\b[a-z][a-z0-9+.-]*://[^\s:/@]+:[^\s@/]{3,}@"),
)
SHAPES = tuple((kind, words, re.compile(pattern)) for kind, words, pattern in _SHAPE_TEXTS)
_LABELLED = re.compile(
    r"(?i)\b(password|passwort|kennwort|passcode|passwd|pwd|pin|api[ _-]?key|secret|token|zugangscode)\b"
    r"(?:\s+(?:is|ist|lautet|wird))?\s*(?:[:=]|\bis\b|\bist\b|\blautet\b)?\s*[\"'“„]?(?P<value>[^\s\"'”“]{4,})")
_CARD = re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])")
HOSTILE = ("idiot", "idiots", "stupid", "moron", "dumb", "shut up", "your own fault", "your fault",
           "not our problem", "not my problem", "deal with it", "stop complaining", "stop whining", "incompetent",
           "pathetic", "ridiculous question", "learn to read", "read the manual", "rtfm", "whatever you want",
           "dummkopf", "blöd", "dumm", "selbst schuld", "ihr problem", "nicht unser problem", "lernen sie lesen",
           "hören sie auf zu jammern")
_HOSTILE = re.compile(r"(?i)(?<!\w)(" + "|".join(re.escape(p) for p in sorted(HOSTILE, key=len, reverse=True))
                      + r")(?!\w)")
_SHOUT = re.compile(r"\b[A-ZÄÖÜ]{4,}\b")


@dataclass(frozen=True)
class Finding:
    kind: str
    message: str
    excerpt: str  # the first characters only, the rest masked
    start: int
    end: int


@dataclass(frozen=True)
class Check:
    findings: tuple[Finding, ...]  # each one blocks
    warnings: tuple[Finding, ...]

    @property
    def blocked(self) -> bool:
        return bool(self.findings)

    def as_json(self) -> dict[str, Any]:
        return {"blocked": self.blocked, "findings": [asdict(f) for f in self.findings],
                "warnings": [asdict(w) for w in self.warnings]}

    def reason(self) -> str:
        return "; ".join(f.message for f in self.findings)


def _masked(text: str) -> str:
    shown = min(4, len(text) // 3)
    return text[:shown] + "*" * min(8, max(3, len(text) - shown))


def _luhn(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _looks_secret(value: str) -> bool:
    """A value written after "password:" is a secret when it is not an ordinary word: it has a digit or a sign,
    or mixes cases inside it."""
    if value.lower() in ("reset", "expired", "changed", "required", "incorrect", "wrong", "below", "above"):
        return False
    return (any(c.isdigit() for c in value) or any(not c.isalnum() for c in value.rstrip(".,;!?"))
            or (any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)))


def _secrets(text: str) -> list[Finding]:
    found: list[Finding] = []
    for kind, words, pattern in SHAPES:
        found += [Finding(kind, f"contains {words}", _masked(m.group()), m.start(), m.end())
                  for m in pattern.finditer(text)]
    for m in _LABELLED.finditer(text):
        value = m.group("value")
        if _looks_secret(value):
            found.append(Finding("password", f"contains a {m.group(1).lower()} ('{m.group(1)}' and a value)",
                                 _masked(value), m.start("value"), m.end("value")))
    for m in _CARD.finditer(text):
        digits = re.sub(r"\D", "", m.group())
        if 13 <= len(digits) <= 19 and _luhn(digits) and len(set(digits)) > 1:
            found.append(Finding("card_number", "contains a card number", _masked(digits), m.start(), m.end()))
    # One secret matched by two shapes is one finding.
    unique: dict[tuple[int, int], Finding] = {}
    for f in sorted(found, key=lambda f: (f.start, -f.end)):
        if not any(s <= f.start and f.end <= e for s, e in unique):
            unique[(f.start, f.end)] = f
    return list(unique.values())


def _tone(text: str) -> list[Finding]:
    warnings = [Finding("hostile_tone", f"hostile wording: '{m.group()}'", m.group(), m.start(), m.end())
                for m in _HOSTILE.finditer(text)]
    shouted = _SHOUT.findall(text)
    if len(shouted) >= 3:
        warnings.append(Finding("hostile_tone", "shouting: several words in capitals", " ".join(shouted[:3]),
                                0, len(text)))
    return warnings


def check_reply(text: str) -> Check:
    return Check(tuple(_secrets(text)), tuple(_tone(text)))
