"""Sentence vectors for the retrieval index's optional dense half (the ``embeddings`` extra)."""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from runtime.ai import embeddings
from runtime.kb.corpus import Article
from runtime.kb.text import plain

# The encoder reads 128 word pieces at most: the title, the problem and the start of the solution fit.
_SOLUTION_CHARS = 400
_lock = threading.Lock()
_encoders: dict[str, embeddings.SentenceEncoder] = {}


def encoder() -> embeddings.SentenceEncoder:
    """The process's one MiniLM encoder; a clear error naming the extra when it is not installed."""
    if not embeddings.available("minilm"):
        raise embeddings.MissingExtraError(
            f"KbIndex(dense=True) needs the 'embeddings' extra: {embeddings.EXTRA_HINT}")
    with _lock:
        if "minilm" not in _encoders:
            _encoders["minilm"] = embeddings.SentenceEncoder("minilm")
        return _encoders["minilm"]


def article_vectors(model: embeddings.SentenceEncoder, articles: Sequence[Article]) -> npt.NDArray[np.float32]:
    texts = [f"{a.title}. {a.problem} {plain(a.solution)[:_SOLUTION_CHARS]}" for a in articles]
    return model.encode(texts)


def query_vector(model: embeddings.SentenceEncoder, query: str) -> npt.NDArray[np.float32]:
    vector: npt.NDArray[np.float32] = model.encode([query])[0]
    return vector
