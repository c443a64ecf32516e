"""The knowledge base's retrieval index: BM25 (optionally with sentence vectors) over kb_articles, kept in step with
the database by replaying kb_changes, language-aware, one hit per translation group.

Every process keeps its own index in memory (``index_for``) and catches up with edits made anywhere by replaying the
change log on each search: one query on its key when nothing changed. A search never waits for another thread's
catch-up; it reads the last published view, which that catch-up is about to replace.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa

from runtime.compile.desk import CompiledDesk
from runtime.kb import source
from runtime.kb.corpus import Article, Corpus, View
from runtime.kb.text import clip, fold, passages, term, words

# A hit in the reader's language comes first only when it scores at least this share of the best hit.
GOOD_SHARE = 0.3
# A long query keeps its rarest terms: they decide the ranking, and the cost stays bounded.
MAX_QUERY_TERMS = 64
# PostgreSQL hands out change ids before commit, so a lower id can commit after a higher one was seen: ids skipped
# over are asked for again until this old (a rolled-back transaction leaves a gap that never fills).
PENDING_SECONDS = 120.0
PENDING_LIMIT = 10_000
PENDING_WINDOW = 1_000
DENSE_WEIGHT = 0.5
FILTERS_KEPT = 16
DENSE_FLOOR = 0.25


@dataclass(frozen=True)
class Hit:
    article_id: int
    score: float  # higher is better; comparable within one search
    passage: str  # the sentence or short paragraph of title, problem or solution that matched best
    language: str
    matched: tuple[str, ...]  # the query's words found in the article (for a translation: in the one that matched)


class KbIndex:
    """An in-process retrieval index over one desk's kb_articles; safe to search from many threads."""

    def __init__(self, compiled: CompiledDesk, engine: sa.Engine, *, dense: bool = False) -> None:
        self.compiled = compiled
        self.engine = engine
        self.dense = dense
        self._encoder = None
        if dense:
            from runtime.kb import dense as dense_vectors

            self._encoder = dense_vectors.encoder()
        self._lock = threading.Lock()
        self._corpus = self._new_corpus()
        self._view: View | None = None
        self._seen = 0
        self._pending: dict[int, float] = {}

    def _new_corpus(self) -> Corpus:
        return Corpus(self._encoder.dimension if self._encoder is not None else 0)

    def _add(self, corpus: Corpus, batch: Sequence[Article]) -> None:
        if self._encoder is None:
            for article in batch:
                corpus.add(article)
            return
        from runtime.kb.dense import article_vectors

        for article, vector in zip(batch, article_vectors(self._encoder, batch), strict=True):
            corpus.add(article, vector)

    def rebuild(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Read every article afresh; returns how many are indexed."""
        with self._lock:
            return self._rebuild(progress)

    def _rebuild(self, progress: Callable[[int, int], None] | None) -> int:
        corpus = self._new_corpus()
        with self.engine.connect() as connection:
            # The log's position is taken first: a change made while articles are read is replayed after.
            seen = source.latest_change(connection, self.compiled)
            floor = max(seen - PENDING_WINDOW, 0)
            present = source.recent_change_ids(connection, self.compiled, floor)
            total = source.count_articles(connection, self.compiled)
            batch: list[Article] = []
            done = 0
            for article in source.all_articles(connection, self.compiled):
                batch.append(article)
                if len(batch) == source.CHUNK:
                    self._add(corpus, batch)
                    done += len(batch)
                    batch.clear()
                    if progress is not None:
                        progress(done, max(total, done))
            self._add(corpus, batch)
            done += len(batch)
        if progress is not None:
            progress(done, max(total, done))
        now = time.monotonic()
        self._pending = {i: now for i in range(floor + 1, seen + 1) if i not in present}
        self._corpus, self._seen = corpus, seen
        self._view = corpus.publish()
        return corpus.live_count

    def refresh(self) -> int:
        """Replay the changes made since the last one seen; returns how many articles were read again."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> int:
        if self._view is None:
            return self._rebuild(None)
        with self.engine.connect() as connection:
            changes = source.changes(connection, self.compiled, self._seen, self._pending.keys())
            if not changes:
                self._expire_pending()
                return 0
            changed = {article_id for _, article_id in changes}
            found = source.articles(connection, self.compiled, changed)
        self._advance([change_id for change_id, _ in changes])
        for article_id in changed - found.keys():
            self._corpus.remove(article_id)
        self._add(self._corpus, [found[i] for i in sorted(found)])
        self._view = self._corpus.publish()
        return len(changed)

    def _advance(self, change_ids: list[int]) -> None:
        now = time.monotonic()
        for change_id in change_ids:
            self._pending.pop(change_id, None)
        latest = max(change_ids)
        if latest > self._seen:
            returned = set(change_ids)
            first = max(self._seen + 1, latest - PENDING_WINDOW + 1)
            self._pending.update((i, now) for i in range(first, latest + 1) if i not in returned)
            self._seen = latest
        self._expire_pending()

    def _expire_pending(self) -> None:
        if not self._pending:
            return
        oldest = time.monotonic() - PENDING_SECONDS
        self._pending = {i: t for i, t in self._pending.items() if t >= oldest}
        if len(self._pending) > PENDING_LIMIT:
            self._pending = dict(sorted(self._pending.items())[-PENDING_LIMIT:])

    def _refresh_if_free(self) -> None:
        if self._view is None:
            self.refresh()
        elif self._lock.acquire(blocking=False):
            try:
                self._refresh()
            finally:
                self._lock.release()

    def search(self, query: str, *, language: str | None = None, k: int = 5,
               statuses: Collection[str] = ("published",), visibilities: Collection[str] = ("public", "internal"),
               exclude: Collection[int] = ()) -> list[Hit]:
        """The ``k`` best articles for ``query``: in ``language`` first, one per translation group."""
        self._refresh_if_free()
        view = self._view
        if view is None or k <= 0 or not view.size:
            return []
        query_terms = _query_terms(view, query)
        if not query_terms and self._encoder is None:
            return []
        term_ids = [term_id for _, term_id in query_terms]
        scores, idfs = view.bm25.scores(term_ids)
        allowed = _allowed(view, statuses, visibilities, exclude)
        scores *= allowed
        if self._encoder is not None and view.vectors is not None and any(True for _ in words(query)):
            scores = self._hybrid(view, query, scores, allowed)
        chosen = _choose(view, scores, allowed, language, k)
        if not chosen:
            return []
        with self.engine.connect() as connection:
            bodies = source.texts(connection, self.compiled, [int(view.article_ids[s]) for _, s in chosen])
        # A passage is picked by words that begin with a query term: close enough to the index's stemming for
        # choosing a sentence, and a few regex searches per passage cost far less than tokenising each one.
        term_idf = [(stemmed, re.compile(r"\b" + re.escape(stemmed)), float(idf))
                    for (word, _), idf in zip(query_terms, idfs, strict=True) for stemmed in [fold(term(word) or word)]]
        codes = {code: value for value, code in view.codes.items()}
        matched_slots = np.array([m for m, _ in chosen], dtype=np.int32)
        found = [view.bm25.contains(term_id, matched_slots) for _, term_id in query_terms]
        hits = []
        for n, (matched_slot, shown_slot) in enumerate(chosen):
            article_id = int(view.article_ids[shown_slot])
            if article_id not in bodies:  # deleted since the view was published
                continue
            matched = tuple(word for (word, _), has in zip(query_terms, found, strict=True) if has[n])
            hits.append(Hit(article_id, float(scores[matched_slot]), _passage(bodies[article_id], term_idf),
                            codes[int(view.languages[shown_slot])], matched))
        return hits

    def stats(self) -> dict[str, int]:
        """Size of the last published view: rows (dead ones too), terms, postings and bytes of its arrays."""
        view = self._view
        if view is None:
            return {"rows": 0, "terms": 0, "postings": 0, "bytes": 0}
        return {"rows": view.size, "terms": len(view.vocabulary),
                "postings": view.bm25.main.size + view.bm25.delta.size, "bytes": view.nbytes}

    def _hybrid(self, view: View, query: str, scores: npt.NDArray[np.float32], allowed: npt.NDArray[np.bool_]
                ) -> npt.NDArray[np.float32]:
        from runtime.kb.dense import query_vector

        assert self._encoder is not None
        assert view.vectors is not None
        cosine = view.vectors @ query_vector(self._encoder, query)
        best = float(scores.max()) if len(scores) else 0.0
        lexical = scores / np.float32(best) if best > 0 else scores
        semantic = np.where(cosine >= DENSE_FLOOR, cosine, np.float32(0)) * np.float32(DENSE_WEIGHT)
        combined: npt.NDArray[np.float32] = (lexical + semantic).astype(np.float32) * allowed
        return combined


def _query_terms(view: View, query: str) -> list[tuple[str, int]]:
    """(word, term id) of each distinct known term of the query, at most MAX_QUERY_TERMS, the rarest kept."""
    found: dict[int, str] = {}
    for word in words(query):
        term_id = view.vocabulary.get(term(word) or "")
        if term_id is not None and term_id not in found:
            found[term_id] = word
    pairs = [(word, term_id) for term_id, word in found.items()]
    if len(pairs) > MAX_QUERY_TERMS:
        pairs = sorted(pairs, key=lambda p: view.bm25.frequency(p[1]))[:MAX_QUERY_TERMS]
    return pairs


def _allowed(view: View, statuses: Collection[str], visibilities: Collection[str],
             exclude: Collection[int]) -> npt.NDArray[np.bool_]:
    def among(column: npt.NDArray[np.int16], values: Collection[str]) -> npt.NDArray[np.bool_]:
        return np.isin(column, [view.codes[v] for v in values if v in view.codes])

    key = (frozenset(statuses), frozenset(visibilities))
    allowed = view.filters.get(key)
    if allowed is None:
        allowed = view.bm25.live & among(view.statuses, statuses) & among(view.visibilities, visibilities)
        if len(view.filters) < FILTERS_KEPT:
            view.filters[key] = allowed
    if exclude:
        allowed = allowed & ~np.isin(view.article_ids, np.fromiter(exclude, dtype=np.int64))
    return allowed


def _ranked(scores: npt.NDArray[np.float32], k: int) -> Iterator[int]:
    """Slots with a positive score, best first; sorts only as far as it is read."""
    positive = np.flatnonzero(scores > 0)
    given: set[int] = set()
    want = 4 * k + 16
    while len(given) < len(positive):
        if want >= len(positive):
            ordered = positive[np.argsort(-scores[positive], kind="stable")]
        else:
            top = positive[np.argpartition(-scores[positive], want)[:want]]
            ordered = top[np.lexsort((top, -scores[top]))]
        # Ties at the cut can put different slots into a wider round: skip what was given, not a count of it.
        for slot in ordered.tolist():
            if slot not in given:
                given.add(slot)
                yield slot
        want *= 4


def _choose(view: View, scores: npt.NDArray[np.float32], allowed: npt.NDArray[np.bool_], language: str | None,
            k: int) -> list[tuple[int, int]]:
    """(slot that matched, slot to show) of the best ``k`` translation groups."""
    chosen: list[tuple[int, int]] = []
    groups: set[int] = set()
    reader = view.codes.get(language) if language is not None else None
    if language is not None and reader is None:
        reader = -1  # a language no article has: every hit is a fallback
    if reader is not None and len(scores):
        good = np.float32(GOOD_SHARE) * scores.max()
        own = np.where((view.languages == reader) & (scores >= good), scores, np.float32(0))
        for slot in _ranked(own, k):
            group = int(view.groups[slot])
            if group not in groups:
                groups.add(group)
                chosen.append((slot, slot))
                if len(chosen) == k:
                    return chosen
    for slot in _ranked(scores, k):
        group = int(view.groups[slot])
        if group in groups:
            continue
        groups.add(group)
        shown = slot
        if reader is not None and view.languages[slot] != reader:
            translations = np.flatnonzero((view.groups == group) & (view.languages == reader) & allowed)
            if len(translations):
                shown = int(translations[0])
        chosen.append((slot, shown))
        if len(chosen) == k:
            break
    return chosen


def _passage(body: tuple[str, str, str], term_idf: list[tuple[str, re.Pattern[str], float]]) -> str:
    """The passage holding the most of the query's weight; the title when none holds any."""
    best, best_weight = "", -1.0
    for passage in passages(*body):
        folded = fold(passage)
        # The substring test is the cheap filter; the pattern then asks for the start of a word.
        weight = sum(idf for stemmed, pattern, idf in term_idf if stemmed in folded and pattern.search(folded))
        if weight > best_weight:
            best, best_weight = passage, weight
    return clip(best)


_indexes: dict[tuple[str, str, bool], KbIndex] = {}
_indexes_lock = threading.Lock()


def index_for(compiled: CompiledDesk, engine: sa.Engine, *, dense: bool | None = None) -> KbIndex:
    """The process's index for this desk and database, built on its first search; ``dense`` as the desk's
    ``kb.dense`` says unless given."""
    if dense is None:
        dense = compiled.definitions.project.kb.dense
    key = (str(compiled.root.resolve()), engine.url.render_as_string(hide_password=True), dense)
    with _indexes_lock:
        index = _indexes.get(key)
        if index is None:
            index = _indexes[key] = KbIndex(compiled, engine, dense=dense)
        return index
