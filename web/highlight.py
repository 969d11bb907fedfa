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
from qa.sources import Document


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


def document_html(document: Document, span: tuple[int, int] | None,
                  sentence: tuple[int, int] | None = None) -> Markup:
    """A document's clean text as HTML: a paragraph per line, its headings as headings, a
    "— p. 12 —" marker where each page starts, the `sentence` lightly marked and the `span`
    strongly (id "hl", to scroll to). A first line that only repeats the title is left to the
    page's own heading. Every piece of text is escaped; offsets place the markup."""
    text = document.text
    headings = {start for start, _ in document.headings}
    page_starts = dict(zip(document.pages, document.page_labels, strict=False))
    layers = [(bounds[0], bounds[1], cls) for bounds, cls in ((sentence, "in-sentence"), (span, "span"))
              if bounds and 0 <= bounds[0] < bounds[1] <= len(text)]
    out, at = [], 0
    for line in text.split("\n"):
        start, end = at, at + len(line)
        at = end + 1
        for page_start, label in page_starts.items():
            if start <= page_start <= end and (line or page_start == start):
                out.append(Markup('<p class="page-break" id="page-{0}">— p. {0} —</p>').format(label))
        if not line or (start == 0 and line.strip() == document.title.strip()):
            continue
        tag = "h2" if start in headings else "p"
        out.append(Markup("<{0}>{1}</{0}>").format(tag, layered(text, start, end, layers)))
    return Markup("\n").join(out)


def layered(text: str, start: int, end: int, layers: list[tuple[int, int, str]]) -> Markup:
    """text[start:end] escaped, each run inside a layer wrapped in <mark class=...>; the run that
    opens the span layer carries id="hl"."""
    cuts = sorted({start, end, *(x for a, b, _ in layers for x in (a, b) if start < x < end)})
    pieces = []
    for a, b in zip(cuts, cuts[1:], strict=False):
        inside = [cls for x, y, cls in layers if x <= a and b <= y]
        piece = escape(text[a:b])
        if "span" in inside:
            anchor = Markup(' id="hl"') if any(x == a for x, _, cls in layers if cls == "span") else ""
            piece = Markup('<mark class="span"{}>{}</mark>').format(anchor, piece)
        elif inside:
            piece = Markup('<mark class="in-sentence">{}</mark>').format(piece)
        pieces.append(piece)
    return Markup("").join(pieces)
