"""The manifest of an index version: what it was built with and what it holds, typed.

It is validated once, when read; everything after reads fields, not keys.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from qa.embedding import Encoder
from qa.language import Analyser
from qa.settings import Settings


@dataclass(frozen=True)
class DocumentEntry:
    """One indexed document: its file's hash, size and mtime, the segment that holds it, and
    when that version of it was indexed (ISO 8601, UTC)."""

    sha256: str
    title: str
    size: int
    mtime_ns: int
    segment: str
    chunks: int
    sentences: int
    indexed_at: str = ""


@dataclass(frozen=True)
class SegmentEntry:
    """One segment: its row counts and the kind of vector index written for it."""

    chunks: int
    sentences: int
    vectors: str


@dataclass(frozen=True)
class Manifest:
    """One version: the fingerprint it was built with, its segments and its documents, and the
    files its build skipped, each with the reason."""

    version: str
    fingerprint: dict[str, Any]
    built_at: str
    segments: dict[str, SegmentEntry]
    documents: dict[str, DocumentEntry]
    last_build: dict[str, int] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def chunks(self) -> int:
        return sum(entry.chunks for entry in self.documents.values())

    @property
    def sentences(self) -> int:
        return sum(entry.sentences for entry in self.documents.values())

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Manifest:
        """A manifest from its JSON; `ValueError` or `TypeError` when its shape is wrong."""
        if not isinstance(data, dict):
            raise ValueError("the manifest is not an object")
        return cls(
            version=str(data["version"]),
            fingerprint=dict(data["fingerprint"]),
            built_at=str(data["built_at"]),
            segments={name: SegmentEntry(**entry) for name, entry in data["segments"].items()},
            documents={doc_id: DocumentEntry(**entry) for doc_id, entry in data["documents"].items()},
            last_build=dict(data.get("last_build", {})),
            skipped=[str(reason) for reason in data.get("skipped", [])],
        )


def fingerprint(settings: Settings, encoder: Encoder | None = None,
                analyser: Analyser | None = None) -> dict[str, Any]:
    """The index fingerprint of `settings`, naming `encoder` and `analyser` as the models when given."""
    values = settings.fingerprint()
    if encoder is not None:
        values.update({"embedding.model": encoder.name, "embedding.dimension": encoder.dimension})
    if analyser is not None:
        values["language.model"] = analyser.name
    return values


def reader_fingerprint(settings: Settings, encoder: Encoder | None = None) -> dict[str, Any]:
    """The part of `fingerprint` that a reader of the index must match (`Settings.reader_fingerprint`)."""
    names = settings.reader_fingerprint()
    return {name: value for name, value in fingerprint(settings, encoder).items() if name in names}


def difference(stored: dict[str, Any], wanted: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """The first field where two fingerprints disagree, as (name, stored value, wanted value)."""
    for name, value in wanted.items():
        if stored.get(name) != value:
            return name, stored.get(name), value
    return None
