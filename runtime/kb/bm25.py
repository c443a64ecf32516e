"""BM25 over an immutable snapshot of term postings: what a search reads while the index changes beside it.

Postings are kept per term in compressed-column form (the slots of a term ascending), so a query touches only the
postings of its own terms. Each posting carries its term frequency and its BM25 term weight, worked out when the
postings are built, so that a query only gathers and adds. As in Lucene, replaced and deleted rows still count in
document frequencies, corpus size and mean length until the corpus is compacted (at most a quarter of the rows):
their hits are masked, and the statistics drift a little instead of costing a pass over each posting list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp  # type: ignore[import-untyped,unused-ignore]

K1 = 1.2
B = 0.75

Slots = npt.NDArray[np.int32]
Floats = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Postings:
    """term -> slots: the slots of term ``t`` are ``slots[start[t]:start[t + 1]]``, ascending."""

    start: npt.NDArray[np.int64]
    slots: Slots
    frequencies: Floats  # weighted term frequency: a title word counts more
    weights: Floats  # BM25's saturated, length-normalised frequency, (k1 + 1)·tf / (tf + k1·(1 − b + b·len/mean))

    @classmethod
    def build(cls, slots: Slots, terms: Slots, frequencies: Floats, vocabulary: int, lengths: Floats,
              mean_length: float) -> Postings:
        if not len(slots):
            return cls.empty()
        matrix = sp.csc_matrix((frequencies, (slots, terms)), shape=(int(slots.max()) + 1, vocabulary))
        matrix.sum_duplicates()
        matrix.sort_indices()
        indices = matrix.indices.astype(np.int32)
        tf = matrix.data.astype(np.float32)
        norm = np.float32(K1 * (1 - B)) + np.float32(K1 * B / max(mean_length, 1e-9)) * lengths[indices]
        return cls(matrix.indptr.astype(np.int64), indices, tf, (tf * np.float32(K1 + 1) / (tf + norm)))

    @classmethod
    def empty(cls) -> Postings:
        return cls(np.zeros(1, np.int64), np.zeros(0, np.int32), np.zeros(0, np.float32), np.zeros(0, np.float32))

    @property
    def size(self) -> int:
        return len(self.slots)

    def of(self, term: int) -> tuple[Slots, Floats]:
        if term + 1 >= len(self.start):  # a term first seen after these postings were built
            return self.slots[:0], self.weights[:0]
        begin, end = self.start[term], self.start[term + 1]
        return self.slots[begin:end], self.weights[begin:end]

    def triples(self) -> tuple[Slots, Slots, Floats]:
        """(slot, term, frequency) of every posting, to rebuild from."""
        terms = np.repeat(np.arange(len(self.start) - 1, dtype=np.int32), np.diff(self.start))
        return self.slots, terms, self.frequencies


@dataclass(frozen=True)
class Snapshot:
    """The searchable state at one moment; never changed once published."""

    size: int
    main: Postings
    delta: Postings  # rows added since ``main`` was built, slot numbers absolute
    live: Mask  # exactly ``size`` long

    def postings(self, term: int) -> tuple[Slots, Floats]:
        slots, weights = self.main.of(term)
        if self.delta.size:
            more, more_weights = self.delta.of(term)
            if len(more):
                return np.concatenate([slots, more]), np.concatenate([weights, more_weights])
        return slots, weights

    def frequency(self, term: int) -> int:
        """Postings of the term, dead rows included: cheap, for ordering a query's terms."""
        return len(self.main.of(term)[0]) + len(self.delta.of(term)[0])

    def scores(self, terms: Sequence[int]) -> tuple[Floats, Floats]:
        """BM25 of every slot for the (distinct) terms, and each term's idf; dead rows are left to the caller's
        filter, which masks them with the rest."""
        scores = np.zeros(self.size, dtype=np.float32)
        idfs = np.zeros(len(terms), dtype=np.float32)
        for position, term in enumerate(terms):
            slots, weights = self.postings(term)
            df = len(slots)
            if not df:
                continue
            idf = np.float32(np.log1p((self.size - df + 0.5) / (df + 0.5)))
            idfs[position] = idf
            scores[slots] += idf * weights
        return scores, idfs

    def contains(self, term: int, slots: Slots) -> Mask:
        """Which of ``slots`` have the term."""
        found = np.zeros(len(slots), dtype=np.bool_)
        for part in (self.main, self.delta):
            posting, _ = part.of(term)
            if len(posting):
                at = np.minimum(np.searchsorted(posting, slots), len(posting) - 1)
                found |= posting[at] == slots
        return found
