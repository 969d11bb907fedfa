"""Highlighting by offsets: which spans of a text to mark, and safe HTML for them.

Marks are (start, end) pairs into a text. HTML is built from escaped slices
around them, never by inserting markup into the text.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from qa.answering import Answer
from qa.followup import content_words
from qa.retrieval import Passage


def marked(text: str, marks: list[tuple[int, int]], first_id: str = "") -> Markup:
    """`text` escaped, with each (start, end) in `marks` wrapped in <mark>; the first mark gets `first_id`."""
    pieces, at = [], 0
    for number, (start, end) in enumerate(sorted(marks)):
        if start < at or end <= start:
            continue
        anchor = Markup(' id="{}"').format(first_id) if first_id and number == 0 else ""
        pieces += [escape(text[at:start]), Markup("<mark{}>").format(anchor),
                   escape(text[start:end]), Markup("</mark>")]
        at = end
    pieces.append(escape(text[at:]))
    return Markup("").join(pieces)


def answer_mark(answer: Answer) -> list[tuple[int, int]]:
    """The answer span as an offset pair into `answer.sentence`."""
    start = answer.start - answer.sentence_start
    return [(start, start + len(answer.text))]


def passage_marks(passage: Passage, answer: Answer, question: str) -> list[tuple[int, int]]:
    """Marks inside `passage.text`: the answer span when the passage holds it, else the question's words."""
    if answer.found and answer.doc_id == passage.doc_id and passage.start <= answer.start < answer.end <= passage.end:
        return [(answer.start - passage.start, answer.end - passage.start)]
    return word_marks(passage.text, question)


def word_marks(text: str, question: str) -> list[tuple[int, int]]:
    """Every whole-word occurrence in `text` of a topic word of `question` (case-insensitive)."""
    marks: set[tuple[int, int]] = set()
    for word in content_words(question):
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)", re.IGNORECASE)
        marks.update(match.span() for match in pattern.finditer(text))
    return sorted(marks)
