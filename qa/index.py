"""The index on disk: FAISS + BM25 + metadata + manifest, one folder per version,
each version made of segments.

    index/
      CURRENT                   name of the live version (swapped atomically)
      v-<time>-<id>/            one complete version
        manifest.json           format, model, dimension, settings, built_at, its segments,
                                and per document: sha256, title, file size and mtime, segment
        s-<id>/                 a segment: the documents that one build added or changed
          documents.json        id, title, path, sha256 and clean text of each document
          chunks.npy            (document, start, end) per chunk
          sentences.npy         (document, start, end, heading) per sentence
          chunk_vectors.npy     float32, L2-normalised
          sentence_vectors.npy  float32, L2-normalised
          chunks.faiss          FAISS index over the chunk vectors
          vocabulary.json       the BM25 terms (bm25s tokens), in column order
          chunk_terms.npz       term counts per chunk (sparse), for BM25
          sentence_terms.npz    term counts per sentence (sparse), for BM25

A build writes one new segment with the new and changed documents and
hard-links the segments it keeps from the previous version, so what it writes
follows what changed, not the size of the corpus. A document's live copy is
in the segment its manifest entry names; an older copy in another segment is
dead and is dropped when the segments are merged into one (see qa/build.py).
A version is written under a temporary name, renamed into place when
complete, and only then named in CURRENT, so a reader never sees half of one.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import faiss
import numpy as np
import scipy.sparse as sparse

from qa import lexical
from qa.sources import Document

FORMAT_VERSION = 2
CURRENT_FILE = "CURRENT"
VERSION_PREFIX = "v-"
SEGMENT_PREFIX = "s-"
LOAD_ATTEMPTS = 3
HNSW_MIN_CHUNKS = 50_000  # below this an exact flat index is fast enough
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128


class IndexUnavailable(Exception):
    """The index is missing, corrupt or was built by an incompatible version."""


def build_faiss(vectors: np.ndarray) -> faiss.Index:
    """Exact inner product for small segments, HNSW once one holds HNSW_MIN_CHUNKS chunks."""
    dimension = vectors.shape[1]
    if len(vectors) >= HNSW_MIN_CHUNKS:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dimension)
    index.add(vectors)
    return index


@dataclass
class Segment:
    """The documents of one segment with their rows; row document numbers are local to it."""

    documents: list[Document]
    chunks: np.ndarray            # int64 (n, 3): document, start, end
    sentences: np.ndarray         # int64 (n, 4): document, start, end, heading
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    vocabulary: dict[str, int]
    chunk_terms: sparse.csr_matrix
    sentence_terms: sparse.csr_matrix
    faiss_index: faiss.Index | None = None


class SegmentSearch:
    """FAISS search over the segments of a version, in the version's chunk numbering."""

    def __init__(self, indexes: list[faiss.Index], to_version: list[np.ndarray]):
        self.indexes = indexes
        self.to_version = to_version  # per segment: its chunk row -> version row, or -1 if dead
        self.ntotal = int(sum((rows >= 0).sum() for rows in to_version))

    def search(self, queries: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
        """The `n` best live chunks for one query, as FAISS answers: (scores, rows), each (1, n)."""
        scores, rows = [], []
        for index, to_version in zip(self.indexes, self.to_version):
            if index.ntotal == 0:
                continue
            dead = int((to_version < 0).sum())
            found_scores, found = index.search(queries, min(index.ntotal, n + dead))
            mapped = np.where(found[0] >= 0, to_version[np.maximum(found[0], 0)], -1)
            scores.append(found_scores[0][mapped >= 0])
            rows.append(mapped[mapped >= 0])
        scores, rows = np.concatenate(scores), np.concatenate(rows)
        best = np.argsort(-scores, kind="stable")[:n]
        return scores[best][None, :], rows[best][None, :]


@dataclass
class IndexData:
    """Everything one index version holds, merged from its segments, in memory."""

    manifest: dict
    documents: list[Document]
    chunks: np.ndarray            # int64 (n, 3): doc_index, start, end, sorted by document
    sentences: np.ndarray         # int64 (n, 4): doc_index, start, end, heading, sorted likewise
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    vocabulary: dict[str, int]
    chunk_terms: sparse.csr_matrix
    sentence_terms: sparse.csr_matrix
    faiss_index: SegmentSearch | None = None    # None when loaded without search parts
    bm25_chunks: lexical.BM25 | None = None
    bm25_sentences: lexical.BM25 | None = None

    @property
    def version(self) -> str:
        return self.manifest["version"]


def current_version(index_dir: Path) -> Path | None:
    """The folder of the live version, or None when there is none."""
    try:
        name = (index_dir / CURRENT_FILE).read_text().strip()
    except FileNotFoundError:
        return None
    return index_dir / name if name else None


def new_name(prefix: str) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{prefix}{stamp}-{uuid.uuid4().hex[:6]}"


def write_segment(folder: Path, segment: Segment) -> None:
    """Write one segment's files into `folder` (which must not exist yet)."""
    folder.mkdir()
    write_json(folder / "documents.json", [doc.__dict__ for doc in segment.documents])
    np.save(folder / "chunks.npy", segment.chunks)
    np.save(folder / "sentences.npy", segment.sentences)
    np.save(folder / "chunk_vectors.npy", segment.chunk_vectors)
    np.save(folder / "sentence_vectors.npy", segment.sentence_vectors)
    faiss.write_index(build_faiss(segment.chunk_vectors), str(folder / "chunks.faiss"))
    write_json(folder / "vocabulary.json", sorted(segment.vocabulary, key=segment.vocabulary.get))
    sparse.save_npz(folder / "chunk_terms.npz", segment.chunk_terms, compressed=False)
    sparse.save_npz(folder / "sentence_terms.npz", segment.sentence_terms, compressed=False)


def link_segment(source: Path, folder: Path) -> None:
    """Share a kept segment with a new version: hard links, or copies where links fail."""
    folder.mkdir()
    for path in source.iterdir():
        try:
            os.link(path, folder / path.name)
        except OSError:
            shutil.copy2(path, folder / path.name)


def write_version(index_dir: Path, manifest: dict, new_segment: Segment | None,
                  kept_segments: list[str]) -> Path:
    """Write a version of the kept segments of the live version plus `new_segment`, then
    switch CURRENT to it. `manifest["documents"]` must name "NEW" as the segment of the
    new segment's documents; it is given its real name here."""
    index_dir.mkdir(parents=True, exist_ok=True)
    live = current_version(index_dir)
    name = new_name(VERSION_PREFIX)
    staging = index_dir / f".tmp-{name}"
    staging.mkdir()
    try:
        segments = {segment: manifest["segments"][segment] for segment in kept_segments}
        for segment in kept_segments:
            link_segment(live / segment, staging / segment)
        if new_segment is not None:
            segment_name = new_name(SEGMENT_PREFIX)
            write_segment(staging / segment_name, new_segment)
            fsync_tree(staging / segment_name)
            segments[segment_name] = {"chunks": len(new_segment.chunks),
                                      "sentences": len(new_segment.sentences)}
            for entry in manifest["documents"].values():
                if entry["segment"] == "NEW":
                    entry["segment"] = segment_name
        manifest = {**manifest, "version": name, "segments": segments}
        write_json(staging / "manifest.json", manifest)  # last: its presence marks a complete version
        fsync_tree(staging, only=["manifest.json"])
        staging.rename(index_dir / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    switch_current(index_dir, name)
    return index_dir / name


def write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False)


def fsync_tree(folder: Path, only: list[str] | None = None) -> None:
    """Flush freshly written files (all of `folder`, or just `only`) to disk before they go live."""
    paths = [folder / name for name in only] if only else folder.rglob("*")
    for path in paths:
        if path.is_file():
            with open(path, "rb") as file:
                os.fsync(file.fileno())


def switch_current(index_dir: Path, name: str) -> None:
    """Point CURRENT at version `name` atomically (write a temp file, then rename)."""
    pointer = index_dir / f".{CURRENT_FILE}.{uuid.uuid4().hex[:6]}"
    with open(pointer, "w") as file:
        file.write(name + "\n")
        file.flush()
        os.fsync(file.fileno())
    os.replace(pointer, index_dir / CURRENT_FILE)


def remove_old_versions(index_dir: Path) -> list[str]:
    """Delete every version, staging folder and pointer file but the live ones (under the build lock)."""
    live = current_version(index_dir)
    removed = []
    for path in index_dir.iterdir():
        stale_version = path.name.startswith(VERSION_PREFIX) and path != live
        if path.is_dir() and (stale_version or path.name.startswith(".tmp-")):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path.name)
        elif path.is_file() and path.name.startswith(f".{CURRENT_FILE}."):
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


def read_manifest(index_dir: str | Path) -> dict:
    """The manifest of the live version; `IndexUnavailable` if there is none."""
    folder = live_folder(Path(index_dir))
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        return {**manifest, "version": folder.name}
    except (OSError, ValueError, TypeError) as error:
        raise corrupt(Path(index_dir), f"manifest.json: {error}") from error


def live_folder(index_dir: Path) -> Path:
    folder = current_version(index_dir)
    if folder is None or not folder.is_dir():
        raise IndexUnavailable(f"no index found in {index_dir}/: run `qa index` to build it")
    return folder


def corrupt(index_dir: Path, reason: str) -> IndexUnavailable:
    return IndexUnavailable(f"the index in {index_dir}/ is corrupt or incomplete ({reason}): "
                            f"run `qa index` to rebuild it")


def load_index(index_dir: str | Path, expected: dict, search_parts: bool = True) -> IndexData:
    """Load the live version; `IndexUnavailable` when it is missing, corrupt or built
    with other settings than `expected` (format_version, model, dimension).
    Without `search_parts`, FAISS and BM25 are not loaded."""
    index_dir = Path(index_dir)
    for _ in range(LOAD_ATTEMPTS):
        version = current_version(index_dir)
        try:
            return load_version(index_dir, read_manifest(index_dir), expected, search_parts)
        except IndexUnavailable:
            if current_version(index_dir) == version:
                raise
            # a build switched versions (and removed this one) while we read it: read the new one
    raise IndexUnavailable(f"the index in {index_dir}/ kept changing while it was loaded; try again")


def read_segment(folder: Path, search_parts: bool) -> Segment:
    """One segment's files, as written."""
    return Segment(
        documents=[Document(**fields) for fields in
                   json.loads((folder / "documents.json").read_text(encoding="utf-8"))],
        chunks=np.load(folder / "chunks.npy"),
        sentences=np.load(folder / "sentences.npy"),
        chunk_vectors=np.load(folder / "chunk_vectors.npy"),
        sentence_vectors=np.load(folder / "sentence_vectors.npy"),
        vocabulary={term: number for number, term in enumerate(
            json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")))},
        chunk_terms=sparse.load_npz(folder / "chunk_terms.npz").tocsr(),
        sentence_terms=sparse.load_npz(folder / "sentence_terms.npz").tocsr(),
        faiss_index=faiss.read_index(str(folder / "chunks.faiss")) if search_parts else None,
    )


def load_version(index_dir: Path, manifest: dict, expected: dict, search_parts: bool) -> IndexData:
    """Load and merge the segments of the version that `manifest` describes."""
    for key, value in expected.items():
        if manifest.get(key) != value:
            raise IndexUnavailable(
                f"the index in {index_dir}/ was built with {key}={manifest.get(key)!r}, this "
                f"version of qa needs {value!r}: run `qa index` to rebuild it")
    folder = index_dir / manifest["version"]
    try:
        segments = {name: read_segment(folder / name, search_parts) for name in manifest["segments"]}
        for name, segment in segments.items():
            check_segment(index_dir, name, segment, manifest["dimension"])
        data = merge(manifest, segments)
        if search_parts:
            data.bm25_chunks = lexical.BM25(data.chunk_terms, data.vocabulary)
            data.bm25_sentences = lexical.BM25(data.sentence_terms, data.vocabulary)
    except IndexUnavailable:
        raise
    except Exception as error:  # any unreadable part means the version is unusable
        raise corrupt(index_dir, f"{type(error).__name__}: {error}") from error
    return data


def merge(manifest: dict, segments: dict[str, Segment]) -> IndexData:
    """One IndexData of the live documents of `segments`, documents sorted by id."""
    live = {doc_id: entry["segment"] for doc_id, entry in manifest["documents"].items()}
    owners = sorted((doc.id, name, local) for name, segment in segments.items()
                    for local, doc in enumerate(segment.documents) if live.get(doc.id) == name)
    number = {(name, local): n for n, (_, name, local) in enumerate(owners)}
    vocabulary: dict[str, int] = {}
    parts = {"chunks": [], "sentences": [], "chunk_vectors": [], "sentence_vectors": [],
             "chunk_terms": [], "sentence_terms": []}
    chunk_owner = []  # per segment: version document number of each chunk row, or -1
    for name, segment in segments.items():
        to_document = np.array([number.get((name, local), -1) for local in range(len(segment.documents))]
                               + [-1], dtype=np.int64)
        columns = np.array([vocabulary.setdefault(term, len(vocabulary))
                            for term in sorted(segment.vocabulary, key=segment.vocabulary.get)]
                           + [0], dtype=np.int64)
        for rows, vectors, terms in (("chunks", "chunk_vectors", "chunk_terms"),
                                     ("sentences", "sentence_vectors", "sentence_terms")):
            table = getattr(segment, rows)
            owner = to_document[table[:, 0]] if len(table) else np.zeros(0, dtype=np.int64)
            keep = owner >= 0
            parts[rows].append(np.column_stack([owner[keep], table[keep, 1:]]))
            parts[vectors].append(getattr(segment, vectors)[keep])
            matrix = getattr(segment, terms)[keep]
            parts[terms].append((matrix.data, columns[matrix.indices], matrix.indptr, matrix.shape[0]))
            if rows == "chunks":
                chunk_owner.append(owner)
    merged = {key: np.concatenate(value) if value else None
              for key, value in parts.items() if not key.endswith("terms")}
    chunk_order = np.lexsort((merged["chunks"][:, 1], merged["chunks"][:, 0]))
    sentence_order = np.lexsort((merged["sentences"][:, 1], merged["sentences"][:, 0]))
    data = IndexData(
        manifest=manifest,
        documents=[segments[name].documents[local] for _, name, local in owners],
        chunks=merged["chunks"][chunk_order],
        sentences=merged["sentences"][sentence_order],
        chunk_vectors=merged["chunk_vectors"][chunk_order],
        sentence_vectors=merged["sentence_vectors"][sentence_order],
        vocabulary=vocabulary,
        chunk_terms=stack_terms(parts["chunk_terms"], len(vocabulary))[chunk_order],
        sentence_terms=stack_terms(parts["sentence_terms"], len(vocabulary))[sentence_order],
    )
    if all(segment.faiss_index is not None for segment in segments.values()):
        version_row = np.empty(len(chunk_order), dtype=np.int64)
        version_row[chunk_order] = np.arange(len(chunk_order))
        to_version, first = [], 0
        for owner in chunk_owner:
            rows = np.full(len(owner), -1, dtype=np.int64)
            live_rows = owner >= 0
            rows[live_rows] = version_row[first:first + live_rows.sum()]
            first += live_rows.sum()
            to_version.append(rows)
        data.faiss_index = SegmentSearch([s.faiss_index for s in segments.values()], to_version)
    return data


def stack_terms(pieces: list[tuple], width: int) -> sparse.csr_matrix:
    """One CSR matrix, `width` terms wide, of (data, columns, indptr, rows) pieces in order."""
    matrices = [sparse.csr_matrix((data, columns, indptr), shape=(rows, width))
                for data, columns, indptr, rows in pieces]
    if not matrices:
        return sparse.csr_matrix((0, width), dtype=np.float32)
    return sparse.vstack(matrices, format="csr")


def check_segment(index_dir: Path, name: str, segment: Segment, dimension: int) -> None:
    """Raise `IndexUnavailable` unless the parts of a segment agree with each other."""
    n_chunks, n_sentences = len(segment.chunks), len(segment.sentences)
    problems = []
    if segment.chunk_vectors.shape != (n_chunks, dimension):
        problems.append("chunk vectors do not match the chunks")
    if segment.sentence_vectors.shape != (n_sentences, dimension):
        problems.append("sentence vectors do not match the sentences")
    if segment.faiss_index is not None and segment.faiss_index.ntotal != n_chunks:
        problems.append("FAISS index does not match the chunks")
    if segment.chunk_terms.shape[0] != n_chunks or segment.sentence_terms.shape[0] != n_sentences:
        problems.append("BM25 term counts do not match the chunks and sentences")
    if max(segment.chunk_terms.shape[1], segment.sentence_terms.shape[1]) > len(segment.vocabulary):
        problems.append("BM25 term counts do not match the vocabulary")
    lengths = np.array([len(d.text) for d in segment.documents] + [0])
    for part, rows in (("chunks", segment.chunks), ("sentences", segment.sentences)):
        if len(rows) == 0:
            continue
        documents, starts, ends = rows[:, 0], rows[:, 1], rows[:, 2]
        if documents.min() < 0 or documents.max() >= len(segment.documents):
            problems.append(f"{part} point at missing documents")
        elif (starts < 0).any() or (ends < starts).any() or (ends > lengths[documents]).any():
            problems.append(f"{part} point outside their documents' text")
    if problems:
        raise corrupt(index_dir, f"segment {name}: " + "; ".join(problems))
