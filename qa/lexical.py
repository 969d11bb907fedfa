"""Lexical: BM25 terms, their counts and scores, and acronyms spelled out.

Texts are tokenized as bm25s tokenizes them (lower case, its English stop
words, Snowball stems; tests/test_lexical.py checks they agree), in one pass
without its per-text overhead. A store keeps term counts, not scores: each sentence's counts (a
chunk's are the sum of its sentences'), how many rows hold each term and
each row's length, so a changed document costs only its own rows, the corpus
statistics (IDF, average length) are sums, and a query reads only the
postings of its own terms. (bm25s itself scores every document at index
time, which re-scores the whole corpus whenever one document changes.)
Scores follow Lucene's BM25, as bm25s's `method="lucene"` does;
tests/test_lexical.py checks a store's scores against it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import scipy.sparse as sparse
import Stemmer
from bm25s.tokenization import _infer_stopwords

from qa.settings import DEFAULT, LexicalSettings

ACRONYM = re.compile(r"\b[A-Z]{2,5}\b")
CAPITALISED_PHRASE = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of|for|and|the)?\s*[A-Z][a-z]+){1,4}")


TOKEN = re.compile(r"(?u)\b\w\w+\b")  # bm25s's (and scikit-learn's) token pattern
_stemmers = threading.local()


def stemmer(language: str = DEFAULT.lexical.stemmer) -> Stemmer.Stemmer:
    """This thread's Snowball stemmer for `language`: a stemmer keeps state between calls, and
    PyStemmer warns that threads must not share one (a Retriever answers from several)."""
    made = _stemmers.__dict__.setdefault("by_language", {})
    if language not in made:
        made[language] = Stemmer.Stemmer(language)
    return made[language]


@lru_cache(maxsize=4)
def stopwords(name: str = DEFAULT.lexical.stopwords) -> frozenset[str]:
    return frozenset(_infer_stopwords(name))


def tokenize(texts: list[str], settings: LexicalSettings = DEFAULT.lexical) -> list[list[str]]:
    """Lower-cased, stop-worded, stemmed tokens of each text."""
    stop = stopwords(settings.stopwords)
    words = [[word for word in TOKEN.findall(text.lower()) if word not in stop] for text in texts]
    distinct = list(dict.fromkeys(word for text in words for word in text))
    stems = dict(zip(distinct, stemmer(settings.stemmer).stemWords(distinct), strict=True))
    return [[stems[word] for word in text] for text in words]


def count_terms(texts: list[str], vocabulary: dict[str, int],
                settings: LexicalSettings = DEFAULT.lexical) -> sparse.csr_matrix:
    """A (texts x vocabulary) int32 matrix of term counts; new terms are added to `vocabulary`."""
    tokenized = tokenize(texts, settings)
    columns = np.fromiter((vocabulary.setdefault(token, len(vocabulary)) for tokens in tokenized for token in tokens),
                          dtype=np.int64)
    rows = np.repeat(np.arange(len(texts)), [len(tokens) for tokens in tokenized])
    counts = sparse.coo_matrix((np.ones(len(rows), dtype=np.int32), (rows, columns)),
                               shape=(len(texts), len(vocabulary)))
    return counts.tocsr()  # duplicate (row, term) entries are summed into counts


def idf(rows_with_term: np.ndarray | int, rows: int) -> np.ndarray:
    """Lucene's BM25 IDF of a term that `rows_with_term` of `rows` rows hold."""
    return np.log(1 + (rows - np.asarray(rows_with_term) + 0.5) / (np.asarray(rows_with_term) + 0.5))


def norms(lengths: np.ndarray, average: float, settings: LexicalSettings = DEFAULT.lexical) -> np.ndarray:
    """k1 (1 - b + b length / average length) of rows of these lengths."""
    return (settings.k1 * (1 - settings.b + settings.b * lengths / max(average, 1e-9))).astype(np.float32)


def scores(term_idf: np.ndarray | float, counts: np.ndarray, row_norms: np.ndarray) -> np.ndarray:
    """The BM25 score of each (term, row) posting: idf x count / (count + the row's norm)."""
    return (term_idf * counts / (counts + row_norms)).astype(np.float32)


def acronyms(texts: Iterable[str]) -> dict[str, str]:
    """Acronym -> the first capitalised phrase of the texts whose initials spell it."""
    found: dict[str, str] = {}
    for text in texts:
        for match in CAPITALISED_PHRASE.finditer(text):
            phrase = match.group(0)
            initials = "".join(word[0] for word in phrase.split() if word[0].isupper())
            found.setdefault(initials, phrase)
    return found
