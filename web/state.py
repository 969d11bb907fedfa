"""The one place the web app reaches the Retriever: `request.app.state.retriever`, and what
the app says about its index while it is being built."""

from __future__ import annotations

import gc
import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import humanize
from fastapi import Depends, FastAPI, Request

from qa import IndexUnavailable, QAError, Retriever, SeedsNotFound, build_index, language
from qa.build import Progress
from web.conversation import message

log = logging.getLogger(__name__)


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
    """The app's Retriever, opened on first use (once per process; an earlier version while a
    build runs); `IndexBuilding` while the first build runs, `IndexUnavailable` if it failed or
    the index cannot be opened."""
    state = app.state
    first_build = state.indexing.running and not state.store.live_version()
    if state.retriever is None and first_build:
        raise IndexBuilding(state.indexing.progress)
    if state.retriever is None and state.indexing.error:
        raise IndexUnavailable(f"the sources could not be indexed: {state.indexing.error}")
    return state.retriever or load_retriever(app)


def load_retriever(app: FastAPI) -> Retriever:
    """Open the app's Retriever now, unless it is open; `IndexUnavailable` if it cannot be. In
    `qa serve` (`freeze_after_open`), the objects alive then, the models' above all, are moved
    out of the garbage collector's sight (`gc.freeze`): its full passes over them paused every
    request in flight, and at 50 clients the p99 fell from 150–290 ms to 67–106 ms without them
    (bench/load.py). With `questions_apart` (also `qa serve`), questions are parsed in a process
    of their own when it is free (`language.QuestionParser`)."""
    state = app.state
    with state.open_lock:
        if state.retriever is None:
            analyser = state.analyser
            if analyser is None and state.questions_apart:
                if state.question_parser is None:  # once, even if the index cannot be opened yet
                    state.question_parser = language.question_parser(state.settings.language.batch_size)
                analyser = state.question_parser
            state.retriever = Retriever.open(state.store, settings=state.settings, encoder=state.encoder,
                                             analyser=analyser)
            if state.freeze_after_open:
                gc.freeze()
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
    skipped: int = 0                # files the last build skipped

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
                     updating=progress.describe() if progress else "", skipped=len(manifest.skipped))


def new_state(app: FastAPI) -> None:
    """The per-app state the functions above read."""
    app.state.retriever = None
    app.state.freeze_after_open = False
    app.state.questions_apart = False
    app.state.question_parser = None
    app.state.open_lock = threading.Lock()
    app.state.indexing = Indexing()


def seeds_of(app: FastAPI) -> Path:
    """The app's seeds folder; `SeedsNotFound` for an app serving an index alone."""
    if app.state.seeds_dir is None:
        raise SeedsNotFound("this server has no seeds folder to change")
    return app.state.seeds_dir


def changed(app: FastAPI) -> None:
    """The seeds folder changed: without a watcher to notice, rebuild in the background now."""
    if not app.state.watching:
        threading.Thread(target=rebuild, args=(app,), name="qa-rebuild", daemon=True).start()


def rebuild(app: FastAPI) -> None:
    """Build the index of the app's seeds now and swap it in; a failure is kept for the pages to show."""
    state = app.state
    indexing: Indexing = state.indexing
    indexing.progress, indexing.running = None, True
    try:
        stats = build_index(state.seeds_dir, store=state.store, progress=False, settings=state.settings,
                            encoder=state.encoder, analyser=state.analyser, on_progress=indexing.report)
        indexing.error = ""
        print(f"qa serve: {stats.summary()}: {stats.documents} documents, {stats.chunks} chunks "
              f"({stats.version})", flush=True)
    except QAError as error:
        indexing.error = message(error)
        print(f"qa serve: indexing failed: {indexing.error}", flush=True)
    finally:
        indexing.running = False
    if state.retriever is not None:
        state.retriever.refresh()


def follow(app: FastAPI, stop: threading.Event) -> None:
    """Swap in each version another process writes (`qa index`, or another server's build) until
    `stop`: woken when the store says one may have been written, and every `poll_seconds` anyway.
    While the store cannot be read, the version in use stays, and requests get its errors."""
    state, failing = app.state, ""
    while not stop.is_set():
        state.store.wait_for_change(state.settings.store.poll_seconds)
        if state.retriever is not None and not stop.is_set():
            try:
                state.retriever.refresh()
                failing = ""
            except QAError as error:
                if message(error) != failing:  # once per failure, not once per poll
                    log.warning("could not look for a new index version: %s", message(error))
                failing = message(error)
