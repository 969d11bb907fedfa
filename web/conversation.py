"""A conversation turn: the question as asked, its answer (read by the Retriever in the light
of the earlier questions) or the message of why it could not be asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from qa import Answer, Passage, QAError, Retriever
from qa.answering import Conflict, cue
from qa.settings import DEFAULT
from web.highlight import answer_mark, passage_marks


def message(error: BaseException) -> str:
    """What a person reads for `error`: its text with the first letter upper-cased, the rest as is."""
    text = str(error)
    return text[:1].upper() + text[1:]


@dataclass(frozen=True)
class Turn:
    """One question and what the sources say.

    Exactly one of these holds: `answer` is set; `error` is set (the question could not be
    asked, `status` is the error's HTTP status); or neither, for an earlier turn that was
    not answered again (see `replay`).
    """

    question: str
    answer: Answer | None = None
    error: str = ""
    status: int = 200
    sentence_marks: list[tuple[int, int]] = field(default_factory=list)
    passages: list[tuple[Passage, list[tuple[int, int]]]] = field(default_factory=list)
    conflicts: list[tuple[Conflict, list[tuple[int, int]], str]] = field(default_factory=list)
    likely_from: float = DEFAULT.answering.likely_confidence

    @property
    def cue(self) -> str:
        """'likely' or 'uncertain': how a reader should take the answer."""
        return cue(self.answer, self.likely_from) if self.answer else "uncertain"

    @property
    def resolved(self) -> str:
        """The question as the Retriever read it ('' without an answer)."""
        return self.answer.resolved if self.answer else ""

    @property
    def link(self) -> str:
        """The document page scrolled to the answer span ('' without an answer)."""
        a = self.answer
        return document_link(a.doc_id, a.start, a.end) if a and a.found and a.doc_id else ""


def document_link(doc_id: str, start: int | None = None, end: int | None = None) -> str:
    """The URL of a document page, with the span [start, end) highlighted and scrolled to."""
    url = f"/documents/{quote(doc_id, safe='/')}"
    return f"{url}?start={start}&end={end}#hl" if start is not None else url


def answered(question: str, answer: Answer, likely_from: float = DEFAULT.answering.likely_confidence) -> Turn:
    """The turn of `question` answered by `answer`, with its highlights."""
    return Turn(question=question.strip(), answer=answer,
                sentence_marks=answer_mark(answer) if answer.found else [],
                passages=[(p, passage_marks(p, answer, answer.resolved)) for p in answer.passages],
                conflicts=[(c, [(c.start - c.sentence_start, c.end - c.sentence_start)],
                            document_link(c.doc_id, c.start, c.end)) for c in answer.conflicts],
                likely_from=likely_from)


def refused(question: str, error: QAError) -> Turn:
    """The turn of a question that `error` stopped: its message and HTTP status."""
    return Turn(question=question.strip(), error=message(error), status=error.status)


def answer_turn(r: Retriever, question: str, history: Sequence[str | tuple[str, str]],
                scope: Sequence[str] | None = None) -> Turn:
    """`question` answered by `r` in the light of `history` (earlier questions as asked, or
    (question, answer) pairs, oldest first), from the documents in `scope` (all without one);
    raises `QAError` (`QuestionError` for a question that cannot be asked)."""
    return answered(question, r.answer(question, history=history, scope=scope), r.settings.answering.likely_confidence)


def ask(r: Retriever, question: str, history: Sequence[str], scope: Sequence[str] | None = None) -> Turn:
    """`answer_turn`, but an error becomes a turn that shows its message."""
    try:
        return answer_turn(r, question, history, scope)
    except QAError as error:
        return refused(question, error)


def replay(r: Retriever, asked: Sequence[str], budget: int, scope: Sequence[str] | None = None) -> list[Turn]:
    """The turns of a conversation whose questions are `asked`, oldest first.

    Each one is answered again, newest first, while the questions answered again total at
    most `budget` characters; older ones show the question alone. Answering a question
    costs about its length (the model reads up to 256 word pieces of it), so a page of
    long earlier questions costs at most about one `budget`-long question more.
    """
    turns, spent = [], 0
    for n in reversed(range(len(asked))):
        spent += len(asked[n].strip())
        turns.append(ask(r, asked[n], asked[:n], scope) if spent <= budget else Turn(question=asked[n].strip()))
    return turns[::-1]
