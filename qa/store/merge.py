"""Merge: the live documents of a version's segments as one set of rows.

A document's live copy is in the segment its manifest entry names; an older
copy in another segment is dead: its rows are left out here, and dropped for
good when a build merges the segments into one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sparse

from qa import rows
from qa.store.manifest import Manifest
from qa.store.segment import Segment
from qa.store.vectors import VectorIndex


class SegmentVectors:
    """Vector search over the segments of a version, in the version's chunk numbering."""

    def __init__(self, indexes: list[VectorIndex], to_version: list[np.ndarray]):
        self.indexes = indexes
        self.to_version = to_version  # per segment: its chunk row -> version row, or -1 if dead

    def search(self, vector: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The `n` best live chunks for one query vector: (rows, scores), best first."""
        found_rows, found_scores = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.float32)]
        for index, to_version in zip(self.indexes, self.to_version, strict=True):
            if index.size == 0:
                continue
            dead = int((to_version < 0).sum())
            local, scores = index.search(vector[None, :], min(index.size, n + dead))
            mapped = np.where(local[0] >= 0, to_version[np.maximum(local[0], 0)], -1)
            found_rows.append(mapped[mapped >= 0])
            found_scores.append(scores[0][mapped >= 0])
        all_rows, all_scores = np.concatenate(found_rows), np.concatenate(found_scores)
        best = np.argsort(-all_scores, kind="stable")[:n]
        return all_rows[best], all_scores[best]


@dataclass
class Merged:
    """One version: its live rows as one `Segment` (documents sorted by id, rows by (doc, start),
    `doc` = number in `rows.documents`) and vector search over its segments in that numbering."""

    manifest: Manifest
    rows: Segment
    vectors: SegmentVectors | None = None


def merge(manifest: Manifest, segments: dict[str, Segment]) -> Merged:
    """One `Merged` of the live documents of `segments`."""
    owners = sorted((doc.id, name, local) for name, segment in segments.items()
                    for local, doc in enumerate(segment.documents)
                    if doc.id in manifest.documents and manifest.documents[doc.id].segment == name)
    number = {(name, local): n for n, (_, name, local) in enumerate(owners)}
    vocabulary: dict[str, int] = {}
    chunk_parts: list[tuple] = []
    sentence_parts: list[tuple] = []
    chunk_owner = []  # per segment: version document number of each chunk row, or -1
    for name, segment in segments.items():
        to_document = np.array([number.get((name, local), -1) for local in range(len(segment.documents))]
                               + [-1], dtype=np.int64)
        columns = np.array([vocabulary.setdefault(term, len(vocabulary))
                            for term in sorted(segment.vocabulary, key=segment.vocabulary.__getitem__)]
                           + [0], dtype=np.int64)
        for parts, table, table_vectors, terms in (
                (chunk_parts, segment.chunks, segment.chunk_vectors, segment.chunk_terms),
                (sentence_parts, segment.sentences, segment.sentence_vectors, segment.sentence_terms)):
            owner = to_document[table["doc"]]
            keep = owner >= 0
            matrix = terms[keep]
            parts.append((rows.renumbered(table[keep], owner[keep]), table_vectors[keep],
                          (matrix.data, columns[matrix.indices], matrix.indptr, matrix.shape[0])))
            if parts is chunk_parts:
                chunk_owner.append(owner)
    chunks, chunk_vectors, chunk_terms, chunk_order = stack(chunk_parts, rows.CHUNK, len(vocabulary))
    sentences, sentence_vectors, sentence_terms, _ = stack(sentence_parts, rows.SENTENCE, len(vocabulary))
    merged = Merged(manifest, Segment([segments[name].documents[local] for _, name, local in owners],
                                      chunks, sentences, live_tokens(segments, number), chunk_vectors,
                                      sentence_vectors, vocabulary, chunk_terms, sentence_terms))
    if all(segment.vector_index is not None for segment in segments.values()):
        version_row = np.empty(len(chunk_order), dtype=np.int64)
        version_row[chunk_order] = np.arange(len(chunk_order))
        to_version, first = [], 0
        for owner in chunk_owner:
            mapped = np.full(len(owner), -1, dtype=np.int64)
            live = owner >= 0
            mapped[live] = version_row[first:first + live.sum()]
            first += live.sum()
            to_version.append(mapped)
        merged.vectors = SegmentVectors([s.vector_index for s in segments.values() if s.vector_index], to_version)
    return merged


def live_tokens(segments: dict[str, Segment], number: dict[tuple[str, int], int]) -> np.ndarray:
    """The token rows of the live documents, renumbered as in `number` and sorted by (doc, start)."""
    tables = [np.zeros(0, dtype=rows.TOKEN)]
    for name, segment in segments.items():
        owner = np.array([number.get((name, local), -1) for local in range(len(segment.documents))] + [-1],
                         dtype=np.int64)[segment.tokens["doc"]]
        tables.append(rows.renumbered(segment.tokens[owner >= 0], owner[owner >= 0]))
    table = np.concatenate(tables)
    return table[np.lexsort((table["start"], table["doc"]))]


def stack(parts: list[tuple], dtype: np.dtype, width: int):
    """Rows, vectors and term counts of all parts, sorted by (doc, start); and that order."""
    if not parts:
        return (np.zeros(0, dtype=dtype), np.zeros((0, 0), dtype=np.float32),
                sparse.csr_matrix((0, width), dtype=np.float32), np.zeros(0, dtype=np.int64))
    table = np.concatenate([p[0] for p in parts])
    order = np.lexsort((table["start"], table["doc"]))
    terms = sparse.vstack([sparse.csr_matrix((data, columns, indptr), shape=(n, width))
                           for data, columns, indptr, n in (p[2] for p in parts)], format="csr")
    return table[order], np.concatenate([p[1] for p in parts])[order], terms[order], order
