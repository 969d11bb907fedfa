"""Rows: the one owner of how chunks and sentences are laid out in arrays.

A chunk row is (doc, start, end); a sentence row is (doc, start, end,
heading); a token row adds its parse and entity to (doc, start, end). `doc`
is a document's number in its segment or loaded version, `start` and `end`
are character offsets into that document's clean text.
Rows are numpy structured arrays: code reads `rows["start"]`, never a column
number. Within an index, rows are sorted by (doc, start), so a document's
rows, and the sentences of a chunk, are contiguous.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CHUNK = np.dtype([("doc", np.int64), ("start", np.int64), ("end", np.int64)])
SENTENCE = np.dtype([("doc", np.int64), ("start", np.int64), ("end", np.int64), ("heading", np.bool_)])
TOKEN = np.dtype([("doc", np.int64), ("start", np.int64), ("end", np.int64),
                  ("head", np.int32),          # row offset of the token's syntactic head (0 at a root)
                  ("dep", np.uint8), ("pos", np.uint8),   # ids in qa.language's label tables
                  ("entity", np.uint8), ("entity_begins", np.bool_),  # named-entity label id, 0 outside
                  ("phrase", np.uint8)])       # noun chunk: 1 begins one, 2 inside, 0 outside
RANGE = np.dtype([("first", np.int64), ("stop", np.int64)])  # rows [first, stop)


def chunk_rows(doc: int, spans: Iterable[tuple[int, int]]) -> np.ndarray:
    """Chunk rows of one document from (start, end) pairs."""
    return np.array([(doc, start, end) for start, end in spans], dtype=CHUNK)


def sentence_rows(doc: int, spans: Iterable[tuple[int, int, bool]]) -> np.ndarray:
    """Sentence rows of one document from (start, end, heading) triples."""
    return np.array([(doc, start, end, heading) for start, end, heading in spans], dtype=SENTENCE)


def renumbered(rows: np.ndarray, doc: int | np.ndarray) -> np.ndarray:
    """A copy of `rows` with their document number(s) replaced."""
    copy = rows.copy()
    copy["doc"] = doc
    return copy


def document_ranges(rows: np.ndarray, documents: int) -> np.ndarray:
    """For each document number below `documents`, the RANGE of its rows (rows sorted by doc)."""
    bounds = np.searchsorted(rows["doc"], np.arange(documents + 1))
    ranges = np.empty(documents, dtype=RANGE)
    ranges["first"], ranges["stop"] = bounds[:-1], bounds[1:]
    return ranges


def rows_within(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """For each `outer` row (a chunk), the RANGE of the `inner` rows (its sentences, or a
    sentence's tokens) that start inside it; both sorted by (doc, start)."""
    scale = int(max(outer["end"].max(initial=0), inner["end"].max(initial=0))) + 1
    keys = inner["doc"] * scale + inner["start"]
    ranges = np.empty(len(outer), dtype=RANGE)
    ranges["first"] = np.searchsorted(keys, outer["doc"] * scale + outer["start"], side="left")
    ranges["stop"] = np.searchsorted(keys, outer["doc"] * scale + outer["end"], side="left")
    return ranges


def section_headings(sentences: np.ndarray) -> np.ndarray:
    """For each sentence row, the row of the last heading before it in its document, or -1."""
    rows = np.arange(len(sentences))
    if not len(rows):
        return rows
    last_heading = np.maximum.accumulate(np.where(sentences["heading"], rows, -1))
    same_document = (last_heading >= 0) & (sentences["doc"][np.maximum(last_heading, 0)] == sentences["doc"])
    return np.where(same_document & (last_heading != rows), last_heading, -1)


def expand(ranges: np.ndarray) -> np.ndarray:
    """All rows of a RANGE array, in order, repeats kept."""
    lengths = ranges["stop"] - ranges["first"]
    if not lengths.sum():
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(ranges["first"] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return starts + np.arange(lengths.sum())
