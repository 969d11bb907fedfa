"""The JSON API: ask, search, documents, health. Offsets are into a document's clean text."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from qa import IndexUnavailable, Passage, Retriever
from qa.followup import MAX_HISTORY
from qa.retriever import MAX_QUESTION_CHARS, QuestionError
from web.conversation import Turn, ask, document_link
from web.highlight import word_marks
from web.state import index_info, open_retriever, retriever

router = APIRouter()


class PassageOut(BaseModel):
    """A supporting passage: `text` is `document.text[start:end]`; `marks` are offsets into `text`."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: float
    marks: list[tuple[int, int]]
    link: str


class AnswerOut(BaseModel):
    """The answer: `text` is `document.text[start:end]`, inside `sentence`
    (`document.text[sentence_start:sentence_end]`). `found` is false when the sources don't say."""

    question: str
    resolved: str = Field(description="the question as answered, after follow-up resolution")
    found: bool
    text: str
    doc_id: str | None
    title: str
    start: int
    end: int
    sentence: str
    sentence_start: int
    sentence_end: int
    score: float
    question_type: str
    link: str | None = Field(description="the document page scrolled to the span")
    passages: list[PassageOut]


class AskIn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION_CHARS * 2, description="the question")
    history: list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)]] = Field(
        default_factory=list, max_length=MAX_HISTORY * 10,
        description=f"earlier questions of the conversation as asked, oldest first (the last {MAX_HISTORY} count)")


class DocumentSummary(BaseModel):
    id: str
    title: str
    chars: int
    link: str


class DocumentOut(DocumentSummary):
    text: str
    sha256: str


class Health(BaseModel):
    status: str
    documents: int
    built_at: str
    version: str


def passage_out(passage: Passage, marks: list[tuple[int, int]]) -> PassageOut:
    return PassageOut(**passage.__dict__, marks=marks,
                      link=document_link(passage.doc_id, passage.start, passage.end))


def answer_out(turn: Turn) -> AnswerOut:
    """The JSON form of a turn; 422 with the message when the question was refused."""
    if turn.error:
        raise HTTPException(422, detail=turn.error)
    a = turn.answer
    return AnswerOut(question=turn.question, resolved=turn.resolved, found=a.found, text=a.text,
                     doc_id=a.doc_id, title=a.title, start=a.start, end=a.end, sentence=a.sentence,
                     sentence_start=a.sentence_start, sentence_end=a.sentence_end, score=a.score,
                     question_type=a.question_type, link=turn.link or None,
                     passages=[passage_out(p, marks) for p, marks in turn.passages])


@router.get("/api/ask", response_model=AnswerOut, tags=["answers"])
def ask_get(q: str = Query(description="the question"), r: Retriever = Depends(retriever)):
    """Answer one question from the sources, with the span offsets and the passages behind it."""
    return answer_out(ask(r, q, []))


@router.post("/api/ask", response_model=AnswerOut, tags=["answers"])
def ask_post(body: AskIn, r: Retriever = Depends(retriever)):
    """Answer a question of a conversation: a follow-up is first resolved against the history."""
    return answer_out(ask(r, body.question, body.history))


@router.get("/api/search", response_model=list[PassageOut], tags=["answers"])
def search(q: str = Query(description="the question"), k: int = Query(5, ge=1, le=50, description="how many passages (1 to 50)"),
           r: Retriever = Depends(retriever)):
    """The k best passages for a question, best first."""
    try:
        passages = r.search(q, k=k)
    except QuestionError as error:
        raise HTTPException(422, detail=str(error).capitalize()) from error
    return [passage_out(p, word_marks(p.text, q)) for p in passages]


@router.get("/api/documents", response_model=list[DocumentSummary], tags=["documents"])
def documents(r: Retriever = Depends(retriever)):
    """Every indexed document, by id."""
    return [DocumentSummary(id=d.id, title=d.title, chars=len(d.text), link=document_link(d.id))
            for d in r.documents()]


@router.get("/api/documents/{doc_id:path}", response_model=DocumentOut, tags=["documents"],
            responses={404: {"description": "no such document in the index"}})
def document(doc_id: str, r: Retriever = Depends(retriever)):
    """One indexed document's clean text (the text every offset points into)."""
    try:
        d = r.document(doc_id)
    except KeyError:
        raise HTTPException(404, detail="No such document in the index") from None
    return DocumentOut(id=d.id, title=d.title, chars=len(d.text), link=document_link(d.id),
                       text=d.text, sha256=d.sha256)


@router.get("/healthz", response_model=Health, tags=["health"],
            responses={503: {"description": "the index cannot be loaded"}})
def healthz(request: Request):
    """Whether the index is loaded, with its document count, build time and version."""
    try:
        info = index_info(open_retriever(request.app))
    except IndexUnavailable as error:
        return JSONResponse({"status": "unavailable", "detail": str(error)}, status_code=503)
    return Health(status="ok", documents=len(info["documents"]), built_at=info["built_at"],
                  version=info["version"])
