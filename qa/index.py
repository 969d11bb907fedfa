"""The index on disk: FAISS + BM25 + metadata + manifest, one folder per version.

    index/
      CURRENT                 name of the live version (swapped atomically)
      v-<time>-<id>/          one complete version
        manifest.json         format, model, dimension, settings, documents' sha256, built_at
        documents.json        id, title, path, sha256 and clean text of each document
        chunks.npy            (doc_index, start, end) per chunk
        sentences.npy         (doc_index, start, end, heading) per sentence
        chunk_vectors.npy     float32, L2-normalised
        sentence_vectors.npy  float32, L2-normalised
        chunks.faiss          FAISS index over the chunk vectors
        vocabulary.json       the BM25 terms (bm25s tokens), in column order
        chunk_terms.npz       term counts per chunk (sparse), for BM25
        sentence_terms.npz    term counts per sentence (sparse), for BM25

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

FORMAT_VERSION = 1
CURRENT_FILE = "CURRENT"
VERSION_PREFIX = "v-"
LOAD_ATTEMPTS = 3
HNSW_MIN_CHUNKS = 50_000  # below this an exact flat index is fast enough
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 128


class IndexUnavailable(Exception):
    """The index is missing, corrupt or was built by an incompatible version."""


def build_faiss(vectors: np.ndarray) -> faiss.Index:
    """Exact inner product for small corpora, HNSW once there are HNSW_MIN_CHUNKS chunks."""
    dimension = vectors.shape[1]
    if len(vectors) >= HNSW_MIN_CHUNKS:
        index = faiss.IndexHNSWFlat(dimension, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dimension)
    index.add(vectors)
    return index


@dataclass
class IndexData:
    """Everything one index version holds, in memory."""

    manifest: dict
    documents: list[Document]
    chunks: np.ndarray            # int64 (n, 3): doc_index, start, end
    sentences: np.ndarray         # int64 (n, 4): doc_index, start, end, heading
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    vocabulary: dict[str, int]
    chunk_terms: sparse.csr_matrix
    sentence_terms: sparse.csr_matrix
    faiss_index: faiss.Index | None = None      # None when loaded without search parts
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


def new_version_name() -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{VERSION_PREFIX}{stamp}-{uuid.uuid4().hex[:6]}"


def write_version(index_dir: Path, manifest: dict, documents: list[Document], chunks: np.ndarray,
                  sentences: np.ndarray, chunk_vectors: np.ndarray, sentence_vectors: np.ndarray,
                  vocabulary: dict[str, int], chunk_terms: sparse.csr_matrix,
                  sentence_terms: sparse.csr_matrix) -> Path:
    """Write a complete version beside the current one and switch CURRENT to it."""
    index_dir.mkdir(parents=True, exist_ok=True)
    name = new_version_name()
    manifest = {**manifest, "version": name}
    staging = index_dir / f".tmp-{name}"
    staging.mkdir()
    try:
        write_json(staging / "documents.json", [doc.__dict__ for doc in documents])
        np.save(staging / "chunks.npy", chunks)
        np.save(staging / "sentences.npy", sentences)
        np.save(staging / "chunk_vectors.npy", chunk_vectors)
        np.save(staging / "sentence_vectors.npy", sentence_vectors)
        faiss.write_index(build_faiss(chunk_vectors), str(staging / "chunks.faiss"))
        write_json(staging / "vocabulary.json", sorted(vocabulary, key=vocabulary.get))
        sparse.save_npz(staging / "chunk_terms.npz", chunk_terms, compressed=False)
        sparse.save_npz(staging / "sentence_terms.npz", sentence_terms, compressed=False)
        write_json(staging / "manifest.json", manifest)  # last: its presence marks a complete version
        fsync_tree(staging)
        staging.rename(index_dir / name)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    switch_current(index_dir, name)
    return index_dir / name


def write_json(path: Path, data) -> None:
    with open(path, "w", encoding="utf-8") as file:
        json.dump(data, file, ensure_ascii=False)


def fsync_tree(folder: Path) -> None:
    """Flush every file of a freshly written version to disk before it goes live."""
    for path in folder.rglob("*"):
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
    Without `search_parts`, FAISS and BM25 are not loaded (a build needs only the rest)."""
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


def load_version(index_dir: Path, manifest: dict, expected: dict, search_parts: bool) -> IndexData:
    """Load the version that `manifest` describes."""
    for key, value in expected.items():
        if manifest.get(key) != value:
            raise IndexUnavailable(
                f"the index in {index_dir}/ was built with {key}={manifest.get(key)!r}, this "
                f"version of qa needs {value!r}: run `qa index` to rebuild it")
    folder = index_dir / manifest["version"]
    try:
        documents = [Document(**fields) for fields in
                     json.loads((folder / "documents.json").read_text(encoding="utf-8"))]
        data = IndexData(
            manifest=manifest,
            documents=documents,
            chunks=np.load(folder / "chunks.npy"),
            sentences=np.load(folder / "sentences.npy"),
            chunk_vectors=np.load(folder / "chunk_vectors.npy"),
            sentence_vectors=np.load(folder / "sentence_vectors.npy"),
            vocabulary={term: number for number, term in enumerate(
                json.loads((folder / "vocabulary.json").read_text(encoding="utf-8")))},
            chunk_terms=sparse.load_npz(folder / "chunk_terms.npz").tocsr(),
            sentence_terms=sparse.load_npz(folder / "sentence_terms.npz").tocsr(),
        )
        if search_parts:
            data.faiss_index = faiss.read_index(str(folder / "chunks.faiss"))
            data.bm25_chunks = lexical.BM25(data.chunk_terms, data.vocabulary)
            data.bm25_sentences = lexical.BM25(data.sentence_terms, data.vocabulary)
    except Exception as error:  # any unreadable part means the version is unusable
        raise corrupt(index_dir, f"{type(error).__name__}: {error}") from error
    check_consistent(index_dir, data)
    return data


def check_consistent(index_dir: Path, data: IndexData) -> None:
    """Raise `IndexUnavailable` unless the parts of a version agree with each other."""
    n_chunks, n_sentences = len(data.chunks), len(data.sentences)
    problems = []
    if data.chunk_vectors.shape != (n_chunks, data.manifest["dimension"]):
        problems.append("chunk vectors do not match the chunks")
    if data.sentence_vectors.shape != (n_sentences, data.manifest["dimension"]):
        problems.append("sentence vectors do not match the sentences")
    if data.faiss_index is not None and data.faiss_index.ntotal != n_chunks:
        problems.append("FAISS index does not match the chunks")
    if data.chunk_terms.shape[0] != n_chunks:
        problems.append("BM25 term counts do not match the chunks")
    if data.sentence_terms.shape[0] != n_sentences:
        problems.append("BM25 term counts do not match the sentences")
    if max(data.chunk_terms.shape[1], data.sentence_terms.shape[1]) > len(data.vocabulary):
        problems.append("BM25 term counts do not match the vocabulary")
    lengths = np.array([len(d.text) for d in data.documents] + [0])
    for name, rows in (("chunks", data.chunks), ("sentences", data.sentences)):
        if len(rows) == 0:
            continue
        documents, starts, ends = rows[:, 0], rows[:, 1], rows[:, 2]
        if documents.min() < 0 or documents.max() >= len(data.documents):
            problems.append(f"{name} point at missing documents")
        elif (starts < 0).any() or (ends < starts).any() or (ends > lengths[documents]).any():
            problems.append(f"{name} point outside their documents' text")
    if problems:
        raise corrupt(index_dir, "; ".join(problems))
