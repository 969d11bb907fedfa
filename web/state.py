"""The one place the web app reaches the Retriever: `request.app.state.retriever`."""

from __future__ import annotations

from fastapi import FastAPI, Request

from qa import Retriever


def open_retriever(app: FastAPI) -> Retriever:
    """The app's Retriever, opened on first use (once per process); `IndexUnavailable` if it cannot be."""
    state = app.state
    if state.retriever is None:
        with state.open_lock:
            if state.retriever is None:
                state.retriever = Retriever.open(state.index_dir)
    return state.retriever


def retriever(request: Request) -> Retriever:
    """FastAPI dependency: the Retriever of the app serving `request`."""
    return open_retriever(request.app)


def index_info(r: Retriever) -> dict:
    """What the pages and /healthz say about the index in use, read at request time."""
    manifest = r.manifest
    return {"version": r.version, "built_at": manifest.get("built_at", ""),
            "counts": manifest.get("counts", {}), "documents": r.documents()}
