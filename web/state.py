"""The one place the web app reaches the Retriever: `request.app.state.retriever`, and what
the app says about its index while it is being built."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

import humanize
from fastapi import Depends, FastAPI, Request

from qa import IndexUnavailable, Retriever
from qa.build import Progress


class IndexBuilding(IndexUnavailable):
    """No index can answer yet: the first build is running (`progress` says how far it is)."""

    def __init__(self, progress: Progress | None):
        self.progress = progress
        where = progress.describe() if progress else "starting"
        super().__init__(f"the sources are being indexed ({where}); ask again in a moment")


@dataclass
class Indexing:
    """A build the app runs: `progress` while it runs (None when idle), the last failure's message."""

    running: bool = False
    progress: Progress | None = None
    error: str = ""

    def report(self, progress: Progress) -> None:
        """Where the build now is (a build's `on_progress`)."""
        self.progress = progress


def open_retriever(app: FastAPI) -> Retriever:
    """The app's Retriever, opened on first use (once per process); `IndexBuilding` while the
    first build runs, `IndexUnavailable` if it failed or the index cannot be opened."""
    state = app.state
    if state.retriever is None and state.indexing.running:
        raise IndexBuilding(state.indexing.progress)
    if state.retriever is None and state.indexing.error:
        raise IndexUnavailable(f"the sources could not be indexed: {state.indexing.error}")
    return state.retriever or load_retriever(app)


def load_retriever(app: FastAPI) -> Retriever:
    """Open the app's Retriever now, unless it is open; `IndexUnavailable` if it cannot be."""
    state = app.state
    with state.open_lock:
        if state.retriever is None:
            state.retriever = Retriever.open(state.index_dir, settings=state.settings, encoder=state.encoder,
                                             analyser=state.analyser)
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
    updating: str = ""              # what a rebuild running now is doing

    @property
    def documents(self) -> int:
        return len(self.sources)

    @property
    def folders(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """The sources grouped by folder ('' for the seeds folder itself), folders sorted."""
        grouped: dict[str, list[tuple[str, str]]] = {}
        for doc_id, title in self.sources:
            grouped.setdefault(doc_id.rpartition("/")[0], []).append((doc_id, title))
        return sorted(grouped.items())

    @property
    def built_ago(self) -> str:
        """When the version was built, as a person says it: '2 minutes ago'."""
        ago = humanize.naturaltime(datetime.now(UTC) - datetime.fromisoformat(self.built_at))
        return "just now" if ago == "now" else ago


def index_info(r: Retriever, indexing: Indexing) -> IndexInfo:
    """The index version in use, read at request time from its manifest (one version throughout)."""
    manifest = r.manifest
    progress = indexing.progress if indexing.running else None
    return IndexInfo(version=manifest.version, built_at=manifest.built_at, chunks=manifest.chunks,
                     sources=sorted((doc_id, entry.title) for doc_id, entry in manifest.documents.items()),
                     updating=progress.describe() if progress else "")


def new_state(app: FastAPI) -> None:
    """The per-app state the functions above read."""
    app.state.retriever = None
    app.state.open_lock = threading.Lock()
    app.state.indexing = Indexing()
