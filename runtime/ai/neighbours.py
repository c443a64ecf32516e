"""The training texts nearest to a new one, for the classifier's neighbour vote, without reading every stored
vector for each text.

With 10,000 training texts of 384 floats the exact search reads 15 MB per text, about 1.4 ms here: a third of the
MiniLM configuration's time a ticket. A first pass compares the text with every training text in a few dimensions
(the directions the stored vectors vary most along), keeps the best ``CANDIDATES``, and only those are compared in
full. The vote's neighbours are then the exact top ``k`` among the candidates: the same as the full search's unless
one of the true nearest ten falls outside the best 200 of the rough pass.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

COARSE_DIMENSIONS = 96
CANDIDATES = 200

Vectors = npt.NDArray[np.float32]


class NeighbourIndex:
    """Unit vectors of the training texts, searched by cosine (their dot product)."""

    def __init__(self, memory: npt.NDArray[Any]) -> None:
        self.memory: Vectors = np.ascontiguousarray(memory, dtype=np.float32)
        count, width = self.memory.shape
        self.projection: Vectors | None = None
        self.coarse: Vectors = np.zeros((0, 0), dtype=np.float32)
        if count > 4 * CANDIDATES and width > COARSE_DIMENSIONS:
            # The leading eigenvectors of the (uncentred) second moment keep the dot products best in few dimensions.
            moment = self.memory.T.astype(np.float64) @ self.memory.astype(np.float64)
            _, vectors = np.linalg.eigh(moment)
            self.projection = np.ascontiguousarray(vectors[:, ::-1][:, :COARSE_DIMENSIONS], dtype=np.float32)
            self.coarse = np.ascontiguousarray(self.memory @ self.projection)

    def nearest(self, queries: npt.NDArray[Any], k: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """For each query row, the indices of its ``k`` most similar stored vectors and their cosines (any order)."""
        queries = np.asarray(queries, dtype=np.float32)
        k = min(k, len(self.memory))
        if self.projection is None:
            similarity = queries @ self.memory.T
            picked = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
            return picked.astype(np.int64), np.take_along_axis(similarity, picked, axis=1).astype(np.float64)
        rough = (queries @ self.projection) @ self.coarse.T
        candidates = np.argpartition(-rough, CANDIDATES - 1, axis=1)[:, :CANDIDATES]
        exact = np.einsum("qd,qcd->qc", queries, self.memory[candidates])
        best = np.argpartition(-exact, k - 1, axis=1)[:, :k]
        return (np.take_along_axis(candidates, best, axis=1).astype(np.int64),
                np.take_along_axis(exact, best, axis=1).astype(np.float64))
