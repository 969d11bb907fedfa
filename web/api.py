"""The JSON API: ask, search, documents, health. Offsets are into a document's clean text.

Errors of qa (`QAError`) reach the client through the app's one handler, as
`{"detail": message}` with the error's HTTP status.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field, PlainSerializer, TypeAdapter

from qa import Passage
from qa.settings import DEFAULT
from web.conversation import Turn, answer_turn, document_link
from web.highlight import word_marks
from web.state import AppRetriever, index_info, open_retriever

router = APIRouter()
MAX_QUESTION_CHARS = DEFAULT.answering.max_question_chars
MAX_HISTORY = DEFAULT.answering.max_history

# Scores are computed unrounded and rounded here, at the edge, to 4 places.
Rounded = Annotated[float, PlainSerializer(lambda value: round(value, 4), return_type=float)]


class PassageOut(BaseModel):
    """A supporting passage: `text` is `document.text[start:end]`; `marks` are offsets into `text`."""

    doc_id: str
    title: str
    text: str
    start: int
    end: int
    score: Rounded = Field(description="the passage's fused dense + BM25 score (4 decimals)")
    marks: list[tuple[int, int]]
    link: str


class ConflictOut(BaseModel):
    """A different answer from another document: `text` is its `document.text[start:end]`."""

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    sentence: str
    sentence_start: int
    sentence_end: int
    link: str = Field(description="the document page scrolled to the span")


class HistoryTurn(BaseModel):
    question: str = Field(max_length=MAX_QUESTION_CHARS)
    answer: str = Field(default="", max_length=MAX_QUESTION_CHARS * 5, description="the answer text it was given")


class AnswerOut(BaseModel):
    """The answer: `text` is `document.text[start:end]`, inside `sentence`
    (`document.text[sentence_start:sentence_end]`). `found` is false when the sources don't say."""

    question: str = Field(description="the question as asked")
    resolved: str = Field(description="the question as answered, after follow-up resolution")
    found: bool = Field(description="false when the sources don't say")
    text: str = Field(description="the answer span, document.text[start:end]")
    doc_id: str | None
    title: str
    start: int
    end: int
    sentence: str = Field(description="the sentence holding the answer, document.text[sentence_start:sentence_end]")
    sentence_start: int
    sentence_end: int
    evidence: Rounded = Field(description="cosine of the answer's sentence with the question (4 decimals)")
    confidence: Rounded = Field(description="the chance the answer is right (4 decimals), from a logistic model "
                                            "fitted on SQuAD by bench/learn.py; below min_confidence the "
                                            "sources don't say")
    cue: str = Field(description="'likely' or 'uncertain', as the chat shows it")
    question_type: str = Field(description="what the question asks for: person, place, organisation, nationality, "
                                           "date, duration, count, money, percent, language, event, law or empty")
    conflicts: list[ConflictOut] = Field(description="different answers of the same kind from other documents")
    link: str | None = Field(description="the document page scrolled to the span")
    passages: list[PassageOut]


class AskIn(BaseModel):
    """Coarse size limits; the Retriever checks the question against its settings and says why."""

    question: str = Field(max_length=MAX_QUESTION_CHARS * 2, description="the question")
    history: list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)] | HistoryTurn] = Field(
        default_factory=list, max_length=MAX_HISTORY * 10,
        description=f"earlier turns of the conversation, oldest first (the last {MAX_HISTORY} count): questions "
                    "as asked, or {question, answer} objects, so a follow-up can refer to an earlier answer")


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


PASSAGES = TypeAdapter(list[PassageOut])


def encoded(body: BaseModel | bytes) -> Response:
    """A JSON response encoded once, by pydantic (FastAPI would validate it again, convert it to
    dicts and encode those): the response models document the API, answers skip the detour."""
    return Response(body if isinstance(body, bytes) else body.model_dump_json(), media_type="application/json")


def passage_out(passage: Passage, marks: list[tuple[int, int]]) -> PassageOut:
    return PassageOut(**asdict(passage), marks=marks, link=document_link(passage.doc_id, passage.start, passage.end))


def answer_out(turn: Turn) -> AnswerOut:
    """The JSON form of an answered turn."""
    a = turn.answer
    assert a is not None, "answer_turn answers or raises"
    return AnswerOut(question=turn.question, resolved=a.resolved, found=a.found, text=a.text,
                     doc_id=a.doc_id, title=a.title, start=a.start, end=a.end, sentence=a.sentence,
                     sentence_start=a.sentence_start, sentence_end=a.sentence_end, evidence=a.evidence,
                     confidence=a.confidence, cue=turn.cue, question_type=a.question_type,
                     conflicts=[ConflictOut(**asdict(c), link=link) for c, _, link in turn.conflicts],
                     link=turn.link or None,
                     passages=[passage_out(p, marks) for p, marks in turn.passages])


@router.get("/api/ask", response_model=AnswerOut, tags=["answers"],
            responses={422: {"description": "the question is empty or too long"}})
def ask_get(q: Annotated[str, Query(description="the question")], r: AppRetriever):
    """Answer one question from the sources, with the span offsets and the passages behind it."""
    return encoded(answer_out(answer_turn(r, q, [])))


@router.post("/api/ask", response_model=AnswerOut, tags=["answers"],
             responses={422: {"description": "the question is empty or too long"}})
def ask_post(body: AskIn, r: AppRetriever):
    """Answer a question of a conversation: a follow-up is read in the light of the history."""
    history = [turn if isinstance(turn, str) else (turn.question, turn.answer) for turn in body.history]
    return encoded(answer_out(answer_turn(r, body.question, history)))


@router.get("/api/search", response_model=list[PassageOut], tags=["answers"],
            responses={422: {"description": "the question is empty or too long"}})
def search(q: Annotated[str, Query(description="the question")], r: AppRetriever,
           k: Annotated[int, Query(ge=1, le=50, description="how many passages (1 to 50)")] = 5):
    """The k best passages for a question, best first."""
    return encoded(PASSAGES.dump_json([passage_out(p, word_marks(p.text, q)) for p in r.search(q, k=k)]))


@router.get("/api/documents", response_model=list[DocumentSummary], tags=["documents"])
def documents(r: AppRetriever):
    """Every indexed document, by id."""
    return [DocumentSummary(id=d.id, title=d.title, chars=len(d.text), link=document_link(d.id))
            for d in r.documents()]


@router.get("/api/documents/{doc_id:path}", response_model=DocumentOut, tags=["documents"],
            responses={404: {"description": "no such document in the index"}})
def document(doc_id: str, r: AppRetriever):
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
    info = index_info(open_retriever(request.app))
    return Health(status="ok", documents=info.documents, built_at=info.built_at, version=info.version)
