"""The embedded store: index versions made of segments in a folder (see `layout` and `segment`).

A build writes one new segment with the new and changed documents and
hard-links the segments it keeps from the previous version, so what it writes
follows what changed, not the size of the corpus. When a version would hold
more than `max_segments` segments, or more dead rows than live ones, its live
documents are written again into one segment: at build time, never when read.

A reader searches the segments where they lie. A document's live copy is in
the segment its manifest entry names; an older copy in another segment is
dead, and skipped. Rows and documents are numbered across the version: a
segment's follow those of the segments before it in the manifest.
"""

from __future__ import annotations

import itertools
import logging
import shutil
import time
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

import numpy as np

from qa import lexical, rows
from qa.candidates import ChunkHits, Query, SentenceHits
from qa.errors import IndexUnavailable, OutOfMemory
from qa.settings import Settings
from qa.sources import Document
from qa.store import layout
from qa.store.manifest import DocumentEntry, Manifest, SegmentEntry, difference
from qa.store.scan import Plan, Prepared
from qa.store.segment import Part, Segment, SegmentWriter

log = logging.getLogger(__name__)
MANIFEST_FILE = "manifest.json"
CACHED_DOCUMENTS = 256   # documents a reader keeps decoded
CACHED_QUERIES = 256     # questions whose terms a reader keeps looked up
MAX_SHARE = 0.05         # a term more than this share of the chunks hold is scored in one pass (`lexical_top`)


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

    def write(self, plan: Plan, prepared: Iterable[Prepared], fingerprint: dict, last_build: dict) -> Manifest:
        """Write the kept and the prepared documents (an iterable, read once) as a new live version;
        returns its manifest."""
        previous = plan.previous
        merge = bool(previous and plan.kept and self.needs_merge(previous, plan.kept, bool(plan.new)))
        kept_segments = [] if merge or not previous else [
            name for name in previous.segments if any(entry.segment == name for entry in plan.kept.values())]
        self.index_dir.mkdir(parents=True, exist_ok=True)
        live = layout.current_version(self.index_dir)
        name = layout.new_name(layout.VERSION_PREFIX)
        staging = self.index_dir / f"{layout.STAGING_PREFIX}{name}"
        staging.mkdir()
        try:
            segments = {s: previous.segments[s] for s in kept_segments} if previous else {}
            documents = dict(plan.kept)
            for kept_name in kept_segments:
                assert live is not None, "kept segments come from a live version"
                layout.link_folder(live / kept_name, staging / kept_name)
            if plan.new or merge or not kept_segments:
                if merge:
                    assert previous is not None and live is not None
                    log.info("merging %d segments into one", len({e.segment for e in plan.kept.values()}))
                parts = self.kept_parts(live, previous, plan.kept) if merge and live and previous else iter(())
                segment_name = layout.new_name(layout.SEGMENT_PREFIX)
                segment, written = self.write_segment(staging / segment_name, fingerprint, parts, prepared)
                segments[segment_name] = segment
                documents.update({doc_id: replace(entry, segment=segment_name) for doc_id, entry in written})
            log.info("writing index version of %d documents", len(documents))
            manifest = Manifest(name, fingerprint, datetime.now(UTC).isoformat(timespec="seconds"),
                                segments, dict(sorted(documents.items())), last_build, plan.skipped)
            layout.write_json(staging / MANIFEST_FILE, manifest.to_json())  # last: marks a complete version
            layout.fsync_tree(staging, only=[MANIFEST_FILE])
            staging.rename(self.index_dir / name)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        layout.switch_current(self.index_dir, name)
        return manifest

    def needs_merge(self, previous: Manifest, kept: dict[str, DocumentEntry], adds_segment: bool) -> bool:
        """Whether the kept segments (plus a new one) should be merged into one."""
        segments = {entry.segment for entry in kept.values()}
        live = sum(entry.chunks + entry.sentences for entry in kept.values())
        total = sum(previous.segments[name].chunks + previous.segments[name].sentences for name in segments)
        return len(segments) + adds_segment > self.settings.index.max_segments or total - live > live

    def kept_parts(self, live: Path, previous: Manifest,
                   kept: dict[str, DocumentEntry]) -> Iterator[tuple[DocumentEntry, Part]]:
        """The kept documents of the live version, segment by segment, with their rows."""
        for name in previous.segments:
            owned = [doc_id for doc_id, entry in kept.items() if entry.segment == name]
            if owned:
                old = Segment(live / name, self.settings)
                numbers = old.catalog.numbers_of(owned)
                order = sorted(numbers, key=numbers.__getitem__)
                for doc_id, part in zip(order, old.parts([numbers[i] for i in order]), strict=True):
                    yield kept[doc_id], part

    def write_segment(self, folder: Path, fingerprint: dict, kept: Iterator[tuple[DocumentEntry, Part]],
                      prepared: Iterable[Prepared]) -> tuple[SegmentEntry, list[tuple[str, DocumentEntry]]]:
        """Write the kept and the prepared documents into a new segment, in batches of about
        `batch_sentences` sentences; its manifest entry and its documents' entries."""
        writer = SegmentWriter(folder, fingerprint["embedding.dimension"], self.settings)
        written: list[tuple[str, DocumentEntry]] = []
        batch: list[Part] = []
        try:
            for entry, part in itertools.chain(kept, ((entry_of(p), part_of(p)) for p in prepared)):
                written.append((part.document.id, entry))
                batch.append(part)
                if sum(len(p.sentences) for p in batch) >= self.settings.index.batch_sentences:
                    writer.add(batch)
                    batch = []
            writer.add(batch)
            kind = writer.close()
        except BaseException:
            writer.discard()
            raise
        layout.fsync_tree(folder)
        return SegmentEntry(writer.chunks, writer.sentences, kind), written

    def open(self, fingerprint: dict) -> FileReader:
        """A reader of the live version, which must match `fingerprint` where a reader must;
        `IndexUnavailable` when it is missing, corrupt or incompatible, `OutOfMemory` when it
        does not fit."""
        for _ in range(self.settings.index.load_attempts):
            version = layout.current_version(self.index_dir)
            try:
                manifest = self.read_manifest()
                changed = difference(manifest.fingerprint, fingerprint)
                if changed:
                    name, was, now = changed
                    hint = f"open it with `--model {was}` (or that encoder), or " if name == "embedding.model" else ""
                    raise IndexUnavailable(f"the index in {self} was built with {name}={was!r}, this qa needs "
                                           f"{now!r}: {hint}run `qa index` to rebuild it")
                return FileReader(manifest, self.load(manifest), self.settings)
            except IndexUnavailable:
                if layout.current_version(self.index_dir) == version:
                    raise
                # a build switched versions (and removed this one) while we read it: read the new one
        raise IndexUnavailable(f"the index in {self} kept changing while it was loaded; try again")

    def wait_for_change(self, timeout: float) -> None:
        """Wait `timeout` seconds: a folder sends no notice of a new version; callers poll `live_version`."""
        time.sleep(timeout)

    def close(self) -> None:
        """Nothing to let go of: a folder store holds no connection (its readers map files)."""

    def load(self, manifest: Manifest) -> list[Segment]:
        """The segments of the version `manifest` describes; `IndexUnavailable` if any part is bad."""
        folder = self.index_dir / manifest.version
        try:
            segments = [Segment(folder / name, self.settings) for name in manifest.segments]
            dimension = manifest.fingerprint.get("embedding.dimension", 0)
            for name, segment in zip(manifest.segments, segments, strict=True):
                found = segment.problems(dimension)
                if found:
                    raise layout.corrupt(self.index_dir, f"segment {name}: " + "; ".join(found))
            return segments
        except IndexUnavailable:
            raise
        except MemoryError as error:
            raise OutOfMemory(f"the index in {self} does not fit in this machine's free memory ({error!r}); "
                              f"close other programs, or index fewer sources") from error
        except Exception as error:  # any unreadable part means the version is unusable
            raise layout.corrupt(self.index_dir, f"{type(error).__name__}: {error}") from error


def entry_of(prepared: Prepared) -> DocumentEntry:
    source = prepared.source
    return DocumentEntry(source.document.sha256, source.document.title, source.size, source.mtime_ns,
                         "", len(prepared.chunks), len(prepared.sentences),
                         datetime.now(UTC).isoformat(timespec="seconds"))


def part_of(prepared: Prepared) -> Part:
    return Part(prepared.source.document, prepared.chunks, prepared.sentences, prepared.tokens,
                prepared.chunk_vectors, prepared.sentence_vectors)


@dataclass
class Live:
    """A segment as a version sees it: where its rows start in the version's numbering, and
    which of its documents are dead (copies another segment replaces, or removed ones)."""

    segment: Segment
    first_document: int
    first_chunk: int
    first_sentence: int
    live_documents: np.ndarray | None = None   # per document; None: all live
    live_chunks: np.ndarray | None = None      # per chunk; None: all live
    chunks: int = 0                            # live ones
    sentences: int = 0
    chunk_length: int = 0                      # BM25 length of the live ones
    sentence_length: int = 0
    dead_sentence_terms: dict[int, int] | None = None   # term column -> dead sentences holding it
    shortest_chunk: int = 0                    # BM25 length of the shortest chunk (dead ones too)

    @classmethod
    def of(cls, segment: Segment, live_numbers: list[int] | None, first: tuple[int, int, int]) -> Live:
        """`segment` with the documents numbered `live_numbers` live (None: all of them)."""
        found = cls(segment, *first, chunks=len(segment.chunks), sentences=len(segment.sentences),
                    chunk_length=segment.chunk_length, sentence_length=segment.sentence_length,
                    dead_sentence_terms={}, shortest_chunk=int(segment.chunk_lengths.min(initial=0)))
        if live_numbers is None:
            return found
        found.live_documents = np.zeros(segment.documents, dtype=bool)
        found.live_documents[live_numbers] = True
        found.live_chunks = found.live_documents[segment.chunks["doc"]]
        found.chunks = int(found.live_chunks.sum())
        found.chunk_length -= int(segment.chunk_lengths[~found.live_chunks].sum())
        dead = np.flatnonzero(~found.live_documents[segment.sentences["doc"]])
        found.sentences -= len(dead)
        _, terms, counts = segment.sentence_terms.entries(dead)
        found.sentence_length -= int(counts.sum())
        held = np.bincount(terms)
        found.dead_sentence_terms = {int(t): int(held[t]) for t in np.flatnonzero(held)}
        return found


@dataclass(frozen=True)
class Posting:
    """One query term's live postings in one segment: the chunks holding it (ascending) and how often."""

    token: str
    rows: np.ndarray
    counts: np.ndarray


@dataclass(frozen=True)
class Terms:
    """A question's BM25 terms as one segment numbers them: column and sentences holding each."""

    tokens: list[str]
    columns: np.ndarray
    sentences: np.ndarray   # live sentences of the segment holding each


class FileReader:
    """One version of the embedded store, read in place by any number of threads."""

    def __init__(self, manifest: Manifest, segments: list[Segment], settings: Settings):
        self.manifest = manifest
        self.settings = settings
        owned: dict[str, list[str]] = {name: [] for name in manifest.segments}
        for doc_id, entry in manifest.documents.items():
            owned[entry.segment].append(doc_id)
        self.segments: list[Live] = []
        first = (0, 0, 0)
        for name, segment in zip(manifest.segments, segments, strict=True):
            numbers = None
            if len(owned[name]) != segment.documents:
                found = segment.catalog.numbers_of(owned[name])
                numbers = [found[doc_id] for doc_id in owned[name]]
            self.segments.append(Live.of(segment, numbers, first))
            first = (first[0] + segment.documents, first[1] + len(segment.chunks),
                     first[2] + len(segment.sentences))
        self.by_name = dict(zip(manifest.segments, self.segments, strict=True))
        self.first_documents = np.array([s.first_document for s in self.segments], dtype=np.int64)
        self.first_chunks = np.array([s.first_chunk for s in self.segments], dtype=np.int64)
        self.first_sentences = np.array([s.first_sentence for s in self.segments], dtype=np.int64)
        self.chunk_count = sum(s.chunks for s in self.segments)
        self.sentence_count = sum(s.sentences for s in self.segments)
        self.chunk_average = sum(s.chunk_length for s in self.segments) / max(self.chunk_count, 1)
        self.sentence_average = sum(s.sentence_length for s in self.segments) / max(self.sentence_count, 1)
        self.document_at = lru_cache(maxsize=CACHED_DOCUMENTS)(self._document_at)
        self.terms_of = lru_cache(maxsize=CACHED_QUERIES)(self._terms_of)

    @property
    def version(self) -> str:
        return self.manifest.version

    def documents(self) -> list[Document]:
        """Every live document, sorted by id (each is read from disk: this costs what the corpus weighs)."""
        found = []
        for name, live in self.by_name.items():
            ids = [doc_id for doc_id, entry in self.manifest.documents.items() if entry.segment == name]
            numbers = live.segment.catalog.numbers_of(ids)
            found += [live.segment.catalog.document(numbers[doc_id]) for doc_id in ids]
        return sorted(found, key=lambda document: document.id)

    def document(self, doc_id: str) -> Document:
        """The document `doc_id`; `KeyError` if there is none."""
        entry = self.manifest.documents.get(doc_id)
        if entry is None:
            raise KeyError(f"no document {doc_id!r} in the index")
        live = self.by_name[entry.segment]
        return self.document_at(live.first_document + live.segment.catalog.numbers_of([doc_id])[doc_id])

    def _document_at(self, number: int) -> Document:
        """The document a row's `doc` number names."""
        live = self.segments[int(np.searchsorted(self.first_documents, number, side="right")) - 1]
        return live.segment.catalog.document(number - live.first_document)

    def spelled_out(self, acronyms: Collection[str]) -> dict[str, str]:
        """For each acronym, the capitalised phrase whose initials spell it in the first live
        document (by id) that has one."""
        found = {}
        for acronym in acronyms:
            phrases = [(doc_id, phrase) for name, live in self.by_name.items()
                       for doc_id, phrase in live.segment.catalog.spelled_out(acronym)
                       if self.manifest.documents.get(doc_id, None) is not None
                       and self.manifest.documents[doc_id].segment == name]
            if phrases:
                found[acronym] = min(phrases)[1]
        return found

    def _terms_of(self, tokens: tuple[str, ...]) -> list[Terms]:
        """Per segment, the question's distinct tokens it uses, their columns and live sentences."""
        found = []
        for live in self.segments:
            known = live.segment.catalog.terms(list(tokens))
            names = [t for t in tokens if t in known]
            columns = np.array([known[t][0] for t in names], dtype=np.int64)
            dead = live.dead_sentence_terms or {}
            held = np.array([known[t][1] - dead.get(known[t][0], 0) for t in names], dtype=np.int64)
            found.append(Terms(names, columns, held))
        return found

    def term_idf(self, tokens: list[str]) -> dict[str, float]:
        """The BM25 IDF over sentences of each token the sources use."""
        held: dict[str, int] = {}
        for terms in self.terms_of(tuple(dict.fromkeys(tokens))):
            for token, count in zip(terms.tokens, terms.sentences.tolist(), strict=True):
                held[token] = held.get(token, 0) + count
        return {token: float(lexical.idf(count, self.sentence_count)) for token, count in held.items() if count > 0}

    @property
    def max_idf(self) -> float:
        """The IDF of a term that one sentence holds."""
        return float(lexical.idf(1, self.sentence_count)) if self.sentence_count else 1.0

    def in_scope(self, scope: Collection[str]) -> list[np.ndarray]:
        """Per segment, its live chunks of the documents in `scope` (ids, or folder prefixes ending
        in '/'), ascending."""
        prefixes = tuple(p for p in scope if p.endswith("/"))
        chosen: dict[str, list[str]] = {name: [] for name in self.by_name}
        for doc_id, entry in self.manifest.documents.items():
            if doc_id in scope or (prefixes and doc_id.startswith(prefixes)):
                chosen[entry.segment].append(doc_id)
        allowed = []
        for name, live in self.by_name.items():
            numbers = np.array(sorted(live.segment.catalog.numbers_of(chosen[name]).values()), dtype=np.int64)
            bounds = np.searchsorted(live.segment.chunks["doc"], [numbers, numbers + 1]).reshape(2, -1)
            ranges = np.empty(len(numbers), dtype=rows.RANGE)
            ranges["first"], ranges["stop"] = bounds
            allowed.append(rows.expand(ranges))
        return allowed

    def postings(self, tokens: tuple[str, ...]) -> tuple[list[list[Posting]], dict[str, float]]:
        """Per segment, the live postings of the query's distinct terms (views of the map, read
        when used), and each term's BM25 IDF over the version's live chunks."""
        found: list[list[Posting]] = []
        held: dict[str, int] = {}
        for live, terms in zip(self.segments, self.terms_of(tokens), strict=True):
            lists = []
            for token, column in zip(terms.tokens, terms.columns.tolist(), strict=True):
                postings_of = live.segment.chunk_postings
                first, stop = int(postings_of.indptr[column]), int(postings_of.indptr[column + 1])
                rows_of, counts = postings_of.indices[first:stop], postings_of.counts[first:stop]
                if live.live_chunks is not None:
                    keep = live.live_chunks[rows_of]
                    rows_of, counts = rows_of[keep], counts[keep]
                held[token] = held.get(token, 0) + len(rows_of)
                lists.append(Posting(token, rows_of, counts))
            found.append(lists)
        return found, {token: float(lexical.idf(count, self.chunk_count)) for token, count in held.items()}

    def lexical_scores(self, postings: list[list[Posting]], idf: dict[str, float], ids: np.ndarray) -> np.ndarray:
        """The BM25 score of each of the chunks `ids`, each term's count found by bisection."""
        found = np.zeros(len(ids), dtype=np.float32)
        which, local = self.locate(self.first_chunks, ids)
        for number, lists in enumerate(postings):
            here = np.flatnonzero(which == number)
            if not len(here) or not lists:
                continue
            rows_here = local[here]
            norms = lexical.norms(self.segments[number].segment.chunk_lengths[rows_here], self.chunk_average,
                                  self.settings.lexical)
            for posting in lists:
                if not len(posting.rows):
                    continue
                at = np.minimum(np.searchsorted(posting.rows, rows_here), len(posting.rows) - 1)
                hit = posting.rows[at] == rows_here
                found[here[hit]] += lexical.scores(idf[posting.token], posting.counts[at[hit]], norms[hit])
        return found

    def lexical_top(self, postings: list[list[Posting]], idf: dict[str, float], n: int,
                    allowed: list[np.ndarray] | None) -> np.ndarray:
        """The ids of the `n` live chunks (within `allowed`) with the best BM25 scores, ascending.

        Exact without reading every posting of common terms (MaxScore): terms are taken from
        the one that can add most to a score down, and the chunks holding a term taken so far
        are scored in full; once the n-th best of them beats the most a chunk holding only the
        other terms can score (the sum of those terms' bounds), no other chunk can enter the
        top n. Before a term more than `MAX_SHARE` of the chunks hold would be taken, every
        posting is scored instead."""
        held = {token: sum(len(p.rows) for lists in postings for p in lists if p.token == token) for token in idf}
        bound = {token: idf[token] * self.saturation_bound(postings, token) for token in idf}
        order = sorted(idf, key=lambda token: -bound[token])
        ids = np.zeros(0, dtype=np.int64)
        for taken, token in enumerate(order, 1):
            if held[token] > MAX_SHARE * self.chunk_count:
                break
            pieces = [ids]
            for number, (live, lists) in enumerate(zip(self.segments, postings, strict=True)):
                for posting in (p for p in lists if p.token == token):
                    hit = posting.rows if allowed is None else np.intersect1d(posting.rows, allowed[number],
                                                                            assume_unique=True)
                    pieces.append(hit + live.first_chunk)
            ids = np.unique(np.concatenate(pieces))
            rest = order[taken:]
            if rest and len(ids) < n:
                continue
            scores = self.lexical_scores(postings, idf, ids)
            if not rest or np.partition(scores, len(ids) - n)[len(ids) - n] > sum(bound[t] for t in rest):
                return np.sort(ids[top(scores, n)])
        ids, scores = self.score_every_posting(postings, idf, allowed)
        return np.sort(ids[top(scores, n)])

    def saturation_bound(self, postings: list[list[Posting]], token: str) -> float:
        """The most count / (count + norm) can be for `token` in any chunk: its highest count over
        the shortest chunk's norm."""
        found = 0.0
        for live, lists in zip(self.segments, postings, strict=True):
            norm = lexical.norms(np.array([live.shortest_chunk]), self.chunk_average, self.settings.lexical)[0]
            for posting in (p for p in lists if p.token == token and len(p.rows)):
                most = float(posting.counts.max())
                found = max(found, most / (most + float(norm)))
        return found

    def score_every_posting(self, postings: list[list[Posting]], idf: dict[str, float],
                            allowed: list[np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """(ids, BM25 scores) of every live chunk (within `allowed`) holding a query term."""
        pieces, found = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.float32)]
        for number, (live, lists) in enumerate(zip(self.segments, postings, strict=True)):
            if not lists:
                continue
            total = np.zeros(len(live.segment.chunks), dtype=np.float32)
            for posting in lists:
                norms = lexical.norms(live.segment.chunk_lengths[posting.rows], self.chunk_average,
                                      self.settings.lexical)
                total[posting.rows] += lexical.scores(idf[posting.token], posting.counts, norms)
            hit = np.flatnonzero(total)
            if allowed is not None:
                hit = np.intersect1d(hit, allowed[number], assume_unique=True)
            pieces.append(hit + live.first_chunk)
            found.append(total[hit])
        return np.concatenate(pieces), np.concatenate(found)

    def dense_chunks(self, vector: np.ndarray, n: int, allowed: list[np.ndarray] | None) -> np.ndarray:
        """The ids of the `n` live chunks (within `allowed`) nearest to `vector`."""
        ids, scores = [np.zeros(0, dtype=np.int64)], [np.zeros(0, dtype=np.float32)]
        for number, live in enumerate(self.segments):
            within = allowed[number] if allowed is not None else None
            if within is not None and live.live_chunks is not None:
                within = within[live.live_chunks[within]]
            wanted = n
            while True:  # dead rows are dropped after the search: ask for more until n live ones come
                found, found_scores = live.segment.chunk_index.search(vector, wanted, within)
                if live.live_chunks is not None and within is None:
                    keep = live.live_chunks[found]
                    found, found_scores = found[keep], found_scores[keep]
                if len(found) >= n or wanted >= live.segment.chunk_index.size:
                    break
                wanted *= 4
            ids.append(found[:n] + live.first_chunk)
            scores.append(found_scores[:n])
        all_ids, all_scores = np.concatenate(ids), np.concatenate(scores)
        return all_ids[np.argsort(-all_scores, kind="stable")[:n]]

    def locate(self, firsts: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The segment of each of `ids` (version rows, given each segment's first) and its row there."""
        which = np.searchsorted(firsts, ids, side="right") - 1
        return which, ids - firsts[which]

    def candidates(self, query: Query, n: int, scope: Collection[str] | None = None) -> ChunkHits:
        """The union of the `n` best chunks by cosine and the `n` best by BM25 (within `scope`,
        when given), each with both signals."""
        allowed = self.in_scope(scope) if scope is not None else None
        postings, idf = self.postings(tuple(dict.fromkeys(query.tokens)))
        ids = np.union1d(self.dense_chunks(query.vector, n, allowed), self.lexical_top(postings, idf, n, allowed))
        lexical_of = self.lexical_scores(postings, idf, ids)
        spans = np.empty(len(ids), dtype=rows.CHUNK)
        cosine = np.empty(len(ids), dtype=np.float32)
        which, local = self.locate(self.first_chunks, ids)
        for number in np.unique(which).tolist():
            live, here = self.segments[number], which == number
            spans[here] = rows.take(live.segment.chunks, local[here])
            spans["doc"][here] += live.first_document
            cosine[here] = live.segment.chunk_index.vectors(local[here]) @ query.vector
        return ChunkHits(ids=ids, spans=spans, cosine=cosine, lexical=lexical_of)

    def sentences(self, chunk_ids: np.ndarray, query: Query) -> SentenceHits:
        """The sentences of `chunk_ids` and their section headings, with cosine and BM25."""
        which, local = self.locate(self.first_chunks, np.asarray(chunk_ids, dtype=np.int64))
        chunk_ranges = np.empty(len(chunk_ids), dtype=rows.RANGE)
        parts = []
        for number, terms in enumerate(self.terms_of(tuple(dict.fromkeys(query.tokens)))):
            here = which == number
            if not here.any():
                continue
            live = self.segments[number]
            segment = live.segment
            ranges = segment.chunk_sentences[local[here]]
            chunk_ranges["first"][here] = ranges["first"] + live.first_sentence
            chunk_ranges["stop"][here] = ranges["stop"] + live.first_sentence
            inside = np.unique(rows.expand(ranges))
            headings = rows.section_headings(inside, segment.headings, segment.sentences)
            ids = np.union1d(inside, headings[headings >= 0])
            above = rows.section_headings(ids, segment.headings, segment.sentences)
            spans = rows.take(segment.sentences, ids)
            spans["doc"] += live.first_document
            parts.append({"ids": ids + live.first_sentence, "spans": spans,
                          "token_ranges": segment.token_ranges(ids), "token_rows": segment.tokens_of(ids),
                          "cosine": segment.sentence_vectors.cosines(ids, query.vector),
                          "lexical": self.sentence_scores(live, terms, ids),
                          "heading": np.where(above >= 0, above + live.first_sentence, -1)})
        empty: dict[str, np.ndarray] = {
            "ids": np.zeros(0, np.int64), "spans": np.zeros(0, rows.SENTENCE), "token_ranges": np.zeros(0, rows.RANGE),
            "token_rows": np.zeros(0, rows.TOKEN), "cosine": np.zeros(0, np.float32),
            "lexical": np.zeros(0, np.float32), "heading": np.zeros(0, np.int64)}
        joined: dict[str, np.ndarray] = parts[0] if len(parts) == 1 else {  # one segment: nothing to join
            key: np.concatenate([part[key] for part in parts]) if parts else value for key, value in empty.items()}
        ids = joined["ids"]
        of_chunk = np.empty(len(chunk_ids), dtype=rows.RANGE)
        of_chunk["first"] = np.searchsorted(ids, chunk_ranges["first"])
        of_chunk["stop"] = np.searchsorted(ids, chunk_ranges["stop"])
        lengths = joined["token_ranges"]["stop"] - joined["token_ranges"]["first"]
        tokens = np.empty(len(ids), dtype=rows.RANGE)
        tokens["stop"] = np.cumsum(lengths)
        tokens["first"] = tokens["stop"] - lengths
        return SentenceHits(
            ids=ids, spans=joined["spans"], tokens=tokens, token_rows=joined["token_rows"],
            term_idf=self.term_idf(query.tokens), cosine=joined["cosine"], lexical=joined["lexical"],
            of_chunk=of_chunk, section=np.where(joined["heading"] >= 0, np.searchsorted(ids, joined["heading"]), -1))

    def sentence_scores(self, live: Live, terms: Terms, ids: np.ndarray) -> np.ndarray:
        """The BM25 score over sentences of each of `ids` (rows of `live`'s segment)."""
        if not len(terms.columns) or not len(ids):
            return np.zeros(len(ids), dtype=np.float32)
        position, columns, counts = live.segment.sentence_terms.entries(ids)
        lengths = np.bincount(position, counts, minlength=len(ids))
        idf = self.term_idf(terms.tokens)
        wanted = {column: idf.get(token, 0.0) for token, column in zip(terms.tokens, terms.columns.tolist(),
                                                                     strict=True)}
        hit = np.isin(columns, terms.columns)
        term_idf = np.array([wanted[c] for c in columns[hit].tolist()], dtype=np.float32)
        norms = lexical.norms(lengths[position[hit]], self.sentence_average, self.settings.lexical)
        return np.bincount(position[hit], lexical.scores(term_idf, counts[hit], norms),
                           minlength=len(ids)).astype(np.float32)


def top(scores: np.ndarray, n: int) -> np.ndarray:
    """Positions of the `n` highest scores (all of them when there are fewer), in no order."""
    if len(scores) <= n:
        return np.arange(len(scores))
    return np.argpartition(-scores, n - 1)[:n]
