"""Chunking: split a Document's clean text into sentences and overlapping chunks.

Every `Sentence` and `Chunk` carries character offsets into `Document.text`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd

from qa.settings import DEFAULT, ChunkingSettings
from qa.sources import Document

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


def split_sentences(document: Document, settings: ChunkingSettings = DEFAULT.chunking) -> list[Sentence]:
    """The sentences of a document, line by line, with offsets into its text.

    A line is a heading when its format marks it so, or when it is one short
    sentence without end punctuation.
    """
    text = document.text
    marked_headings = {start for start, _ in document.headings}
    sentences = []
    line_start = 0
    for line in text.split("\n"):
        if line.strip():
            pieces = split_line(line)
            for start, end in pieces:
                sentence_text = line[start:end]
                heading = len(pieces) == 1 and (
                    line_start in marked_headings
                    or (len(WORD.findall(sentence_text)) <= settings.heading_max_words
                        and not SENTENCE_END.search(sentence_text)))
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


def make_chunks(document: Document, sentences: list[Sentence],
                settings: ChunkingSettings = DEFAULT.chunking) -> list[Chunk]:
    """Group consecutive sentences into chunks of at most `chunk_max_words` words and
    `chunk_max_sentences` sentences, each sharing `chunk_overlap_sentences` with the one before."""
    chunks: list[Chunk] = []
    first = 0
    while first < len(sentences):
        last = first
        words = len(WORD.findall(sentences[first].text))
        while last + 1 < len(sentences) and last + 1 - first < settings.chunk_max_sentences:
            next_words = len(WORD.findall(sentences[last + 1].text))
            if words + next_words > settings.chunk_max_words:
                break
            words += next_words
            last += 1
        start, end = sentences[first].start, sentences[last].end
        chunks.append(Chunk(document.id, start, end, document.text[start:end]))
        if last + 1 >= len(sentences):
            break
        first = max(first + 1, last + 1 - settings.chunk_overlap_sentences)
    return chunks


def chunk_document(document: Document,
                   settings: ChunkingSettings = DEFAULT.chunking) -> tuple[list[Chunk], list[Sentence]]:
    """The chunks and sentences of one document."""
    sentences = split_sentences(document, settings)
    return make_chunks(document, sentences, settings), sentences
