"""Chunking: split a Document's clean text into sentences and overlapping chunks.

Every `Sentence` and `Chunk` carries character offsets into `Document.text`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache

import pysbd

from qa.settings import DEFAULT, ChunkingSettings
from qa.sources import Document

SENTENCE_END = re.compile(r"[.!?…][\"'”’)\]]*$")
WORD = re.compile(r"\S+")
MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?"
# "December 22, 2025 Clash Report": a line that starts with a full date is a dateline, which says
# when (and often by whom) a piece was published, not a heading
DATELINE = re.compile(rf"^(?:{MONTH} \d{{1,2}},? \d{{4}}|\d{{1,2}} {MONTH},? \d{{4}}|\d{{4}}-\d{{2}}-\d{{2}})\b")
# Where a long line may be cut before pysbd reads it: after a word of two lower-case letters or
# digits and its full stop (so not after "Mr." or "U.S."), before a capital.
SENTENCE_BREAK = re.compile(r"(?<=[a-z0-9]{2}[.!?])\s+(?=[\"“‘(]?[A-Z0-9])")


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
    sentence without end punctuation that is no dateline.
    """
    text = document.text
    marked_headings = {start for start, _ in document.headings}
    sentences = []
    line_start = 0
    for line in text.split("\n"):
        if line.strip():
            pieces = split_line(line, settings)
            for start, end in pieces:
                sentence_text = line[start:end]
                heading = len(pieces) == 1 and (
                    line_start in marked_headings
                    or (len(WORD.findall(sentence_text)) <= settings.heading_max_words
                        and not SENTENCE_END.search(sentence_text)
                        and not (settings.datelines and DATELINE.match(sentence_text))))
                sentences.append(Sentence(document.id, line_start + start, line_start + end,
                                          sentence_text, heading))
        line_start += len(line) + 1
    return sentences


def split_line(line: str, settings: ChunkingSettings = DEFAULT.chunking) -> list[tuple[int, int]]:
    """(start, end) of each sentence in one line, surrounding spaces trimmed.

    pysbd's time grows with the square of what it reads, so a long line is first cut
    into windows at likely sentence ends; a sentence longer than `sentence_max_words`
    (a line without punctuation) is cut into even pieces.
    """
    spans = []
    for window_start, window_end in windows(line, settings.max_line_chars):
        for start, end in pysbd_spans(line[window_start:window_end]):
            spans.extend(capped(line, window_start + start, window_start + end, settings.sentence_max_words))
    return spans


def windows(line: str, size: int) -> list[tuple[int, int]]:
    """(start, end) of consecutive pieces of `line` of at most `size` characters, each cut at
    the last likely sentence end in it, else at a space."""
    pieces = []
    start = 0
    while len(line) - start > size:
        cut = max((m.end() for m in SENTENCE_BREAK.finditer(line, start, start + size)), default=0)
        if cut <= start:
            cut = line.rfind(" ", start, start + size) + 1
        if cut <= start:
            cut = start + size
        pieces.append((start, cut))
        start = cut
    pieces.append((start, len(line)))
    return pieces


def pysbd_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence pysbd finds in `text`, surrounding spaces trimmed."""
    spans = []
    position = 0
    for piece in segmenter().segment(text):
        found = text.find(piece, position)
        if found < 0:  # the splitter altered the text; fall back to the rest of it
            found, piece = position, text[position:]
        start = found + len(piece) - len(piece.lstrip())
        end = found + len(piece.rstrip())
        if end > start:
            spans.append((start, end))
        position = found + len(piece)
    return spans


def capped(line: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """The sentence line[start:end], or even pieces of it of at most `max_words` words."""
    words = [(m.start(), m.end()) for m in WORD.finditer(line, start, end)]
    if len(words) <= max_words:
        return [(start, end)]
    per = math.ceil(len(words) / math.ceil(len(words) / max_words))
    return [(words[first][0], words[min(first + per, len(words)) - 1][1]) for first in range(0, len(words), per)]


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
