"""Scan: compare the seeds folder with the live manifest and say what a build must do.

A file whose size and modification time match the manifest is not read
again; any other is hashed, and counts as changed only if its sha256
differs. A file that cannot be read, or lies in a folder that cannot be
listed, keeps its last good version; a file emptied by its owner is removed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qa import sources
from qa.errors import EmptySource, SourceError
from qa.settings import SourceSettings
from qa.store.manifest import DocumentEntry, Manifest

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Source:
    """A new or changed seed file, read and cleaned."""

    document: sources.Document
    size: int
    mtime_ns: int


@dataclass
class Plan:
    """What a build does: documents to add or replace, keep as they are, or remove."""

    previous: Manifest | None
    full_rebuild: str = ""                   # why nothing is kept, if nothing is
    added: list[Source] = field(default_factory=list)
    changed: list[Source] = field(default_factory=list)
    kept: dict[str, DocumentEntry] = field(default_factory=dict)
    removed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    kept_unreadable: int = 0                 # kept at their last good version

    @property
    def new(self) -> list[Source]:
        return self.added + self.changed

    @property
    def unchanged(self) -> int:
        return len(self.kept) - self.kept_unreadable

    @property
    def changes_nothing(self) -> bool:
        """Whether the live version already says all this plan would (its skipped files too)."""
        return (self.previous is not None and not self.new and not self.removed
                and self.skipped == self.previous.skipped)


def scan(seeds_dir: Path, previous: Manifest | None, full_rebuild: str, settings: SourceSettings,
         on_file: Callable[[int, int], None] | None = None) -> Plan:
    """The plan that brings the index from `previous` to what `seeds_dir` holds now.
    `on_file` is told (files looked at, files in all) as the scan goes."""
    plan = Plan(previous, full_rebuild)
    known = previous.documents if previous else {}
    found = sources.source_files(seeds_dir)
    plan.skipped.extend(found.skipped)
    for doc_id, entry in known.items():
        if found.in_unreadable_folder(doc_id):
            log.warning("kept %s at its last good version: its folder cannot be read", doc_id)
            plan.kept[doc_id] = entry
            plan.kept_unreadable += 1
    for done, path in enumerate(found.files, 1):
        if on_file:
            on_file(done, len(found.files))
        doc_id = sources.document_id(path, seeds_dir)
        old = known.get(doc_id)
        try:
            size, mtime_ns = sources.file_stat(path)
            if old and (old.size, old.mtime_ns) == (size, mtime_ns):  # not read again
                plan.kept[doc_id] = old
                continue
            data = sources.read_bytes(path, settings)
            if old and old.sha256 == sources.sha256_of(data):
                plan.kept[doc_id] = replace(old, size=size, mtime_ns=mtime_ns)
                continue
            source = Source(sources.parse_document(data, doc_id, str(path), settings), size, mtime_ns)
            (plan.changed if old else plan.added).append(source)
        except EmptySource as error:  # emptied by its owner: an edit, so its old text leaves the index
            removed_text = " (its previous version is removed from the index)" if old else ""
            log.warning("skipped %s%s", error, removed_text)
            plan.skipped.append(f"{error}{removed_text}")
        except SourceError as error:
            if not path.exists():
                continue  # deleted while we looked: removed like any deleted file
            kept_text = " (its previous version stays indexed)" if old else ""
            log.warning("skipped %s%s", error, kept_text)
            plan.skipped.append(f"{error}{kept_text}")
            if old:
                plan.kept[doc_id] = old
                plan.kept_unreadable += 1
    plan.removed = sorted(set(known) - set(plan.kept) - {s.document.id for s in plan.new})
    return plan


@dataclass(frozen=True)
class Prepared:
    """A new or changed document, chunked and embedded: what a build hands the store to write."""

    source: Source
    chunks: np.ndarray            # rows.CHUNK, doc 0
    sentences: np.ndarray         # rows.SENTENCE, doc 0
    tokens: np.ndarray            # rows.TOKEN, doc 0
    chunk_vectors: np.ndarray
    sentence_vectors: np.ndarray
