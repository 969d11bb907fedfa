"""The JSON API: ask, search, documents, health. Offsets are into a document's clean text.

Errors of qa (`QAError`) reach the client through the app's one handler, as
`{"detail": message}` with the error's HTTP status.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request, Response, UploadFile
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, PlainSerializer, TypeAdapter

from qa import Document, Passage, QAError, Retriever
from qa.build import Progress
from qa.settings import DEFAULT
from web import ids  # noqa: F401 - registers {doc_id:doc}
from web.conversation import Turn, answer_turn, document_link, message
from web.highlight import word_marks
from web.library import delete_document, file_format, save_upload
from web.state import AppRetriever, IndexBuilding, changed, index_info, open_retriever, seeds_of

router = APIRouter()
MAX_QUESTION_CHARS = DEFAULT.answering.max_question_chars
MAX_HISTORY = DEFAULT.answering.max_history

MAX_SCOPE, MAX_SCOPE_CHARS = 1000, 1000
SCOPE_HELP = ("ask only these documents: document ids, or folders such as 'reports/' (empty: all of them); "
              "an entry that names no indexed document is refused with 422")
ScopeQuery = Annotated[list[str] | None, Query(max_length=MAX_SCOPE, description=SCOPE_HELP)]

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
    page: str | None = Field(description="the label of the page it starts on (none for unpaged formats)")
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
    page: str | None = Field(description="the label of the page the span is on (none for unpaged formats)")
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
                                           "date, duration, count, money, percent, language, event, law, manner "
                                           "(how something was done: a phrase), definition (what a named one "
                                           "is: a description) or empty")
    conflicts: list[ConflictOut] = Field(description="different answers of the same kind from other documents")
    page: str | None = Field(description="the label of the page the span is on, e.g. '12' or 'iv' "
                                         "(none for unpaged formats)")
    link: str | None = Field(description="the document page scrolled to the span")
    page_link: str | None = Field(description="the original page drawn with the span highlighted (PDFs)")
    passages: list[PassageOut]


class AskIn(BaseModel):
    """Coarse size limits; the Retriever checks the question against its settings and says why."""

    question: str = Field(max_length=MAX_QUESTION_CHARS * 2, description="the question")
    history: list[Annotated[str, Field(max_length=MAX_QUESTION_CHARS)] | HistoryTurn] = Field(
        default_factory=list, max_length=MAX_HISTORY * 10,
        description=f"earlier turns of the conversation, oldest first (the last {MAX_HISTORY} count): questions "
                    "as asked, or {question, answer} objects, so a follow-up can refer to an earlier answer")
    scope: list[Annotated[str, Field(max_length=MAX_SCOPE_CHARS)]] = Field(
        default_factory=list, max_length=MAX_SCOPE, description=SCOPE_HELP)


class DocumentSummary(BaseModel):
    id: str
    title: str
    chars: int
    link: str
    format: str = Field(description="the file's suffix, e.g. 'pdf'")
    size: int = Field(description="the file's size in bytes when it was indexed")
    indexed_at: str = Field(description="when this version of it was indexed (ISO 8601, UTC)")


class Library(BaseModel):
    documents: list[DocumentSummary]
    skipped: list[str] = Field(description="files the last build skipped, each with the reason")


class SavedOut(BaseModel):
    id: str
    size: int
    link: str = Field(description="the document's page, once it is indexed")


class RefusedOut(BaseModel):
    name: str
    status: int
    detail: str


class UploadOut(BaseModel):
    saved: list[SavedOut] = Field(description="files written into the seeds folder; they are indexed in a moment")
    refused: list[RefusedOut] = Field(description="files not written, each with why")


class DocumentOut(DocumentSummary):
    text: str
    sha256: str


class Health(BaseModel):
    status: str = Field(description="'ok', or 'indexing' while the first build runs (with status 503)")
    documents: int = 0
    built_at: str = ""
    version: str = ""
    indexing: str = Field("", description="what a build running now is doing, e.g. 'reading 120 of 480 documents'")
    done: int = 0
    total: int = 0


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
                     page=a.page, link=turn.link or None, page_link=turn.page_link or None,
                     passages=[passage_out(p, marks) for p, marks in turn.passages])


@router.get("/api/ask", response_model=AnswerOut, tags=["answers"],
            responses={422: {"description": "the question is empty or too long, or the scope names nothing"}})
def ask_get(q: Annotated[str, Query(description="the question")], r: AppRetriever, scope: ScopeQuery = None):
    """Answer one question from the sources, with the span offsets and the passages behind it."""
    return encoded(answer_out(answer_turn(r, q, [], scope)))


@router.post("/api/ask", response_model=AnswerOut, tags=["answers"],
             responses={422: {"description": "the question is empty or too long, or the scope names nothing"}})
def ask_post(body: AskIn, r: AppRetriever):
    """Answer a question of a conversation: a follow-up is read in the light of the history."""
    history = [turn if isinstance(turn, str) else (turn.question, turn.answer) for turn in body.history]
    return encoded(answer_out(answer_turn(r, body.question, history, body.scope)))


@router.get("/api/search", response_model=list[PassageOut], tags=["answers"],
            responses={422: {"description": "the question is empty or too long, or the scope names nothing"}})
def search(q: Annotated[str, Query(description="the question")], r: AppRetriever,
           k: Annotated[int, Query(ge=1, le=50, description="how many passages (1 to 50)")] = 5,
           scope: ScopeQuery = None):
    """The k best passages for a question, best first."""
    return encoded(PASSAGES.dump_json([passage_out(p, word_marks(p.text, q)) for p in r.search(q, k=k, scope=scope)]))


def summary(r: Retriever, d: Document) -> DocumentSummary:
    entry = r.manifest.documents[d.id]
    return DocumentSummary(id=d.id, title=d.title, chars=len(d.text), link=document_link(d.id),
                           format=file_format(d.id), size=entry.size, indexed_at=entry.indexed_at)


@router.get("/api/documents", response_model=Library, tags=["documents"])
def documents(r: AppRetriever):
    """Every indexed document, by id, and the files the last build skipped with the reasons."""
    return Library(documents=[summary(r, d) for d in r.documents()], skipped=r.manifest.skipped)


@router.post("/api/documents", response_model=UploadOut, status_code=202, tags=["documents"],
             responses={400: {"description": "no file, or a file name with nothing usable"},
                        413: {"description": "a file over the size limit"},
                        415: {"description": "a format qa does not read"}})
def upload(request: Request, files: list[UploadFile]):
    """Add files to the sources (multipart form, field `files`, several at once). They are written
    into the seeds folder and indexed in a moment; 202 when at least one was written, else the
    status of the first refusal."""
    saved, refused = add_files(request.app, files)
    if not saved and refused:
        return JSONResponse({"detail": refused[0].detail, "refused": [r.model_dump() for r in refused]},
                            status_code=refused[0].status)
    return UploadOut(saved=saved, refused=refused)


def add_files(app, files: list[UploadFile]) -> tuple[list[SavedOut], list[RefusedOut]]:
    """Save uploads into the app's seeds folder; what was saved and what was refused."""
    seeds = seeds_of(app)
    saved, refused = [], []
    for file in files:
        try:
            done = save_upload(seeds, file.filename or "", file.file, app.state.settings.sources.max_file_bytes)
            saved.append(SavedOut(id=done.id, size=done.size, link=document_link(done.id)))
        except QAError as error:
            refused.append(RefusedOut(name=file.filename or "", status=error.status, detail=message(error)))
    if saved:
        changed(app)
    return saved, refused


@router.delete("/api/documents/{doc_id:doc}", status_code=202, tags=["documents"],
               responses={404: {"description": "no such file in the seeds folder"}})
def delete(request: Request, doc_id: str) -> dict[str, str]:
    """Remove a document: its file leaves the seeds folder, and it leaves the index in a moment."""
    delete_document(seeds_of(request.app), doc_id)
    changed(request.app)
    return {"deleted": doc_id}


@router.get("/api/documents/{doc_id:doc}", response_model=DocumentOut, tags=["documents"],
            responses={404: {"description": "no such document in the index"}})
def document(doc_id: str, r: AppRetriever):
    """One indexed document's clean text (the text every offset points into)."""
    try:
        d = r.document(doc_id)
    except KeyError:
        raise HTTPException(404, detail="No such document in the index") from None
    return DocumentOut(**summary(r, d).model_dump(), text=d.text, sha256=d.sha256)


@router.get("/healthz", response_model=Health, tags=["health"],
            responses={503: {"description": "the index cannot be loaded, or is being built for the first time"}})
def healthz(request: Request):
    """Whether the index is loaded, with its document count, build time and version, and what a
    build running now is doing."""
    indexing = request.app.state.indexing
    try:
        info = index_info(open_retriever(request.app), indexing)
    except IndexBuilding as building:
        return JSONResponse(Health(status="indexing", **progress_fields(building.progress)).model_dump(),
                            status_code=503)
    return Health(status="ok", documents=info.documents, built_at=info.built_at, version=info.version,
                  **progress_fields(indexing.progress if indexing.running else None))


def progress_fields(progress: Progress | None) -> dict:
    return {"indexing": progress.describe(), "done": progress.done, "total": progress.total} if progress else {}
