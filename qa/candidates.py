"""The types that travel from the store through retrieval to answering.

A store answers a `Query` with `ChunkHits` (its dense and lexical top lists,
each chunk with both signals) and, for those chunks only, `SentenceHits`.
Retrieval fuses them into `Candidates`, which is all answering sees.
Arrays of one value are aligned row for row; spans are `qa.rows` arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np


@dataclass(frozen=True)
class Query:
    """A question as the store reads it: its text, unit vector and BM25 tokens, and the phrase
    each of its acronyms stands for in the sources (EU: European Union)."""

    text: str
    vector: np.ndarray
    tokens: list[str]
    spelled_out: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ChunkHits:
    """Candidate chunks: their ids in the store, spans, cosine with the question and BM25 score."""

    ids: np.ndarray
    spans: np.ndarray     # rows.CHUNK
    cosine: np.ndarray
    lexical: np.ndarray

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, order: np.ndarray) -> ChunkHits:
        """The hits at positions `order`, in that order."""
        return ChunkHits(**{f.name: getattr(self, f.name)[order] for f in fields(self)})


@dataclass(frozen=True)
class SentenceHits:
    """The sentences of some chunks (and the section headings above them), ids ascending.

    `of_chunk[i]` is the RANGE of positions here that hold the sentences of the
    i-th chunk asked for; `section[j]` is the position of sentence j's section
    heading, or -1; `tokens[j]` is the RANGE of sentence j's rows in `token_rows`.
    """

    ids: np.ndarray
    spans: np.ndarray     # rows.SENTENCE
    tokens: np.ndarray    # rows.RANGE into token_rows
    token_rows: np.ndarray  # rows.TOKEN
    term_idf: dict[str, float]  # BM25 IDF over all sentences of each query term (absent: not in the corpus)
    cosine: np.ndarray
    lexical: np.ndarray
    section: np.ndarray
    of_chunk: np.ndarray  # rows.RANGE, one per chunk asked for

    def __len__(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class Candidates:
    """What retrieval hands answering: the top chunks best first with fused scores, and
    their sentences with fused scores."""

    chunks: ChunkHits
    chunk_scores: np.ndarray
    chunk_sentences: np.ndarray   # rows.RANGE into `sentences`, aligned with `chunks`
    sentences: SentenceHits
    sentence_scores: np.ndarray

    def __len__(self) -> int:
        return len(self.chunks)
