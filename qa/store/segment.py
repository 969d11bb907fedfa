"""A segment: the documents one build added or changed, with all their rows, on disk.

    s-<time>-<id>/
      documents.json        each document: id, title, path, sha256, clean text, headings, pages
      chunks.npy            rows.CHUNK per chunk (doc numbers local to the segment)
      sentences.npy         rows.SENTENCE per sentence
      tokens.npy            rows.TOKEN per token of the sentences: parse and named entities
      chunk_vectors.npy     float32 unit rows
      sentence_vectors.npy  float32 unit rows
      chunks.faiss          the vector index over the chunk vectors (kind in the manifest)
      vocabulary.json       the BM25 terms, in column order
      chunk_terms.npz       term counts per chunk (sparse)
      sentence_terms.npz    term counts per sentence (sparse)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sparse

from qa import rows
from qa.settings import IndexSettings
from qa.sources import Document
from qa.store import vectors
from qa.store.layout import read_json, write_json


@dataclass
class Segment:
    """The documents of one segment with their rows; row document numbers are local to it."""

    documents: list[Document]
    chunks: np.ndarray            # rows.CHUNK
    sentences: np.ndarray         # rows.SENTENCE
    tokens: np.ndarray            # rows.TOKEN
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    vocabulary: dict[str, int]
    chunk_terms: sparse.csr_matrix
    sentence_terms: sparse.csr_matrix
    vector_index: vectors.VectorIndex | None = None


def write(folder: Path, segment: Segment, settings: IndexSettings) -> str:
    """Write one segment's files into `folder` (which must not exist yet); returns its vector index kind."""
    folder.mkdir()
    write_json(folder / "documents.json", [asdict(doc) for doc in segment.documents])
    np.save(folder / "chunks.npy", segment.chunks)
    np.save(folder / "sentences.npy", segment.sentences)
    np.save(folder / "tokens.npy", segment.tokens)
    np.save(folder / "chunk_vectors.npy", segment.chunk_vectors)
    np.save(folder / "sentence_vectors.npy", segment.sentence_vectors)
    index = vectors.build(segment.chunk_vectors, settings)
    index.save(folder / "chunks.faiss")
    write_json(folder / "vocabulary.json", sorted(segment.vocabulary, key=segment.vocabulary.__getitem__))
    sparse.save_npz(folder / "chunk_terms.npz", segment.chunk_terms, compressed=False)
    sparse.save_npz(folder / "sentence_terms.npz", segment.sentence_terms, compressed=False)
    return index.kind


def read(folder: Path, vector_kind: str | None, settings: IndexSettings) -> Segment:
    """One segment's files, as written; without `vector_kind` its vector index is not loaded."""
    return Segment(
        documents=[Document.from_json(fields) for fields in read_json(folder / "documents.json")],
        chunks=np.load(folder / "chunks.npy"),
        sentences=np.load(folder / "sentences.npy"),
        tokens=np.load(folder / "tokens.npy"),
        chunk_vectors=np.load(folder / "chunk_vectors.npy"),
        sentence_vectors=np.load(folder / "sentence_vectors.npy"),
        vocabulary={term: number for number, term in enumerate(read_json(folder / "vocabulary.json"))},
        chunk_terms=sparse.load_npz(folder / "chunk_terms.npz").tocsr(),
        sentence_terms=sparse.load_npz(folder / "sentence_terms.npz").tocsr(),
        vector_index=vectors.load(folder / "chunks.faiss", vector_kind, settings) if vector_kind else None,
    )


def problems(segment: Segment, dimension: int) -> list[str]:
    """What is wrong with a segment whose parts do not agree with each other ([] when nothing)."""
    n_chunks, n_sentences = len(segment.chunks), len(segment.sentences)
    found = []
    if (segment.chunks.dtype, segment.sentences.dtype, segment.tokens.dtype) != (rows.CHUNK, rows.SENTENCE,
                                                                                rows.TOKEN):
        found.append("chunk, sentence or token rows have another layout")
        return found
    if segment.chunk_vectors.shape != (n_chunks, dimension):
        found.append("chunk vectors do not match the chunks")
    if segment.sentence_vectors.shape != (n_sentences, dimension):
        found.append("sentence vectors do not match the sentences")
    if segment.vector_index is not None and segment.vector_index.size != n_chunks:
        found.append("the vector index does not match the chunks")
    if segment.chunk_terms.shape[0] != n_chunks or segment.sentence_terms.shape[0] != n_sentences:
        found.append("BM25 term counts do not match the chunks and sentences")
    if max(segment.chunk_terms.shape[1], segment.sentence_terms.shape[1]) > len(segment.vocabulary):
        found.append("BM25 term counts do not match the vocabulary")
    lengths = np.array([len(d.text) for d in segment.documents] + [0])
    for part, table in (("chunks", segment.chunks), ("sentences", segment.sentences), ("tokens", segment.tokens)):
        if len(table) == 0:
            continue
        if table["doc"].min() < 0 or table["doc"].max() >= len(segment.documents):
            found.append(f"{part} point at missing documents")
        elif ((table["start"] < 0).any() or (table["end"] < table["start"]).any()
              or (table["end"] > lengths[table["doc"]]).any()):
            found.append(f"{part} point outside their documents' text")
    return found
