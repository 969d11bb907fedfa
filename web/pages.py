"""The HTML pages: the chat (works as a plain form without JavaScript), documents, API docs,
and POST /turn, the one rendering of a chat turn that chat.js inserts."""

from __future__ import annotations

import hmac
import mimetypes
from pathlib import Path
from typing import Annotated
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from qa import QAError, Retriever
from qa.sources import CONVERTERS, Document, pdf, sha256_of
from web import (
    guard,
    ids,  # noqa: F401 - registers {doc_id:doc}
)
from web.api import add_files
from web.conversation import Turn, answer_turn, ask, document_link, earlier_turns, history_of, page_link, refused, seal
from web.highlight import document_html, marked
from web.library import delete_document, file_format, seed_path
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
    first = max(0, len(asked) - settings.max_history)  # only the last few turns are kept
    turns = earlier_turns(r, asked[first:], tokens[first:] if len(tokens) == len(asked) else [], signer)
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


def no_document(request: Request, r: Retriever, why: str = "There is no such document in the index.",
                status: int = 404):
    return templates.TemplateResponse(request, "error.html", {
        "message": why, "index": index_info(r, request.app.state.indexing)}, status_code=status)


def original_bytes(request: Request, document: Document) -> bytes | None:
    """The seed file of `document` as it was indexed; None when it has changed or gone since."""
    try:
        path = seed_path(seeds_of(request.app), document.id)
        data = path.read_bytes()
    except (QAError, OSError):
        return None
    return data if sha256_of(data) == document.sha256 else None


@router.get("/documents/{doc_id:doc}/original")
def original(request: Request, doc_id: str, r: AppRetriever):
    """The original file of a document, as indexed, with its type and name (inline)."""
    try:
        document = r.document(doc_id)
        path = seed_path(seeds_of(request.app), document.id)
    except (KeyError, QAError):
        return no_document(request, r)
    if original_bytes(request, document) is None:
        return no_document(request, r, "The file has changed or gone since it was indexed; the index will follow.",
                           409)
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(path, media_type=media_type, filename=path.name, content_disposition_type="inline")


@router.get("/documents/{doc_id:doc}/pages/{label}/image")
def page_image(request: Request, doc_id: str, label: str, r: AppRetriever, start: int | None = None,
               end: int | None = None):
    """A PDF page as a PNG, drawn from the original file, with [start, end) highlighted."""
    found = pdf_page(request, r, doc_id, label)
    if isinstance(found, Response):
        return found
    document, data, index = found
    boxes = []
    if start is not None and end is not None and 0 <= start < end <= len(document.text):
        layout = pdf.pdf_boxes(data, r.settings.sources)
        boxes = layout.span(start, end) if layout.text == document.text else []
    return Response(pdf.render_page(data, index, boxes), media_type="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


@router.get("/documents/{doc_id:doc}/pages/{label}")
def page_view(request: Request, doc_id: str, label: str, r: AppRetriever, start: int | None = None,
              end: int | None = None):
    """One page of a PDF as the reader sees it, the answer drawn on it (works without JavaScript)."""
    found = pdf_page(request, r, doc_id, label)
    if isinstance(found, Response):
        return found
    document, _, index = found
    labels = document.page_labels
    span = f"?start={start}&end={end}" if start is not None and end is not None else ""
    return templates.TemplateResponse(request, "page.html", {
        "document": document, "label": label, "number": index + 1, "count": len(labels),
        "image": f"{document_link(document.id)}/pages/{quote(label, safe='')}/image{span}",
        "previous": page_link(document.id, labels[index - 1], 0, 0).split("?")[0] if index > 0 else "",
        "next": page_link(document.id, labels[index + 1], 0, 0).split("?")[0] if index + 1 < len(labels) else "",
        "text_link": document_link(document.id, start, end) if span else document_link(document.id),
        "index": index_info(r, request.app.state.indexing)})


def pdf_page(request: Request, r: Retriever, doc_id: str, label: str):
    """(document, original bytes, page index) of a PDF's page `label`, or the response that says
    why not. A document whose own id ends in '/pages/<label>' gets its document page."""
    try:
        document = r.document(doc_id)
    except KeyError:
        if f"{doc_id}/pages/{label}" in r.manifest.documents:
            return document_page(request, f"{doc_id}/pages/{label}", r)
        return no_document(request, r)
    if not document.id.lower().endswith(".pdf") or label not in document.page_labels:
        return no_document(request, r, "That document has no such page to show.")
    data = original_bytes(request, document)
    if data is None:
        return no_document(request, r, "The file has changed or gone since it was indexed; the index will follow.",
                           409)
    return document, data, document.page_labels.index(label)


@router.get("/documents/{doc_id:doc}")
def document_page(request: Request, doc_id: str, r: AppRetriever, start: int | None = None, end: int | None = None,
                  ss: int | None = None, se: int | None = None):
    """A document's whole clean text: headings, paragraphs, page breaks; [start, end) marked as
    #hl and its sentence [ss, se) lightly, when given and valid."""
    try:
        document = r.document(doc_id)
    except KeyError:
        return no_document(request, r)
    span = (start, end) if start is not None and end is not None else None
    sentence = (ss, se) if ss is not None and se is not None else None
    page = document.page_label(start) if span and start is not None else None
    return templates.TemplateResponse(request, "document.html", {
        "document": document, "text": document_html(document, span, sentence), "format": file_format(document.id),
        "page_link": page_link(document.id, page, start or 0, end or 0) if span else "",
        "original": f"{document_link(document.id)}/original" if request.app.state.seeds_dir else "",
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
