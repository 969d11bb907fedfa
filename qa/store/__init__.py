"""The store: where index versions are written and read.

Build and retrieval talk to a store only through these two protocols, so a
second implementation (PostgreSQL + pgvector) fits without touching them:

- `Store`: the build side. Hold the one build lock; say whether the live
  version can be kept (`previous`); `write` a `Plan` with its `Prepared`
  documents (an iterable, read once, so a build's memory need not grow
  with the corpus) as a new version, atomically; `open` a `Reader` of the live
  one; `wait_for_change` until another process may have written one (a server
  then compares `live_version` with its own).
- `Reader`: one version, immutable while it is read. `candidates` gives the
  dense and the lexical top chunks of a `Query` (optionally within a scope of
  document ids or folder prefixes), each with its cosine and BM25 score;
  `sentences` gives the sentences of given chunks (and their section
  headings), with theirs, and their tokens' parse; `term_idf` the BM25 IDF
  of terms; `spelled_out` the phrases acronyms stand for in the sources;
  documents by id, or by the number rows carry (each read when asked for).
  A query's cost follows its candidates, not the corpus.

`FileStore` (folders of memory-mapped segments searched in place, FAISS,
BM25 from stored term counts, documents in SQLite) is the embedded default;
`PostgresStore` (`qa.store.postgres`: PostgreSQL + pgvector, chosen by a
postgresql:// URL) is the shared one. `open_store` picks one from where the
index is.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Protocol

import numpy as np

from qa.candidates import ChunkHits, Query, SentenceHits
from qa.errors import IndexUnavailable
from qa.settings import DEFAULT, Settings
from qa.sources import Document
from qa.store.files import FileStore
from qa.store.manifest import Manifest
from qa.store.scan import Plan, Prepared


class Reader(Protocol):
    manifest: Manifest

    @property
    def version(self) -> str: ...

    def documents(self) -> list[Document]: ...

    def document(self, doc_id: str) -> Document: ...

    def document_at(self, number: int) -> Document: ...

    def candidates(self, query: Query, n: int, scope: Collection[str] | None = None) -> ChunkHits: ...

    def sentences(self, chunk_ids: np.ndarray, query: Query) -> SentenceHits: ...

    def term_idf(self, tokens: list[str]) -> dict[str, float]: ...

    def spelled_out(self, acronyms: Collection[str]) -> dict[str, str]: ...

    @property
    def max_idf(self) -> float: ...


class Store(Protocol):
    def lock(self, wait: bool = True) -> AbstractContextManager: ...

    def live_version(self) -> str | None: ...

    def previous(self, fingerprint: dict) -> tuple[Manifest | None, str]: ...

    def write(self, plan: Plan, prepared: Iterable[Prepared], fingerprint: dict, last_build: dict) -> Manifest: ...

    def cleanup(self) -> None: ...

    def open(self, fingerprint: dict) -> Reader: ...

    def wait_for_change(self, timeout: float) -> None: ...

    def close(self) -> None: ...


URL_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: Store | str | Path, settings: Settings = DEFAULT) -> Store:
    """The store at `location`: a `Store` as it is, a postgresql:// URL (the collection is
    `settings.store.collection`), or an index folder."""
    if isinstance(location, str) and location.startswith(URL_SCHEMES):
        try:
            from qa.store.postgres import PostgresStore
        except ImportError as error:
            raise IndexUnavailable(f"a shared store needs the postgres extra: pip install 'qa[postgres]' "
                                   f"({error})") from error
        return PostgresStore(location, settings)
    if isinstance(location, str | Path):
        return FileStore(location, settings)
    return location


__all__ = ["FileStore", "Reader", "Store", "open_store"]
