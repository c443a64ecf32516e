"""The local classifier on a slice of BANKING77: 8 intents × 40 queries (banking77_slice.csv beside this file).

BANKING77: Casanueva et al. 2020, "Efficient Intent Detection with Dual Sentence Encoders", PolyAI-LDN/
task-specific-datasets, licensed CC-BY-4.0; the slice is the first 40 rows of each intent in its training split.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from runtime.ai.classifier import TextClassifier, fit_temperature, softmax
from runtime.ai.evaluate import read_csv, stratified_folds

SLICE = Path(__file__).with_name("banking77_slice.csv")
# Chance is 1/8; the model reaches about 0.95 here, a model whose features or labels are shuffled stays near 0.1.
HELD_OUT_BOUND = 0.8

Split = tuple[list[str], list[str], list[str], list[str]]


@pytest.fixture(scope="module")
def split() -> Split:
    texts, labels = read_csv(SLICE, "text", "category")
    train, test = stratified_folds(labels, 4, seed=1)[0]
    return (
        [texts[i] for i in train],
        [labels[i] for i in train],
        [texts[i] for i in test],
        [labels[i] for i in test],
    )


@pytest.fixture(scope="module")
def model(split: Split) -> TextClassifier:
    train_texts, train_labels, _, _ = split
    return TextClassifier(seed=3).fit(train_texts, train_labels)


def test_learns_the_intents(model: TextClassifier, split: Split) -> None:
    _, _, test_texts, test_labels = split
    predicted = [p.label for p in model.predict(test_texts)]
    accuracy = np.mean([p == t for p, t in zip(predicted, test_labels, strict=True)])
    assert accuracy >= HELD_OUT_BOUND
    assert set(model.labels) == set(test_labels)


def test_confidences_are_probabilities_that_rank_correct_above_wrong(model: TextClassifier, split: Split) -> None:
    _, _, test_texts, test_labels = split
    proba = model.predict_proba(test_texts)
    assert proba.shape == (len(test_texts), len(model.labels))
    assert np.all((proba >= 0.0) & (proba <= 1.0))
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    predictions = model.predict(test_texts)
    right = [p.confidence for p, t in zip(predictions, test_labels, strict=True) if p.label == t]
    wrong = [p.confidence for p, t in zip(predictions, test_labels, strict=True) if p.label != t]
    assert right
    if wrong:
        assert np.mean(right) > np.mean(wrong)
    # The true label's probability outranks the average of the others on held-out texts.
    truth = [model.labels.index(t) for t in test_labels]
    assert np.mean(proba[np.arange(len(truth)), truth]) > 0.5
    assert 0.0 < model.temperature < 100.0


def test_save_then_load_gives_identical_probabilities(model: TextClassifier, split: Split, tmp_path: Path) -> None:
    _, _, test_texts, _ = split
    path = tmp_path / "model.bin"
    model.save(path)
    loaded = TextClassifier.load(path)
    assert loaded.labels == model.labels
    assert loaded.temperature == model.temperature
    np.testing.assert_array_equal(loaded.predict_proba(test_texts), model.predict_proba(test_texts))


def test_training_is_deterministic_for_a_seed(split: Split) -> None:
    train_texts, train_labels, test_texts, _ = split
    first = TextClassifier(seed=5, calibration_folds=2).fit(train_texts, train_labels)
    second = TextClassifier(seed=5, calibration_folds=2).fit(train_texts, train_labels)
    np.testing.assert_array_equal(first.predict_proba(test_texts), second.predict_proba(test_texts))


def test_two_labels_and_unknown_words() -> None:
    texts = ["my card has not arrived", "card still not here", "refund please", "I want my money back"] * 3
    labels = ["card", "card", "refund", "refund"] * 3
    model = TextClassifier(calibration_folds=2).fit(texts, labels)
    assert [p.label for p in model.predict(["where is my card", "give me a refund"])] == ["card", "refund"]
    # Nothing the model knows: the scores fall back to the bias, still a probability distribution.
    proba = model.predict_proba(["zzzz"])
    np.testing.assert_allclose(proba.sum(), 1.0)


def test_load_refuses_a_file_of_another_format(tmp_path: Path) -> None:
    path = tmp_path / "other.npz"
    with open(path, "wb") as handle:
        np.savez(handle, header=np.array('{"format": "something-else"}'))
    with pytest.raises(ValueError, match="not a"):
        TextClassifier.load(path)


def test_temperature_fit_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4000, 5)) * 3.0
    # Draw labels from softmax(scores / 2): the log-loss is smallest at T = 2.
    proba = softmax(scores / 2.0)
    targets = np.array([rng.choice(5, p=row) for row in proba], dtype=np.int64)
    assert fit_temperature(scores, targets) == pytest.approx(2.0, rel=0.1)


IT_TEXTS = [
    "the vpn drops every few minutes",
    "cannot connect to the vpn from home",
    "wifi in the office is down",
    "network cable unplugged, no connection",
    "printer is out of toner",
    "the printer jams on every page",
    "printer shows paper error",
    "need a new toner cartridge for the printer",
]
IT_LABELS = ["network"] * 4 + ["printer"] * 4


def test_explain_names_the_ngrams_behind_a_label() -> None:
    model = TextClassifier(calibration_folds=2).fit(IT_TEXTS * 2, IT_LABELS * 2)
    text = "my vpn keeps disconnecting"
    assert model.predict([text])[0].label == "network"
    reasons = model.explain(text, "network", top=4)
    assert 0 < len(reasons) <= 4
    assert any("vpn" in feature for feature, _ in reasons)
    weights = [weight for _, weight in reasons]
    assert all(weight > 0.0 for weight in weights)
    assert weights == sorted(weights, reverse=True)
    # Each contribution is a part of the label's score: those listed add up to no more than its positive parts.
    column = model.labels.index("network")
    everything = model.explain(text, "network", top=10_000)
    assert sum(weight for _, weight in everything) >= model.decision_scores([text])[0, column] - model.bias[column]
    # Character n-grams read with "_" at word edges, word n-grams as they are.
    assert all(" " not in feature for feature, _ in reasons if feature.startswith("char:"))
    # Nothing in the text speaks for "printer" through "vpn".
    assert not any("vpn" in feature for feature, _ in model.explain(text, "printer", top=50))


def test_explain_refuses_an_unknown_label_and_handles_unknown_words() -> None:
    model = TextClassifier(calibration_folds=2).fit(IT_TEXTS * 2, IT_LABELS * 2)
    with pytest.raises(ValueError, match="unknown label"):
        model.explain("vpn down", "billing")
    assert model.explain("zzzz qqqq", "network") == []
    assert model.explain("vpn down", "network", top=0) == []


def test_the_saved_file_records_that_there_is_no_embedding(model: TextClassifier, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(str(archive["header"]))
    assert header["embeddings"] is None
    assert TextClassifier.load(path).embeddings is None


def test_a_file_from_before_the_embedding_option_loads(model: TextClassifier, split: Split, tmp_path: Path) -> None:
    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        arrays = {name: archive[name] for name in archive.files}
    header = json.loads(str(arrays["header"]))
    for key in ("embeddings", "embedding_layers", "embedding_weight"):
        del header[key]
    arrays["header"] = np.array(json.dumps(header))
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
    _, _, test_texts, _ = split
    np.testing.assert_array_equal(TextClassifier.load(path).predict_proba(test_texts), model.predict_proba(test_texts))


def test_an_unknown_embedding_model_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown embedding model"):
        TextClassifier(embeddings="word2vec")


def test_embeddings_without_their_extra_name_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.ai.embeddings import MissingExtraError, SentenceEncoder

    # A None entry in sys.modules makes the import fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "tokenizers", None)
    with pytest.raises(MissingExtraError, match=re.escape('pip install -e ".[embeddings]"')):
        SentenceEncoder("minilm")
    with pytest.raises(MissingExtraError, match="embeddings"):
        TextClassifier(embeddings="minilm", calibration_folds=2).fit(IT_TEXTS, IT_LABELS)
