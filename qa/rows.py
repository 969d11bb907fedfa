"""Rows: the one owner of how chunks and sentences are laid out in arrays.

A chunk row is (doc, start, end); a sentence row is (doc, start, end,
heading); a token row is (start, end) with its parse and entity, and belongs
to the sentence whose token range holds it. `doc` is a document's number in
its segment or index version, `start` and `end` are character offsets into
that document's clean text.
Rows are numpy structured arrays: code reads `rows["start"]`, never a column
number. Within an index, rows are sorted by (doc, start), so a document's
rows, and the sentences of a chunk, are contiguous.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

CHUNK = np.dtype([("doc", np.int64), ("start", np.int64), ("end", np.int64)])
SENTENCE = np.dtype([("doc", np.int64), ("start", np.int64), ("end", np.int64), ("heading", np.bool_)])
TOKEN = np.dtype([("start", np.int32), ("end", np.int32),
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


def within(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """For each `outer` row of one document (a chunk, a sentence), the RANGE of the `inner` rows
    of that document (its sentences, its tokens) that start inside it; both sorted by start."""
    ranges = np.empty(len(outer), dtype=RANGE)
    ranges["first"] = np.searchsorted(inner["start"], outer["start"], side="left")
    ranges["stop"] = np.searchsorted(inner["start"], outer["end"], side="left")
    return ranges


def section_headings(ids: np.ndarray, headings: np.ndarray, sentences: np.ndarray) -> np.ndarray:
    """For each of the sentence rows `ids`, the row of the last heading before it in its document,
    or -1 (a heading has none). `headings` are the rows of all headings, ascending; `sentences`
    is the whole table (only the rows asked about and their headings are read)."""
    before = np.searchsorted(headings, ids, side="right") - 1
    found = np.where(before >= 0, headings[np.maximum(before, 0)] if len(headings) else -1, -1)
    found = np.where(found == ids, -1, found)
    has = found >= 0
    same = np.zeros(len(ids), dtype=bool)
    if has.any():
        same[has] = sentences["doc"][found[has]] == sentences["doc"][ids[has]]
    return np.where(same, found, -1)


def take(table: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """The rows of a (contiguous) structured array at `positions`, copied as raw bytes: numpy's
    fancy indexing copies records of odd sizes field by field, 25x slower."""
    raw = table.view(np.uint8).reshape(len(table), table.dtype.itemsize)
    return np.take(raw, positions, axis=0).view(table.dtype).reshape(len(positions))


def expand(ranges: np.ndarray) -> np.ndarray:
    """All rows of a RANGE array, in order, repeats kept."""
    lengths = ranges["stop"] - ranges["first"]
    if not lengths.sum():
        return np.zeros(0, dtype=np.int64)
    starts = np.repeat(ranges["first"] - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    return starts + np.arange(lengths.sum())
