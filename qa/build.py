"""Build: seeds folder -> a new index version, reusing what has not changed.

Only new and changed documents are cleaned, chunked and embedded, into one new
segment; unchanged ones stay where they are, in segments the new version
shares with the old one; deleted ones drop out of the manifest. A file whose
size and modification time match the manifest is not read again; any other is
hashed, and counts as changed only if its sha256 differs. When a version would
hold more than MAX_SEGMENTS segments, or more dead rows than live ones, all
its segments are merged into one. A change of model, chunking, cleaning or
index format rebuilds everything.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import scipy.sparse as sparse

from qa import chunking, embedding, index, lexical, sources

log = logging.getLogger(__name__)
LOCK_FILE = ".build.lock"
MAX_SEGMENTS = 8
NEW = "NEW"  # the manifest's name for the segment a build is writing


@dataclass
class BuildStats:
    """What one build did: counts, timings and the version it left live."""

    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    unchanged: int = 0
    skipped: list[str] = field(default_factory=list)
    full_rebuild: str = ""          # why everything was rebuilt, if it was
    embedded_texts: int = 0
    embed_seconds: float = 0.0
    seconds: float = 0.0
    version: str = ""

    def summary(self) -> str:
        """One line such as '3 added, 1 changed, 2 removed, 40 unchanged; 0.8 s'."""
        line = (f"{self.added} added, {self.changed} changed, {self.removed} removed, "
                f"{self.unchanged} unchanged; {self.seconds:.1f} s")
        if self.skipped:
            line += f"; {len(self.skipped)} skipped"
        if self.full_rebuild:
            line = f"full rebuild ({self.full_rebuild}): " + line
        return line


def index_settings() -> dict:
    """Everything that, when it changes, makes stored chunks or vectors unusable."""
    return {
        "format_version": index.FORMAT_VERSION,
        "model": embedding.MODEL_NAME,
        "dimension": embedding.DIMENSION,
        "chunking": chunking.SETTINGS,
        "cleaning_version": sources.CLEANING_VERSION,
    }


class BuildLocked(Exception):
    """Another build holds the index's lock."""


@contextmanager
def build_lock(index_dir: Path, wait: bool = True):
    """Hold `index_dir/.build.lock` (with our pid in it) for one build.

    The lock is an flock, so a builder that dies releases it with its process:
    a stale lock file from a dead process is simply taken over.
    """
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / LOCK_FILE, "a+") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            if not wait:
                raise BuildLocked(f"another build (pid {holder}) is running on {index_dir}/") from None
            log.warning("waiting for the build by pid %s on %s/ to finish", holder, index_dir)
            fcntl.flock(lock, fcntl.LOCK_EX)
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        try:
            yield
        finally:
            lock.truncate(0)
            fcntl.flock(lock, fcntl.LOCK_UN)


@dataclass
class TermRows:
    """Rows [start, stop) of a term-count matrix: one document's share, taken without copying."""

    matrix: sparse.csr_matrix
    start: int
    stop: int


@dataclass
class StoredDocument:
    """A document with its chunks, sentences, vectors and term counts, ready for a new segment."""

    document: sources.Document
    chunks: np.ndarray              # (start, end) per chunk
    sentences: np.ndarray           # (start, end, heading) per sentence
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    chunk_terms: TermRows | None = None
    sentence_terms: TermRows | None = None
    file_stat: tuple[int, int] = (-1, -1)  # size and mtime_ns of the file when it was read


def previous_manifest(index_dir: Path, settings: dict) -> tuple[dict | None, str]:
    """The live version's manifest if its documents can be kept, else None and why not."""
    if index.current_version(index_dir) is None:
        return None, "no index yet"
    try:
        manifest = index.read_manifest(index_dir)
    except index.IndexUnavailable:
        return None, "the previous index is unreadable"
    for key, value in settings.items():
        if manifest.get(key) != value:
            return None, f"{key.replace('_', ' ')} changed"
    if not isinstance(manifest.get("segments"), dict):
        return None, "the previous index is unreadable"
    return manifest, ""


def chunk_new(document: sources.Document, file_stat: tuple[int, int]) -> tuple[StoredDocument, list[str]]:
    """Chunk one new or changed document; its vectors are filled in later."""
    chunks, sentences = chunking.chunk_document(document)
    chunk_rows = np.array([(c.start, c.end) for c in chunks], dtype=np.int64).reshape(-1, 2)
    sentence_rows = np.array([(s.start, s.end, int(s.heading)) for s in sentences],
                             dtype=np.int64).reshape(-1, 3)
    empty = np.zeros((0, embedding.DIMENSION), dtype=np.float32)
    texts = [c.text for c in chunks] + [s.text for s in sentences]
    return StoredDocument(document, chunk_rows, sentence_rows, empty, empty, file_stat=file_stat), texts


def manifest_entry(stored: StoredDocument) -> dict:
    """What the manifest records of a document written into the new segment."""
    return {"sha256": stored.document.sha256, "title": stored.document.title,
            "size": stored.file_stat[0], "mtime_ns": stored.file_stat[1], "segment": NEW,
            "chunks": len(stored.chunks), "sentences": len(stored.sentences)}


def build_index(seeds_dir: str | Path = "seeds", index_dir: str | Path = "index",
                progress: bool = True, wait: bool = True) -> BuildStats:
    """Build or update the index of `seeds_dir` in `index_dir`; returns what it did.

    Raises `FileNotFoundError` when the seeds folder is missing and
    `BuildLocked` when `wait` is false and another build is running.
    """
    started = time.perf_counter()
    seeds_dir, index_dir = Path(seeds_dir), Path(index_dir)
    if not seeds_dir.is_dir():
        raise FileNotFoundError(f"seeds folder not found: {seeds_dir}")
    settings = index_settings()
    stats = BuildStats()
    with build_lock(index_dir, wait):
        previous, stats.full_rebuild = previous_manifest(index_dir, settings)
        known = previous["documents"] if previous else {}
        kept: dict[str, dict] = {}
        kept_unreadable = 0  # kept at their last good version
        to_embed: list[tuple[StoredDocument, list[str]]] = []
        for path in sources.source_files(seeds_dir):
            doc_id = sources.document_id(path, seeds_dir)
            old = known.get(doc_id)
            try:
                file_stat = sources.file_stat(path)
                if old and (old.get("size"), old.get("mtime_ns")) == file_stat:  # not read again
                    kept[doc_id] = old
                    continue
                data = sources.read_bytes(path)
                if old and old["sha256"] == sources.sha256_of(data):
                    kept[doc_id] = {**old, "size": file_stat[0], "mtime_ns": file_stat[1]}
                    continue
                to_embed.append(chunk_new(sources.parse_document(data, doc_id, str(path)), file_stat))
                stats.changed += bool(old)
                stats.added += not old
            except sources.SourceError as error:
                if not path.exists():
                    continue  # deleted while we looked: removed like any deleted file
                kept_text = " (its previous version stays indexed)" if old else ""
                log.warning("skipped %s%s", error, kept_text)
                stats.skipped.append(f"{error}{kept_text}")
                if old:
                    kept[doc_id] = old
                    kept_unreadable += 1
        stats.unchanged = len(kept) - kept_unreadable
        stats.removed = len(set(known) - set(kept) - {s.document.id for s, _ in to_embed})
        if previous and not to_embed and not stats.removed:
            stats.version, counts = previous["version"], previous["counts"]
        else:
            embed_new(to_embed, stats, progress)
            stats.version, counts = write(index_dir, settings, previous, kept, to_embed, stats)
            log.info("switched to index version %s", stats.version)
        index.remove_old_versions(index_dir)
    stats.documents, stats.chunks, stats.sentences = (counts["documents"], counts["chunks"],
                                                      counts["sentences"])
    stats.seconds = time.perf_counter() - started
    return stats


def embed_new(to_embed: list[tuple[StoredDocument, list[str]]], stats: BuildStats,
              progress: bool) -> None:
    """Embed the chunks and sentences of every new or changed document in one batch run."""
    texts = [text for _, doc_texts in to_embed for text in doc_texts]
    log.info("embedding %d texts of %d new or changed documents", len(texts), len(to_embed))
    started = time.perf_counter()
    vectors = embedding.embed(texts, progress=progress)
    stats.embed_seconds = time.perf_counter() - started
    stats.embedded_texts = len(texts)
    offset = 0
    for stored, _ in to_embed:
        n_chunks, n_sentences = len(stored.chunks), len(stored.sentences)
        stored.chunk_vectors = vectors[offset:offset + n_chunks]
        stored.sentence_vectors = vectors[offset + n_chunks:offset + n_chunks + n_sentences]
        offset += n_chunks + n_sentences


def count_new_terms(new_documents: list[StoredDocument], vocabulary: dict[str, int]) -> None:
    """Count the BM25 terms of the chunks and sentences of every new or changed document."""
    for part, field_name in (("chunks", "chunk_terms"), ("sentences", "sentence_terms")):
        texts = []
        for stored in new_documents:
            text = stored.document.text
            texts.extend(text[row[0]:row[1]] for row in getattr(stored, part).tolist())
        matrix = lexical.count_terms(texts, vocabulary)
        first = 0
        for stored in new_documents:
            stop = first + len(getattr(stored, part))
            setattr(stored, field_name, TermRows(matrix, first, stop))
            first = stop


def stack_terms(pieces: list[TermRows], width: int) -> sparse.csr_matrix:
    """One `width`-term-wide matrix of the pieces' rows, in order (one row gather, no per-piece copy)."""
    matrices = list({id(piece.matrix): piece.matrix for piece in pieces}.values())
    if not matrices:
        return sparse.csr_matrix((0, width), dtype=np.float32)
    offsets = dict(zip((id(m) for m in matrices), np.cumsum([0] + [m.shape[0] for m in matrices])))
    widened = [sparse.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width)) for m in matrices]
    rows = np.concatenate([np.arange(p.start, p.stop) + offsets[id(p.matrix)] for p in pieces])
    return sparse.vstack(widened, format="csr")[rows]


def make_segment(documents: list[StoredDocument], vocabulary: dict[str, int]) -> index.Segment:
    """A segment of `documents` (sorted by id) whose term counts index `vocabulary`."""
    ordered = sorted(documents, key=lambda d: d.document.id)

    def rows(part: str, width: int) -> np.ndarray:
        arrays = [np.column_stack([np.full(len(getattr(d, part)), n, dtype=np.int64), getattr(d, part)])
                  for n, d in enumerate(ordered)]
        return np.concatenate(arrays) if arrays else np.zeros((0, width), dtype=np.int64)

    def vectors(part: str) -> np.ndarray:
        arrays = [getattr(d, part) for d in ordered]
        return np.concatenate(arrays) if arrays else np.zeros((0, embedding.DIMENSION), dtype=np.float32)

    return index.Segment(
        documents=[d.document for d in ordered], chunks=rows("chunks", 3), sentences=rows("sentences", 4),
        chunk_vectors=vectors("chunk_vectors"), sentence_vectors=vectors("sentence_vectors"),
        vocabulary=vocabulary,
        chunk_terms=stack_terms([d.chunk_terms for d in ordered], len(vocabulary)),
        sentence_terms=stack_terms([d.sentence_terms for d in ordered], len(vocabulary)))


def stored_documents(data: index.IndexData, kept: dict[str, dict]) -> list[StoredDocument]:
    """The `kept` documents of a loaded version with their rows, to be written again."""
    numbers = np.arange(len(data.documents) + 1)
    chunk_bounds = np.searchsorted(data.chunks[:, 0], numbers)        # rows are grouped by document
    sentence_bounds = np.searchsorted(data.sentences[:, 0], numbers)
    stored = []
    for number, document in enumerate(data.documents):
        if document.id not in kept:
            continue
        chunk_rows = slice(chunk_bounds[number], chunk_bounds[number + 1])
        sentence_rows = slice(sentence_bounds[number], sentence_bounds[number + 1])
        entry = kept[document.id]
        stored.append(StoredDocument(
            document, data.chunks[chunk_rows, 1:], data.sentences[sentence_rows, 1:],
            data.chunk_vectors[chunk_rows], data.sentence_vectors[sentence_rows],
            TermRows(data.chunk_terms, chunk_rows.start, chunk_rows.stop),
            TermRows(data.sentence_terms, sentence_rows.start, sentence_rows.stop),
            (entry.get("size", -1), entry.get("mtime_ns", -1))))
    return stored


def needs_merge(previous: dict, kept: dict[str, dict], adds_segment: bool) -> bool:
    """Whether the kept segments (plus a new one) should be merged into one."""
    segments = {entry["segment"] for entry in kept.values()}
    live = sum(entry["chunks"] + entry["sentences"] for entry in kept.values())
    total = sum(previous["segments"][name]["chunks"] + previous["segments"][name]["sentences"]
                for name in segments)
    return len(segments) + adds_segment > MAX_SEGMENTS or total - live > live


def write(index_dir: Path, settings: dict, previous: dict | None, kept: dict[str, dict],
          to_embed: list[tuple[StoredDocument, list[str]]], stats: BuildStats) -> tuple[str, dict]:
    """Write the kept and the new documents as a new live version; returns its name and counts."""
    new_documents = [stored for stored, _ in to_embed]
    documents = dict(kept)
    if previous and kept and needs_merge(previous, kept, bool(new_documents)):
        log.info("merging %d segments into one", len({e["segment"] for e in kept.values()}))
        data = index.load_index(index_dir, expected={}, search_parts=False)
        vocabulary = data.vocabulary
        new_documents = stored_documents(data, kept) + new_documents
        kept_segments: list[str] = []
    else:
        vocabulary = {}
        kept_segments = [name for name in (previous or {}).get("segments", {})
                         if any(entry["segment"] == name for entry in kept.values())]
    fresh = [stored for stored, _ in to_embed]
    count_new_terms(fresh, vocabulary)
    documents.update({stored.document.id: manifest_entry(stored) for stored in new_documents})
    segment = make_segment(new_documents, vocabulary) if new_documents or not kept_segments else None
    chunks = sum(entry["chunks"] for entry in documents.values())
    manifest = {
        **settings,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "segments": (previous or {}).get("segments", {}),
        "documents": dict(sorted(documents.items())),
        "counts": {"documents": len(documents), "chunks": chunks,
                   "sentences": sum(entry["sentences"] for entry in documents.values())},
        "faiss": "HNSW" if chunks >= index.HNSW_MIN_CHUNKS else "flat",
        "last_build": {k: getattr(stats, k) for k in ("added", "changed", "removed", "unchanged")},
    }
    log.info("writing index version of %d documents", len(documents))
    return index.write_version(index_dir, manifest, segment, kept_segments).name, manifest["counts"]
