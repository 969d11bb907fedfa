"""Retrieval: a question -> ranked chunks, by hybrid dense + BM25 scoring.

Every score is min-max normalised, then combined convexly:
- a sentence scores SENTENCE_DENSE x its cosine + the rest x its BM25 score;
- a candidate chunk (the union of the FAISS and BM25 top lists) scores half
  its own cosine/BM25 mix and half its best sentence: most questions are
  answered by one sentence, so a chunk holding a strongly matching sentence
  ranks up;
- an acronym in the question (EU) also searches for the phrase it stands for
  in the sources (European Union), found where its words' initials spell it;
- a sentence under a section heading also gets SECTION_WEIGHT x its heading's
  score: a sentence is read in its section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from qa.index import IndexData
from qa.lexical import tokenize

CANDIDATES = 100  # from each of FAISS and BM25
SENTENCE_DENSE = 0.6       # sentences are short: their BM25 is noisier than their cosine
CHUNK_DENSE = 0.5
BEST_SENTENCE = 0.5        # share of a chunk's score that comes from its best sentence
SECTION_WEIGHT = 0.3


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk: its document, text, offsets in the document and fused score."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float


@dataclass
class Ranking:
    """Candidate chunks best first, with their fused scores and the signals behind them."""

    chunks: np.ndarray          # chunk row numbers, best first
    scores: np.ndarray          # fused score, higher is better
    sentence_dense: np.ndarray  # cosine of every sentence of the index with the question
    sentence_scores: np.ndarray # fused cosine + BM25 (+ section) score of every sentence


ACRONYM = re.compile(r"\b[A-Z]{2,5}\b")
CAPITALISED_PHRASE = re.compile(r"\b[A-Z][a-z]+(?:\s+(?:of|for|and|the)?\s*[A-Z][a-z]+){1,4}")


def acronyms(texts) -> dict[str, str]:
    """Acronym -> the first capitalised phrase of the texts whose initials spell it."""
    found: dict[str, str] = {}
    for text in texts:
        for match in CAPITALISED_PHRASE.finditer(text):
            phrase = match.group(0)
            initials = "".join(word[0] for word in phrase.split() if word[0].isupper())
            found.setdefault(initials, phrase)
    return found


def minmax(values: np.ndarray) -> np.ndarray:
    """Scale to [0, 1] over the candidates; all-equal values become 0."""
    low, high = values.min(), values.max()
    if high - low < 1e-9:
        return np.zeros_like(values, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


class HybridSearch:
    """Ranks the chunks of one loaded index version for a question."""

    def __init__(self, data: IndexData):
        self.data = data
        self.document_numbers = {d.id: n for n, d in enumerate(data.documents)}
        self.chunk_sentences = self._sentence_ranges()
        self.section_headings = self._section_headings()
        self.acronyms = acronyms(d.text for d in data.documents)

    def _sentence_ranges(self) -> np.ndarray:
        """For each chunk, the [first, last) rows of the sentences inside it."""
        chunks, sentences = self.data.chunks, self.data.sentences
        scale = int(max(chunks[:, 2].max(initial=0), sentences[:, 2].max(initial=0))) + 1
        sentence_keys = sentences[:, 0] * scale + sentences[:, 1]
        first = np.searchsorted(sentence_keys, chunks[:, 0] * scale + chunks[:, 1], side="left")
        last = np.searchsorted(sentence_keys, chunks[:, 0] * scale + chunks[:, 2], side="left")
        return np.column_stack([first, last])

    def _section_headings(self) -> np.ndarray:
        """For each sentence, the row of the last heading before it in its document, or -1."""
        sentences = self.data.sentences
        rows = np.arange(len(sentences))
        last_heading = np.maximum.accumulate(np.where(sentences[:, 3] == 1, rows, -1)) if len(rows) else rows
        same_document = (last_heading >= 0) & (sentences[np.maximum(last_heading, 0), 0] == sentences[:, 0])
        return np.where(same_document & (last_heading != rows), last_heading, -1)

    def expand_acronyms(self, question: str) -> str:
        """The phrases that the question's acronyms stand for in the sources."""
        return " ".join(self.acronyms[word] for word in ACRONYM.findall(question) if word in self.acronyms)

    def rank(self, question: str, question_vector: np.ndarray) -> Ranking:
        """All candidate chunks for a question, best first."""
        data = self.data
        if len(data.chunks) == 0 or len(data.sentences) == 0:  # an index of no documents
            nothing = np.zeros(0, dtype=np.float32)
            return Ranking(nothing.astype(np.int64), nothing, nothing, nothing)
        tokens = tokenize([f"{question} {self.expand_acronyms(question)}"])[0]
        chunk_bm25 = data.bm25_chunks.scores(tokens)
        sentence_bm25 = data.bm25_sentences.scores(tokens)
        sentence_dense = data.sentence_vectors @ question_vector
        sentence_scores = (SENTENCE_DENSE * minmax(sentence_dense)
                           + (1 - SENTENCE_DENSE) * minmax(sentence_bm25))
        headed = self.section_headings >= 0
        sentence_scores[headed] += SECTION_WEIGHT * sentence_scores[self.section_headings[headed]]
        n = min(CANDIDATES, len(data.chunks))
        _, dense_ids = data.faiss_index.search(question_vector[None, :], n)
        lexical_ids = np.argpartition(-chunk_bm25, n - 1)[:n]
        candidates = np.union1d(dense_ids[0][dense_ids[0] >= 0], lexical_ids)
        chunk_scores = (CHUNK_DENSE * minmax(data.chunk_vectors[candidates] @ question_vector)
                        + (1 - CHUNK_DENSE) * minmax(chunk_bm25[candidates]))
        best_sentence = np.array([sentence_scores[a:b].max() if b > a else 0.0
                                  for a, b in self.chunk_sentences[candidates]])
        fused = (1 - BEST_SENTENCE) * chunk_scores + BEST_SENTENCE * best_sentence
        order = np.argsort(-fused, kind="stable")
        return Ranking(candidates[order], fused[order], sentence_dense, sentence_scores)

    def passage(self, chunk: int, score: float) -> Passage:
        """The Passage of one chunk row."""
        doc_index, start, end = (int(v) for v in self.data.chunks[chunk])
        document = self.data.documents[doc_index]
        return Passage(document.id, document.title, document.text[start:end], start, end,
                       round(float(score), 4))
