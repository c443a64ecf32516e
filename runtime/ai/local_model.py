"""The ``local`` provider's trained model: one text classifier per field it predicts (type, category, priority),
kept in one folder with a ``model.json`` that says what each was trained on.

A head is trained only when its field has at least two values with ``MIN_EXAMPLES`` tickets each; values rarer
than that are left out (one example cannot be calibrated, and a guess among values the desk hardly uses is
noise). A desk whose history lacks a field gets no head for it, and triage leaves that field to people.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runtime.ai import presets
from runtime.ai.classifier import TextClassifier

FORMAT = "tessera-triage-model/1"
HEADS = ("type", "category", "priority")
MIN_EXAMPLES = 3


@dataclass(frozen=True)
class Example:
    text: str
    labels: dict[str, str | None]  # head → the value a person (or a closed ticket's history) gave


@dataclass(frozen=True)
class HeadReport:
    head: str
    examples: int
    labels: tuple[str, ...]
    left_out: tuple[tuple[str, int], ...]  # (value, examples) too rare to learn
    skipped: str | None = None  # why no head was trained


@dataclass
class TriageModel:
    heads: dict[str, TextClassifier]
    meta: dict[str, Any] = field(default_factory=dict)

    def distribution(self, head: str, text: str) -> list[tuple[str, float]]:
        """Every value of ``head`` with its calibrated probability, most likely first; empty without the head."""
        model = self.heads.get(head)
        if model is None:
            return []
        proba = model.predict_proba([text])[0]
        return sorted(zip(model.labels, (float(p) for p in proba), strict=True), key=lambda lp: -lp[1])

    def explain(self, head: str, text: str, label: str, top: int = 3) -> list[str]:
        """The n-grams of ``text`` that pushed hardest towards ``label``."""
        model = self.heads.get(head)
        if model is None or label not in model.labels:
            return []
        return [gram for gram, weight in model.explain(text, label, top=top) if weight > 0]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for head, model in self.heads.items():
            model.save(folder / f"{head}.npz")
        for head in HEADS:
            if head not in self.heads:
                (folder / f"{head}.npz").unlink(missing_ok=True)
        # The header last: a reader that sees it sees finished heads (see ``cached``).
        tmp = folder / "model.json.tmp"
        tmp.write_text(json.dumps({"format": FORMAT, **self.meta}, indent=2, default=str), encoding="utf-8")
        tmp.replace(folder / "model.json")

    @classmethod
    def load(cls, folder: Path) -> TriageModel:
        meta = json.loads((folder / "model.json").read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise ValueError(f"{folder}: not a {FORMAT} model")
        heads = {head: TextClassifier.load(folder / f"{head}.npz") for head in meta.get("heads", ())}
        return cls(heads, meta)


def train(examples: Sequence[Example], source: str, seed: int = 0,
          configuration: str = "lean") -> tuple[TriageModel, list[HeadReport]]:
    """One head per field with enough examples, each a classifier of the named configuration (runtime/ai/presets.py)."""
    heads: dict[str, TextClassifier] = {}
    reports: list[HeadReport] = []
    for head in HEADS:
        counts = Counter(e.labels.get(head) for e in examples if e.labels.get(head))
        kept = {label for label, n in counts.items() if label is not None and n >= MIN_EXAMPLES}
        rare = tuple(sorted((str(label), n) for label, n in counts.items() if label not in kept))
        pairs = [(e.text, str(e.labels[head])) for e in examples if e.labels.get(head) in kept]
        if len(kept) < 2:
            reports.append(HeadReport(head, len(pairs), tuple(sorted(kept)), rare,
                                      skipped=f"needs two values with {MIN_EXAMPLES}+ tickets each"))
            continue
        texts, labels = zip(*pairs, strict=True)
        heads[head] = presets.classifier(configuration, seed=seed).fit(list(texts), list(labels))
        reports.append(HeadReport(head, len(pairs), heads[head].labels, rare))
    meta = {"heads": list(heads), "trained_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "source": source, "examples": len(examples), "classifier": configuration,
            "per_head": {r.head: {"examples": r.examples, "labels": list(r.labels)} for r in reports}}
    return TriageModel(heads, meta), reports


_cache: dict[Path, tuple[float, TriageModel | None]] = {}
_cache_lock = threading.Lock()


def cached(folder: Path) -> TriageModel | None:
    """The model in ``folder``, loaded once and again whenever ``cli.py ai train`` replaces it (a running worker
    picks a new model up without a restart); None when there is none yet."""
    header = folder / "model.json"
    try:
        stamp = header.stat().st_mtime
    except FileNotFoundError:
        return None
    with _cache_lock:
        hit = _cache.get(folder)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    model = TriageModel.load(folder)
    with _cache_lock:
        _cache[folder] = (stamp, model)
    return model
