"""The one place the web app reaches the Retriever: `request.app.state.retriever`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from qa import Retriever


def open_retriever(app: FastAPI) -> Retriever:
    """The app's Retriever, opened on first use (once per process); `IndexUnavailable` if it cannot be."""
    state = app.state
    if state.retriever is None:
        with state.open_lock:
            if state.retriever is None:
                state.retriever = Retriever.open(state.index_dir, settings=state.settings)
    return state.retriever


def retriever(request: Request) -> Retriever:
    """FastAPI dependency: the Retriever of the app serving `request`."""
    return open_retriever(request.app)


AppRetriever = Annotated[Retriever, Depends(retriever)]  # an endpoint parameter `r: AppRetriever`: the app's Retriever


@dataclass(frozen=True)
class IndexInfo:
    """What the pages and /healthz say about the index version in use."""

    version: str
    built_at: str
    chunks: int
    sources: list[tuple[str, str]]  # (document id, title), by id

    @property
    def documents(self) -> int:
        return len(self.sources)


def index_info(r: Retriever) -> IndexInfo:
    """The index version in use, read at request time from its manifest (one version throughout)."""
    manifest = r.manifest
    return IndexInfo(version=manifest.version, built_at=manifest.built_at, chunks=manifest.chunks,
                     sources=sorted((doc_id, entry.title) for doc_id, entry in manifest.documents.items()))
