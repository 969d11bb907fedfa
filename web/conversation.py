"""A conversation turn: the question as asked, its answer (read by the Retriever in the light
of the earlier questions) or the message of why it could not be asked."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

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
    asked, `status` is the error's HTTP status); or neither, for an earlier turn that is not
    shown again (see `earlier_turns`).
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
        if not (a and a.found and a.doc_id):
            return ""
        return document_link(a.doc_id, a.start, a.end, (a.sentence_start, a.sentence_end))

    @property
    def page_link(self) -> str:
        """The original page with the answer span drawn on it ('' unless the answer is in a PDF)."""
        a = self.answer
        return page_link(a.doc_id, a.page, a.start, a.end) if a and a.found and a.doc_id and a.page else ""


def document_link(doc_id: str, start: int | None = None, end: int | None = None,
                  sentence: tuple[int, int] | None = None) -> str:
    """The URL of a document page, with the span [start, end) highlighted and scrolled to (and
    its `sentence`, (start, end), lightly marked). Ids are percent-encoded: '#', '?', '%' and
    line breaks in file names make working links."""
    url = f"/documents/{quote(doc_id, safe='/')}"
    if start is None:
        return url
    around = f"&ss={sentence[0]}&se={sentence[1]}" if sentence else ""
    return f"{url}?start={start}&end={end}{around}#hl"


def page_link(doc_id: str, page: str | None, start: int, end: int) -> str:
    """The URL of a PDF page drawn with [start, end) highlighted ('' for other formats)."""
    if page is None or not doc_id.lower().endswith(".pdf"):
        return ""
    return f"{document_link(doc_id)}/pages/{quote(page, safe='')}?start={start}&end={end}"


def answered(question: str, answer: Answer, likely_from: float = DEFAULT.answering.likely_confidence) -> Turn:
    """The turn of `question` answered by `answer`, with its highlights."""
    return Turn(question=question.strip(), answer=answer,
                sentence_marks=answer_mark(answer) if answer.found else [],
                passages=[(p, passage_marks(p, answer, answer.resolved)) for p in answer.passages],
                conflicts=[(c, [(c.start - c.sentence_start, c.end - c.sentence_start)],
                            document_link(c.doc_id, c.start, c.end, (c.sentence_start, c.sentence_end)))
                           for c in answer.conflicts],
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


def ask(r: Retriever, question: str, history: Sequence[str | tuple[str, str]],
        scope: Sequence[str] | None = None) -> Turn:
    """`answer_turn`, but an error becomes a turn that shows its message."""
    try:
        return answer_turn(r, question, history, scope)
    except QAError as error:
        return refused(question, error)


def seal(turn: Turn, r: Retriever, signer: URLSafeSerializer) -> str:
    """A signed token of an answered turn: the plain chat form carries it, so the next page
    shows the turn again from the index's text without answering it again."""
    a = turn.answer
    assert a is not None, "only answered turns are sealed"
    fields: dict = {"q": turn.question, "r": a.resolved, "f": a.found}
    if a.found and a.doc_id is not None:
        fields.update(d=a.doc_id, s=a.start, e=a.end, ss=a.sentence_start, se=a.sentence_end,
                      c=round(a.confidence, 4), h=r.document(a.doc_id).sha256)
    return signer.dumps(fields)


def reopen(token: str, r: Retriever, signer: URLSafeSerializer) -> Turn | None:
    """The turn a `seal` token holds, read from the index as it is now; None when the token is
    not ours, or its document has changed or gone since."""
    try:
        fields = signer.loads(token)
    except BadSignature:
        return None
    if not fields["f"]:
        return answered(fields["q"], Answer(found=False, resolved=fields["r"]), r.settings.answering.likely_confidence)
    try:
        document = r.document(fields["d"])
    except KeyError:
        return None
    if document.sha256 != fields["h"]:
        return None
    answer = Answer(found=True, text=document.text[fields["s"]:fields["e"]], doc_id=document.id, title=document.title,
                    start=fields["s"], end=fields["e"], sentence=document.text[fields["ss"]:fields["se"]],
                    sentence_start=fields["ss"], sentence_end=fields["se"], confidence=fields["c"],
                    resolved=fields["r"])
    return answered(fields["q"], answer, r.settings.answering.likely_confidence)


def earlier_turns(r: Retriever, asked: Sequence[str], tokens: Sequence[str], signer: URLSafeSerializer) -> list[Turn]:
    """The earlier turns of a plain-form conversation, oldest first: each shown from its token
    when it carries a valid one for the same question, else as the question alone. Nothing is
    answered again, so a page costs at most the one answer it asks for."""
    turns = []
    for n, question in enumerate(asked):
        turn = reopen(tokens[n], r, signer) if n < len(tokens) and len(tokens) == len(asked) else None
        turns.append(turn if turn and turn.question == question.strip() else Turn(question=question.strip()))
    return turns


def history_of(turns: Sequence[Turn]) -> list[str | tuple[str, str]]:
    """What follow-ups are read against: each earlier question, with its answer when shown."""
    return [(t.question, t.answer.text) if t.answer and t.answer.found else t.question for t in turns]
