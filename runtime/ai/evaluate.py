"""Evaluation of a text classifier: accuracy, macro-F1, confidence coverage, per-class report, latency, k-fold CV.

Pure Python apart from the model under test, so the metrics can be checked by hand on small examples.
"""

from __future__ import annotations

import csv
import random
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

DEFAULT_THRESHOLD = 0.5


class Classifier(Protocol):
    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> object: ...

    def predict(self, texts: Sequence[str]) -> Sequence[_Predicted]: ...


class _Predicted(Protocol):
    @property
    def label(self) -> str: ...

    @property
    def confidence(self) -> float: ...


def read_csv(path: str | Path, text_col: str, label_col: str) -> tuple[list[str], list[str]]:
    """Texts and labels from a CSV with a header row; rows with an empty text or label are skipped."""
    texts: list[str] = []
    labels: list[str] = []
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {text_col, label_col} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"{path}: no column {', '.join(sorted(missing))} (has {reader.fieldnames})")
        for row in reader:
            text, label = (row[text_col] or "").strip(), (row[label_col] or "").strip()
            if text and label:
                texts.append(text)
                labels.append(label)
    return texts, labels


def stratified_folds(labels: Sequence[str] | Sequence[int], k: int, seed: int) -> list[tuple[list[int], list[int]]]:
    """k (train, test) index lists; every class is shuffled and dealt round the folds, so shares stay equal."""
    if k < 2:
        raise ValueError("k-fold needs k >= 2")
    rng = random.Random(seed)
    by_class: dict[object, list[int]] = {}
    for i, label in enumerate(labels):
        by_class.setdefault(label, []).append(i)
    tests: list[list[int]] = [[] for _ in range(k)]
    turn = 0
    # Classes in sorted order and a carried-over turn keep folds equal in size even when classes are small.
    for label in sorted(by_class, key=str):
        members = by_class[label]
        rng.shuffle(members)
        for i in members:
            tests[turn % k].append(i)
            turn += 1
    folds = []
    for test in tests:
        held = set(test)
        folds.append(([i for i in range(len(labels)) if i not in held], sorted(test)))
    return folds


@dataclass(frozen=True)
class ClassScore:
    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class Scores:
    n: int
    accuracy: float
    macro_f1: float
    threshold: float
    coverage: float  # share of texts whose confidence reaches the threshold
    accuracy_above: float  # accuracy on those texts (nan when none)
    per_class: list[ClassScore]


def _f1(precision: float, recall: float) -> float:
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def score(
    truth: Sequence[str], predicted: Sequence[str], confidence: Sequence[float], threshold: float = DEFAULT_THRESHOLD
) -> Scores:
    """Metrics of one set of predictions; macro-F1 averages over the classes present in truth or predictions."""
    if not (len(truth) == len(predicted) == len(confidence)) or not truth:
        raise ValueError("need equally many, and some, true labels, predictions and confidences")
    n = len(truth)
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    per_class = []
    for label in sorted(set(truth) | set(predicted)):
        tp = sum(1 for t, p in zip(truth, predicted, strict=True) if t == p == label)
        predicted_as = sum(1 for p in predicted if p == label)
        support = sum(1 for t in truth if t == label)
        precision = tp / predicted_as if predicted_as else 0.0
        recall = tp / support if support else 0.0
        per_class.append(ClassScore(label, precision, recall, _f1(precision, recall), support))
    above = [ok for ok, c in zip(correct, confidence, strict=True) if c >= threshold]
    return Scores(
        n=n,
        accuracy=sum(correct) / n,
        macro_f1=statistics.fmean(c.f1 for c in per_class),
        threshold=threshold,
        coverage=len(above) / n,
        accuracy_above=sum(above) / len(above) if above else float("nan"),
        per_class=per_class,
    )


@dataclass(frozen=True)
class Latency:
    median_ms: float
    p95_ms: float


def latency(predict_one: Callable[[str], object], texts: Sequence[str]) -> Latency:
    """Milliseconds to classify one text at a time, as a ticket arrives."""
    times = []
    for text in texts:
        start = time.perf_counter()
        predict_one(text)
        times.append((time.perf_counter() - start) * 1000.0)
    times.sort()
    return Latency(statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))])


@dataclass
class CrossValidation:
    folds: list[Scores] = field(default_factory=list)
    train_seconds: list[float] = field(default_factory=list)
    latencies: list[Latency] = field(default_factory=list)

    def mean_sd(self, metric: Callable[[Scores], float]) -> tuple[float, float]:
        values = [metric(s) for s in self.folds]
        return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def cross_validate(
    make: Callable[[], Classifier],
    texts: Sequence[str],
    labels: Sequence[str],
    *,
    k: int = 5,
    seed: int = 0,
    threshold: float = DEFAULT_THRESHOLD,
    latency_sample: int = 200,
) -> CrossValidation:
    """Stratified k-fold: a fresh model per fold, scored on its held-out fold, timed one text at a time."""
    result = CrossValidation()
    for train, test in stratified_folds(labels, k, seed):
        model = make()
        start = time.perf_counter()
        model.fit([texts[i] for i in train], [labels[i] for i in train])
        result.train_seconds.append(time.perf_counter() - start)
        held = [texts[i] for i in test]
        predictions = model.predict(held)
        result.folds.append(
            score(
                [labels[i] for i in test],
                [p.label for p in predictions],
                [p.confidence for p in predictions],
                threshold,
            )
        )
        result.latencies.append(latency(_one_at_a_time(model), held[:latency_sample]))
    return result


def _one_at_a_time(model: Classifier) -> Callable[[str], object]:
    def predict_one(text: str) -> object:
        return model.predict([text])

    return predict_one


def _pct(value: float) -> str:
    return f"{100 * value:.2f} %"


def report(scores: Scores, timing: Latency | None = None, *, per_class: bool = True) -> str:
    """The figures as plain text for a terminal."""
    lines = [
        f"texts                 {scores.n}",
        f"accuracy              {_pct(scores.accuracy)}",
        f"macro-F1              {_pct(scores.macro_f1)}",
        f"confidence >= {scores.threshold:<7g} coverage {_pct(scores.coverage)}, "
        f"accuracy {_pct(scores.accuracy_above)}",
    ]
    if timing is not None:
        lines.append(f"latency per text      median {timing.median_ms:.3f} ms, p95 {timing.p95_ms:.3f} ms")
    if per_class:
        width = max(len("label"), *(len(c.label) for c in scores.per_class))
        lines.append("")
        lines.append(f"{'label':<{width}}  precision  recall     F1  support")
        for c in scores.per_class:
            lines.append(f"{c.label:<{width}}  {c.precision:9.3f}  {c.recall:6.3f}  {c.f1:5.3f}  {c.support:7d}")
    return "\n".join(lines)


def cv_report(cv: CrossValidation) -> str:
    acc, acc_sd = cv.mean_sd(lambda s: s.accuracy)
    f1, f1_sd = cv.mean_sd(lambda s: s.macro_f1)
    cover, _ = cv.mean_sd(lambda s: s.coverage)
    above, _ = cv.mean_sd(lambda s: s.accuracy_above)
    median = statistics.median(lat.median_ms for lat in cv.latencies)
    p95 = max(lat.p95_ms for lat in cv.latencies)
    return "\n".join(
        [
            f"{len(cv.folds)}-fold cross-validation",
            f"accuracy              {_pct(acc)} ± {100 * acc_sd:.2f}",
            f"macro-F1              {_pct(f1)} ± {100 * f1_sd:.2f}",
            f"confidence >= {cv.folds[0].threshold:<7g} coverage {_pct(cover)}, accuracy {_pct(above)}",
            f"latency per text      median {median:.3f} ms, p95 {p95:.3f} ms",
            f"training per fold     {statistics.fmean(cv.train_seconds):.1f} s",
        ]
    )
