"""Lexical: BM25 scored at query time from stored term counts, over postings only.

Texts are tokenized by bm25s (lower case, English stop words, Snowball
stems). What is stored is each text's term counts, one sparse row per text,
so a changed document costs only its own rows: the corpus statistics (IDF,
average length) are recomputed in a few milliseconds when an index version is
loaded. (bm25s itself scores every document at index time, which re-scores
the whole corpus whenever one document changes.) Scores follow Lucene's BM25,
as bm25s's `method="lucene"` does; tests/test_fast.py checks them against it.
A query reads only the postings of its own terms.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import bm25s
import numpy as np
import scipy.sparse as sparse
import Stemmer

from qa.settings import DEFAULT, LexicalSettings

logging.getLogger("bm25s").setLevel(logging.ERROR)


@lru_cache(maxsize=4)
def stemmer(language: str = DEFAULT.lexical.stemmer) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def tokenize(texts: list[str], settings: LexicalSettings = DEFAULT.lexical) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed tokens of each text."""
    return bm25s.tokenize(texts, stopwords=settings.stopwords, stemmer=stemmer(settings.stemmer),
                          return_ids=False, show_progress=False)


def count_terms(texts: list[str], vocabulary: dict[str, int],
                settings: LexicalSettings = DEFAULT.lexical) -> sparse.csr_matrix:
    """A (texts x vocabulary) matrix of term counts; new terms are added to `vocabulary`."""
    rows, columns = [], []
    for row, tokens in enumerate(tokenize(texts, settings)):
        for token in tokens:
            columns.append(vocabulary.setdefault(token, len(vocabulary)))
            rows.append(row)
    counts = sparse.coo_matrix((np.ones(len(rows), dtype=np.float32), (rows, columns)),
                               shape=(len(texts), len(vocabulary)))
    return counts.tocsr()  # duplicate (row, term) entries are summed into counts


class BM25:
    """BM25 over the rows of a term-count matrix, read through the postings of the query's terms."""

    def __init__(self, counts: sparse.csr_matrix, vocabulary: dict[str, int],
                 settings: LexicalSettings = DEFAULT.lexical):
        self.vocabulary = vocabulary
        self.size = counts.shape[0]
        self.by_row = counts.tocsr()
        self.by_term = counts.tocsc()
        lengths = np.asarray(counts.sum(axis=1)).ravel()
        average = lengths.mean() if self.size else 1.0
        k1, b = settings.k1, settings.b
        self.length_norm = (k1 * (1 - b + b * lengths / max(average, 1e-9))).astype(np.float32)
        documents_with_term = np.diff(self.by_term.indptr)
        self.idf = np.log(1 + (self.size - documents_with_term + 0.5) / (documents_with_term + 0.5))

    def terms(self, tokens: list[str]) -> np.ndarray:
        """The column numbers of the known, distinct tokens of a query."""
        found = {self.vocabulary.get(token) for token in tokens}
        return np.array(sorted(t for t in found if t is not None and t < self.by_term.shape[1]), dtype=np.int64)

    @property
    def max_idf(self) -> float:
        """The IDF of a term only one row holds: the highest any term can have."""
        return float(np.log(1 + (self.size - 0.5) / 1.5)) if self.size else 1.0

    def idf_of(self, tokens: list[str]) -> dict[str, float]:
        """The IDF of each known token of a query; unknown ones are left out."""
        return {token: float(self.idf[self.vocabulary[token]]) for token in set(tokens)
                if token in self.vocabulary and self.vocabulary[token] < len(self.idf)}

    def postings(self, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(rows, scores) of every row holding a query term, rows ascending: the postings only."""
        parts_rows, parts_scores = [], []
        for term in self.terms(tokens):
            first, last = self.by_term.indptr[term], self.by_term.indptr[term + 1]
            rows, counts = self.by_term.indices[first:last], self.by_term.data[first:last]
            parts_rows.append(rows)
            parts_scores.append(self.idf[term] * counts / (counts + self.length_norm[rows]))
        if not parts_rows:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        rows, inverse = np.unique(np.concatenate(parts_rows), return_inverse=True)
        return rows.astype(np.int64), np.bincount(inverse, np.concatenate(parts_scores)).astype(np.float32)

    def scores(self, tokens: list[str], rows: np.ndarray) -> np.ndarray:
        """The BM25 score of each of `rows` (unknown tokens count for nothing)."""
        terms = self.terms(tokens)
        if not len(terms) or not len(rows):
            return np.zeros(len(rows), dtype=np.float32)
        counts = self.by_row[rows][:, terms].toarray()
        norms = self.length_norm[rows][:, None]
        return (self.idf[terms] * counts / (counts + norms)).sum(axis=1).astype(np.float32)
