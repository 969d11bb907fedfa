"""Vectors of a segment: a FAISS index over its chunks, and its sentences' vectors quantised.

The chunk index's kind follows the segment's size (`kind_for`): exact
inner-product search over float32 rows ("flat") below `ivf_min_chunks`, and
from there an inverted file of rows scalar-quantised to float16 ("ivf",
`ivf_lists_per_root` x sqrt(rows) cells, `ivf_probes` of them searched per
question; bench/vectors.py measures its recall against exact search: 8-bit
codes lose 0.02 of it at any number of cells searched). Either kind gives
back the vectors of given rows, so a candidate's cosine needs no second copy
of them.

Sentence vectors are read only for the sentences of candidate chunks: 4 bits
a dimension with one scale per row (`Quantised`, memory-mapped, half of int8's
disk), which keeps the SQuAD slice's figures within 0.004 of float32
(bench/build.py).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from qa.settings import IndexSettings

TRAIN_PER_CELL = 40   # k-means samples per IVF cell (FAISS asks for at least 39)
ADD_BLOCK = 100_000   # rows added to an index at a time, so a memory-mapped source is read in pieces


class ChunkIndex:
    """A FAISS index of one kind over a segment's chunk vectors (unit rows: inner products are cosines)."""

    def __init__(self, kind: str, index: faiss.Index, settings: IndexSettings):
        self.kind = kind
        self.index = index
        self.settings = settings
        if kind == "ivf":
            faiss.extract_index_ivf(index).nprobe = settings.ivf_probes

    @property
    def size(self) -> int:
        return int(self.index.ntotal)

    def vectors(self, rows: np.ndarray) -> np.ndarray:
        """The (decoded) vectors of `rows`."""
        if not len(rows):
            return np.zeros((0, self.index.d), dtype=np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(rows, dtype=np.int64))

    def search(self, vector: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The `n` best rows for one query vector (within `allowed` rows when given): (rows, scores),
        best first. Few allowed rows are scored exactly; many are searched with a FAISS selector."""
        if allowed is not None and len(allowed) < self.settings.ivf_min_chunks:
            scores = self.vectors(allowed) @ vector
            best = np.argsort(-scores, kind="stable")[:n]
            return allowed[best], scores[best]
        if not self.size or n <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        query = np.ascontiguousarray(vector[None, :], dtype=np.float32)
        if allowed is None:
            scores, rows = self.index.search(query, min(n, self.size))
        else:
            params = faiss.SearchParameters()
            if self.kind == "ivf":
                params = faiss.SearchParametersIVF()
                params.nprobe = self.settings.ivf_probes
            params.sel = faiss.IDSelectorBatch(np.ascontiguousarray(allowed, dtype=np.int64))
            scores, rows = self.index.search(query, min(n, self.size), params=params)
        found = rows[0] >= 0
        return rows[0][found], scores[0][found]

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))


def kind_for(rows: int, settings: IndexSettings) -> str:
    """Exact search for small segments, IVF from `ivf_min_chunks` rows on."""
    return "ivf" if rows >= settings.ivf_min_chunks else "flat"


def build(vectors: np.ndarray, settings: IndexSettings) -> ChunkIndex:
    """The index of the kind `kind_for` picks over `vectors` (an array or a memory map), trained and
    filled with every core."""
    searching = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    try:
        return fill(vectors, settings)
    finally:
        faiss.omp_set_num_threads(searching)


def fill(vectors: np.ndarray, settings: IndexSettings) -> ChunkIndex:
    rows, dimension = vectors.shape
    kind = kind_for(rows, settings)
    index: faiss.Index
    if kind == "flat":
        index = faiss.IndexFlatIP(dimension)
    else:
        cells = max(1, min(round(settings.ivf_lists_per_root * math.sqrt(rows)), rows // TRAIN_PER_CELL))
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(dimension), dimension, cells,
                                              faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        sample = np.sort(np.random.default_rng(0).choice(rows, min(rows, cells * TRAIN_PER_CELL), replace=False))
        index.train(np.ascontiguousarray(vectors[sample], dtype=np.float32))
    for first in range(0, rows, ADD_BLOCK):
        index.add(np.ascontiguousarray(vectors[first:first + ADD_BLOCK], dtype=np.float32))
    if kind == "ivf":
        faiss.extract_index_ivf(index).make_direct_map()
    return ChunkIndex(kind, index, settings)


def load(path: Path, kind: str, settings: IndexSettings) -> ChunkIndex:
    """A saved index; FAISS then searches with `search_threads` threads (a process-wide setting)."""
    faiss.omp_set_num_threads(settings.search_threads)
    return ChunkIndex(kind, faiss.read_index(str(path)), settings)


@dataclass(frozen=True)
class Quantised:
    """Unit rows in 4 bits a dimension: codes -7..7 times one float32 scale per row, two codes a
    byte (the high nibble first), each stored plus 8."""

    codes: np.ndarray    # (rows, ceil(dimension / 2)) uint8
    scales: np.ndarray   # (rows,) float32

    @classmethod
    def of(cls, vectors: np.ndarray) -> Quantised:
        scales = np.abs(vectors).max(axis=1, initial=0.0) / 7
        scales[scales == 0] = 1.0
        codes = (np.round(vectors / scales[:, None]) + 8).astype(np.uint8)
        if codes.shape[1] % 2:
            codes = np.pad(codes, ((0, 0), (0, 1)), constant_values=8)
        return cls((codes[:, 0::2] << 4) | codes[:, 1::2], scales.astype(np.float32))

    def __len__(self) -> int:
        return len(self.scales)

    def vectors(self, rows: np.ndarray, dimension: int) -> np.ndarray:
        packed = self.codes[rows]
        codes = np.empty((len(packed), packed.shape[1] * 2), dtype=np.float32)
        codes[:, 0::2], codes[:, 1::2] = packed >> 4, packed & 15
        return (codes[:, :dimension] - 8) * self.scales[rows, None]

    def cosines(self, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """The inner product of each of `rows` with `vector`, from the nibbles as they lie."""
        packed = self.codes[rows]
        padded = np.append(vector, np.zeros(packed.shape[1] * 2 - len(vector), dtype=vector.dtype))
        high, low = padded[0::2], padded[1::2]
        products = (packed >> 4) @ high + (packed & 15) @ low - 8 * (high.sum() + low.sum())
        return (products * self.scales[rows]).astype(np.float32)
