"""Retrieval: a question -> `Candidates`, by hybrid dense + BM25 scoring.

The store gives the union of its dense and lexical top chunks and the
sentences of those chunks; every score is min-max normalised over those
candidates, then combined convexly (weights in `RankingSettings`):
- a sentence scores `sentence_dense` x its cosine + the rest x its BM25 score,
  plus `section_weight` x its section heading's score: a sentence is read in
  its section;
- a chunk scores `best_sentence` x its best sentence + the rest x its own
  cosine/BM25 mix (`chunk_dense`): most questions are answered by one
  sentence, so a chunk holding a strongly matching sentence ranks up. That
  best sentence is scored with its own mix, `ranking_dense`: leaning on the
  sentence vectors ranks paragraphs better, while the sentences that
  answering reads first are better found by `sentence_dense`'s mix
  (bench/fusion.py, bench/learn.py);
- an acronym in the question (EU) also searches for the phrase it stands for
  in the sources (European Union), found where its words' initials spell it
  (`Reader.spelled_out`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from qa import lexical, rows
from qa.candidates import Candidates, ChunkHits, Query, SentenceHits
from qa.settings import LexicalSettings, RankingSettings
from qa.store import Reader


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: its document, text, offsets in the document and fused score, and the
    label of the page it starts on (None for unpaged formats)."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    page: str | None = None


def minmax(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] over the candidates. All-equal values are all the best, 1, when positive
    (one candidate sentence of a one-line document is the best there is) and 0 otherwise."""
    if not len(values):
        return np.zeros(0, dtype=np.float32)
    low, high = values.min(), values.max()
    if high - low < 1e-9:
        return np.full(len(values), 1.0 if high > 0 else 0.0, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def best_in_ranges(scores: np.ndarray, ranges: np.ndarray) -> np.ndarray:
    """The highest of `scores[first:stop]` for each RANGE (0 for an empty one)."""
    found = np.zeros(len(ranges), dtype=np.float32)
    lengths = ranges["stop"] - ranges["first"]
    full = lengths > 0
    if full.any():
        found[full] = np.maximum.reduceat(scores[rows.expand(ranges)], (np.cumsum(lengths) - lengths)[full])
    return found


def sentence_scores(sentences: SentenceHits, dense: float, section_weight: float) -> np.ndarray:
    """Each sentence's score, `dense` x its cosine + the rest x its BM25 score + `section_weight`
    x its section heading's own (0 without one)."""
    own = dense * minmax(sentences.cosine) + (1 - dense) * minmax(sentences.lexical)
    section = np.where(sentences.section >= 0, own[np.maximum(sentences.section, 0)], 0.0)
    return (own + section_weight * section).astype(np.float32)


def fuse(chunks: ChunkHits, sentences: SentenceHits, weights: RankingSettings) -> Candidates:
    """A store's signals for one question, combined by `weights` into ranked `Candidates`."""
    scores = sentence_scores(sentences, weights.sentence_dense, weights.section_weight)
    ranking = (scores if weights.ranking_dense == weights.sentence_dense
               else sentence_scores(sentences, weights.ranking_dense, weights.section_weight))
    chunk_own = (weights.chunk_dense * minmax(chunks.cosine)
                 + (1 - weights.chunk_dense) * minmax(chunks.lexical))
    fused = ((1 - weights.best_sentence) * chunk_own
             + weights.best_sentence * best_in_ranges(ranking, sentences.of_chunk))
    order = np.argsort(-fused, kind="stable")
    return Candidates(chunks.take(order), fused[order], sentences.of_chunk[order], sentences, scores)


class HybridRetrieval:
    """Fuses a store reader's dense and lexical signals into ranked `Candidates`."""

    def __init__(self, reader: Reader, ranking: RankingSettings, lexical_settings: LexicalSettings):
        self.reader = reader
        self.ranking = ranking
        self.lexical = lexical_settings

    def query(self, question: str, vector: np.ndarray) -> Query:
        """The question as the store reads it; its acronyms' phrases join its BM25 tokens."""
        spelled = self.reader.spelled_out(dict.fromkeys(lexical.ACRONYM.findall(question)))
        expanded = " ".join(spelled.values())
        return Query(question, vector, lexical.tokenize([f"{question} {expanded}"], self.lexical)[0], spelled)

    def candidates(self, query: Query, scope: Collection[str] | None = None) -> Candidates:
        """The candidate chunks for a question, best first, with their sentences' signals."""
        chunks = self.reader.candidates(query, self.ranking.candidates, scope)
        return fuse(chunks, self.reader.sentences(chunks.ids, query), self.ranking)

    def passages(self, candidates: Candidates, k: int) -> list[Passage]:
        """The `k` best candidate chunks as Passages."""
        return [self.passage(candidates.chunks, n, float(candidates.chunk_scores[n]))
                for n in range(min(k, len(candidates)))]

    def passage(self, chunks: ChunkHits, n: int, score: float) -> Passage:
        span = chunks.spans[n]
        document = self.reader.document_at(int(span["doc"]))
        start, end = int(span["start"]), int(span["end"])
        return Passage(document.id, document.title, document.text[start:end], start, end, score,
                       document.page_label(start))
