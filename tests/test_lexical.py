"""BM25 from stored term counts, read through postings, equals bm25s's Lucene scoring."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from qa import lexical

CORPUS = [
    "The harbour of Eastport reopened in May after the storm.",
    "Mayor Ingrid Solberg said the harbour repairs cost twelve million dollars.",
    "The ferry to Westport runs twice a day in summer and once in winter.",
    "Storm damage closed the railway bridge for a week.",
    "The museum of Eastport opened a new harbour wing, with a harbour model.",
    "Nothing about boats here.",
]
QUERIES = ["harbour repairs", "Eastport storm damage", "ferry winter Westport", "harbour harbour museum",
           "unknown words only"]


@pytest.fixture(scope="module")
def ours() -> lexical.BM25:
    vocabulary: dict[str, int] = {}
    return lexical.BM25(lexical.count_terms(CORPUS, vocabulary), vocabulary)


@pytest.fixture(scope="module")
def reference() -> bm25s.BM25:
    model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    model.index(lexical.tokenize(CORPUS), show_progress=False)
    return model


def expected_scores(reference: bm25s.BM25, tokens: list[str]) -> np.ndarray:
    """bm25s's scores of the distinct tokens: a word repeated in a question counts once for us."""
    distinct = list(dict.fromkeys(tokens))
    return reference.get_scores(distinct) if distinct else np.zeros(len(CORPUS))


@pytest.mark.parametrize("query", QUERIES)
def test_scores_of_given_rows_equal_bm25s_lucene(ours, reference, query):
    tokens = lexical.tokenize([query])[0]
    expected = expected_scores(reference, tokens)
    rows = np.arange(len(CORPUS))
    assert np.allclose(ours.scores(tokens, rows), expected, atol=1e-6)
    assert np.allclose(ours.scores(tokens, rows[::-2]), expected[::-2], atol=1e-6)


@pytest.mark.parametrize("query", QUERIES)
def test_postings_hold_exactly_the_rows_with_a_query_term_and_their_scores(ours, reference, query):
    tokens = lexical.tokenize([query])[0]
    expected = expected_scores(reference, tokens)
    rows, scores = ours.postings(tokens)
    assert list(rows) == [n for n, score in enumerate(expected) if score > 0]
    assert np.allclose(scores, expected[rows], atol=1e-6)


def test_new_terms_extend_the_vocabulary_and_counts_repeat():
    vocabulary = {"harbour": 0}
    counts = lexical.count_terms(["harbour harbour museum"], vocabulary)
    assert set(vocabulary) == {"harbour", "museum"}
    assert counts[0, vocabulary["harbour"]] == 2 and counts[0, vocabulary["museum"]] == 1
