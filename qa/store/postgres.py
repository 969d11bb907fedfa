"""The shared store: index versions in PostgreSQL (>= 15) with pgvector (>= 0.7).

Chosen by a URL (`postgresql://user@host/db`) wherever a store is; each
collection is one schema, `qa_<name>`. The same `Store` and `Reader` as the
embedded store, with the same scores: retrieval and answering do not change.

Versions. A build is one transaction, under an advisory lock that queues
builders (`pg_try_advisory_lock` names the holder from `pg_stat_activity` when
the builder will not wait). It adds a row to `versions` and writes only what
changed: rows of new and changed documents are inserted with `born` = the new
version; rows of changed and removed documents get `died` = it. A reader holds
one version number v and reads only the rows alive at v (`born <= v < died`),
so a request in flight finishes on the version it started with, while the
commit makes the new one visible to new readers at once, whole, or (a builder
killed mid-way: its connection drops and PostgreSQL rolls back) not at all.
`cleanup` deletes the rows and versions superseded more than `keep_seconds`
ago; a reader still on a deleted version is told to reopen. The commit sends
NOTIFY on the collection's channel, so servers (`wait_for_change`) reopen at
once; they also poll, in case notifications are lost with a connection.

Tables (per schema):
    meta          schema version, vector dimension, token row layout
    versions      number, name, fingerprint, when, what the build did, files skipped,
                  rows and summed BM25 lengths of chunks and sentences
    documents     one row per document version: key, id, born/died, title, path, format,
                  sha256, size, mtime, clean text, page starts, the rest of `Document` as JSON
    chunks        id, doc (key), born/died, offsets, BM25 length, its sentence ids [first, stop),
                  vector(d) with an HNSW index (inner product: vectors are unit rows)
    sentences     id, doc, born/died, offsets, heading flag, section heading id, BM25 length,
                  its terms and their counts, vector(d), token rows
    acronyms      initials, doc_id (compared by code point, as the embedded store compares ids),
                  doc (key), born/died, phrase: per document version, the first capitalised phrase
                  whose initials spell each acronym; a reader looks up only the asked initials
    terms         BM25 term -> id
    chunk_postings  (term, row, term frequency), with the row's BM25 length, birth and document
    frequencies   (term, version) -> how many chunks and sentences hold the term, written only
                  for the terms a version changed: a reader takes the latest row <= v

Ids of documents, chunks and sentences come from one sequence and a document's
rows get consecutive ids in offset order, so "the sentences of a chunk" is an
id range and rows sort by (doc, start) within a document, as `qa.rows` expects;
a row's `doc` is its document's key. The token rows of a sentence (parse and
entities, `rows.TOKEN`) are stored as the bytes of their numpy array: they are
only ever read whole, with their sentence, and one row per token would store
more tuple headers than tokens.

BM25 is Lucene's formula over the same term counts as `qa.lexical`: the IDF
from the version's row count and the term's frequency row, the length norm
from the row's length and the version's average, summed in SQL. Chunks are
searched by term, so theirs is summed over the postings of the query's terms
only: an index-only scan of (term -> row, count, length, born, doc), less the
few rows dead at v (those retired but not yet removed, found by `died`), with
no visit to the chunk rows. Sentences are only ever scored once their chunks
are candidates, so each sentence row carries its own (term, count) arrays and
is scored from them where it is read, with no second lookup.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import zlib
from collections.abc import Callable, Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np
import psycopg
import scipy.sparse as sparse
from pgvector.psycopg import register_vector
from psycopg import sql
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool, PoolTimeout

from qa import lexical, rows
from qa.candidates import ChunkHits, Query, SentenceHits
from qa.errors import BuildLocked, IndexUnavailable
from qa.settings import Settings
from qa.sources import Document
from qa.store.manifest import DocumentEntry, Manifest, difference
from qa.store.scan import Plan, Prepared

log = logging.getLogger(__name__)
T = TypeVar("T")
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)  # each failed try; the error we raise says why

SCHEMA_VERSION = 2
LOCK_CLASS = 0x7161           # first key of the build lock ("qa"); the second is the collection's
ALIVE = "{t}.born <= %(v)s AND coalesce({t}.died, 2147483647) > %(v)s"
DOCUMENT_COLUMNS = ("id", "title", "text", "path", "sha256", "pages")   # the rest of a Document goes in `fields`
RANGES_KEPT = 100_000         # chunks whose sentence ranges a reader remembers between candidates and sentences
DOCUMENT_SELECT = "doc_id, title, text, path, sha256, pages, fields"

SCHEMA = """
CREATE TABLE meta (key text PRIMARY KEY, value jsonb NOT NULL);
CREATE TABLE versions (
    number integer PRIMARY KEY, name text NOT NULL, built_at text NOT NULL,
    created timestamptz NOT NULL DEFAULT clock_timestamp(),
    fingerprint jsonb NOT NULL, last_build jsonb NOT NULL, skipped jsonb NOT NULL,
    chunks bigint NOT NULL, chunk_length bigint NOT NULL, sentences bigint NOT NULL, sentence_length bigint NOT NULL);
CREATE SEQUENCE ids;
CREATE TABLE documents (
    key bigint PRIMARY KEY, doc_id text NOT NULL, born integer NOT NULL, died integer,
    title text NOT NULL, path text NOT NULL, format text NOT NULL, sha256 text NOT NULL,
    size bigint NOT NULL, mtime_ns bigint NOT NULL, indexed_at text NOT NULL,
    chunks integer NOT NULL, sentences integer NOT NULL, chunk_length bigint NOT NULL, sentence_length bigint NOT NULL,
    text text NOT NULL, pages integer[] NOT NULL, fields jsonb NOT NULL);
CREATE UNIQUE INDEX documents_live ON documents (doc_id) WHERE died IS NULL;
CREATE INDEX documents_died ON documents (died);
CREATE TABLE chunks (
    id bigint PRIMARY KEY, doc bigint NOT NULL, born integer NOT NULL, died integer,
    char_start integer NOT NULL, char_end integer NOT NULL, length integer NOT NULL,
    first_sentence bigint NOT NULL, stop_sentence bigint NOT NULL, embedding vector({dimension}) NOT NULL);
CREATE INDEX chunks_doc ON chunks (doc);
CREATE INDEX chunks_died ON chunks (died);
CREATE INDEX chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops) WITH (m = {neighbours});
CREATE TABLE sentences (
    id bigint PRIMARY KEY, doc bigint NOT NULL, born integer NOT NULL, died integer,
    char_start integer NOT NULL, char_end integer NOT NULL, heading boolean NOT NULL, section bigint,
    length integer NOT NULL, terms integer[] NOT NULL, counts real[] NOT NULL,
    embedding vector({dimension}) NOT NULL, tokens bytea NOT NULL);
CREATE INDEX sentences_doc ON sentences (doc);
CREATE INDEX sentences_died ON sentences (died);
CREATE TABLE acronyms (initials text NOT NULL, doc_id text COLLATE "C" NOT NULL, doc bigint NOT NULL,
                       born integer NOT NULL, died integer, phrase text NOT NULL);
CREATE INDEX acronyms_initials ON acronyms (initials, doc_id);
CREATE INDEX acronyms_doc ON acronyms (doc);
CREATE INDEX acronyms_died ON acronyms (died);
CREATE TABLE terms (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, term text NOT NULL UNIQUE);
CREATE TABLE chunk_postings (term integer NOT NULL, row_id bigint NOT NULL, tf real NOT NULL,
                             length integer NOT NULL, born integer NOT NULL, doc bigint NOT NULL,
                             PRIMARY KEY (term, row_id) INCLUDE (tf, length, born, doc));
CREATE INDEX chunk_postings_row ON chunk_postings (row_id);
CREATE TABLE frequencies (term integer NOT NULL, version integer NOT NULL, chunks integer NOT NULL,
                          sentences integer NOT NULL, PRIMARY KEY (term, version));
CREATE INDEX frequencies_version ON frequencies (version);
"""

# A posting as PostgreSQL's binary COPY wants it: field count, then each field's size and value.
POSTING = np.dtype([("fields", ">i2"), ("term_size", ">i4"), ("term", ">i4"), ("row_size", ">i4"),
                    ("row", ">i8"), ("tf_size", ">i4"), ("tf", ">f4"), ("length_size", ">i4"), ("length", ">i4"),
                    ("born_size", ">i4"), ("born", ">i4"), ("doc_size", ">i4"), ("doc", ">i8")])
COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"


def one(connection: psycopg.Connection, query, parameters=None) -> tuple:
    """The one row `query` returns."""
    row = connection.execute(query, parameters).fetchone()
    assert row is not None, "an aggregate returns one row"
    return row


def masked(url: str) -> str:
    """`url` with its password (in the user part or a `password=` parameter) shown as ***."""
    parts = urlsplit(url)
    user, at, host = parts.netloc.rpartition("@")
    if at and ":" in user:
        user = user.split(":", 1)[0] + ":***"
    query = urlencode([(key, "***" if key == "password" else value) for key, value in parse_qsl(parts.query)],
                      safe="*")
    return urlunsplit((parts.scheme, f"{user}{at}{host}", parts.path, query, parts.fragment))


def secrets_of(url: str) -> list[str]:
    """The password(s) in `url`, to scrub from any message that might quote them."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    return found + [value for key, value in parse_qsl(parts.query) if key == "password" and value]


@dataclass(frozen=True)
class Version:
    """One version row: its number and name, and the BM25 statistics of its rows."""

    number: int
    name: str
    built_at: str
    fingerprint: dict
    last_build: dict
    skipped: list[str]
    chunks: int
    chunk_length: int
    sentences: int
    sentence_length: int


VERSION_COLUMNS = ("number", "name", "built_at", "fingerprint", "last_build", "skipped", "chunks", "chunk_length",
                   "sentences", "sentence_length")


@dataclass(frozen=True)
class Terms:
    """The known terms of a query at one version: ids, and how many chunks and sentences hold each."""

    names: list[str]
    ids: np.ndarray
    chunks: np.ndarray
    sentences: np.ndarray


def idf(rows_in_all: int, holding: np.ndarray) -> np.ndarray:
    """Lucene's BM25 IDF, as `qa.lexical.BM25` computes it."""
    return np.log(1 + (rows_in_all - holding + 0.5) / (holding + 0.5))


class PostgresStore:
    """Index versions of one collection in a PostgreSQL database, shared by any number of
    servers and builders."""

    def __init__(self, url: str, settings: Settings):
        self.url = url
        self.settings = settings
        self.collection = settings.store.collection
        if not self.collection.replace("_", "").isalnum() or not self.collection.isascii():
            raise IndexUnavailable(f"a collection name is letters, digits and _ (got {self.collection!r})")
        self.schema = f"qa_{self.collection.lower()}"
        self._pool: ConnectionPool | None = None
        self._writer: psycopg.Connection | None = None
        self._listener: psycopg.Connection | None = None
        self.document_cache = lru_cache(maxsize=settings.store.document_cache)(self._fetch_document)

    def __str__(self) -> str:
        default = self.collection == type(self.settings.store)().collection
        return masked(self.url) + ("" if default else f" (collection {self.collection})")

    __repr__ = __str__

    def command(self, rest: str = "") -> str:
        """The `qa index` command line that writes this collection."""
        extra = "" if str(self) == masked(self.url) else f" --collection {self.collection}"
        return f"`qa index --store {masked(self.url)}{extra}{rest}`"

    # connections

    def configure(self, connection: psycopg.Connection) -> None:
        """Every connection reads the collection's schema first, then where pgvector is."""
        connection.execute(sql.SQL("SELECT set_config('search_path', {} || coalesce((SELECT ', ' || quote_ident("
                                   "extnamespace::regnamespace::text) FROM pg_extension WHERE extname = 'vector'), "
                                   "', public'), false)").format(sql.Literal(self.schema)))

    def connect_arguments(self, purpose: str) -> dict:
        return {"autocommit": True, "connect_timeout": max(1, round(self.settings.store.connect_seconds)),
                "application_name": f"qa {purpose} pid {os.getpid()} on {socket.gethostname()}"[:63]}

    @property
    def pool(self) -> ConnectionPool:
        """Connections for queries, opened on first use (a broken one is dropped when it is given back)."""
        if self._pool is None:
            self._pool = ConnectionPool(self.url, min_size=1, max_size=self.settings.store.pool_size,
                                        kwargs=self.connect_arguments("reader"), configure=self.configure,
                                        timeout=self.settings.store.connect_seconds, open=True,
                                        name=f"qa-{self.collection}")
        return self._pool

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Database failures as `IndexUnavailable`, saying what failed, with no password in it."""
        try:
            yield
        except PoolTimeout as error:
            raise IndexUnavailable(f"the shared store {self} cannot be reached ({doing}): no connection within "
                                   f"{self.settings.store.connect_seconds:g} s{self.why_not()}") from error
        except psycopg.Error as error:
            raise IndexUnavailable(f"the shared store {self} failed ({doing}): {self.reason(error)}") from error

    def reason(self, error: Exception) -> str:
        """An error's message on one line, with no password in it."""
        text = " ".join(str(error).split()) or type(error).__name__
        for secret in secrets_of(self.url):
            text = text.replace(secret, "***")
        return text

    def why_not(self) -> str:
        """Why a connection cannot be made now (one try), as '; <reason>', or ''."""
        try:
            psycopg.connect(self.url, **self.connect_arguments("probe")).close()
        except psycopg.Error as error:
            return f"; {self.reason(error)}"
        return ""

    @contextmanager
    def connection(self, doing: str) -> Iterator[psycopg.Connection]:
        """The build's connection while this process holds the lock, else one from the pool."""
        with self.errors(doing):
            if self._writer is not None:
                yield self._writer
            else:
                with self.pool.connection() as connection:
                    yield connection

    def read(self, doing: str, work: Callable[[psycopg.Connection], T]) -> T:
        """`work(connection)`, as `connection` gives one. A pooled connection found broken (the server
        restarted since it was opened) is dropped and `work` runs once more on a fresh one, so a
        restart costs no request that comes after it; failures are `IndexUnavailable`."""
        if self._writer is None:
            try:
                with self.errors(doing), self.pool.connection() as connection:
                    return work(connection)
            except IndexUnavailable as error:
                if not isinstance(error.__cause__, psycopg.OperationalError):
                    raise
                log.info("%s; trying a fresh connection", error)
        with self.connection(doing) as connection:
            return work(connection)

    def close(self) -> None:
        """Close every connection this store opened."""
        for connection in (self._listener, self._writer):
            if connection is not None:
                connection.close()
        self._listener = self._writer = None
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    # the build side

    @contextmanager
    def lock(self, wait: bool = True) -> Iterator[None]:
        """Hold the collection's build lock on a connection of its own, which the build then writes
        through; `BuildLocked` naming the holder when `wait` is false and another build holds it.
        A builder that dies loses its connection, and with it the lock."""
        key = zlib.crc32(self.schema.encode()) & 0x7FFFFFFF
        with self.errors("taking the build lock"):
            connection = psycopg.connect(self.url, **self.connect_arguments("build"))
        try:
            with self.errors("taking the build lock"):
                self.configure(connection)
                if not one(connection, "SELECT pg_try_advisory_lock(%s, %s)", (LOCK_CLASS, key))[0]:
                    holder = self.lock_holder(connection, key)
                    if not wait:
                        raise BuildLocked(f"another build ({holder}) is running on {self}")
                    log.warning("waiting for the build (%s) on %s to finish", holder, self)
                    connection.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, key))
            self._writer = connection
            yield
        finally:
            self._writer = None
            connection.close()

    @staticmethod
    def lock_holder(connection: psycopg.Connection, key: int) -> str:
        row = connection.execute(
            "SELECT a.application_name, a.backend_start FROM pg_locks l JOIN pg_stat_activity a USING (pid) "
            "WHERE l.locktype = 'advisory' AND l.classid = %s AND l.objid = %s AND l.objsubid = 2 AND l.granted",
            (LOCK_CLASS, key)).fetchone()
        if row is None:
            return "it has just finished"
        name, since = row
        return f"{name.removeprefix('qa build ') or 'a client'}, since {since:%Y-%m-%d %H:%M:%S %Z}"

    def meta(self, connection: psycopg.Connection) -> dict | None:
        """The collection's meta rows; None when it has no schema yet."""
        exists = one(connection, "SELECT to_regclass(%s)", (f"{self.schema}.meta",))[0]
        if exists is None:
            return None
        return dict(connection.execute("SELECT key, value FROM meta").fetchall())

    def wanted_meta(self, dimension: int) -> dict:
        return {"schema_version": SCHEMA_VERSION, "dimension": dimension, "token_layout": str(rows.TOKEN.descr)}

    def unreadable(self, meta: dict | None) -> str:
        """Why a reader cannot use a collection with `meta` ('' when it can)."""
        if meta is None:
            return f"there is no index in {self} yet: run {self.command()} to build it"
        if meta["schema_version"] > SCHEMA_VERSION:
            return (f"{self} was written by a newer qa (schema version {meta['schema_version']}, this qa reads "
                    f"{SCHEMA_VERSION}): upgrade qa")
        if meta["schema_version"] < SCHEMA_VERSION or meta["token_layout"] != str(rows.TOKEN.descr):
            return (f"{self} holds schema version {meta['schema_version']} with token rows {meta['token_layout']}; "
                    f"this qa reads version {SCHEMA_VERSION} with {rows.TOKEN.descr}: run {self.command()} "
                    "to upgrade it (it rebuilds the collection)")
        return ""

    def live(self, connection: psycopg.Connection) -> Version | None:
        row = connection.execute(f"SELECT {', '.join(VERSION_COLUMNS)} FROM versions ORDER BY number DESC LIMIT 1"
                                 ).fetchone()
        return Version(*row) if row else None

    def live_version(self) -> str | None:
        def name(connection: psycopg.Connection) -> str | None:
            live = self.live(connection) if self.meta(connection) is not None else None
            return live.name if live else None

        return self.read("reading the live version", name)

    def previous(self, fingerprint: dict) -> tuple[Manifest | None, str]:
        """The live manifest if its documents can be kept, else None and why not."""
        with self.connection("reading the live version") as connection:
            meta = self.meta(connection)
            if meta is not None and meta["schema_version"] > SCHEMA_VERSION:
                raise IndexUnavailable(self.unreadable(meta))
            live = self.live(connection) if meta is not None else None
            if live is None:
                return None, "no index yet"
            if self.unreadable(meta):
                return None, f"the collection's schema is upgraded to version {SCHEMA_VERSION}"
            changed = difference(live.fingerprint, fingerprint)
            if changed:
                name, was, now = changed
                return None, f"{name} was {was!r}, now {now!r}"
            return self.manifest(connection, live), ""

    def manifest(self, connection: psycopg.Connection, version: Version) -> Manifest:
        entries = connection.execute(
            "SELECT doc_id, sha256, title, size, mtime_ns, chunks, sentences, indexed_at FROM documents "
            f"WHERE {ALIVE.format(t='documents')} ORDER BY doc_id", {"v": version.number}).fetchall()
        documents = {doc_id: DocumentEntry(sha256, title, size, mtime_ns, "", chunks, sentences, indexed_at)
                     for doc_id, sha256, title, size, mtime_ns, chunks, sentences, indexed_at in entries}
        return Manifest(version.name, version.fingerprint, version.built_at, {}, documents, version.last_build,
                        version.skipped)

    def write(self, plan: Plan, prepared: Iterable[Prepared], fingerprint: dict, last_build: dict) -> Manifest:
        """Write the changes of `plan` as a new live version, in one transaction; returns its manifest.
        The prepared documents are all read first (one COPY per table takes them all)."""
        prepared = list(prepared)
        connection = self._writer
        assert connection is not None, "write() runs under lock()"
        with self.errors("writing the index"), connection.transaction():
            self.ensure_schema(connection, fingerprint["embedding.dimension"])
            log.info("writing index version of %d documents", len(plan.kept) + len(prepared))
            register_vector(connection)
            live = self.live(connection)
            number = (live.number if live else 0) + 1
            leaving = (None if plan.previous is None
                       else plan.removed + [source.document.id for source in plan.changed])
            gone = self.retire(connection, number, leaving)
            self.update_stats(connection, plan)
            written = Written.of(prepared, self.settings)
            written.insert(connection, number)
            self.write_frequencies(connection, number, gone, written)
            counts = (np.array([live.chunks, live.chunk_length, live.sentences, live.sentence_length] if live
                               else [0, 0, 0, 0]) - gone.totals + written.totals).tolist()
            now = datetime.now(UTC)
            version = Version(number, f"v-{now:%Y%m%dT%H%M%S}-{number}", now.isoformat(timespec="seconds"),
                              fingerprint, last_build, plan.skipped, *counts)
            connection.execute(f"INSERT INTO versions ({', '.join(VERSION_COLUMNS)}) VALUES "
                               f"({', '.join(['%s'] * len(VERSION_COLUMNS))})",
                               (number, version.name, version.built_at, Jsonb(fingerprint), Jsonb(last_build),
                                Jsonb(plan.skipped), *counts))
            connection.execute(sql.SQL("SELECT pg_notify({}, %s)").format(sql.Literal(self.schema)), (str(number),))
            manifest = self.manifest(connection, version)
        return manifest

    def ensure_schema(self, connection: psycopg.Connection, dimension: int) -> None:
        """Create the collection's schema, or create it anew when it was made for other vectors, an
        older schema or other token rows (the build then writes every document)."""
        wanted = self.wanted_meta(dimension)
        meta = self.meta(connection)
        if meta == wanted:
            return
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
        self.configure(connection)  # pgvector's schema joins the search path
        if meta is not None:
            log.warning("rebuilding %s: it was made with %s, this build needs %s", self, meta, wanted)
            connection.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(self.schema)))
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
        connection.execute(SCHEMA.format(dimension=int(dimension),
                                         neighbours=int(self.settings.store.hnsw_neighbours)).encode())
        with connection.cursor() as cursor:
            cursor.executemany("INSERT INTO meta VALUES (%s, %s)",
                               [(key, Jsonb(value)) for key, value in wanted.items()])

    def retire(self, connection: psycopg.Connection, number: int, leaving: list[str] | None) -> Gone:
        """Mark the rows of the documents `leaving` (all, when None) dead from version `number` on;
        returns what they held, for the statistics."""
        which = "" if leaving is None else " AND doc_id = ANY(%(ids)s)"
        keys = [key for (key,) in connection.execute(
            f"UPDATE documents SET died = %(v)s WHERE died IS NULL{which} RETURNING key",
            {"v": number, "ids": leaving}).fetchall()]
        totals = one(connection,
                     "SELECT coalesce(sum(chunks), 0), coalesce(sum(chunk_length), 0), coalesce(sum(sentences), 0), "
                     "coalesce(sum(sentence_length), 0) FROM documents WHERE key = ANY(%s)", (keys,))
        for table in ("chunks", "sentences", "acronyms"):
            connection.execute(f"UPDATE {table} SET died = %s WHERE doc = ANY(%s)", (number, keys))
        holding: list[dict[int, int]] = [dict(connection.execute(query, (keys,)).fetchall()) for query in (
            "SELECT p.term, count(*) FROM chunks r JOIN chunk_postings p ON p.row_id = r.id WHERE r.doc = ANY(%s) "
            "GROUP BY p.term",
            "SELECT t.term, count(*) FROM sentences s, unnest(s.terms) t (term) WHERE s.doc = ANY(%s) "
            "GROUP BY t.term")]
        return Gone(np.array(totals, dtype=np.int64), *holding)

    def update_stats(self, connection: psycopg.Connection, plan: Plan) -> None:
        """Kept documents whose file was touched but not changed: their new size and mtime (what the
        next scan compares; no reader reads them)."""
        previous = plan.previous.documents if plan.previous else {}
        touched = [(entry.size, entry.mtime_ns, doc_id) for doc_id, entry in plan.kept.items()
                   if doc_id in previous and (previous[doc_id].size, previous[doc_id].mtime_ns)
                   != (entry.size, entry.mtime_ns)]
        with connection.cursor() as cursor:
            cursor.executemany("UPDATE documents SET size = %s, mtime_ns = %s WHERE doc_id = %s AND died IS NULL",
                               touched)

    def write_frequencies(self, connection: psycopg.Connection, number: int, gone: Gone, written: Written) -> None:
        """A frequency row at version `number` for every term whose counts it changes."""
        delta: dict[int, list[int]] = {}
        for column, counts in ((0, gone.chunk_terms), (1, gone.sentence_terms)):
            for term, count in counts.items():
                delta.setdefault(term, [0, 0])[column] -= count
        for column, counts in ((0, written.chunk_holders), (1, written.sentence_holders)):
            for term, count in counts.items():
                delta.setdefault(term, [0, 0])[column] += count
        terms = sorted(term for term, (chunks, sentences) in delta.items() if chunks or sentences)
        if not terms:
            return
        before = {term: (chunks, sentences) for term, chunks, sentences in connection.execute(
            "SELECT DISTINCT ON (term) term, chunks, sentences FROM frequencies WHERE term = ANY(%s) "
            "ORDER BY term, version DESC", (terms,)).fetchall()}
        values = [(term, number, before.get(term, (0, 0))[0] + delta[term][0],
                   before.get(term, (0, 0))[1] + delta[term][1]) for term in terms]
        with connection.cursor() as cursor, cursor.copy(
                "COPY frequencies (term, version, chunks, sentences) FROM STDIN") as copy:
            for value in values:
                copy.write_row(value)

    def cleanup(self) -> None:
        """Delete the versions superseded more than `keep_seconds` ago and the rows only they held;
        then vacuum: the planner learns the new rows, and postings are read from their index alone."""
        with self.connection("removing old versions") as connection:
            if self.meta(connection) is None:
                return
            with connection.transaction():
                self.remove_old_versions(connection)
            connection.execute("VACUUM (ANALYZE) documents, chunks, sentences, acronyms, chunk_postings, frequencies")

    def remove_old_versions(self, connection: psycopg.Connection) -> None:
        """Delete the versions superseded more than `keep_seconds` ago, and the rows only they held."""
        first, oldest = one(connection,
            "SELECT min(number), min(number) FILTER (WHERE superseded IS NULL OR superseded > "
            "clock_timestamp() - make_interval(secs => %s)) FROM (SELECT number, lead(created) OVER "
            "(ORDER BY number) AS superseded FROM versions) v", (self.settings.store.keep_seconds,))
        if first is None or first == oldest:
            return
        dead = [row for (row,) in connection.execute("DELETE FROM chunks WHERE died <= %s RETURNING id",
                                                     (oldest,)).fetchall()]
        connection.execute("DELETE FROM chunk_postings WHERE row_id = ANY(%s)", (dead,))
        connection.execute("DELETE FROM sentences WHERE died <= %s", (oldest,))
        connection.execute("DELETE FROM acronyms WHERE died <= %s", (oldest,))
        connection.execute("DELETE FROM documents WHERE died <= %s", (oldest,))
        connection.execute("DELETE FROM frequencies f USING frequencies g WHERE g.version > %s AND "
                           "g.version <= %s AND f.term = g.term AND f.version < g.version", (first, oldest))
        connection.execute("DELETE FROM versions WHERE number < %s", (oldest,))
        log.info("removed versions %d to %d of %s", first, oldest - 1, self)

    # the read side

    def open(self, fingerprint: dict) -> PostgresReader:
        """A reader of the live version, which must match `fingerprint` where a reader must;
        `IndexUnavailable` when there is none, or it is incompatible, or the database is unreachable."""
        return self.read("opening the index", lambda connection: self.reader(connection, fingerprint))

    def reader(self, connection: psycopg.Connection, fingerprint: dict) -> PostgresReader:
        """A reader of the live version, read through `connection`."""
        meta = self.meta(connection)
        problem = self.unreadable(meta)
        if problem:
            raise IndexUnavailable(problem)
        live = self.live(connection)
        if live is None:
            raise IndexUnavailable(self.unreadable(None))
        changed = difference(live.fingerprint, fingerprint)
        if changed:
            name, was, now = changed
            raise IndexUnavailable(f"the index in {self} was built with {name}={was!r}, this qa needs "
                                   f"{now!r}: run {self.command()} to rebuild it")
        manifest = self.manifest(connection, live)
        keys: dict[str, int] = dict(connection.execute(
            f"SELECT doc_id, key FROM documents WHERE {ALIVE.format(t='documents')}", {"v": live.number}).fetchall())
        return PostgresReader(self, live, manifest, keys)

    def _fetch_document(self, key: int) -> Document:
        row = self.read("reading a document", lambda connection: connection.execute(
            f"SELECT {DOCUMENT_SELECT} FROM documents WHERE key = %s", (key,)).fetchone())
        if row is None:
            raise IndexUnavailable(f"document {key} is no longer in {self}: its version was removed; reopen")
        return document_of(row)

    def wait_for_change(self, timeout: float) -> None:
        """Return when a build may have committed (its NOTIFY arrived), or after `timeout` seconds;
        without a connection to listen on, just wait (the caller polls `live_version`)."""
        try:
            if self._listener is None or self._listener.closed:
                self._listener = psycopg.connect(self.url, **self.connect_arguments("listener"))
                self._listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self.schema)))
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                pass
        except psycopg.Error as error:
            log.info("not notified of changes to %s (%s); polling", self, type(error).__name__)
            if self._listener is not None:
                self._listener.close()
            time.sleep(timeout)


def document_of(row: tuple) -> Document:
    """A Document from its columns and `fields` (whatever else a Document holds)."""
    doc_id, title, text, path, sha256, pages, fields = row
    return Document.from_json({"id": doc_id, "title": title, "text": text, "path": path, "sha256": sha256,
                               "pages": pages, **fields})


@dataclass(frozen=True)
class Gone:
    """What the documents a build retires held: their row counts and lengths, and per term how
    many of their chunks and sentences hold it."""

    totals: np.ndarray            # chunks, chunk length, sentences, sentence length
    chunk_terms: dict[int, int]
    sentence_terms: dict[int, int]


@dataclass
class Written:
    """The new and changed documents of a build with their term counts; once inserted, per term
    id how many of their chunks and sentences hold it."""

    prepared: list[Prepared]
    vocabulary: dict[str, int]
    chunk_counts: sparse.csr_matrix
    sentence_counts: sparse.csr_matrix
    chunk_holders: dict[int, int] = field(default_factory=dict)
    sentence_holders: dict[int, int] = field(default_factory=dict)

    @classmethod
    def of(cls, prepared: list[Prepared], settings: Settings) -> Written:
        """Count the BM25 terms of every new chunk and sentence, in one run each."""
        vocabulary: dict[str, int] = {}
        texts = {table: [p.source.document.text[row["start"]:row["end"]] for p in prepared for row in getattr(p, table)]
                 for table in ("chunks", "sentences")}
        return cls(prepared, vocabulary, lexical.count_terms(texts["chunks"], vocabulary, settings.lexical),
                   lexical.count_terms(texts["sentences"], vocabulary, settings.lexical))

    @property
    def totals(self) -> np.ndarray:
        """Chunks, their summed BM25 lengths, sentences, theirs."""
        return np.array([self.chunk_counts.shape[0], int(self.chunk_counts.sum()),
                         self.sentence_counts.shape[0], int(self.sentence_counts.sum())], dtype=np.int64)

    def insert(self, connection: psycopg.Connection, number: int) -> None:
        """Insert the documents, their rows and postings, born at version `number`."""
        term_ids = self.term_ids(connection)
        n_documents = len(self.prepared)
        n_chunks, n_sentences = self.chunk_counts.shape[0], self.sentence_counts.shape[0]
        first = one(connection, "SELECT nextval('ids')")[0]
        connection.execute("SELECT setval('ids', %s)", (first + n_documents + n_chunks + n_sentences,))
        chunk_ids = first + n_documents + np.arange(n_chunks)
        sentence_ids = first + n_documents + n_chunks + np.arange(n_sentences)
        chunk_lengths = np.asarray(self.chunk_counts.sum(axis=1)).ravel().astype(np.int64)
        sentence_lengths = np.asarray(self.sentence_counts.sum(axis=1)).ravel().astype(np.int64)
        now = datetime.now(UTC).isoformat(timespec="seconds")
        with connection.cursor() as cursor:
            at_chunk = at_sentence = 0
            with cursor.copy("COPY documents FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(["bigint", "text", "integer", "integer", "text", "text", "text", "text", "bigint",
                                "bigint", "text", "integer", "integer", "bigint", "bigint", "text", "integer[]",
                                "jsonb"])
                for n, part in enumerate(self.prepared):
                    c, s = len(part.chunks), len(part.sentences)
                    document, source = part.source.document, part.source
                    fields = {k: v for k, v in asdict(document).items() if k not in DOCUMENT_COLUMNS}
                    copy.write_row((first + n, document.id, number, None, document.title, document.path,
                                    Path(document.path).suffix.lstrip(".").lower(), document.sha256, source.size,
                                    source.mtime_ns, now, c, s, int(chunk_lengths[at_chunk:at_chunk + c].sum()),
                                    int(sentence_lengths[at_sentence:at_sentence + s].sum()), document.text,
                                    list(document.pages), Jsonb(fields)))
                    at_chunk, at_sentence = at_chunk + c, at_sentence + s
            with cursor.copy("COPY acronyms (initials, doc_id, doc, born, phrase) FROM STDIN") as copy:
                for n, part in enumerate(self.prepared):
                    document = part.source.document
                    for initials, phrase in lexical.acronyms([document.text]).items():
                        copy.write_row((initials, document.id, first + n, number, phrase))
            self.insert_rows(cursor, number, first, chunk_ids, sentence_ids, chunk_lengths, sentence_lengths,
                             term_ids)
        chunk_docs = first + np.repeat(np.arange(n_documents), [len(p.chunks) for p in self.prepared])
        copy_postings(connection, self.chunk_counts, chunk_ids, term_ids, chunk_lengths, number, chunk_docs)
        self.chunk_holders = holders(self.chunk_counts, term_ids)
        self.sentence_holders = holders(self.sentence_counts, term_ids)

    def insert_rows(self, cursor: psycopg.Cursor, number: int, first: int, chunk_ids: np.ndarray,
                    sentence_ids: np.ndarray, chunk_lengths: np.ndarray, sentence_lengths: np.ndarray,
                    term_ids: np.ndarray) -> None:
        at_chunk = at_sentence = 0
        with cursor.copy("COPY chunks FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "bigint", "integer", "integer", "integer", "integer", "integer", "bigint",
                            "bigint", "vector"])
            for n, part in enumerate(self.prepared):
                within = rows.within(part.chunks, part.sentences)
                for k, chunk in enumerate(part.chunks):
                    copy.write_row((int(chunk_ids[at_chunk + k]), first + n, number, None, int(chunk["start"]),
                                    int(chunk["end"]), int(chunk_lengths[at_chunk + k]),
                                    int(sentence_ids[at_sentence] + within[k]["first"]),
                                    int(sentence_ids[at_sentence] + within[k]["stop"]), part.chunk_vectors[k]))
                at_chunk, at_sentence = at_chunk + len(part.chunks), at_sentence + len(part.sentences)
        at_sentence = 0
        with cursor.copy("COPY sentences FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(["bigint", "bigint", "integer", "integer", "integer", "integer", "boolean", "bigint",
                            "integer", "integer[]", "real[]", "vector", "bytea"])
            counts = self.sentence_counts
            for n, part in enumerate(self.prepared):
                tokens = rows.within(part.sentences, part.tokens)
                sections = rows.section_headings(np.arange(len(part.sentences)),
                                                 np.flatnonzero(part.sentences["heading"]), part.sentences)
                for k, sentence in enumerate(part.sentences):
                    ids, row = sentence_ids[at_sentence:], at_sentence + k
                    terms = slice(counts.indptr[row], counts.indptr[row + 1])
                    copy.write_row((int(ids[k]), first + n, number, None, int(sentence["start"]), int(sentence["end"]),
                                    bool(sentence["heading"]), int(ids[sections[k]]) if sections[k] >= 0 else None,
                                    int(sentence_lengths[row]), term_ids[counts.indices[terms]].tolist(),
                                    counts.data[terms].tolist(), part.sentence_vectors[k],
                                    part.tokens[tokens[k]["first"]:tokens[k]["stop"]].tobytes()))
                at_sentence += len(part.sentences)

    def term_ids(self, connection: psycopg.Connection) -> np.ndarray:
        """The id of each vocabulary term (by column), new terms added."""
        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        connection.execute("INSERT INTO terms (term) SELECT unnest(%s::text[]) ON CONFLICT (term) DO NOTHING",
                           (terms,))
        found: dict[str, int] = dict(connection.execute("SELECT term, id FROM terms WHERE term = ANY(%s)",
                                                        (terms,)).fetchall())
        return np.array([found[term] for term in terms], dtype=np.int64)


def holders(counts, term_ids: np.ndarray) -> dict[int, int]:
    """Per term id, how many rows of `counts` hold it."""
    per_column = np.bincount(counts.indices, minlength=counts.shape[1])
    return {int(term_ids[c]): int(n) for c in np.flatnonzero(per_column) for n in [per_column[c]]}


def copy_postings(connection: psycopg.Connection, counts: sparse.csr_matrix, row_ids: np.ndarray,
                  term_ids: np.ndarray, lengths: np.ndarray, born: int, docs: np.ndarray) -> None:
    """Every (term, row, count) of a term-count matrix with its row's length, birth and document,
    as one binary COPY built by numpy."""
    matrix = counts.tocoo()
    postings = np.empty(matrix.nnz, dtype=POSTING)
    postings["fields"] = 6
    for name in ("term", "row", "tf", "length", "born", "doc"):
        postings[f"{name}_size"] = POSTING[name].itemsize
    postings["term"], postings["row"], postings["tf"] = term_ids[matrix.col], row_ids[matrix.row], matrix.data
    postings["length"], postings["born"], postings["doc"] = lengths[matrix.row], born, docs[matrix.row]
    with connection.cursor() as cursor, cursor.copy("COPY chunk_postings (term, row_id, tf, length, born, doc) "
                                                    "FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(COPY_HEADER + postings.tobytes() + COPY_TRAILER)


def vector_literal(vector: np.ndarray) -> str:
    return "[" + ",".join(map(str, np.asarray(vector, dtype=np.float32).tolist())) + "]"


CANDIDATES = """
WITH kept AS (SELECT FROM versions WHERE number = %(v)s),
q (term, idf) AS (SELECT * FROM unnest(%(terms)s::integer[], %(idfs)s::float8[])),
lexical AS (
    SELECT p.row_id AS id, sum(q.idf * p.tf / (p.tf + %(k1)s * (1 - %(b)s + %(b)s * p.length / %(average)s))) AS score
    FROM q JOIN chunk_postings p ON p.term = q.term
    WHERE p.born <= %(v)s AND p.row_id NOT IN (SELECT id FROM chunks WHERE died <= %(v)s){postings_scope}
    GROUP BY p.row_id),
best AS (SELECT id FROM lexical ORDER BY score DESC LIMIT %(n)s),
dense AS ({dense})
SELECT c.id, c.doc, c.char_start, c.char_end, -(c.embedding <#> %(vector)s::vector), coalesce(l.score, 0),
       c.first_sentence, c.stop_sentence
FROM kept, (SELECT id FROM best UNION SELECT id FROM dense) u JOIN chunks c USING (id) LEFT JOIN lexical l USING (id)
ORDER BY c.id
"""
HNSW = "SELECT id FROM chunks c WHERE {alive} ORDER BY embedding <#> %(vector)s::vector LIMIT %(n)s"
EXACT = ("SELECT id FROM (SELECT id, embedding <#> %(vector)s::vector AS distance FROM chunks c "
         "WHERE {alive}{scope} OFFSET 0) nearest ORDER BY distance LIMIT %(n)s")
SCOPE = (" AND {t}.doc IN (SELECT key FROM documents d WHERE {alive} AND (d.doc_id = ANY(%(ids)s) OR "
         "EXISTS (SELECT FROM unnest(%(folders)s::text[]) f WHERE starts_with(d.doc_id, f))))")
SENTENCES = """
SELECT s.id, s.doc, s.char_start, s.char_end, s.heading, coalesce(s.section, -1), s.tokens,
       -(s.embedding <#> %(vector)s::vector), {bm25}
FROM sentences s CROSS JOIN LATERAL (SELECT %(k1)s * (1 - %(b)s + %(b)s * s.length / %(average)s) AS norm) n
WHERE s.id = ANY(%(ids)s)
"""
# A query term's count in a sentence row, and its BM25 share (one term of a sum written out per query term:
# array_position over a sentence's few terms is cheaper than a subquery per row).
TERM_COUNT = "coalesce(s.counts[array_position(s.terms, %(term{i})s)], 0)"
TERM_SHARE = "%(idf{i})s * {tf} / ({tf} + n.norm)"
SPELLED_OUT = """
SELECT q.initials, a.phrase FROM unnest(%(initials)s::text[]) q (initials)
CROSS JOIN LATERAL (SELECT phrase FROM acronyms a WHERE a.initials = q.initials AND {alive}
                    ORDER BY a.doc_id LIMIT 1) a
"""


class PostgresReader:
    """One version of a shared store: every query reads the rows alive at its number."""

    def __init__(self, store: PostgresStore, version: Version, manifest: Manifest, keys: dict[str, int]):
        self.store = store
        self.live = version
        self.manifest = manifest
        self.keys = keys
        self.settings = store.settings
        self.terms = lru_cache(maxsize=256)(self._terms)
        self.ranges: dict[int, tuple[int, int]] = {}    # chunk id -> its sentence ids [first, stop)
        lexical_settings = self.settings.lexical
        self.weights = {"k1": lexical_settings.k1, "b": lexical_settings.b, "v": version.number}

    @property
    def version(self) -> str:
        return self.manifest.version

    def documents(self) -> list[Document]:
        found = self.store.read("reading the documents", lambda connection: connection.execute(
            f"SELECT {DOCUMENT_SELECT} FROM documents WHERE {ALIVE.format(t='documents')} ORDER BY doc_id",
            {"v": self.live.number}).fetchall())
        return [document_of(row) for row in found]

    def document(self, doc_id: str) -> Document:
        """The document `doc_id`; `KeyError` if there is none."""
        if doc_id not in self.keys:
            raise KeyError(f"no document {doc_id!r} in the index")
        return self.store.document_cache(self.keys[doc_id])

    def document_at(self, number: int) -> Document:
        """The document a row's `doc` (its key) names."""
        return self.store.document_cache(number)

    def _terms(self, tokens: tuple[str, ...]) -> Terms:
        found = self.store.read("reading term frequencies", lambda connection: connection.execute(
            "SELECT t.term, t.id, f.chunks, f.sentences FROM terms t CROSS JOIN LATERAL (SELECT chunks, sentences "
            "FROM frequencies WHERE term = t.id AND version <= %s ORDER BY version DESC LIMIT 1) f "
            "WHERE t.term = ANY(%s) ORDER BY t.id", (self.live.number, list(tokens))).fetchall())
        return Terms([row[0] for row in found], np.array([row[1] for row in found], dtype=np.int64),
                     np.array([row[2] for row in found], dtype=np.int64),
                     np.array([row[3] for row in found], dtype=np.int64))

    def query_terms(self, tokens: list[str]) -> Terms:
        return self.terms(tuple(sorted(set(tokens))))

    def average(self, length: int, count: int) -> float:
        return max(length / count if count else 1.0, 1e-9)

    def candidates(self, query: Query, n: int, scope: Collection[str] | None = None) -> ChunkHits:
        """The union of the `n` best chunks by cosine and the `n` best by BM25 (within `scope`,
        when given), each with both signals: one statement."""
        terms = self.query_terms(query.tokens)
        known = terms.chunks > 0
        alive = ALIVE.format(t="c")
        scope_sql, postings_scope = (SCOPE.format(t=t, alive=ALIVE.format(t="d")) if scope is not None else ""
                                     for t in ("c", "p"))
        exact = scope is not None or self.live.chunks < self.settings.store.hnsw_min_chunks
        dense = (EXACT if exact else HNSW).format(alive=alive, scope=scope_sql)
        parameters = {**self.weights, "terms": terms.ids[known].tolist(),
                      "idfs": idf(self.live.chunks, terms.chunks[known]).tolist(),
                      "average": self.average(self.live.chunk_length, self.live.chunks), "n": n,
                      "vector": vector_literal(query.vector),
                      "ids": [entry for entry in scope or () if not entry.endswith("/")],
                      "folders": [entry for entry in scope or () if entry.endswith("/")]}

        def find(connection: psycopg.Connection) -> list[tuple]:
            found = connection.execute(CANDIDATES.format(postings_scope=postings_scope, dense=dense),
                                       parameters).fetchall()
            if not found:
                self.check_kept(connection)
            return found

        found = self.store.read("finding candidates", find)
        columns = list(zip(*found, strict=True)) or [()] * 8
        if len(self.ranges) > RANGES_KEPT:
            self.ranges.clear()
        self.ranges.update(zip(columns[0], zip(columns[6], columns[7], strict=True), strict=True))
        return ChunkHits(ids=np.array(columns[0], dtype=np.int64),
                         spans=np.array(list(zip(*columns[1:4], strict=True)), dtype=rows.CHUNK),
                         cosine=np.array(columns[4], dtype=np.float32), lexical=np.array(columns[5], dtype=np.float32))

    def sentence_ranges(self, connection: psycopg.Connection, chunk_ids: list[int]) -> np.ndarray:
        """The RANGE of sentence ids of each chunk, as `candidates` gave them (else read now)."""
        missing = [chunk for chunk in chunk_ids if chunk not in self.ranges]
        if missing:
            self.ranges.update((chunk, (first, stop)) for chunk, first, stop in connection.execute(
                "SELECT id, first_sentence, stop_sentence FROM chunks WHERE id = ANY(%s)", (missing,)).fetchall())
        return np.array([self.ranges[chunk] for chunk in chunk_ids], dtype=np.int64).reshape(-1, 2).view(
            rows.RANGE).ravel()

    def check_kept(self, connection: psycopg.Connection) -> None:
        """`IndexUnavailable` when this reader's version has been removed (it was superseded more
        than `keep_seconds` ago)."""
        if connection.execute("SELECT FROM versions WHERE number = %s", (self.live.number,)).fetchone() is None:
            raise IndexUnavailable(f"index version {self.version} of {self.store} was replaced and removed; "
                                   "reopen the index")

    def sentences(self, chunk_ids: np.ndarray, query: Query) -> SentenceHits:
        """The sentences of `chunk_ids` and their section headings, with cosine and BM25."""
        terms = self.query_terms(query.tokens)
        known = terms.sentences > 0
        term_ids, idfs = terms.ids[known].tolist(), idf(self.live.sentences, terms.sentences[known]).tolist()
        bm25 = " + ".join(TERM_SHARE.format(i=i, tf=TERM_COUNT.format(i=i)) for i in range(len(term_ids)))
        parameters = {**self.weights, "vector": vector_literal(query.vector),
                      "average": self.average(self.live.sentence_length, self.live.sentences),
                      **{f"term{i}": term for i, term in enumerate(term_ids)},
                      **{f"idf{i}": value for i, value in enumerate(idfs)}}

        def read(connection: psycopg.Connection) -> tuple[np.ndarray, list[tuple]]:
            ranges = self.sentence_ranges(connection, np.asarray(chunk_ids).tolist())
            inside = np.unique(rows.expand(ranges)) if len(ranges) else np.zeros(0, dtype=np.int64)
            query = SENTENCES.format(bm25=bm25 or "0")
            found = connection.execute(query, {**parameters, "ids": inside.tolist()}).fetchall()
            headings = {row[5] for row in found if row[5] >= 0} - set(inside.tolist())
            if headings:  # section headings above the chunks
                found += connection.execute(query, {**parameters, "ids": sorted(headings)}).fetchall()
            return ranges, sorted(found)

        ranges, found = self.store.read("reading sentences", read)
        ids = np.array([row[0] for row in found], dtype=np.int64)
        spans = np.array([(row[1], row[2], row[3], row[4]) for row in found], dtype=rows.SENTENCE)
        heading_of = np.array([row[5] for row in found], dtype=np.int64)
        lengths = np.array([len(row[6]) // rows.TOKEN.itemsize for row in found], dtype=np.int64)
        token_rows = np.frombuffer(b"".join(row[6] for row in found), dtype=rows.TOKEN)
        tokens = np.empty(len(ids), dtype=rows.RANGE)
        tokens["stop"] = np.cumsum(lengths)
        tokens["first"] = tokens["stop"] - lengths
        of_chunk = np.empty(len(ranges), dtype=rows.RANGE)
        of_chunk["first"] = np.searchsorted(ids, ranges["first"])
        of_chunk["stop"] = np.searchsorted(ids, ranges["stop"])
        return SentenceHits(
            ids=ids, spans=spans, tokens=tokens,
            token_rows=token_rows,
            term_idf=self.term_idf(query.tokens),
            cosine=np.array([row[7] for row in found], dtype=np.float32),
            lexical=np.array([row[8] for row in found], dtype=np.float32),
            section=np.where(heading_of >= 0, np.searchsorted(ids, heading_of), -1),
            of_chunk=of_chunk)

    def spelled_out(self, acronyms: Collection[str]) -> dict[str, str]:
        """For each acronym, the capitalised phrase whose initials spell it in the first live
        document (by id) that has one: the asked initials' rows alone are read."""
        if not acronyms:
            return {}
        found: dict[str, str] = dict(self.store.read("spelling out acronyms", lambda connection: connection.execute(
            SPELLED_OUT.format(alive=ALIVE.format(t="a")), {"v": self.live.number,
                                                             "initials": list(acronyms)}).fetchall()))
        return {acronym: found[acronym] for acronym in acronyms if acronym in found}

    def term_idf(self, tokens: list[str]) -> dict[str, float]:
        """The BM25 IDF over sentences of each token the sources use."""
        terms = self.query_terms(tokens)
        used = terms.sentences > 0
        values = idf(self.live.sentences, terms.sentences[used])
        return dict(zip([name for name, u in zip(terms.names, used, strict=True) if u], values.tolist(), strict=True))

    @property
    def max_idf(self) -> float:
        """The IDF of a term that one sentence holds."""
        size = self.live.sentences
        return float(np.log(1 + (size - 0.5) / 1.5)) if size else 1.0

