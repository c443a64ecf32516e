"""The index's rows and their terms, changed by one writer and published to searches as immutable views.

Rows are only ever appended: an edited article gets a new row and its old one is masked dead, a deleted one is
only masked. New rows go to small "delta" postings, merged into the main ones once they grow; when dead rows make
up a quarter of all, the corpus is compacted. Arrays that rows are appended to are shared with published views,
which read only the rows that existed when they were published, so appending never copies them.
"""

from __future__ import annotations

from array import array
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from runtime.kb.bm25 import Postings, Snapshot
from runtime.kb.text import term_counts, without_links

# A title or keyword says what an article is about more surely than a sentence of its body does.
TITLE_WEIGHT = 3.0
KEYWORD_WEIGHT = 2.0
MERGE_ROWS = 4_000
COMPACT_SHARE = 0.25
COMPACT_MIN_DEAD = 64


@dataclass(frozen=True)
class Article:
    """What the index keeps of a kb_articles row (its text is read again for passages)."""

    article_id: int
    title: str
    problem: str
    solution: str
    keywords: tuple[str, ...]
    language: str
    status: str
    visibility: str
    group: int  # the original of a translation group: translation_of_id, or the article's own id


class _Column:
    """A growable numpy column; growing allocates a new array, so views published earlier keep theirs."""

    def __init__(self, dtype: Any, width: int = 0) -> None:
        self.width = width
        self.data: npt.NDArray[Any] = np.zeros((16, width) if width else 16, dtype=dtype)

    def put(self, index: int, value: Any) -> None:
        if index >= len(self.data):
            grown = np.zeros((2 * len(self.data), *self.data.shape[1:]), dtype=self.data.dtype)
            grown[: len(self.data)] = self.data
            self.data = grown
        self.data[index] = value

    def keep(self, rows: npt.NDArray[np.bool_]) -> None:
        kept = self.data[: len(rows)][rows]
        self.data = np.concatenate([kept, np.zeros((16, *self.data.shape[1:]), dtype=self.data.dtype)])


@dataclass(frozen=True)
class View:
    """A published state: BM25 postings plus what filters and maps hits, one entry per row."""

    bm25: Snapshot
    article_ids: npt.NDArray[np.int64]
    groups: npt.NDArray[np.int64]
    languages: npt.NDArray[np.int16]
    statuses: npt.NDArray[np.int16]
    visibilities: npt.NDArray[np.int16]
    vectors: npt.NDArray[np.float32] | None
    vocabulary: dict[str, int]
    codes: dict[str, int]  # language, status and visibility values, each a small number
    # Live rows of each (statuses, visibilities) asked for: a handful of combinations serve every search.
    filters: dict[Hashable, npt.NDArray[np.bool_]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.bm25.size

    @property
    def nbytes(self) -> int:
        """Memory held by the view's arrays (the vocabulary's strings not counted)."""
        postings = [self.bm25.main, self.bm25.delta]
        arrays: list[npt.NDArray[Any]] = [a for p in postings for a in (p.start, p.slots, p.frequencies, p.weights)]
        arrays += [self.bm25.live, self.article_ids, self.groups, self.languages, self.statuses, self.visibilities]
        arrays += [self.vectors] if self.vectors is not None else []
        return sum(a.nbytes for a in arrays)


class Corpus:
    """The writer's side: add and remove articles, then ``publish()`` a view. Not thread-safe: one writer."""

    def __init__(self, dimension: int = 0) -> None:
        self.vocabulary: dict[str, int] = {}
        self.codes: dict[str, int] = {}
        self.slot_of: dict[int, int] = {}
        self.size = 0
        self._article_ids = _Column(np.int64)
        self._groups = _Column(np.int64)
        self._languages = _Column(np.int16)
        self._statuses = _Column(np.int16)
        self._visibilities = _Column(np.int16)
        self._lengths = _Column(np.float32)
        self._live = _Column(np.bool_)
        self._vectors = _Column(np.float32, dimension) if dimension else None
        self._main = Postings.empty()
        self._main_size = 0
        self._delta = (array("i"), array("i"), array("f"))
        self.live_count = 0
        self._total_length = 0.0  # of every row, dead ones too (see bm25)

    def _code(self, value: str) -> int:
        return self.codes.setdefault(value, len(self.codes))

    def _term_weights(self, article: Article) -> tuple[list[int], list[float]]:
        """Term ids and weighted frequencies; the body's counts are the base, the few title and keyword terms are
        added to them (one pass over the body's terms: this is the indexing loop)."""
        weights: dict[str, float] = term_counts(f"{article.problem}\n{without_links(article.solution)}")  # type: ignore[assignment]
        for text, weight in ((article.title, TITLE_WEIGHT), (" ".join(article.keywords), KEYWORD_WEIGHT)):
            for term, count in term_counts(text).items():
                weights[term] = weights.get(term, 0.0) + weight * count
        vocabulary = self.vocabulary
        ids = [vocabulary[t] if t in vocabulary else vocabulary.setdefault(t, len(vocabulary)) for t in weights]
        return ids, list(weights.values())

    def remove(self, article_id: int) -> None:
        slot = self.slot_of.pop(article_id, None)
        if slot is not None:
            self._live.data[slot] = False
            self.live_count -= 1

    def add(self, article: Article, vector: npt.NDArray[np.float32] | None = None) -> None:
        """Index the article, replacing the row it had."""
        self.remove(article.article_id)
        ids, frequencies = self._term_weights(article)
        slot = self.size
        length = float(sum(frequencies))
        for column, value in ((self._article_ids, article.article_id), (self._groups, article.group),
                              (self._languages, self._code(article.language)),
                              (self._statuses, self._code(article.status)),
                              (self._visibilities, self._code(article.visibility)),
                              (self._lengths, length), (self._live, True)):
            column.put(slot, value)
        if self._vectors is not None and vector is not None:
            self._vectors.put(slot, vector)
        slots, term_ids, weights = self._delta
        slots.extend([slot] * len(ids))
        term_ids.extend(ids)
        weights.extend(frequencies)
        self.slot_of[article.article_id] = slot
        self.size += 1
        self.live_count += 1
        self._total_length += length

    def _delta_postings(self) -> Postings:
        # Copies: an array.array cannot grow while numpy still looks into its buffer.
        slots, term_ids = (np.frombuffer(a, dtype=np.int32).copy() for a in self._delta[:2])
        weights = np.frombuffer(self._delta[2], dtype=np.float32).copy()
        return self._postings(slots, term_ids, weights)

    def _postings(self, slots: npt.NDArray[np.int32], term_ids: npt.NDArray[np.int32],
                  frequencies: npt.NDArray[np.float32]) -> Postings:
        mean = self._total_length / self.size if self.size else 1.0
        return Postings.build(slots, term_ids, frequencies, len(self.vocabulary), self._lengths.data, mean)

    def _merge(self) -> None:
        # The main postings' weights are worked out again with today's mean length, which new rows have moved.
        delta = self._delta_postings()
        (slots, term_ids, weights), (more_slots, more_terms, more_weights) = self._main.triples(), delta.triples()
        self._main = self._postings(np.concatenate([slots, more_slots]), np.concatenate([term_ids, more_terms]),
                                    np.concatenate([weights, more_weights]))
        self._main_size = self.size
        self._delta = (array("i"), array("i"), array("f"))

    def _compact(self) -> None:
        self._merge()
        live = self._live.data[: self.size].copy()
        renumber = (np.cumsum(live) - 1).astype(np.int32)
        slots, term_ids, weights = self._main.triples()
        keep = live[slots]
        columns = [self._article_ids, self._groups, self._languages, self._statuses, self._visibilities,
                   self._lengths, self._live]
        for column in [*columns, *([self._vectors] if self._vectors is not None else [])]:
            column.keep(live)
        self.size = self._main_size = int(live.sum())
        self._total_length = float(self._lengths.data[: self.size].sum())
        self._main = self._postings(renumber[slots[keep]], term_ids[keep], weights[keep])
        self.slot_of = {int(a): i for i, a in enumerate(self._article_ids.data[: self.size])}

    def publish(self) -> View:
        """A view of the corpus as it is now; merges or compacts first when it is time to."""
        dead = self.size - self.live_count
        if dead >= COMPACT_MIN_DEAD and dead > COMPACT_SHARE * self.size:
            self._compact()
        elif self.size - self._main_size >= MERGE_ROWS:
            self._merge()
        n = self.size
        bm25 = Snapshot(n, self._main, self._delta_postings(), self._live.data[:n].copy())
        vectors = self._vectors.data[:n] if self._vectors is not None else None
        return View(bm25, self._article_ids.data[:n], self._groups.data[:n], self._languages.data[:n],
                    self._statuses.data[:n], self._visibilities.data[:n], vectors, self.vocabulary,
                    dict(self.codes))
