"""The embedded store: index versions made of segments in a folder (see `layout` and `segment`).

A build writes one new segment with the new and changed documents and
hard-links the segments it keeps from the previous version, so what it writes
follows what changed, not the size of the corpus. When a version would hold
more than `max_segments` segments, or more dead rows than live ones, all its
segments are merged into one.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import scipy.sparse as sparse

from qa import lexical, rows
from qa.candidates import ChunkHits, Query, SentenceHits
from qa.errors import IndexUnavailable
from qa.settings import Settings
from qa.sources import Document
from qa.store import layout, segment
from qa.store.manifest import DocumentEntry, Manifest, SegmentEntry, difference
from qa.store.merge import Merged, merge
from qa.store.scan import Plan, Prepared

log = logging.getLogger(__name__)
MANIFEST_FILE = "manifest.json"


@dataclass(frozen=True)
class TermRows:
    """Rows [first, stop) of a term-count matrix: one document's share, taken without copying."""

    matrix: sparse.csr_matrix
    first: int
    stop: int


@dataclass
class Part:
    """One document's rows on their way into a new segment."""

    document: Document
    entry: DocumentEntry          # its manifest entry; `segment` is set when written
    chunks: np.ndarray
    sentences: np.ndarray
    tokens: np.ndarray
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
    chunk_terms: TermRows | None = None
    sentence_terms: TermRows | None = None


class FileStore:
    """Index versions in a folder: written by one builder at a time, read by any number."""

    def __init__(self, index_dir: str | Path, settings: Settings):
        self.index_dir = Path(index_dir)
        self.settings = settings

    def __str__(self) -> str:
        return f"{self.index_dir}/"

    def lock(self, wait: bool = True):
        """Hold the build lock; `BuildLocked` at once when `wait` is false and another build holds it."""
        return layout.build_lock(self.index_dir, wait)

    def live_version(self) -> str | None:
        folder = layout.current_version(self.index_dir)
        return folder.name if folder else None

    def read_manifest(self) -> Manifest:
        """The live version's manifest; `IndexUnavailable` if there is none or it is unreadable."""
        folder = layout.live_folder(self.index_dir)
        try:
            return Manifest.from_json(layout.read_json(folder / MANIFEST_FILE))
        except (OSError, ValueError, TypeError, KeyError, AttributeError) as error:
            raise layout.corrupt(self.index_dir, f"{MANIFEST_FILE}: {error!r}") from error

    def previous(self, fingerprint: dict) -> tuple[Manifest | None, str]:
        """The live manifest if its documents can be kept, else None and why not."""
        if layout.current_version(self.index_dir) is None:
            return None, "no index yet"
        try:
            manifest = self.read_manifest()
        except IndexUnavailable:
            return None, "the previous index is unreadable"
        changed = difference(manifest.fingerprint, fingerprint)
        if changed:
            name, was, now = changed
            return None, f"{name} was {was!r}, now {now!r}"
        return manifest, ""

    def cleanup(self) -> None:
        """Remove old versions and leftovers of dead builds (under the build lock)."""
        layout.remove_old_versions(self.index_dir)

    def write(self, plan: Plan, prepared: list[Prepared], fingerprint: dict, last_build: dict) -> Manifest:
        """Write the kept and the prepared documents as a new live version; returns its manifest."""
        fresh = [part_of(p) for p in prepared]
        parts = list(fresh)
        previous = plan.previous
        if previous and plan.kept and self.needs_merge(previous, plan.kept, bool(fresh)):
            log.info("merging %d segments into one", len({e.segment for e in plan.kept.values()}))
            merged = self.load(previous, with_vectors=False).rows
            vocabulary = merged.vocabulary
            parts = kept_parts(merged, plan.kept) + parts
            kept_segments: list[str] = []
        else:
            vocabulary = {}
            kept_segments = [name for name in (previous.segments if previous else {})
                             if any(entry.segment == name for entry in plan.kept.values())]
        count_terms(fresh, vocabulary, self.settings)
        dimension = fingerprint["embedding.dimension"]
        new_segment = make_segment(parts, vocabulary, dimension) if parts or not kept_segments else None
        log.info("writing index version of %d documents", len(plan.kept) + len(fresh))
        return self.write_version(previous, fingerprint, plan.kept, parts, new_segment, kept_segments,
                                  last_build, plan.skipped)

    def needs_merge(self, previous: Manifest, kept: dict[str, DocumentEntry], adds_segment: bool) -> bool:
        """Whether the kept segments (plus a new one) should be merged into one."""
        segments = {entry.segment for entry in kept.values()}
        live = sum(entry.chunks + entry.sentences for entry in kept.values())
        total = sum(previous.segments[name].chunks + previous.segments[name].sentences for name in segments)
        return len(segments) + adds_segment > self.settings.index.max_segments or total - live > live

    def write_version(self, previous: Manifest | None, fingerprint: dict, kept: dict[str, DocumentEntry],
                      parts: list[Part], new_segment: segment.Segment | None, kept_segments: list[str],
                      last_build: dict, skipped: list[str]) -> Manifest:
        """Stage a version of the kept segments plus `new_segment`, rename it into place, switch CURRENT."""
        self.index_dir.mkdir(parents=True, exist_ok=True)
        live = layout.current_version(self.index_dir)
        name = layout.new_name(layout.VERSION_PREFIX)
        staging = self.index_dir / f"{layout.STAGING_PREFIX}{name}"
        staging.mkdir()
        try:
            segments = {s: previous.segments[s] for s in kept_segments} if previous else {}
            documents = dict(kept)
            for kept_name in kept_segments:
                assert live is not None, "kept segments come from a live version"
                layout.link_folder(live / kept_name, staging / kept_name)
            if new_segment is not None:
                segment_name = layout.new_name(layout.SEGMENT_PREFIX)
                kind = segment.write(staging / segment_name, new_segment, self.settings.index)
                layout.fsync_tree(staging / segment_name)
                segments[segment_name] = SegmentEntry(len(new_segment.chunks), len(new_segment.sentences), kind)
                documents.update({p.document.id: DocumentEntry(**{**p.entry.__dict__, "segment": segment_name})
                                  for p in parts})
            manifest = Manifest(name, fingerprint, datetime.now(UTC).isoformat(timespec="seconds"),
                                segments, dict(sorted(documents.items())), last_build, skipped)
            layout.write_json(staging / MANIFEST_FILE, manifest.to_json())  # last: marks a complete version
            layout.fsync_tree(staging, only=[MANIFEST_FILE])
            staging.rename(self.index_dir / name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        layout.switch_current(self.index_dir, name)
        return manifest

    def load(self, manifest: Manifest, with_vectors: bool = True) -> Merged:
        """The live rows of the version `manifest` describes; `IndexUnavailable` if any part is bad."""
        folder = self.index_dir / manifest.version
        try:
            segments = {name: segment.read(folder / name, entry.vectors if with_vectors else None,
                                           self.settings.index)
                        for name, entry in manifest.segments.items()}
            dimension = manifest.fingerprint.get("embedding.dimension", 0)
            for name, part in segments.items():
                found = segment.problems(part, dimension)
                if found:
                    raise layout.corrupt(self.index_dir, f"segment {name}: " + "; ".join(found))
            return merge(manifest, segments)
        except IndexUnavailable:
            raise
        except Exception as error:  # any unreadable part means the version is unusable
            raise layout.corrupt(self.index_dir, f"{type(error).__name__}: {error}") from error

    def open(self, fingerprint: dict) -> FileReader:
        """A reader of the live version, which must match `fingerprint` where a reader must;
        `IndexUnavailable` when it is missing, corrupt or incompatible."""
        for _ in range(self.settings.index.load_attempts):
            version = layout.current_version(self.index_dir)
            try:
                manifest = self.read_manifest()
                changed = difference(manifest.fingerprint, fingerprint)
                if changed:
                    name, was, now = changed
                    raise IndexUnavailable(f"the index in {self} was built with {name}={was!r}, this qa needs "
                                           f"{now!r}: run `qa index` to rebuild it")
                return FileReader(self.load(manifest), self.settings)
            except IndexUnavailable:
                if layout.current_version(self.index_dir) == version:
                    raise
                # a build switched versions (and removed this one) while we read it: read the new one
        raise IndexUnavailable(f"the index in {self} kept changing while it was loaded; try again")

    def wait_for_change(self, timeout: float) -> None:
        """Wait `timeout` seconds: a folder sends no notice of a new version; callers poll `live_version`."""
        time.sleep(timeout)


def part_of(prepared: Prepared) -> Part:
    source = prepared.source
    entry = DocumentEntry(source.document.sha256, source.document.title, source.size, source.mtime_ns,
                          "", len(prepared.chunks), len(prepared.sentences),
                          datetime.now(UTC).isoformat(timespec="seconds"))
    return Part(source.document, entry, prepared.chunks, prepared.sentences, prepared.tokens,
                prepared.chunk_vectors, prepared.sentence_vectors)


def kept_parts(merged: segment.Segment, kept: dict[str, DocumentEntry]) -> list[Part]:
    """The `kept` documents of a loaded version with their rows, to be written again."""
    chunk_ranges = rows.document_ranges(merged.chunks, len(merged.documents))
    sentence_ranges = rows.document_ranges(merged.sentences, len(merged.documents))
    token_ranges = rows.document_ranges(merged.tokens, len(merged.documents))
    parts = []
    for number, document in enumerate(merged.documents):
        if document.id not in kept:
            continue
        c, s, t = chunk_ranges[number], sentence_ranges[number], token_ranges[number]
        parts.append(Part(
            document, kept[document.id],
            merged.chunks[c["first"]:c["stop"]], merged.sentences[s["first"]:s["stop"]],
            merged.tokens[t["first"]:t["stop"]],
            merged.chunk_vectors[c["first"]:c["stop"]], merged.sentence_vectors[s["first"]:s["stop"]],
            TermRows(merged.chunk_terms, int(c["first"]), int(c["stop"])),
            TermRows(merged.sentence_terms, int(s["first"]), int(s["stop"]))))
    return parts


def count_terms(parts: list[Part], vocabulary: dict[str, int], settings: Settings) -> None:
    """Count the BM25 terms of the chunks and sentences of every fresh document, in one run each."""
    for table, attribute in (("chunks", "chunk_terms"), ("sentences", "sentence_terms")):
        texts = [part.document.text[row["start"]:row["end"]] for part in parts for row in getattr(part, table)]
        matrix = lexical.count_terms(texts, vocabulary, settings.lexical)
        first = 0
        for part in parts:
            stop = first + len(getattr(part, table))
            setattr(part, attribute, TermRows(matrix, first, stop))
            first = stop


def stack_terms(pieces: list[TermRows], width: int) -> sparse.csr_matrix:
    """One `width`-term-wide matrix of the pieces' rows, in order (one row gather, no per-piece copy)."""
    matrices = list({id(piece.matrix): piece.matrix for piece in pieces}.values())
    if not matrices:
        return sparse.csr_matrix((0, width), dtype=np.float32)
    starts = np.cumsum([0] + [m.shape[0] for m in matrices])[:-1]
    offsets = dict(zip((id(m) for m in matrices), starts, strict=True))
    widened = [sparse.csr_matrix((m.data, m.indices, m.indptr), shape=(m.shape[0], width)) for m in matrices]
    gather = np.concatenate([np.arange(p.first, p.stop) + offsets[id(p.matrix)] for p in pieces])
    return sparse.vstack(widened, format="csr")[gather]


def make_segment(parts: list[Part], vocabulary: dict[str, int], dimension: int) -> segment.Segment:
    """A segment of `parts` (sorted by document id) whose term counts index `vocabulary`."""
    ordered = sorted(parts, key=lambda p: p.document.id)
    width = len(vocabulary)

    def table(name: str, dtype: np.dtype) -> np.ndarray:
        tables = [rows.renumbered(getattr(p, name), n) for n, p in enumerate(ordered)]
        return np.concatenate(tables) if tables else np.zeros(0, dtype=dtype)

    def vectors(name: str) -> np.ndarray:
        arrays = [getattr(p, name) for p in ordered]
        return np.concatenate(arrays) if arrays else np.zeros((0, dimension), dtype=np.float32)

    return segment.Segment(
        documents=[p.document for p in ordered],
        chunks=table("chunks", rows.CHUNK), sentences=table("sentences", rows.SENTENCE),
        tokens=table("tokens", rows.TOKEN),
        chunk_vectors=vectors("chunk_vectors"), sentence_vectors=vectors("sentence_vectors"),
        vocabulary=vocabulary,
        chunk_terms=stack_terms([p.chunk_terms for p in ordered if p.chunk_terms], width),
        sentence_terms=stack_terms([p.sentence_terms for p in ordered if p.sentence_terms], width))


class FileReader:
    """One loaded version of the embedded store, read by any number of threads."""

    def __init__(self, merged: Merged, settings: Settings):
        self.manifest = merged.manifest
        self.live = merged.rows
        self.vectors = merged.vectors
        self.settings = settings
        self.numbers = {document.id: n for n, document in enumerate(self.live.documents)}
        self.chunk_sentences = rows.rows_within(self.live.chunks, self.live.sentences)
        self.sentence_tokens = rows.rows_within(self.live.sentences, self.live.tokens)
        self.section_headings = rows.section_headings(self.live.sentences)
        self.bm25_chunks = lexical.BM25(self.live.chunk_terms, self.live.vocabulary, settings.lexical)
        self.bm25_sentences = lexical.BM25(self.live.sentence_terms, self.live.vocabulary, settings.lexical)

    @property
    def version(self) -> str:
        return self.manifest.version

    def documents(self) -> list[Document]:
        return list(self.live.documents)

    def document(self, doc_id: str) -> Document:
        """The document `doc_id`; `KeyError` if there is none."""
        number = self.numbers.get(doc_id)
        if number is None:
            raise KeyError(f"no document {doc_id!r} in the index")
        return self.live.documents[number]

    def document_at(self, number: int) -> Document:
        """The document a row's `doc` number names."""
        return self.live.documents[number]

    def in_scope(self, scope: Collection[str]) -> np.ndarray:
        """The chunk ids of the documents in `scope` (ids, or folder prefixes ending in '/')."""
        numbers = [n for doc_id, n in self.numbers.items()
                   if doc_id in scope or any(p.endswith("/") and doc_id.startswith(p) for p in scope)]
        ranges = rows.document_ranges(self.live.chunks, len(self.live.documents))[sorted(numbers)]
        return rows.expand(ranges)

    def candidates(self, query: Query, n: int, scope: Collection[str] | None = None) -> ChunkHits:
        """The union of the `n` best chunks by cosine and the `n` best by BM25 (within `scope`,
        when given), each with both signals."""
        live = self.live
        lexical_ids, lexical_scores = self.bm25_chunks.postings(query.tokens)
        if scope is None:
            dense_ids = self.vectors.search(query.vector, n)[0] if self.vectors else np.zeros(0, np.int64)
        else:
            allowed = self.in_scope(scope)
            dense_ids = allowed[top(live.chunk_vectors[allowed] @ query.vector, n)]
            inside = np.isin(lexical_ids, allowed)
            lexical_ids, lexical_scores = lexical_ids[inside], lexical_scores[inside]
        ids = np.union1d(dense_ids, lexical_ids[top(lexical_scores, n)])
        lexical_of = np.zeros(len(ids), dtype=np.float32)
        if len(lexical_ids):
            found = np.minimum(np.searchsorted(lexical_ids, ids), len(lexical_ids) - 1)
            hit = lexical_ids[found] == ids
            lexical_of[hit] = lexical_scores[found[hit]]
        return ChunkHits(ids=ids, spans=live.chunks[ids], cosine=live.chunk_vectors[ids] @ query.vector,
                         lexical=lexical_of)

    def term_idf(self, tokens: list[str]) -> dict[str, float]:
        """The BM25 IDF over sentences of each token the sources use."""
        return self.bm25_sentences.idf_of(tokens)

    @property
    def max_idf(self) -> float:
        """The IDF of a term that one sentence holds."""
        return self.bm25_sentences.max_idf

    def sentences(self, chunk_ids: np.ndarray, query: Query) -> SentenceHits:
        """The sentences of `chunk_ids` and their section headings, with cosine and BM25."""
        ranges = self.chunk_sentences[chunk_ids]
        inside = np.unique(rows.expand(ranges))
        headings = self.section_headings[inside]
        ids = np.union1d(inside, headings[headings >= 0])
        heading_of = self.section_headings[ids]
        of_chunk = np.empty(len(chunk_ids), dtype=rows.RANGE)
        of_chunk["first"] = np.searchsorted(ids, ranges["first"])
        of_chunk["stop"] = np.searchsorted(ids, ranges["stop"])
        token_ranges = self.sentence_tokens[ids]
        lengths = token_ranges["stop"] - token_ranges["first"]
        tokens = np.empty(len(ids), dtype=rows.RANGE)
        tokens["stop"] = np.cumsum(lengths)
        tokens["first"] = tokens["stop"] - lengths
        return SentenceHits(
            ids=ids, spans=self.live.sentences[ids], tokens=tokens,
            token_rows=self.live.tokens[rows.expand(token_ranges)],
            term_idf=self.term_idf(query.tokens),
            cosine=self.live.sentence_vectors[ids] @ query.vector,
            lexical=self.bm25_sentences.scores(query.tokens, ids),
            section=np.where(heading_of >= 0, np.searchsorted(ids, heading_of), -1),
            of_chunk=of_chunk)


def top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the `n` highest scores (all of them when there are fewer), in no order."""
    if len(scores) <= n:
        return np.arange(len(scores))
    return np.argpartition(-scores, n - 1)[:n]
