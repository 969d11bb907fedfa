"""The HTML pages: the chat (works as a plain form without JavaScript), documents, API docs."""

from __future__ import annotations

from pathlib import Path

import jinja2
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from qa import Retriever
from qa.followup import MAX_HISTORY
from web.conversation import ask, document_link, replay
from web.highlight import marked
from web.state import index_info, retriever

templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"), autoescape=True))
templates.env.globals.update(marked=marked, document_link=document_link)
router = APIRouter(default_response_class=HTMLResponse, include_in_schema=False)


def chat_page(request: Request, r: Retriever, question: str | None, asked: list[str]):
    """The conversation so far (`asked`, replayed) plus the answer to `question`, if any."""
    asked = asked[-MAX_HISTORY:]
    turns = replay(r, asked)
    status = 200
    if question is not None:
        turn = ask(r, question, asked)
        turns.append(turn)
        if turn.error:
            status = 422
        else:
            asked = (asked + [turn.question])[-MAX_HISTORY:]
    return templates.TemplateResponse(request, "chat.html", {
        "turns": turns, "asked": asked, "index": index_info(r)}, status_code=status)


@router.get("/")
def chat(request: Request, q: str | None = None, h: list[str] = Query(default=[]),
         r: Retriever = Depends(retriever)):
    """The chat page; `?q=` asks a question, `h` carries the earlier questions."""
    return chat_page(request, r, q, h)


@router.post("/")
def chat_form(request: Request, q: str = Form(""), h: list[str] = Form(default=[]),
              r: Retriever = Depends(retriever)):
    """The chat form posted without JavaScript: the same page, one turn longer."""
    return chat_page(request, r, q, h)


@router.get("/documents/{doc_id:path}")
def document_page(request: Request, doc_id: str, start: int | None = None, end: int | None = None,
                  r: Retriever = Depends(retriever)):
    """A document's whole clean text, with [start, end) highlighted as #hl when given and valid."""
    try:
        document = r.document(doc_id)
    except KeyError:
        return templates.TemplateResponse(request, "error.html", {
            "message": "There is no such document in the index.", "index": index_info(r)},
            status_code=404)
    span = start is not None and end is not None and 0 <= start < end <= len(document.text)
    marks = [(start, end)] if span else []
    return templates.TemplateResponse(request, "document.html", {
        "document": document, "text": marked(document.text, marks, "hl"), "index": index_info(r)})


@router.get("/docs")
def api_docs(request: Request):
    """The JSON API, described from the app's own OpenAPI schema (no CDN)."""
    schema = request.app.openapi()
    operations = [(method.upper(), path, op, body_fields(schema, op)) for path, ops in schema["paths"].items()
                  for method, op in ops.items()]
    return templates.TemplateResponse(request, "api.html", {"operations": operations})


def body_fields(schema: dict, operation: dict) -> dict:
    """Field name -> description of an operation's JSON body ({} without a body)."""
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
    if "$ref" not in body:
        return {}
    fields = schema["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]["properties"]
    return {name: field.get("description", "") for name, field in fields.items()}
