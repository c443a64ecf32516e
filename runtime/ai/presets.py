"""The local classifier's named configurations, chosen in tessera.yaml (``ai.classifier``) or on the command line.

``lean`` is the default install's: word and character n-grams, a linear SVM, about 0.2 ms a text. ``minilm`` adds
the all-MiniLM-L6-v2 sentence embedding (the ``embeddings`` extra), run by ONNX Runtime with int8 weights: layers 4
and 6 side by side, a logistic regression on them added to the n-gram SVM, and a vote of the ten most similar
training texts. On BANKING77 it is the configuration that reached 93.8 % in 5-fold cross-validation against the lean
one's 90.6 %, at about 4.3 ms a text on one core and a minute of training on 10,000 texts (docs/performance.md).
Its settings were picked by cross-validation on those same rows, so the margin over other data is smaller than it
looks.
"""

from __future__ import annotations

from typing import Any

from runtime.ai.classifier import TextClassifier

PRESETS: dict[str, dict[str, Any]] = {
    "lean": {},
    "minilm": {
        "embeddings": "minilm", "embedding_layers": (4, 6), "embedding_concat": True, "embedding_weight": 2.83,
        "embedding_head": "logistic", "head_weight": 0.2, "neighbour_weight": 1.0, "neighbour_temperature": 0.03,
        "embedding_runtime": "onnx-int8",
    },
}
DEFAULT = "lean"


def classifier(name: str = DEFAULT, *, seed: int = 0) -> TextClassifier:
    """A new, untrained classifier of the named configuration.

    Raises ``embeddings.MissingExtraError`` (an ImportError whose message says what to install) when the
    configuration needs the embeddings extra and it is not installed, and ValueError for an unknown name.
    """
    if name not in PRESETS:
        raise ValueError(f"no classifier configuration {name!r} (known: {', '.join(PRESETS)})")
    settings = PRESETS[name]
    if settings.get("embeddings"):
        import importlib.util

        from runtime.ai import embeddings

        runners = ("onnxruntime", "onnx") if str(settings.get("embedding_runtime", "")).startswith("onnx") else ()
        if not embeddings.available(settings["embeddings"]) or any(
                importlib.util.find_spec(module) is None for module in runners):
            raise embeddings.MissingExtraError(f"ai.classifier {name!r} needs sentence embeddings: "
                                               f"{embeddings.EXTRA_HINT}")
    return TextClassifier(**settings, seed=seed)
