"""The HTML pages: the chat (works as a plain form without JavaScript), documents, API docs,
and POST /turn, the one rendering of a chat turn that chat.js inserts."""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import jinja2
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from qa import QAError, Retriever
from qa.sources import CONVERTERS
from web import guard
from web.api import add_files
from web.conversation import Turn, answer_turn, ask, document_link, earlier_turns, history_of, refused, seal
from web.highlight import marked
from web.library import delete_document, file_format
from web.state import AppRetriever, changed, index_info, open_retriever, seeds_of

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True))
templates.env.globals.update(marked=marked, document_link=document_link)
router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)

UNREACHABLE = "The server could not be reached. Try again."


def chat_page(request: Request, r: Retriever, question: str | None, asked: list[str], tokens: list[str],
              scope: list[str]):
    """The conversation so far (`asked`, shown from their `tokens`) plus the answer to
    `question`, if any, asked of the documents in `scope` (all without one)."""
    settings = r.settings.answering
    signer = request.app.state.signer
    keep = len(asked) - settings.max_history
    turns = earlier_turns(r, asked, tokens, signer)[max(0, keep):]
    status = 200
    if question is not None:
        turn = ask(r, question, history_of(turns), scope)
        turns.append(turn)
        status = turn.status
    carried = [(t.question, seal(t, r, signer) if t.answer else "") for t in turns if not t.error]
    return templates.TemplateResponse(request, "chat.html", {
        "turns": turns, "carried": carried[-settings.max_history:], "max_history": settings.max_history,
        "scope": scope, "index": index_info(r, request.app.state.indexing),
        "pending_turn": Turn(question=""), "failed_turn": Turn(question="", error=UNREACHABLE)},
        status_code=status)


@router.get("/")
def chat(request: Request, r: AppRetriever, q: str | None = None, h: Annotated[list[str] | None, Query()] = None,
         s: Annotated[list[str] | None, Query()] = None):
    """The chat page; `?q=` asks a question, `h` carries the earlier questions (shown as
    questions: a link carries no answers), `s` the scope."""
    return chat_page(request, r, q, h or [], [], s or [])


@router.post("/")
def chat_form(request: Request, r: AppRetriever, q: Annotated[str, Form()] = "",
              h: Annotated[list[str] | None, Form()] = None, t: Annotated[list[str] | None, Form()] = None,
              s: Annotated[list[str] | None, Form()] = None):
    """The chat form posted without JavaScript: the same page, one turn longer; `t` are the
    signed earlier turns the previous page gave it."""
    return chat_page(request, r, q, h or [], t or [], s or [])


@router.post("/turn")
def turn_fragment(request: Request, q: Annotated[str, Form()] = "", h: Annotated[list[str] | None, Form()] = None,
                  a: Annotated[list[str] | None, Form()] = None, s: Annotated[list[str] | None, Form()] = None):
    """One turn as an HTML fragment (what chat.js inserts): `q` asked after the questions `h`,
    which were answered `a` (when given, one per question: a follow-up can refer to them),
    of the documents and folders `s` (all without them).

    200 with the answer; with the error's status (422 for a question that cannot be asked,
    503 without an index) and its message as an error turn.
    """
    try:
        r = open_retriever(request.app)
        questions, answers = h or [], a or []
        history = list(zip(questions, answers, strict=True)) if len(answers) == len(questions) else questions
        turn = answer_turn(r, q, history[-r.settings.answering.max_history:], s)
    except QAError as error:
        turn = refused(q, error)
    return templates.TemplateResponse(request, "_turn.html", {"turn": turn}, status_code=turn.status)


@router.get("/documents/{doc_id:path}")
def document_page(request: Request, doc_id: str, r: AppRetriever, start: int | None = None, end: int | None = None):
    """A document's whole clean text, with [start, end) highlighted as #hl when given and valid."""
    try:
        document = r.document(doc_id)
    except KeyError:
        return templates.TemplateResponse(request, "error.html", {
            "message": "There is no such document in the index.", "index": index_info(r, request.app.state.indexing)},
            status_code=404)
    marks = [(start, end)] if start is not None and end is not None and 0 <= start < end <= len(document.text) else []
    return templates.TemplateResponse(request, "document.html", {
        "document": document, "text": marked(document.text, marks, "hl"),
        "index": index_info(r, request.app.state.indexing)})


PAGE_SIZE = 50


@router.get("/sources")
def sources_page(request: Request, r: AppRetriever, q: str = "", page: int = 1, note: str = ""):
    """Every indexed document (title, format, size, when indexed), searchable by title or name
    and paged; the files the last build skipped with why; a form to add files."""
    wanted = q.strip().lower()
    entries = sorted(r.manifest.documents.items())
    found = [(doc_id, entry) for doc_id, entry in entries
             if not wanted or wanted in doc_id.lower() or wanted in entry.title.lower()]
    pages = max(1, -(-len(found) // PAGE_SIZE))
    page = min(max(1, page), pages)
    return templates.TemplateResponse(request, "sources.html", {
        "shown": found[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], "found": len(found), "q": q, "page": page,
        "pages": pages, "skipped": r.manifest.skipped, "note": note, "formats": sorted(CONVERTERS),
        "max_bytes": r.settings.sources.max_file_bytes, "file_format": file_format,
        "index": index_info(r, request.app.state.indexing)})


@router.post("/sources")
def sources_upload(request: Request, files: Annotated[list[UploadFile], File()]):
    """The upload form posted without JavaScript: save the files, then show the sources page."""
    saved, refused = add_files(request.app, [f for f in files if f.filename])
    note = "; ".join([f"Added {s.id}: it is being indexed" for s in saved] + [r.detail for r in refused])
    return RedirectResponse(f"/sources?{urlencode({'note': note or 'No file was chosen.'})}", status_code=303)


@router.get("/sources/delete")
def delete_confirmation(request: Request, r: AppRetriever, id: str):
    """Asks whether to delete a document, with a form that does (works without JavaScript)."""
    try:
        document = r.document(id)
    except KeyError:
        return templates.TemplateResponse(request, "error.html", {
            "message": "There is no such document in the index.", "index": index_info(r, request.app.state.indexing)},
            status_code=404)
    return templates.TemplateResponse(request, "delete.html", {
        "document": document, "index": index_info(r, request.app.state.indexing)})


@router.post("/sources/delete")
def delete_confirmed(request: Request, id: Annotated[str, Form()]):
    """Deletes a document's file from the seeds folder; it leaves the index in a moment."""
    delete_document(seeds_of(request.app), id)
    changed(request.app)
    return RedirectResponse(f"/sources?{urlencode({'note': f'Deleted {id}.'})}", status_code=303)


@router.get("/login")
def login_page(request: Request, next: str = "/", wrong: bool = False):
    """Asks for the server's access token (once: a cookie keeps it)."""
    return templates.TemplateResponse(request, "login.html", {"next": guard.safe_next(next), "wrong": wrong},
                                      status_code=401 if wrong else 200)


@router.post("/login")
def login(request: Request, token: Annotated[str, Form()] = "", next: Annotated[str, Form()] = "/"):
    """Checks the token; sets it as an HttpOnly, SameSite=Strict cookie and goes on to `next`."""
    target = guard.safe_next(next)
    expected = request.app.state.token
    if not expected:
        return RedirectResponse(target, status_code=303)
    if not hmac.compare_digest(token.encode(), expected.encode()):
        return RedirectResponse(f"/login?{urlencode({'next': target, 'wrong': 'true'})}", status_code=303)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(guard.COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=30 * 24 * 3600)
    return response


@router.get("/docs")
def api_docs(request: Request):
    """The JSON API, described from the app's own OpenAPI schema (no CDN)."""
    schema = request.app.openapi()
    operations = [(method.upper(), path, op, body_fields(schema, op), response_fields(schema, op))
                  for path, ops in schema["paths"].items() for method, op in ops.items()]
    return templates.TemplateResponse(request, "api.html", {"operations": operations})


def fields_of(schema: dict, body: dict) -> dict:
    """Field name -> description of the object a JSON schema names by `$ref` ({} for any other)."""
    if "$ref" not in body:
        return {}
    model = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    return {name: field.get("description", "") for name, field in model.get("properties", {}).items()}


def body_fields(schema: dict, operation: dict) -> dict:
    """Field name -> description of an operation's JSON body ({} without a body)."""
    return fields_of(schema, operation.get("requestBody", {}).get("content", {})
                     .get("application/json", {}).get("schema", {}))


def response_fields(schema: dict, operation: dict) -> dict:
    """Field name -> description of the object (or of each object of the list) an operation returns."""
    body = operation.get("responses", {}).get("200", {}).get("content", {}).get("application/json", {})
    body = body.get("schema", {})
    return fields_of(schema, body.get("items", body))
