"""The HTML pages: the chat (works as a plain form without JavaScript), documents, API docs,
and POST /turn, the one rendering of a chat turn that chat.js inserts."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import jinja2
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from qa import QAError, Retriever
from web.conversation import Turn, answer_turn, ask, document_link, refused, replay
from web.highlight import marked
from web.state import AppRetriever, index_info, open_retriever

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True))
templates.env.globals.update(marked=marked, document_link=document_link)
router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)

UNREACHABLE = "The server could not be reached. Try again."


def chat_page(request: Request, r: Retriever, question: str | None, asked: list[str], scope: list[str]):
    """The conversation so far (`asked`, replayed) plus the answer to `question`, if any, asked
    of the documents in `scope` (all without one)."""
    settings = r.settings.answering
    asked = asked[-settings.max_history:]
    # Earlier turns are answered again to be shown; at most one longest question's worth of them.
    turns = replay(r, asked, settings.max_question_chars, scope)
    status = 200
    if question is not None:
        turn = ask(r, question, asked, scope)
        turns.append(turn)
        status = turn.status
        if not turn.error:
            asked = (asked + [turn.question])[-settings.max_history:]
    return templates.TemplateResponse(request, "chat.html", {
        "turns": turns, "asked": asked, "max_history": settings.max_history, "scope": scope,
        "index": index_info(r, request.app.state.indexing),
        "pending_turn": Turn(question=""), "failed_turn": Turn(question="", error=UNREACHABLE)},
        status_code=status)


@router.get("/")
def chat(request: Request, r: AppRetriever, q: str | None = None, h: Annotated[list[str] | None, Query()] = None,
         s: Annotated[list[str] | None, Query()] = None):
    """The chat page; `?q=` asks a question, `h` carries the earlier questions, `s` the scope."""
    return chat_page(request, r, q, h or [], s or [])


@router.post("/")
def chat_form(request: Request, r: AppRetriever, q: Annotated[str, Form()] = "",
              h: Annotated[list[str] | None, Form()] = None, s: Annotated[list[str] | None, Form()] = None):
    """The chat form posted without JavaScript: the same page, one turn longer."""
    return chat_page(request, r, q, h or [], s or [])


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
