"""A segment: the documents one build added or changed, with all their rows, on disk.

    s-<time>-<id>/
      segment.json              row counts, the chunk index's kind, BM25 length totals
      catalog.sqlite            documents, the acronyms they spell out, BM25 terms (see `catalog`)
      chunks.npy                rows.CHUNK per chunk (doc: the document's number in the segment)
      sentences.npy             rows.SENTENCE per sentence
      chunk_sentences.npy       rows.RANGE per chunk: its sentences
      headings.npy              the rows of the sentences that are headings
      tokens.npy                `STORED_TOKEN`: the parse and named entities of every sentence
      sentence_tokens.npy       sentence i's tokens are rows [a[i], a[i + 1]) of tokens.npy
      chunks.faiss              the chunk vectors' index (`vectors.ChunkIndex`)
      sentence_codes.npy        sentence vectors, 4 bits a dimension ...
      sentence_scales.npy       ... times one scale per row (`vectors.Quantised`)
      sentence_terms.*.npy      BM25 term counts per sentence (CSR: indptr, terms, counts)
      chunk_postings.*.npy      per BM25 term, the chunks holding it and how often (CSC: indptr,
                                rows, counts); a chunk's counts are the sum of its sentences'
      chunk_lengths.npy         BM25 length of each chunk

All but the FAISS index are memory-mapped when read, so opening costs the same
at any size and a query reads only the rows it needs. A build writes a segment
in batches (`SegmentWriter`), so its memory follows a batch, not the corpus.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sparse

from qa import lexical, rows
from qa.settings import Settings
from qa.sources import Document
from qa.store import vectors
from qa.store.catalog import Catalog, CatalogWriter
from qa.store.layout import read_json, write_json

CATALOG = "catalog.sqlite"
META = "segment.json"
MAX_COUNT = np.iinfo(np.uint16).max  # a term count is stored in 16 bits
# A token as stored: offsets from its sentence's start, in 16 bits (a sentence longer than 65,535
# characters keeps exact offsets only that far), its head in 16 bits; rows.TOKEN when read.
STORED_TOKEN = np.dtype([("start", np.uint16), ("length", np.uint16), ("head", np.int16), ("dep", np.uint8),
                         ("pos", np.uint8), ("entity", np.uint8), ("entity_begins", np.bool_),
                         ("phrase", np.uint8)])
LABELS = ("dep", "pos", "entity", "entity_begins", "phrase")


def stored_tokens(tokens: np.ndarray, sentence_starts: np.ndarray) -> np.ndarray:
    """rows.TOKEN rows as STORED_TOKEN, given the start of each one's sentence."""
    stored = np.empty(len(tokens), dtype=STORED_TOKEN)
    stored["start"] = np.clip(tokens["start"] - sentence_starts, 0, np.iinfo(np.uint16).max)
    stored["length"] = np.clip(tokens["end"] - tokens["start"], 0, np.iinfo(np.uint16).max)
    stored["head"] = np.clip(tokens["head"], np.iinfo(np.int16).min, np.iinfo(np.int16).max)
    for name in LABELS:
        stored[name] = tokens[name]
    return stored


def read_tokens(stored: np.ndarray, sentence_starts: np.ndarray) -> np.ndarray:
    """STORED_TOKEN rows as rows.TOKEN, given the start of each one's sentence."""
    tokens = np.empty(len(stored), dtype=rows.TOKEN)
    tokens["start"] = stored["start"] + sentence_starts
    tokens["end"] = tokens["start"] + stored["length"]
    tokens["head"] = stored["head"]
    for name in LABELS:
        tokens[name] = stored[name]
    return tokens


@dataclass(frozen=True)
class Part:
    """One document and everything a segment keeps of it; its rows' `doc` is 0."""

    document: Document
    chunks: np.ndarray            # rows.CHUNK
    sentences: np.ndarray         # rows.SENTENCE
    tokens: np.ndarray            # rows.TOKEN of its sentences, in order
    chunk_vectors: np.ndarray     # float32 unit rows
    sentence_vectors: np.ndarray


class Appended:
    """An array written in pieces: appended raw to a scratch file, saved as .npy at the end."""

    def __init__(self, folder: Path, name: str, dtype: np.dtype | type, width: int = 0):
        self.path = folder / f"{name}.npy"
        self.scratch = folder / f".{name}.part"
        self.dtype, self.width, self.rows = np.dtype(dtype), width, 0
        self.file = open(self.scratch, "wb")

    def append(self, array: np.ndarray) -> None:
        np.ascontiguousarray(array, dtype=self.dtype).tofile(self.file)
        self.rows += len(array)

    def shape(self) -> tuple[int, ...]:
        return (self.rows, self.width) if self.width else (self.rows,)

    def read(self) -> np.ndarray:
        """What was appended so far, memory-mapped."""
        self.file.flush()
        if not self.rows:
            return np.zeros(self.shape(), dtype=self.dtype)
        return np.memmap(self.scratch, dtype=self.dtype, mode="r", shape=self.shape())

    def save(self) -> None:
        """Write the .npy file (header, then the appended bytes) and drop the scratch file."""
        self.file.close()
        with open(self.path, "wb") as target, open(self.scratch, "rb") as source:
            np.lib.format.write_array_header_2_0(target, {
                "descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False, "shape": self.shape()})
            shutil.copyfileobj(source, target, 16 << 20)
        self.discard()

    def discard(self) -> None:
        self.file.close()
        self.scratch.unlink(missing_ok=True)


class SegmentWriter:
    """Writes a new segment into `folder` batch by batch: `add` documents, then `close`."""

    def __init__(self, folder: Path, dimension: int, settings: Settings):
        folder.mkdir()
        self.folder, self.dimension, self.settings = folder, dimension, settings
        self.catalog = CatalogWriter(folder / CATALOG)
        self.vocabulary: dict[str, int] = {}
        self.documents = self.chunk_length = self.sentence_length = 0
        columns: dict[str, tuple[np.dtype | type, int]] = {
                   "chunks": (rows.CHUNK, 0), "sentences": (rows.SENTENCE, 0), "chunk_sentences": (rows.RANGE, 0),
                   "headings": (np.int64, 0), "tokens": (STORED_TOKEN, 0), "sentence_tokens": (np.int64, 0),
                   "chunk_vectors": (np.float32, dimension), "sentence_codes": (np.uint8, (dimension + 1) // 2),
                   "sentence_scales": (np.float32, 0), "sentence_terms.indptr": (np.int64, 0),
                   "sentence_terms.terms": (np.int32, 0), "sentence_terms.counts": (np.uint16, 0),
                   "chunk_terms.rows": (np.int64, 0), "chunk_terms.terms": (np.int32, 0),
                   "chunk_terms.counts": (np.uint16, 0), "chunk_lengths": (np.int32, 0)}
        self.columns = {name: Appended(folder, name, dtype, width) for name, (dtype, width) in columns.items()}
        self.columns["sentence_terms.indptr"].append(np.zeros(1))

    @property
    def chunks(self) -> int:
        return self.columns["chunks"].rows

    @property
    def sentences(self) -> int:
        return self.columns["sentences"].rows

    def add(self, parts: list[Part]) -> None:
        """Append a batch of documents with their rows, vectors and BM25 term counts."""
        column = self.columns
        incidence = []  # (chunk, sentence) pairs within the batch, for the chunks' term counts
        batch_chunks = batch_sentences = 0
        for number, part in enumerate(parts):
            first_sentence = self.sentences
            within = rows.within(part.chunks, part.sentences)
            column["chunk_sentences"].append(shifted(within, first_sentence))
            incidence.append((np.repeat(np.arange(len(within)) + batch_chunks, within["stop"] - within["first"]),
                              rows.expand(within) + batch_sentences))
            column["headings"].append(np.flatnonzero(part.sentences["heading"]) + first_sentence)
            tokens_of = rows.within(part.sentences, part.tokens)
            column["sentence_tokens"].append(tokens_of["first"] + column["tokens"].rows)
            column["tokens"].append(stored_tokens(part.tokens, np.repeat(part.sentences["start"],
                                                                         tokens_of["stop"] - tokens_of["first"])))
            column["chunks"].append(renumbered(part.chunks, self.documents + number))
            column["sentences"].append(renumbered(part.sentences, self.documents + number))
            column["chunk_vectors"].append(part.chunk_vectors)
            quantised = vectors.Quantised.of(part.sentence_vectors)
            column["sentence_codes"].append(quantised.codes)
            column["sentence_scales"].append(quantised.scales)
            batch_chunks, batch_sentences = batch_chunks + len(part.chunks), batch_sentences + len(part.sentences)
        self.catalog.add(self.documents, [part.document for part in parts])
        self.documents += len(parts)
        self.add_terms(parts, incidence, batch_chunks, batch_sentences)

    def add_terms(self, parts: list[Part], incidence: list, batch_chunks: int, batch_sentences: int) -> None:
        """Count the batch's sentences' BM25 terms, and from them its chunks'."""
        column = self.columns
        if not batch_sentences:
            return
        texts = [part.document.text[int(s["start"]):int(s["end"])] for part in parts for s in part.sentences]
        counts = lexical.count_terms(texts, self.vocabulary, self.settings.lexical)
        column["sentence_terms.indptr"].append(counts.indptr[1:] + column["sentence_terms.terms"].rows)
        column["sentence_terms.terms"].append(counts.indices)
        column["sentence_terms.counts"].append(np.minimum(counts.data, MAX_COUNT))
        self.sentence_length += int(counts.data.sum())
        chunk_of, sentence_of = (np.concatenate([pair[i] for pair in incidence] + [np.zeros(0, np.int64)])
                                 for i in (0, 1))
        members = sparse.csr_matrix((np.ones(len(chunk_of), dtype=np.int32), (chunk_of, sentence_of)),
                                    shape=(batch_chunks, batch_sentences))
        chunk_counts = (members @ counts).tocoo()
        column["chunk_terms.rows"].append(chunk_counts.row + self.chunks - batch_chunks)
        column["chunk_terms.terms"].append(chunk_counts.col)
        column["chunk_terms.counts"].append(np.minimum(chunk_counts.data, MAX_COUNT))
        lengths = np.asarray(members @ counts.sum(axis=1)).ravel()
        column["chunk_lengths"].append(lengths)
        self.chunk_length += int(lengths.sum())

    def close(self) -> str:
        """Finish the segment's files; returns its chunk index's kind."""
        column = self.columns
        column["sentence_tokens"].append(np.array([column["tokens"].rows]))
        index = vectors.build(column["chunk_vectors"].read(), self.settings.index)
        index.save(self.folder / "chunks.faiss")
        column.pop("chunk_vectors").discard()
        terms = len(self.vocabulary)
        postings = sparse.csc_matrix((column["chunk_terms.counts"].read(), (column["chunk_terms.rows"].read(),
                                     column["chunk_terms.terms"].read())), shape=(self.chunks, terms))
        for name in ("rows", "terms", "counts"):
            column.pop(f"chunk_terms.{name}").discard()
        for name, array in (("indptr", postings.indptr.astype(np.int64)), ("rows", postings.indices),
                            ("counts", postings.data.astype(np.uint16))):
            np.save(self.folder / f"chunk_postings.{name}.npy", array)
        del postings
        sentences_with_term = np.bincount(column["sentence_terms.terms"].read(), minlength=terms)
        for appended in column.values():
            appended.save()
        self.catalog.close(self.vocabulary, sentences_with_term)
        write_json(self.folder / META, {"documents": self.documents, "chunks": self.chunks,
                                        "sentences": self.sentences, "vectors": index.kind, "terms": terms,
                                        "chunk_length": self.chunk_length, "sentence_length": self.sentence_length})
        return index.kind

    def discard(self) -> None:
        for appended in self.columns.values():
            appended.discard()


def renumbered(table: np.ndarray, doc: int) -> np.ndarray:
    copy = table.copy()
    copy["doc"] = doc
    return copy


def shifted(ranges: np.ndarray, offset: int) -> np.ndarray:
    moved = ranges.copy()
    moved["first"] += offset
    moved["stop"] += offset
    return moved


@dataclass(frozen=True)
class Sparse:
    """A compressed sparse matrix as three memory-mapped arrays: row i (or column i, for postings)
    holds `indices[indptr[i]:indptr[i + 1]]` with those `counts`."""

    indptr: np.ndarray
    indices: np.ndarray
    counts: np.ndarray

    def entries(self, lines: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For each entry of `lines`: which of `lines` it belongs to (by position), its index, its count."""
        starts, stops = self.indptr[lines], self.indptr[lines + 1]
        ranges = np.empty(len(lines), dtype=rows.RANGE)
        ranges["first"], ranges["stop"] = starts, stops
        at = rows.expand(ranges)
        return np.repeat(np.arange(len(lines)), stops - starts), self.indices[at], self.counts[at]


class Segment:
    """A written segment, memory-mapped; `load` fails on a missing or damaged file."""

    def __init__(self, folder: Path, settings: Settings):
        meta = read_json(folder / META)
        self.folder = folder
        self.documents, self.chunk_length, self.sentence_length = (
            int(meta["documents"]), int(meta["chunk_length"]), int(meta["sentence_length"]))
        self.catalog = Catalog(folder / CATALOG)

        def load(name: str) -> np.ndarray:  # a plain view of the map: indexing a np.memmap costs ~50 us more
            return np.asarray(np.load(folder / f"{name}.npy", mmap_mode="r"))

        self.chunks, self.sentences, self.tokens = load("chunks"), load("sentences"), load("tokens")
        self.chunk_sentences, self.headings = load("chunk_sentences"), load("headings")
        self.sentence_tokens = load("sentence_tokens")
        self.chunk_index = vectors.load(folder / "chunks.faiss", str(meta["vectors"]), settings.index)
        self.sentence_vectors = vectors.Quantised(load("sentence_codes"), load("sentence_scales"))
        self.sentence_terms = Sparse(*(load(f"sentence_terms.{n}") for n in ("indptr", "terms", "counts")))
        self.chunk_postings = Sparse(*(load(f"chunk_postings.{n}") for n in ("indptr", "rows", "counts")))
        self.chunk_lengths = load("chunk_lengths")
        self.terms = int(meta["terms"])

    def problems(self, dimension: int) -> list[str]:
        """What is wrong with a segment whose parts do not agree with each other ([] when nothing)."""
        chunks, sentences = len(self.chunks), len(self.sentences)
        if (self.chunks.dtype, self.sentences.dtype, self.tokens.dtype) != (rows.CHUNK, rows.SENTENCE, STORED_TOKEN):
            return ["chunk, sentence or token rows have another layout"]
        checks = {
            "the chunk index does not match the chunks": (self.chunk_index.size == chunks
                                                         and self.chunk_index.index.d == dimension),
            "sentence vectors do not match the sentences": (
                self.sentence_vectors.codes.shape == (sentences, (dimension + 1) // 2)
                and len(self.sentence_vectors) == sentences),
            "chunk rows do not agree": len(self.chunk_sentences) == len(self.chunk_lengths) == chunks,
            "sentence tokens do not match the tokens": (len(self.sentence_tokens) == sentences + 1
                                                       and int(self.sentence_tokens[-1]) == len(self.tokens)),
            "BM25 term counts do not match the chunks and sentences": (
                len(self.sentence_terms.indptr) == sentences + 1 and len(self.chunk_postings.indptr) == self.terms + 1
                and int(self.sentence_terms.indptr[-1]) == len(self.sentence_terms.indices)
                and int(self.chunk_postings.indptr[-1]) == len(self.chunk_postings.indices)),
            "rows point at missing documents": (not chunks or int(self.chunks["doc"][-1]) < self.documents)
            and (not sentences or int(self.sentences["doc"][-1]) < self.documents),
        }
        return [problem for problem, fine in checks.items() if not fine]

    def parts(self, numbers: list[int]) -> Iterator[Part]:
        """The documents numbered `numbers` with their rows and vectors, to be written again."""
        wanted = np.array([numbers, np.add(numbers, 1)], dtype=np.int64).reshape(2, -1)
        chunk_bounds = np.searchsorted(self.chunks["doc"], wanted)
        sentence_bounds = np.searchsorted(self.sentences["doc"], wanted)
        for n, number in enumerate(numbers):
            c, s = slice(*chunk_bounds[:, n]), slice(*sentence_bounds[:, n])
            sentence_rows = np.arange(s.start, s.stop)
            yield Part(self.catalog.document(number), renumbered(self.chunks[c], 0),
                       renumbered(self.sentences[s], 0), self.tokens_of(sentence_rows),
                       self.chunk_index.vectors(np.arange(c.start, c.stop)),
                       self.sentence_vectors.vectors(sentence_rows, self.chunk_index.index.d))

    def token_ranges(self, sentence_rows: np.ndarray) -> np.ndarray:
        """The RANGE of token rows of each of `sentence_rows`."""
        ranges = np.empty(len(sentence_rows), dtype=rows.RANGE)
        ranges["first"], ranges["stop"] = self.sentence_tokens[sentence_rows], self.sentence_tokens[sentence_rows + 1]
        return ranges

    def tokens_of(self, sentence_rows: np.ndarray) -> np.ndarray:
        """The rows.TOKEN rows of `sentence_rows`, one after the other."""
        ranges = self.token_ranges(sentence_rows)
        starts = np.repeat(self.sentences["start"][sentence_rows], ranges["stop"] - ranges["first"])
        return read_tokens(rows.take(self.tokens, rows.expand(ranges)), starts)

