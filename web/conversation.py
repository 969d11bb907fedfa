"""A conversation turn: the question as asked, as resolved against earlier ones, and its answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote

from qa import Answer, Passage, Retriever
from qa.followup import resolve
from qa.retriever import MAX_QUESTION_CHARS, QuestionError, check_question
from web.highlight import answer_mark, passage_marks


@dataclass
class Turn:
    """One question and what the sources say; `error` is set instead of `answer` for bad input."""

    question: str
    resolved: str = ""
    answer: Answer | None = None
    error: str = ""
    sentence_marks: list[tuple[int, int]] = field(default_factory=list)
    passages: list[tuple[Passage, list[tuple[int, int]]]] = field(default_factory=list)

    @property
    def link(self) -> str:
        """The document page scrolled to the answer span ('' without an answer)."""
        a = self.answer
        return document_link(a.doc_id, a.start, a.end) if a and a.found else ""


def document_link(doc_id: str, start: int | None = None, end: int | None = None) -> str:
    """The URL of a document page, with the span [start, end) highlighted and scrolled to."""
    url = f"/documents/{quote(doc_id, safe='/')}"
    return f"{url}?start={start}&end={end}#hl" if start is not None else url


def ask(r: Retriever, question: str, history: list[str]) -> Turn:
    """Resolve `question` against `history` (earlier questions as asked) and answer it."""
    turn = Turn(question=question.strip())
    try:
        check_question(question)  # as asked: the words a follow-up borrows don't make it longer or non-empty
        resolved = resolve(question, history)
        turn.answer = r.answer(resolved[:MAX_QUESTION_CHARS])
    except QuestionError as error:
        turn.error = str(error).capitalize()
        return turn
    turn.resolved = resolved
    if turn.answer.found:
        turn.sentence_marks = answer_mark(turn.answer)
    turn.passages = [(p, passage_marks(p, turn.answer, resolved)) for p in turn.answer.passages]
    return turn


def replay(r: Retriever, asked: list[str]) -> list[Turn]:
    """The turns of a conversation whose questions are `asked`, oldest first."""
    return [ask(r, question, asked[:n]) for n, question in enumerate(asked)]
