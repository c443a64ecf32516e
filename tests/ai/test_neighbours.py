"""The neighbour vote's search: the two-pass index finds the same nearest training texts as reading them all."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from runtime.ai import neighbours
from runtime.ai.neighbours import NeighbourIndex


def clustered(count: int, width: int = 384, clusters: int = 50, seed: int = 0) -> npt.NDArray[np.float32]:
    """Unit vectors gathered round a few dozen directions and varying along a few more, with a little noise in
    every dimension: the shape of sentence embeddings of a desk's intents, which live near a low-dimensional
    subspace (a cloud of equal spread in all 384 directions has no few directions to search by)."""
    rng = np.random.default_rng(0)  # the same clusters and directions for the memory and for the queries
    centres = rng.normal(size=(clusters, width))
    directions = rng.normal(size=(30, width))
    rng = np.random.default_rng(seed)
    vectors = (centres[rng.integers(clusters, size=count)] + rng.normal(scale=0.5, size=(count, 30)) @ directions
               + rng.normal(scale=0.05, size=(count, width)))
    unit: npt.NDArray[np.float32] = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
    return unit


def exact_top(memory: npt.NDArray[np.float32], queries: npt.NDArray[np.float32], k: int) -> list[set[int]]:
    similarity = queries @ memory.T
    return [set(row.tolist()) for row in np.argsort(-similarity, axis=1)[:, :k]]


def test_the_two_passes_find_the_same_neighbours_as_the_full_search() -> None:
    memory = clustered(5000)
    queries = clustered(300, seed=1)
    index = NeighbourIndex(memory)
    assert index.projection is not None
    assert index.coarse.shape == (5000, neighbours.COARSE_DIMENSIONS)
    found, similarity = index.nearest(queries, 10)
    same = [set(row.tolist()) == expected for row, expected in zip(found, exact_top(memory, queries, 10),
                                                                   strict=True)]
    assert sum(same) >= 0.98 * len(same)
    # The similarities returned are the exact cosines of the vectors returned, not the rough pass's.
    expected = np.einsum("qd,qkd->qk", queries, memory[found])
    assert np.allclose(similarity, expected, atol=1e-5)


def test_a_small_memory_is_searched_in_full() -> None:
    memory = clustered(4 * neighbours.CANDIDATES)
    queries = clustered(50, seed=2)
    index = NeighbourIndex(memory)
    assert index.projection is None
    found, _ = index.nearest(queries, 10)
    assert [set(row.tolist()) for row in found] == exact_top(memory, queries, 10)


def test_k_larger_than_the_memory_returns_every_vector() -> None:
    memory = clustered(7)
    found, similarity = NeighbourIndex(memory).nearest(memory[:2], 10)
    assert found.shape == (2, 7)
    assert similarity.max() <= 1.0 + 1e-5
