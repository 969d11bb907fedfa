"""Vector indexes over chunk vectors: one small interface, implementations picked from a dict.

`VectorIndex.search(vectors, n)` returns, per query, the rows and inner
products of its `n` nearest rows; vectors are unit rows, so the products
are cosines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from qa.settings import IndexSettings


class VectorIndex(Protocol):
    kind: str

    @property
    def size(self) -> int: ...

    def search(self, vectors: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores), each (queries, n), best first; rows are -1 where there are fewer."""
        ...

    def save(self, path: Path) -> None: ...


class FaissIndex:
    """A FAISS index of one kind; built, saved, loaded and searched the same way."""

    def __init__(self, kind: str, index: faiss.Index):
        self.kind = kind
        self.index = index

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def search(self, vectors: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        scores, rows = self.index.search(np.ascontiguousarray(vectors, dtype=np.float32), n)
        return rows, scores

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))


def flat(vectors: np.ndarray, settings: IndexSettings) -> FaissIndex:
    """Exact inner-product search."""
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(vectors)
    return FaissIndex("flat", index)


def hnsw(vectors: np.ndarray, settings: IndexSettings) -> FaissIndex:
    """Approximate search over an HNSW graph."""
    index = faiss.IndexHNSWFlat(vectors.shape[1], settings.hnsw_neighbours, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efSearch = settings.hnsw_ef_search
    index.add(vectors)
    return FaissIndex("hnsw", index)


KINDS = {"flat": flat, "hnsw": hnsw}


def kind_for(rows: int, settings: IndexSettings) -> str:
    """Exact search for small segments, HNSW from `hnsw_min_chunks` rows on."""
    return "hnsw" if rows >= settings.hnsw_min_chunks else "flat"


def build(vectors: np.ndarray, settings: IndexSettings) -> FaissIndex:
    return KINDS[kind_for(len(vectors), settings)](vectors, settings)


def load(path: Path, kind: str, settings: IndexSettings) -> FaissIndex:
    index = faiss.read_index(str(path))
    if kind == "hnsw":
        faiss.ParameterSpace().set_index_parameter(index, "efSearch", settings.hnsw_ef_search)
    return FaissIndex(kind, index)
