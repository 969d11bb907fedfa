"""The Retriever: the one object that Python users, the CLI and the web app query."""

from __future__ import annotations

import logging
import os
import re
import reprlib
import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np

from qa import answering, embedding, language, lexical, questions
from qa.answering import Answer
from qa.candidates import Candidates, Query
from qa.embedding import Encoder
from qa.errors import IndexUnavailable, QuestionError
from qa.followup import Turn, answered_before, own_words, resolve
from qa.language import Analyser
from qa.questions import Asked
from qa.retrieval import HybridRetrieval, Passage
from qa.settings import DEFAULT, AnsweringSettings, Settings
from qa.sources import Document
from qa.store import Reader, Store, open_store
from qa.store.manifest import Manifest, reader_fingerprint

log = logging.getLogger(__name__)
WORD = re.compile(r"\S+")  # a run without a space, which spaCy's tokenizer splits in one piece


def check_text(text: str, what: str) -> None:
    """`QuestionError` when `text` cannot be read as text: a lone surrogate (a UTF-16 half, which a
    JSON escape can carry) is no character of any script, and no model can take it."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        raise QuestionError(f"{what} holds a code point that is no character (U+{ord(text[error.start]):04X}, "
                            f"a lone surrogate) at position {error.start}") from None


def check_question(question: str, settings: AnsweringSettings = DEFAULT.answering) -> str:
    """The question stripped; `QuestionError` when it is not text (`check_text`), is empty, is longer
    than `max_question_chars` or has a word, a run without a space, over `max_word_chars`: spaCy's
    tokenizer takes time quadratic in a word it splits at many marks ("=_" 1,000 times took 1.3 s
    to parse, 100 times 40 ms)."""
    if not isinstance(question, str):
        raise QuestionError(f"the question must be text, not {type(question).__name__}")
    if not question.strip():
        raise QuestionError("the question is empty: type a question about the sources")
    question = question.strip()
    if len(question) > settings.max_question_chars:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is "
                            f"{settings.max_question_chars}")
    check_text(question, "the question")
    longest = max(map(len, WORD.findall(question)), default=0)
    if longest > settings.max_word_chars:
        raise QuestionError(f"the question has a word of {longest} characters without a space; the limit is "
                            f"{settings.max_word_chars}")
    return question


def check_history(history: Sequence[Turn] | None) -> list[Turn]:
    """The earlier turns as `resolve` reads them (None: none; a turn's answer None: ""); `QuestionError`
    for a history that is one string or a mapping, a turn that is neither a question nor a (question,
    answer) pair of texts, or a text that fails `check_text`."""
    if history is None:
        return []
    if isinstance(history, str | Mapping) or not isinstance(history, Iterable):
        raise QuestionError("the history must be a list of earlier turns, each a question or a "
                            f"(question, answer) pair, not {type(history).__name__}")
    turns: list[Turn] = []
    for n, turn in enumerate(history, 1):
        if isinstance(turn, tuple | list) and len(turn) == 2 and isinstance(turn[0], str) \
                and isinstance(turn[1], str | None):
            turn = (turn[0], turn[1] or "")
        elif not isinstance(turn, str):
            raise QuestionError(f"turn {n} of the history is {reprlib.repr(turn)}: each turn is a question, "
                                "or a (question, answer) pair of texts")
        for text in (turn,) if isinstance(turn, str) else turn:
            check_text(text, f"turn {n} of the history")
        turns.append(turn)
    return turns


def check_scope(scope: Collection[str] | None, doc_ids: Collection[str]) -> list[str] | None:
    """A scope as the store reads it: document ids as they are, folders ('reports' or
    'reports/') as prefixes ending in '/'; None for no scope. `QuestionError` for an entry
    that names no indexed document, so a typo does not silently answer from nothing."""
    if scope is None or isinstance(scope, str):
        return None if scope is None else check_scope([scope], doc_ids)
    scope = list(scope) if isinstance(scope, Iterable) else [scope]
    for entry in scope:
        if not isinstance(entry, str):
            raise QuestionError(f"the scope entry {reprlib.repr(entry)} is not text: a scope is a list of document "
                                "ids or folders")
    entries = [entry.strip() for entry in scope if entry.strip()]
    if not entries:
        return None
    checked = []
    for entry in entries:
        if entry in doc_ids:
            checked.append(entry)
            continue
        folder = entry.rstrip("/") + "/"
        if folder == "/" or not any(doc_id.startswith(folder) for doc_id in doc_ids):
            raise QuestionError(f"the scope {entry!r} names no indexed document or folder")
        checked.append(folder)
    return checked


def check_k(k: int) -> int:
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise QuestionError(f"k must be a whole number of passages, 1 or more (got {k!r})")
    return k


def rarity_of_words(reader: Reader, settings: Settings, words: list[str]) -> list[float]:
    """Each word's BM25 IDF in the sources (its rarest stem, or an irregular form's: "begin" is as
    rare as the sources' "began") as a share of the highest IDF a word can have there; 0 for a
    word they never use."""
    forms = language.irregular_forms_of()
    tokens = lexical.tokenize([" ".join((word, *forms.get(word.lower(), ()))) for word in words], settings.lexical)
    known = reader.term_idf([t for word_tokens in tokens for t in word_tokens])
    return [max((known.get(t, 0.0) for t in word_tokens), default=0.0) / reader.max_idf for word_tokens in tokens]


@dataclass(frozen=True)
class Opened:
    """One index version with its retrieval: what a query holds from start to end."""

    reader: Reader
    retrieval: HybridRetrieval


class Retriever:
    """Searches and answers over one index.

    Opened once, it is safe to query from several threads. `refresh()` swaps in
    a newer index version; queries already running finish on the old one.
    """

    def __init__(self, store: Store, opened: Opened, encoder: Encoder, analyser: Analyser, settings: Settings):
        self.store = store
        self.settings = settings
        self._encoder = encoder
        self._analyser = analyser
        self._opened = opened
        self._refresh_lock = threading.Lock()
        at_once = settings.answering.at_once or os.cpu_count() or 1
        self._turns = threading.BoundedSemaphore(at_once)
        self._embedder = ThreadPoolExecutor(at_once, thread_name_prefix="qa-embed")

    @classmethod
    def open(cls, index_dir: str | Path | Store = "index", settings: Settings = DEFAULT,
             encoder: Encoder | None = None, analyser: Analyser | None = None) -> Retriever:
        """Load the index in `index_dir` (a folder, a postgresql:// URL or a `Store`) and the models;
        `IndexUnavailable` if it cannot be used."""
        store = open_store(index_dir, settings)
        opened = cls._load(store, settings, encoder)
        return cls(store, opened, encoder or embedding.load_encoder(settings.embedding),
                   analyser or language.load_analyser(settings.language.batch_size), settings)

    def close(self) -> None:
        """Let go of the store's connections (a shared store's) and the embedding threads; also on
        leaving a `with Retriever.open(...) as retriever:` block."""
        self._embedder.shutdown(wait=False)
        self.store.close()

    def __enter__(self) -> Retriever:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _load(store: Store, settings: Settings, encoder: Encoder | None) -> Opened:
        reader = store.open(reader_fingerprint(settings, encoder))
        return Opened(reader, HybridRetrieval(reader, settings.ranking, settings.lexical))

    def refresh(self) -> bool:
        """Load the live version if it is newer than the one in use; True when it swapped."""
        with self._refresh_lock:
            live = self.store.live_version()
            if live is None or live == self.version:
                return False
            try:
                self._opened = self._load(self.store, self.settings, self._encoder)
            except IndexUnavailable as error:  # keep answering from the version in use
                log.warning("kept index version %s: %s", self.version, error)
                return False
            return True

    @property
    def version(self) -> str:
        return self._opened.reader.version

    @property
    def manifest(self) -> Manifest:
        """The manifest of the version in use: built_at, documents, segments."""
        return self._opened.reader.manifest

    def documents(self) -> list[Document]:
        """Every indexed document, sorted by id."""
        return self._opened.reader.documents()

    def document(self, doc_id: str) -> Document:
        """The indexed document `doc_id` (title, clean text); `KeyError` if there is none."""
        return self._opened.reader.document(doc_id)

    def search(self, question: str, k: int = 5, scope: Collection[str] | None = None) -> list[Passage]:
        """The `k` best passages for `question`, best first (only from the documents in `scope`,
        when given: document ids, or folders such as 'reports/')."""
        question, k = self._check(question), check_k(k)
        opened = self._opened
        retrieval = opened.retrieval
        scope = check_scope(scope, opened.reader.manifest.documents)
        with self._turns:
            return retrieval.passages(retrieval.candidates(self._query(retrieval, question), scope), k)

    def answer(self, question: str, history: Sequence[Turn] = (), k: int = 5,
               scope: Collection[str] | None = None) -> Answer:
        """The extractive answer to `question`, with the `k` best passages behind it.

        `history` holds the conversation's earlier turns, oldest first: each a
        question as asked or a (question, answer text) pair. A follow-up ("Where
        did he go after the talks?") is read in their light, and
        `Answer.resolved` says how it was read. With `scope` (document ids, or
        folders such as 'reports/'), only those documents are searched: the
        scope applies when candidates are gathered, not to a top-k afterwards.
        """
        question, k, history = self._check(question), check_k(k), check_history(history)
        with self._turns:
            return self._answer(question, history, k, scope)

    def _answer(self, question: str, history: Sequence[Turn], k: int, scope: Collection[str] | None) -> Answer:
        """`answer`, its turn come: threads that answer side by side contend for the interpreter
        and the cores, and each takes longer than the queue would have made it wait."""
        opened = self._opened  # one version for the whole query
        scope = check_scope(scope, opened.reader.manifest.documents)
        resolved = resolve(question, list(history), partial(rarity_of_words, opened.reader, self.settings),
                           self.settings.answering)
        resolved = resolved[:self.settings.answering.max_question_chars]
        retrieval = opened.retrieval
        asked, query = self._read(retrieval, resolved, answered_before(question, resolved, history,
                                                                      self.settings.answering),
                                  own_words(question, resolved))
        candidates = retrieval.candidates(query, scope)
        answer = answering.pick_answer(asked, candidates, opened.reader.document_at,
                                       retrieval.passages(candidates, k), self.settings.answering)
        return replace(answer, resolved=resolved)

    def considered(self, question: str) -> tuple[Asked, Candidates, Reader]:
        """What `answer` weighs for a (resolved) question: how it was read, its candidates and
        the reader they come from (for benchmarks that fit the answer models)."""
        question = self._check(question)
        opened = self._opened
        asked, query = self._read(opened.retrieval, question)
        return asked, opened.retrieval.candidates(query), opened.reader

    def _check(self, question: str) -> str:
        return check_question(question, self.settings.answering)

    def _query(self, retrieval: HybridRetrieval, question: str) -> Query:
        return retrieval.query(question, self._vector(question))

    def _vector(self, question: str) -> np.ndarray:
        return embedding.embed(self._encoder, [question])[0]

    def _read(self, retrieval: HybridRetrieval, question: str, answered: Sequence[str] = (),
              own: Sequence[str] | None = None) -> tuple[Asked, Query]:
        """How the question is read (`answered`, `own`: a follow-up's earlier answers and own words),
        and its query. The encoder embeds it in another thread while spaCy parses it in this one:
        ONNX Runtime lets go of the interpreter, spaCy holds it, so the two overlap (bench.squad's
        answer() p50: see the README)."""
        vector = self._embedder.submit(self._vector, question)
        parse = self._analyser.parse(question)
        query = retrieval.query(question, vector.result())
        return questions.read(question, parse, query.spelled_out, answered, own, self.settings.lexical), query
