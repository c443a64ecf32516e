"""The ``local`` provider's text classifier: TF-IDF word and character n-grams, a linear SVM, calibrated softmax.

Features are word uni- and bigrams plus character n-grams taken inside word boundaries (``char_wb``, 2 to 5
characters), each block with sublinear term frequency, smoothed idf and its own L2 norm. Character n-grams carry
the misspellings and inflections that customer text is full of ("recieved", "topping up" / "top-up").

A one-vs-rest linear SVM (scikit-learn's ``LinearSVC``) scores every label. SVM margins are not probabilities,
so the confidence is ``softmax(scores / T)`` with one temperature ``T`` fitted by minimising the log-loss of
out-of-fold scores: the model is trained ``calibration_folds`` times on part of the data and scored on the rest,
so the temperature is learnt from texts the model did not see, as it will meet real tickets. One scalar keeps the
ranking of labels untouched (accuracy is the SVM's) and cannot overfit the way per-class isotonic maps do on
77 classes with a few dozen examples each.

Only training needs scikit-learn and scipy; a saved model is numpy arrays and a JSON header in one ``.npz``
file, read with ``allow_pickle=False``, and scoring needs numpy alone.

``explain(text, label)`` lists the n-grams that add most to a label's score for a text (TF-IDF value times the
label's weight), which is what a person reviewing an automatic decision can check.

``TextClassifier(embeddings="minilm")`` (the ``embeddings`` extra, ``runtime/ai/embeddings.py``) appends a MiniLM
sentence vector, scaled by ``embedding_weight``, to the n-gram features of the same SVM, and adds a vote of the
``neighbours`` most similar training texts to the scores. It is more accurate on BANKING77 but runs a six-layer
transformer per text, about seventy times the n-gram model's time (docs/performance.md). The saved file names the
option and carries the training texts' vectors for the vote; loading it needs the extra.

The most accurate configuration found (docs/ai.md) changes four things: ``embedding_layers=(4, 6)`` with
``embedding_concat=True`` (two layers' vectors side by side), ``embedding_head="logistic"`` (the SVM keeps the
n-grams, a logistic regression takes the embedding and its scores are added at ``head_weight``: a tenth of the
training time of the joint SVM), and ``embedding_runtime="onnx"`` or ``"onnx-int8"`` (ONNX Runtime instead of numpy,
``runtime/ai/onnx_encoder.py``: a few milliseconds a text instead of fifteen).
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.ai.neighbours import NeighbourIndex

FORMAT = "tessera-local-classifier/1"
# How the embedding enters the scores: as columns of the one SVM ("svm"), or through a logistic regression of its own
# whose scores are added to the n-gram SVM's ("logistic").
HEADS = ("svm", "logistic")
# Who runs the encoder: numpy (runtime/ai/embeddings.py), ONNX Runtime in float32 or with int8 weights
# (runtime/ai/onnx_encoder.py).
RUNTIMES = ("numpy", "onnx", "onnx-int8")
_WORD = re.compile(r"(?u)\b\w\w+\b")
_SPACE = re.compile(r"\s+")

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Prediction:
    label: str
    confidence: float


def _word_grams(text: str, lo: int, hi: int) -> list[str]:
    words = _WORD.findall(text)
    grams: list[str] = []
    for n in range(lo, hi + 1):
        grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return grams


def _char_grams(text: str, lo: int, hi: int) -> list[str]:
    grams: list[str] = []
    for word in _SPACE.split(text):
        if not word:
            continue
        padded = f" {word} "
        size = len(padded)
        for n in range(lo, hi + 1):
            if n > size:
                break
            grams.extend(padded[i : i + n] for i in range(size - n + 1))
            if n == size:
                # A short word padded whole is a single gram; longer n would only repeat it.
                break
    return grams


class _Block:
    """One TF-IDF block: an analyser, its vocabulary and idf weights."""

    def __init__(self, kind: str, lo: int, hi: int, terms: Sequence[str] = (), idf: FloatArray | None = None) -> None:
        if kind not in ("word", "char"):
            raise ValueError(f"unknown analyser {kind!r}")
        self.kind, self.lo, self.hi = kind, lo, hi
        self.terms = list(terms)
        self.index = {term: i for i, term in enumerate(self.terms)}
        self.idf: FloatArray = np.zeros(0) if idf is None else idf

    def grams(self, text: str) -> list[str]:
        lowered = text.lower()
        if self.kind == "word":
            return _word_grams(lowered, self.lo, self.hi)
        return _char_grams(lowered, self.lo, self.hi)

    def fit(self, texts: Sequence[str], min_df: int) -> None:
        df: Counter[str] = Counter()
        for text in texts:
            df.update(set(self.grams(text)))
        # Sorted terms make the feature order, and so the model, independent of hash seeds.
        self.terms = sorted(term for term, count in df.items() if count >= min_df)
        self.index = {term: i for i, term in enumerate(self.terms)}
        counts = np.array([df[term] for term in self.terms], dtype=np.float64)
        self.idf = np.log((1.0 + len(texts)) / (1.0 + counts)) + 1.0

    def vector(self, text: str) -> tuple[list[int], list[float]]:
        counts: Counter[int] = Counter()
        index = self.index
        for gram in self.grams(text):
            column = index.get(gram)
            if column is not None:
                counts[column] += 1
        columns = sorted(counts)
        values = [(1.0 + math.log(counts[c])) * float(self.idf[c]) for c in columns]
        norm = math.sqrt(sum(v * v for v in values))
        if norm > 0.0:
            values = [v / norm for v in values]
        return columns, values


class TextClassifier:
    """fit(texts, labels), then predict / predict_proba; save() and load() round-trip exactly."""

    def __init__(
        self,
        *,
        word_ngrams: tuple[int, int] | None = (1, 2),
        char_ngrams: tuple[int, int] | None = (2, 5),
        c: float = 0.5,
        min_df: int = 2,
        calibration_folds: int = 3,
        seed: int = 0,
        embeddings: str | None = None,
        embedding_layers: tuple[int, ...] = (6,),
        embedding_weight: float = 2.0,
        neighbours: int = 10,
        neighbour_weight: float = 0.5,
        neighbour_temperature: float = 0.05,
        embedding_concat: bool = False,
        embedding_head: str = "svm",
        head_weight: float = 0.2,
        embedding_runtime: str = "numpy",
    ) -> None:
        if word_ngrams is None and char_ngrams is None:
            raise ValueError("need word or character n-grams")
        if embedding_head not in HEADS:
            raise ValueError(f"unknown embedding head {embedding_head!r} (known: {', '.join(HEADS)})")
        if embedding_runtime not in RUNTIMES:
            raise ValueError(f"unknown embedding runtime {embedding_runtime!r} (known: {', '.join(RUNTIMES)})")
        if embeddings is not None:
            from runtime.ai.embeddings import MODELS

            if embeddings not in MODELS:
                raise ValueError(f"unknown embedding model {embeddings!r} (known: {', '.join(sorted(MODELS))})")
        self.word_ngrams = word_ngrams
        self.char_ngrams = char_ngrams
        self.c = c
        self.min_df = min_df
        self.calibration_folds = calibration_folds
        self.seed = seed
        self.embeddings = embeddings
        self.embedding_layers = tuple(embedding_layers)
        self.embedding_weight = embedding_weight
        self.neighbours = neighbours
        self.neighbour_weight = neighbour_weight
        self.neighbour_temperature = neighbour_temperature
        self.embedding_concat = embedding_concat
        self.embedding_head = embedding_head
        self.head_weight = head_weight
        self.embedding_runtime = embedding_runtime
        self._encoder: Any = None
        # With embeddings, the training texts' unit vectors and label indices, for the nearest-neighbour vote.
        self.memory: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self.memory_targets: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._index: NeighbourIndex | None = None
        self.labels: tuple[str, ...] = ()
        self.temperature = 1.0
        self.blocks: list[_Block] = []
        self.weights: npt.NDArray[np.float32] = np.zeros((0, 0), dtype=np.float32)
        self.bias: FloatArray = np.zeros(0)

    # -- features ---------------------------------------------------------------------------------------------

    def _new_blocks(self) -> list[_Block]:
        blocks = []
        if self.word_ngrams is not None:
            blocks.append(_Block("word", *self.word_ngrams))
        if self.char_ngrams is not None:
            blocks.append(_Block("char", *self.char_ngrams))
        return blocks

    @staticmethod
    def _sparse_row(blocks: Sequence[_Block], text: str) -> tuple[list[int], list[float]]:
        columns: list[int] = []
        values: list[float] = []
        offset = 0
        for block in blocks:
            cols, vals = block.vector(text)
            columns.extend(offset + c for c in cols)
            values.extend(vals)
            offset += len(block.terms)
        return columns, values

    @classmethod
    def _matrix(cls, blocks: Sequence[_Block], texts: Sequence[str], dense: FloatArray | None = None) -> Any:
        from scipy.sparse import csr_matrix, hstack  # type: ignore[import-untyped,unused-ignore]

        indptr = [0]
        indices: list[int] = []
        data: list[float] = []
        for text in texts:
            cols, vals = cls._sparse_row(blocks, text)
            indices.extend(cols)
            data.extend(vals)
            indptr.append(len(indices))
        width = sum(len(block.terms) for block in blocks)
        sparse = csr_matrix(
            (np.array(data), np.array(indices, dtype=np.int64), np.array(indptr)), shape=(len(texts), width)
        )
        if dense is None:
            return sparse
        return hstack([sparse, csr_matrix(dense)], format="csr")

    def _dense(self, texts: Sequence[str]) -> FloatArray | None:
        """The weighted sentence embeddings of the texts, or None when the model has none."""
        if self.embeddings is None:
            return None
        if self._encoder is None:
            self._encoder = self._new_encoder()
        vectors: FloatArray = self._encoder.encode(texts).astype(np.float64) * self.embedding_weight
        return vectors

    def _new_encoder(self) -> Any:
        if self.embedding_runtime == "numpy":
            from runtime.ai.embeddings import SentenceEncoder

            return SentenceEncoder(self.embeddings or "", layers=self.embedding_layers, concat=self.embedding_concat)
        from runtime.ai.onnx_encoder import OnnxSentenceEncoder

        return OnnxSentenceEncoder(
            self.embeddings or "",
            layers=self.embedding_layers,
            concat=self.embedding_concat,
            quantize=self.embedding_runtime == "onnx-int8",
        )

    # -- training ---------------------------------------------------------------------------------------------

    def _train(
        self, texts: Sequence[str], targets: npt.NDArray[np.int64], dense: FloatArray | None
    ) -> tuple[list[_Block], FloatArray, FloatArray]:
        from sklearn.svm import LinearSVC  # type: ignore[import-untyped,unused-ignore]

        blocks = self._new_blocks()
        for block in blocks:
            block.fit(texts, self.min_df)
        separate = dense is not None and self.embedding_head == "logistic"
        svm = LinearSVC(C=self.c, random_state=self.seed, max_iter=5000)
        svm.fit(self._matrix(blocks, texts, None if separate else dense), targets)
        coef = np.asarray(svm.coef_, dtype=np.float64)
        intercept = np.asarray(svm.intercept_, dtype=np.float64)
        if separate and dense is not None:
            coef, intercept = self._add_logistic(coef, intercept, dense, targets)
        if coef.shape[0] == 1:
            # Two labels give one binary hyperplane; spread it as ±half so softmax sees one score per label.
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return blocks, coef.T.copy(), intercept

    def _add_logistic(
        self, coef: FloatArray, intercept: FloatArray, dense: FloatArray, targets: npt.NDArray[np.int64]
    ) -> tuple[FloatArray, FloatArray]:
        """The SVM's n-gram weights with a multinomial logistic regression on the embedding appended as more columns.

        A liblinear SVM over hundreds of dense columns next to the sparse n-grams converges slowly (most of a minute
        per fit on BANKING77); L-BFGS on the dense block alone takes a second or two. The regression's logits times
        ``head_weight`` are added to the SVM's margins: its log-probabilities differ from the logits by one number per
        text, which neither the ranking nor the softmax sees, so the pair still scores as one linear model.
        """
        from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped,unused-ignore]

        regression = LogisticRegression(C=10.0, max_iter=1000)
        regression.fit(dense, targets)
        dense_coef = np.asarray(regression.coef_, dtype=np.float64)
        dense_intercept = np.asarray(regression.intercept_, dtype=np.float64)
        if dense_coef.shape[0] == 1:
            # Binary: one logit for the second label; the first label's is 0.
            dense_coef = np.vstack([np.zeros_like(dense_coef), dense_coef])
            dense_intercept = np.array([0.0, dense_intercept[0]])
        if coef.shape[0] == 1:
            coef = np.vstack([-coef / 2, coef / 2])
            intercept = np.array([-intercept[0] / 2, intercept[0] / 2])
        return (
            np.hstack([coef, self.head_weight * dense_coef]),
            intercept + self.head_weight * dense_intercept,
        )

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TextClassifier:
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        self.labels = tuple(sorted(set(labels)))
        if len(self.labels) < 2:
            raise ValueError("need at least two labels")
        position = {label: i for i, label in enumerate(self.labels)}
        targets = np.array([position[label] for label in labels], dtype=np.int64)
        # A text's embedding does not depend on the other texts: one pass serves calibration and the final fit.
        dense = self._dense(texts)
        self.temperature = self._fit_temperature(texts, targets, dense)
        blocks, weights, bias = self._train(texts, targets, dense)
        self.blocks, self.weights, self.bias = blocks, weights.astype(np.float32), bias
        if dense is not None and self._votes():
            self.memory = self._vote_vectors(dense)
            self.memory_targets = targets
            self._index = None
        return self

    def _vote_vectors(self, dense: FloatArray) -> npt.NDArray[np.float32]:
        """The unit vectors the neighbours are found by: with layers side by side, their average, scaled to unit.

        Half the width of the side-by-side vector finds neighbours as well (BANKING77: 93.88 % against 93.86 %) and
        halves the memory read per ticket, which with 10,000 training texts is most of the vote's time.
        """
        unit = dense / self.embedding_weight
        if self.embedding_concat and len(self.embedding_layers) > 1:
            unit = unit.reshape(len(unit), len(self.embedding_layers), -1).sum(axis=1)
            unit /= np.maximum(np.linalg.norm(unit, axis=1, keepdims=True), 1e-12)
        return unit.astype(np.float32)

    def _votes(self) -> bool:
        return self.embeddings is not None and self.neighbours > 0 and self.neighbour_weight != 0.0

    def _neighbour_scores(
        self, memory: npt.NDArray[Any], memory_targets: npt.NDArray[np.int64], dense: FloatArray
    ) -> FloatArray:
        """Each label's share of the vote of the texts' nearest training texts, times ``neighbour_weight``.

        The ``neighbours`` most similar training texts (cosine of the embeddings) vote with weights
        ``softmax(similarity / neighbour_temperature)``: a close paraphrase of a known query counts for much more
        than the tenth-closest one. The SVM draws one straight boundary per label; the vote adds what lies near.
        """
        queries = self._vote_vectors(dense)
        k = min(self.neighbours, memory.shape[0])
        if memory is self.memory:  # the trained model's own vectors: searched through an index built once
            if self._index is None or self._index.memory.shape != memory.shape:
                self._index = NeighbourIndex(memory)
            nearest, similarity = self._index.nearest(queries, k)
        else:  # a calibration fold's vectors, used for one batch
            nearest, similarity = NeighbourIndex(memory).nearest(queries, k)
        picked = similarity / self.neighbour_temperature
        votes = np.exp(picked - picked.max(axis=1, keepdims=True))
        votes /= votes.sum(axis=1, keepdims=True)
        out = np.zeros((len(dense), len(self.labels)))
        rows = np.repeat(np.arange(len(dense)), k)
        np.add.at(out, (rows, memory_targets[nearest].ravel()), votes.ravel())
        result: FloatArray = out * self.neighbour_weight
        return result

    def _fit_temperature(self, texts: Sequence[str], targets: npt.NDArray[np.int64], dense: FloatArray | None) -> float:
        from runtime.ai.evaluate import stratified_folds

        smallest = int(np.bincount(targets).min())
        folds = min(self.calibration_folds, smallest)
        if folds < 2:
            return 1.0
        scores = np.zeros((len(texts), len(self.labels)))
        covered = np.zeros(len(texts), dtype=bool)
        for train, test in stratified_folds(targets.tolist(), folds, self.seed):
            part = targets[train]
            if len(set(part.tolist())) < len(self.labels):
                continue
            blocks, weights, bias = self._train(
                [texts[i] for i in train], part, None if dense is None else dense[train]
            )
            for i in test:
                scores[i] = self._scores_one(blocks, weights, bias, texts[i], None if dense is None else dense[i])
            if dense is not None and self._votes():
                scores[test] += self._neighbour_scores(self._vote_vectors(dense[train]), part, dense[test])
            covered[test] = True
        if not covered.any():
            return 1.0
        return fit_temperature(scores[covered], targets[covered])

    # -- scoring ----------------------------------------------------------------------------------------------

    @classmethod
    def _scores_one(
        cls,
        blocks: Sequence[_Block],
        weights: npt.NDArray[Any],
        bias: FloatArray,
        text: str,
        dense: FloatArray | None = None,
    ) -> FloatArray:
        cols, vals = cls._sparse_row(blocks, text)
        result: FloatArray = bias.copy()
        if cols:
            result += np.asarray(vals, dtype=np.float64) @ weights[cols]
        if dense is not None:
            # The embedding's weights are the last rows, after every n-gram block's.
            result += dense @ weights[weights.shape[0] - dense.shape[0] :]
        return result

    def decision_scores(self, texts: Sequence[str]) -> FloatArray:
        self._require_fitted()
        dense = self._dense(texts)
        out = np.empty((len(texts), len(self.labels)))
        for row, text in enumerate(texts):
            out[row] = self._scores_one(
                self.blocks, self.weights, self.bias, text, None if dense is None else dense[row]
            )
        if dense is not None and len(self.memory):
            out += self._neighbour_scores(self.memory, self.memory_targets, dense)
        return out

    def predict_proba(self, texts: Sequence[str]) -> FloatArray:
        """One row per text, one column per label in ``self.labels`` order, each row summing to 1."""
        return softmax(self.decision_scores(texts) / self.temperature)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        proba = self.predict_proba(texts)
        best = proba.argmax(axis=1)
        return [Prediction(self.labels[k], float(proba[row, k])) for row, k in enumerate(best)]

    def explain(self, text: str, label: str, top: int = 5) -> list[tuple[str, float]]:
        """The n-grams that add most to ``label``'s score for ``text``, largest first, with what each adds.

        A feature's contribution is its TF-IDF value times the label's weight for it; only positive ones are
        listed. Word n-grams read as they are ("top up"), character n-grams as ``char:`` and the characters, with
        ``_`` where a word starts or ends ("char:_vpn_"). The sentence embedding, when the model has one, is not a
        readable feature and is left out: the list explains the n-gram part of the score.
        """
        self._require_fitted()
        if label not in self.labels:
            raise ValueError(f"unknown label {label!r}")
        column = self.labels.index(label)
        cols, vals = self._sparse_row(self.blocks, text)
        if not cols or top <= 0:
            return []
        contributions = np.asarray(vals, dtype=np.float64) * self.weights[cols, column].astype(np.float64)
        order = np.argsort(-contributions, kind="stable")
        names = self._feature_names()
        return [(names(cols[i]), float(contributions[i])) for i in order[:top] if contributions[i] > 0.0]

    def _feature_names(self) -> Any:
        starts = np.cumsum([0] + [len(block.terms) for block in self.blocks])

        def name(column: int) -> str:
            k = int(np.searchsorted(starts, column, side="right")) - 1
            block = self.blocks[k]
            term = block.terms[column - int(starts[k])]
            return term if block.kind == "word" else "char:" + term.replace(" ", "_")

        return name

    def _require_fitted(self) -> None:
        if not self.labels:
            raise RuntimeError("the classifier is not trained: call fit() or load()")

    # -- persistence ------------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> None:
        self._require_fitted()
        header = {
            "format": FORMAT,
            "labels": list(self.labels),
            "temperature": self.temperature,
            "word_ngrams": self.word_ngrams,
            "char_ngrams": self.char_ngrams,
            "c": self.c,
            "min_df": self.min_df,
            "calibration_folds": self.calibration_folds,
            "seed": self.seed,
            "embeddings": self.embeddings,
            "embedding_layers": list(self.embedding_layers),
            "embedding_weight": self.embedding_weight,
            "neighbours": self.neighbours,
            "neighbour_weight": self.neighbour_weight,
            "neighbour_temperature": self.neighbour_temperature,
            "embedding_concat": self.embedding_concat,
            "embedding_head": self.embedding_head,
            "head_weight": self.head_weight,
            "embedding_runtime": self.embedding_runtime,
            "blocks": [{"kind": b.kind, "lo": b.lo, "hi": b.hi} for b in self.blocks],
        }
        arrays: dict[str, npt.NDArray[Any]] = {
            "header": np.array(json.dumps(header)),
            "weights": self.weights,
            "bias": self.bias,
        }
        for i, block in enumerate(self.blocks):
            arrays[f"terms_{i}"] = np.array(block.terms, dtype=np.str_)
            arrays[f"idf_{i}"] = block.idf
        if len(self.memory):
            arrays["memory"] = self.memory
            arrays["memory_targets"] = self.memory_targets
        # A file object keeps numpy from appending ".npz" to a path that lacks it.
        with open(path, "wb") as handle:
            np.savez_compressed(handle, **arrays)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> TextClassifier:
        with np.load(path, allow_pickle=False) as archive:
            header = json.loads(str(archive["header"]))
            if header.get("format") != FORMAT:
                raise ValueError(f"{path}: not a {FORMAT} model")
            # Files written before the embedding option have no such keys: they are n-gram models.
            embeddings = header.get("embeddings")
            model = cls(
                word_ngrams=_pair(header["word_ngrams"]),
                char_ngrams=_pair(header["char_ngrams"]),
                c=float(header["c"]),
                min_df=int(header["min_df"]),
                calibration_folds=int(header["calibration_folds"]),
                seed=int(header["seed"]),
                embeddings=None if embeddings is None else str(embeddings),
                embedding_layers=tuple(int(layer) for layer in header.get("embedding_layers", (6,))),
                embedding_weight=float(header.get("embedding_weight", 2.0)),
                neighbours=int(header.get("neighbours", 0)),
                neighbour_weight=float(header.get("neighbour_weight", 0.0)),
                neighbour_temperature=float(header.get("neighbour_temperature", 0.05)),
                embedding_concat=bool(header.get("embedding_concat", False)),
                embedding_head=str(header.get("embedding_head", "svm")),
                head_weight=float(header.get("head_weight", 0.2)),
                embedding_runtime=str(header.get("embedding_runtime", "numpy")),
            )
            model.labels = tuple(str(label) for label in header["labels"])
            model.temperature = float(header["temperature"])
            model.blocks = [
                _Block(
                    spec["kind"], int(spec["lo"]), int(spec["hi"]), archive[f"terms_{i}"].tolist(), archive[f"idf_{i}"]
                )
                for i, spec in enumerate(header["blocks"])
            ]
            model.weights = archive["weights"].astype(np.float32)
            model.bias = archive["bias"].astype(np.float64)
            if "memory" in archive.files:
                model.memory = archive["memory"].astype(np.float32)
                model.memory_targets = archive["memory_targets"].astype(np.int64)
        width = sum(len(block.terms) for block in model.blocks) + model._dense_width()
        if model.weights.shape != (width, len(model.labels)) or model.bias.shape != (len(model.labels),):
            raise ValueError(f"{path}: weights do not match the vocabulary and labels")
        if len(model.memory) and (
            model.memory.shape[1] != model._vote_width()
            or model.memory_targets.shape != (len(model.memory),)
            or int(model.memory_targets.max()) >= len(model.labels)
        ):
            raise ValueError(f"{path}: the stored neighbours do not match the embedding and labels")
        return model

    def _vote_width(self) -> int:
        from runtime.ai.embeddings import DIMENSIONS

        return DIMENSIONS[self.embeddings or ""]

    def _dense_width(self) -> int:
        if self.embeddings is None:
            return 0
        from runtime.ai.embeddings import DIMENSIONS

        return DIMENSIONS[self.embeddings] * (len(self.embedding_layers) if self.embedding_concat else 1)


def _pair(value: Iterable[int] | None) -> tuple[int, int] | None:
    if value is None:
        return None
    lo, hi = value
    return int(lo), int(hi)


def softmax(scores: FloatArray) -> FloatArray:
    shifted = scores - scores.max(axis=1, keepdims=True)
    exp = np.exp(shifted)
    result: FloatArray = exp / exp.sum(axis=1, keepdims=True)
    return result


def _log_loss(scores: FloatArray, targets: npt.NDArray[np.int64], temperature: float) -> float:
    scaled = scores / temperature
    shifted = scaled - scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(shifted).sum(axis=1))
    picked = shifted[np.arange(len(targets)), targets]
    return float(np.mean(log_norm - picked))


def fit_temperature(scores: FloatArray, targets: npt.NDArray[np.int64]) -> float:
    """The T minimising the log-loss of softmax(scores / T): golden-section search over log T."""
    # The log-loss is unimodal in log T for a fixed ranking, so a bracketing search needs no gradient.
    lo, hi = math.log(1e-3), math.log(1e2)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a = hi - ratio * (hi - lo)
    b = lo + ratio * (hi - lo)
    fa = _log_loss(scores, targets, math.exp(a))
    fb = _log_loss(scores, targets, math.exp(b))
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = _log_loss(scores, targets, math.exp(a))
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = _log_loss(scores, targets, math.exp(b))
    return math.exp((lo + hi) / 2.0)
