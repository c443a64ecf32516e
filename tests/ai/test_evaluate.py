"""Evaluation metrics against figures worked out by hand, and the stratified folds' guarantees."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from runtime.ai.evaluate import cross_validate, read_csv, report, score, stratified_folds

#          truth  predicted  confidence
EXAMPLE = [
    ("a", "a", 0.9),
    ("a", "a", 0.4),
    ("a", "b", 0.6),
    ("b", "b", 0.8),
    ("b", "a", 0.3),
    ("c", "c", 0.7),
]


def test_metrics_of_a_hand_made_example() -> None:
    truth, predicted, confidence = (list(column) for column in zip(*EXAMPLE, strict=True))
    scores = score(truth, predicted, confidence, threshold=0.5)
    assert scores.n == 6
    assert scores.accuracy == pytest.approx(4 / 6)
    # a: precision 2/3, recall 2/3, F1 2/3; b: precision 1/2, recall 1/2, F1 1/2; c: 1, 1, 1.
    by_label = {c.label: c for c in scores.per_class}
    assert by_label["a"].precision == pytest.approx(2 / 3)
    assert by_label["a"].recall == pytest.approx(2 / 3)
    assert by_label["b"].f1 == pytest.approx(1 / 2)
    assert by_label["c"].f1 == pytest.approx(1.0)
    assert [by_label[k].support for k in "abc"] == [3, 2, 1]
    assert scores.macro_f1 == pytest.approx((2 / 3 + 1 / 2 + 1) / 3)
    # Confidence >= 0.5: rows 1, 3, 4 and 6, of which 1, 4 and 6 are right.
    assert scores.coverage == pytest.approx(4 / 6)
    assert scores.accuracy_above == pytest.approx(3 / 4)
    text = report(scores)
    assert "66.67 %" in text
    assert "macro-F1" in text


def test_a_class_never_predicted_counts_zero_in_macro_f1() -> None:
    scores = score(["x", "y"], ["x", "x"], [1.0, 1.0], threshold=0.5)
    # x: precision 1/2, recall 1, F1 2/3; y: nothing predicted, F1 0.
    assert scores.macro_f1 == pytest.approx((2 / 3 + 0) / 2)


def test_no_text_above_the_threshold() -> None:
    scores = score(["x"], ["x"], [0.2], threshold=0.5)
    assert scores.coverage == 0.0
    assert math.isnan(scores.accuracy_above)


def test_stratified_folds_keep_class_shares_and_never_overlap() -> None:
    labels = ["a"] * 50 + ["b"] * 30 + ["c"] * 20 + ["d"] * 3
    folds = stratified_folds(labels, 5, seed=7)
    assert len(folds) == 5
    seen: set[int] = set()
    for train, test in folds:
        assert not set(train) & set(test)
        assert sorted(train + test) == list(range(len(labels)))
        assert not seen & set(test)
        seen |= set(test)
        counts = Counter(labels[i] for i in test)
        assert counts["a"] == 10
        assert counts["b"] == 6
        assert counts["c"] == 4
        assert counts["d"] <= 1
        assert len(test) in (20, 21)
    assert seen == set(range(len(labels)))
    assert stratified_folds(labels, 5, seed=7) == folds
    assert stratified_folds(labels, 5, seed=8) != folds


def test_read_csv_names_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text('body,intent\n"hello, there",greet\n,empty\nbye,leave\n', encoding="utf-8")
    assert read_csv(path, "body", "intent") == (["hello, there", "bye"], ["greet", "leave"])
    with pytest.raises(ValueError, match="text"):
        read_csv(path, "text", "intent")


@dataclass(frozen=True)
class _Guess:
    label: str
    confidence: float


class _FirstWord:
    """A stand-in model: the label is the text's first word, so cross-validation's bookkeeping is checkable."""

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> _FirstWord:
        assert len(texts) == len(labels)
        return self

    def predict(self, texts: Sequence[str]) -> list[_Guess]:
        return [_Guess(text.split()[0], 0.9) for text in texts]


def test_cross_validate_scores_every_fold() -> None:
    texts = [f"{label} {i}" for i, label in enumerate(["p", "q"] * 10)]
    labels = [text.split()[0] for text in texts]
    labels[0] = "q"  # one text its first word gets wrong
    cv = cross_validate(_FirstWord, texts, labels, k=4, seed=0)
    assert len(cv.folds) == len(cv.train_seconds) == len(cv.latencies) == 4
    assert sum(s.n for s in cv.folds) == 20
    assert sum(s.accuracy * s.n for s in cv.folds) == pytest.approx(19)
