"""Lexical: BM25 scored at query time from stored term counts.

Texts are tokenized by bm25s (lower case, English stop words, Snowball
stems). What is stored is each text's term counts, one sparse row per text,
so a changed document costs only its own rows: the corpus statistics (IDF,
average length) are recomputed in a few milliseconds when an index version is
loaded. (bm25s itself scores every document at index time, which re-scores
the whole corpus whenever one document changes.) Scores follow Lucene's BM25,
as bm25s's default method does.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import bm25s
import numpy as np
import scipy.sparse as sparse
import Stemmer

logging.getLogger("bm25s").setLevel(logging.ERROR)
K1 = 1.2   # Lucene's defaults
B = 0.75


@lru_cache(maxsize=1)
def stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def tokenize(texts: list[str]) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed tokens of each text."""
    return bm25s.tokenize(texts, stopwords="en", stemmer=stemmer(), return_ids=False,
                          show_progress=False)


def count_terms(texts: list[str], vocabulary: dict[str, int]) -> sparse.csr_matrix:
    """A (texts x vocabulary) matrix of term counts; new terms are added to `vocabulary`."""
    rows, columns = [], []
    for row, tokens in enumerate(tokenize(texts)):
        for token in tokens:
            columns.append(vocabulary.setdefault(token, len(vocabulary)))
            rows.append(row)
    counts = sparse.coo_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)),
                               shape=(len(texts), len(vocabulary)))
    return counts.tocsr()  # duplicate (row, term) entries are summed into counts


class BM25:
    """BM25 over the rows of a term-count matrix."""

    def __init__(self, counts: sparse.csr_matrix, vocabulary: dict[str, int]):
        self.vocabulary = vocabulary
        self.size = counts.shape[0]
        self.by_term = counts.tocsc()
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        average = lengths.mean() if self.size else 1.0
        self.length_norm = (K1 * (1 - B + B * lengths / max(average, 1e-9))).astype(np.float32)
        documents_with_term = np.diff(self.by_term.indptr)
        self.idf = np.log(1 + (self.size - documents_with_term + 0.5) / (documents_with_term + 0.5))

    def scores(self, tokens: list[str]) -> np.ndarray:
        """The BM25 score of every row for a tokenized query (unknown tokens count for nothing)."""
        scores = np.zeros(self.size, dtype=np.float32)
        for token in set(tokens):
            term = self.vocabulary.get(token)
            if term is None or term >= self.by_term.shape[1]:
                continue
            first, last = self.by_term.indptr[term], self.by_term.indptr[term + 1]
            rows, counts = self.by_term.indices[first:last], self.by_term.data[first:last]
            scores[rows] += self.idf[term] * counts / (counts + self.length_norm[rows])
        return scores
