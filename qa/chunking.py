"""Chunking: split a Document's clean text into sentences and overlapping chunks.

Every `Sentence` and `Chunk` carries character offsets into `Document.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd

from qa.sources import Document

CHUNK_MAX_WORDS = 120      # all-MiniLM-L6-v2 reads 256 word pieces; 120 words stays well inside
CHUNK_MAX_SENTENCES = 6
CHUNK_OVERLAP_SENTENCES = 1
HEADING_MAX_WORDS = 14
SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document; `heading` marks short title-like lines, never picked as answers."""

    doc_id: str
    start: int
    end: int
    text: str
    heading: bool = False


@dataclass(frozen=True)
class Chunk:
    """A few consecutive sentences of a document: the unit that retrieval ranks."""

    doc_id: str
    start: int
    end: int
    text: str


@lru_cache(maxsize=1)
def segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def split_sentences(document: Document) -> list[Sentence]:
    """The sentences of a document, line by line, with offsets into its text."""
    text = document.text
    sentences = []
    line_start = 0
    for line in text.split("\n"):
        if line.strip():
            pieces = split_line(line)
            for start, end in pieces:
                sentence_text = line[start:end]
                heading = (
                    len(pieces) == 1
                    and len(WORD.findall(sentence_text)) <= HEADING_MAX_WORDS
                    and not SENTENCE_END.search(sentence_text)
                )
                sentences.append(Sentence(document.id, line_start + start, line_start + end,
                                          sentence_text, heading))
        line_start += len(line) + 1
    return sentences


def split_line(line: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence in one line, surrounding spaces trimmed."""
    spans = []
    position = 0
    for piece in segmenter().segment(line):
        found = line.find(piece, position)
        if found < 0:  # the splitter altered the text; fall back to the rest of the line
            found, piece = position, line[position:]
        start = found + len(piece) - len(piece.lstrip())
        end = found + len(piece.rstrip())
        if end > start:
            spans.append((start, end))
        position = found + len(piece)
    return spans


def make_chunks(document: Document, sentences: list[Sentence]) -> list[Chunk]:
    """Group consecutive sentences into chunks of at most CHUNK_MAX_WORDS words,
    each chunk sharing CHUNK_OVERLAP_SENTENCES sentences with the one before."""
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last = first
        words = len(WORD.findall(sentences[first].text))
        while last + 1 < len(sentences) and last + 1 - first < CHUNK_MAX_SENTENCES:
            next_words = len(WORD.findall(sentences[last + 1].text))
            if words + next_words > CHUNK_MAX_WORDS:
                break
            words += next_words
            last += 1
        start, end = sentences[first].start, sentences[last].end
        chunks.append(Chunk(document.id, start, end, document.text[start:end]))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - CHUNK_OVERLAP_SENTENCES)
    return chunks


def chunk_document(document: Document) -> tuple[list[Chunk], list[Sentence]]:
    """The chunks and sentences of one document."""
    sentences = split_sentences(document)
    return make_chunks(document, sentences), sentences


SETTINGS = {
    "splitter": f"pysbd-{pysbd.__version__}",
    "chunk_max_words": CHUNK_MAX_WORDS,
    "chunk_max_sentences": CHUNK_MAX_SENTENCES,
    "chunk_overlap_sentences": CHUNK_OVERLAP_SENTENCES,
    "heading_max_words": HEADING_MAX_WORDS,
}
