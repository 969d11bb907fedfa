"""Typed rows: the sentences of a chunk, a document's rows, section headings."""

from __future__ import annotations

import numpy as np
import pytest

from qa import rows


def two_documents() -> tuple[np.ndarray, np.ndarray]:
    sentences = np.concatenate([
        rows.sentence_rows(0, [(0, 7, True), (8, 30, False), (31, 50, False), (51, 60, True), (61, 90, False)]),
        rows.sentence_rows(1, [(0, 20, False), (21, 40, False)]),
    ])
    chunks = np.concatenate([rows.chunk_rows(0, [(0, 50), (31, 90)]), rows.chunk_rows(1, [(0, 40)])])
    return chunks, sentences


def test_each_chunk_gets_the_range_of_its_sentences():
    chunks, sentences = two_documents()
    ranges = rows.within(chunks[:2], sentences[:5])
    assert [(int(r["first"]), int(r["stop"])) for r in ranges] == [(0, 3), (2, 5)]
    assert list(rows.expand(ranges)) == [0, 1, 2, 2, 3, 4]


@pytest.mark.parametrize("ids, expected", [
    ([0, 1, 2, 3, 4, 5, 6], [-1, 0, 0, -1, 3, -1, -1]),  # a heading has none; none crosses documents
    ([4, 6], [3, -1]),
    ([], []),
])
def test_a_sentence_sits_under_the_last_heading_before_it_in_its_own_document(ids, expected):
    _, sentences = two_documents()
    headings = np.flatnonzero(sentences["heading"])
    assert list(rows.section_headings(np.array(ids, dtype=np.int64), headings, sentences)) == expected
    assert list(rows.section_headings(np.array(ids, dtype=np.int64), headings[:0], sentences)) == [-1] * len(ids)


def test_rows_have_named_fields_only():
    assert rows.CHUNK.names == ("doc", "start", "end")
    assert rows.SENTENCE.names == ("doc", "start", "end", "heading")
    assert len(rows.expand(np.zeros(0, dtype=rows.RANGE))) == 0


def test_take_gathers_rows_as_indexing_would():
    chunks, sentences = two_documents()
    for table in (chunks, sentences, sentences[:0]):
        positions = np.array([len(table) - 1, 0, 0], dtype=np.int64) if len(table) else np.zeros(0, np.int64)
        assert rows.take(table, positions).tolist() == table[positions].tolist()
