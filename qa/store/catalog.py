"""A segment's catalog in SQLite: its documents, the acronyms they spell out, its BM25 terms.

    documents(number, id, fields, text)  a document's number in the segment, id, its other fields
                                         as JSON and its clean text (zlib)
    acronyms(initials, number, phrase)   per document, the first capitalised phrase whose
                                         initials spell each acronym
    terms(term, number, sentences)       each BM25 term's column in the segment's term counts,
                                         and how many of its sentences hold it

Written once by a build and read-only after (opened immutable, shared by threads: SQLite is
serialized), so a reader looks a document or a term up when asked instead of loading them all.
"""

from __future__ import annotations

import json
import sqlite3
import zlib
from dataclasses import asdict
from pathlib import Path

import numpy as np

from qa.lexical import acronyms
from qa.sources import Document

SCHEMA = """
CREATE TABLE documents (number INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, fields TEXT NOT NULL,
                        text BLOB NOT NULL);
CREATE TABLE acronyms (initials TEXT NOT NULL, number INTEGER NOT NULL, phrase TEXT NOT NULL);
CREATE TABLE terms (term TEXT PRIMARY KEY, number INTEGER NOT NULL, sentences INTEGER NOT NULL) WITHOUT ROWID;
"""
MAX_VARIABLES = 500  # ids per IN (...) query, below SQLite's limit


class CatalogWriter:
    """Fills a new catalog; `close` indexes and commits it."""

    def __init__(self, path: Path):
        self.connection = sqlite3.connect(path)
        self.connection.executescript("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;" + SCHEMA)

    def add(self, first: int, documents: list[Document]) -> None:
        """Documents numbered from `first`, with the acronyms they spell out."""
        self.connection.executemany("INSERT INTO documents VALUES (?, ?, ?, ?)", [
            (first + n, d.id, json.dumps({**asdict(d), "text": None}, ensure_ascii=False),
             zlib.compress(d.text.encode("utf-8")))
            for n, d in enumerate(documents)])
        self.connection.executemany("INSERT INTO acronyms VALUES (?, ?, ?)", [
            (initials, first + n, phrase) for n, d in enumerate(documents)
            for initials, phrase in acronyms([d.text]).items()])

    def close(self, vocabulary: dict[str, int], sentences_with_term: np.ndarray) -> None:
        """Store the BM25 terms with their sentence counts, index, commit."""
        self.connection.executemany("INSERT INTO terms VALUES (?, ?, ?)", zip(
            vocabulary, vocabulary.values(), sentences_with_term[list(vocabulary.values())].tolist(), strict=True))
        self.connection.execute("CREATE INDEX acronyms_initials ON acronyms (initials)")
        self.connection.commit()
        self.connection.close()


class Catalog:
    """A written catalog, read-only. `sqlite3.DatabaseError` when the file is damaged."""

    def __init__(self, path: Path):
        if not path.is_file():
            raise FileNotFoundError(path)
        self.connection = sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, check_same_thread=False)
        self.connection.execute("SELECT count(*) FROM documents").fetchone()

    def document(self, number: int) -> Document:
        """The document numbered `number`; `KeyError` if there is none."""
        row = self.connection.execute("SELECT fields, text FROM documents WHERE number = ?", (number,)).fetchone()
        if row is None:
            raise KeyError(number)
        return Document.from_json({**json.loads(row[0]), "text": zlib.decompress(row[1]).decode("utf-8")})

    def numbers(self) -> dict[str, int]:
        """Every document's id -> number."""
        return dict(self.connection.execute("SELECT id, number FROM documents"))

    def numbers_of(self, ids: list[str]) -> dict[str, int]:
        """id -> number of those of `ids` this segment holds."""
        found: dict[str, int] = {}
        for first in range(0, len(ids), MAX_VARIABLES):
            part = ids[first:first + MAX_VARIABLES]
            found.update(self.connection.execute(
                f"SELECT id, number FROM documents WHERE id IN ({','.join('?' * len(part))})", part))
        return found

    def spelled_out(self, initials: str) -> list[tuple[str, str]]:
        """(document id, phrase) of each document with a phrase whose initials are `initials`."""
        return self.connection.execute(
            "SELECT d.id, a.phrase FROM acronyms a JOIN documents d USING (number) WHERE a.initials = ?",
            (initials,)).fetchall()

    def terms(self, tokens: list[str]) -> dict[str, tuple[int, int]]:
        """token -> (its column, sentences holding it) for the tokens this segment uses."""
        if not tokens:
            return {}
        rows = self.connection.execute(
            f"SELECT term, number, sentences FROM terms WHERE term IN ({','.join('?' * len(tokens))})", tokens)
        return {term: (number, sentences) for term, number, sentences in rows}
