"""The Retriever: the one object that Python users, the CLI and the web app query."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

from qa import answering, embedding, language, lexical, questions
from qa.answering import Answer
from qa.candidates import Candidates
from qa.embedding import Encoder
from qa.errors import IndexUnavailable, QuestionError
from qa.followup import Turn, resolve
from qa.language import Analyser
from qa.questions import Asked
from qa.retrieval import HybridRetrieval, Passage
from qa.settings import DEFAULT, Settings
from qa.sources import Document
from qa.store import FileStore, Reader, Store
from qa.store.manifest import Manifest, reader_fingerprint

log = logging.getLogger(__name__)


def check_question(question: str, max_chars: int = DEFAULT.answering.max_question_chars) -> str:
    """The question stripped; `QuestionError` when it is empty or longer than `max_chars`."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty: type a question about the sources")
    question = question.strip()
    if len(question) > max_chars:
        raise QuestionError(f"the question is {len(question)} characters long; the limit is {max_chars}")
    return question


def check_k(k: int) -> int:
    if not isinstance(k, int) or k < 1:
        raise QuestionError(f"k must be a whole number of passages, 1 or more (got {k!r})")
    return k


def rarity_of_words(reader: Reader, settings: Settings, words: list[str]) -> list[float]:
    """Each word's BM25 IDF in the sources (its rarest stem) as a share of the highest IDF a
    word can have there; 0 for a word they never use."""
    tokens = lexical.tokenize(words, settings.lexical)
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

    @classmethod
    def open(cls, index_dir: str | Path = "index", settings: Settings = DEFAULT,
             encoder: Encoder | None = None, analyser: Analyser | None = None) -> Retriever:
        """Load the index in `index_dir` and the models; `IndexUnavailable` if it cannot be used."""
        store = FileStore(index_dir, settings)
        opened = cls._load(store, settings, encoder)
        return cls(store, opened, encoder or embedding.load_encoder(settings.embedding),
                   analyser or language.load_analyser(settings.language.batch_size), settings)

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

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The `k` best passages for `question`, best first."""
        question, k = self._check(question), check_k(k)
        opened = self._opened
        retrieval = opened.retrieval
        return retrieval.passages(retrieval.candidates(self._query(retrieval, question)), k)

    def answer(self, question: str, history: Sequence[Turn] = (), k: int = 5) -> Answer:
        """The extractive answer to `question`, with the `k` best passages behind it.

        `history` holds the conversation's earlier turns, oldest first: each a
        question as asked or a (question, answer text) pair. A follow-up ("Where
        did he go after the talks?") is read in their light, and
        `Answer.resolved` says how it was read.
        """
        question, k = self._check(question), check_k(k)
        opened = self._opened  # one version for the whole query
        resolved = resolve(question, list(history), partial(rarity_of_words, opened.reader, self.settings),
                           self.settings.answering)
        resolved = resolved[:self.settings.answering.max_question_chars]
        retrieval = opened.retrieval
        candidates = retrieval.candidates(self._query(retrieval, resolved))
        asked = questions.read(resolved, self._analyser.parse(resolved))
        answer = answering.pick_answer(asked, candidates, opened.reader.document_at,
                                       retrieval.passages(candidates, k), self.settings.answering)
        return replace(answer, resolved=resolved)

    def considered(self, question: str) -> tuple[Asked, Candidates, Reader]:
        """What `answer` weighs for a (resolved) question: how it was read, its candidates and
        the reader they come from (for benchmarks that fit the answer models)."""
        question = self._check(question)
        opened = self._opened
        candidates = opened.retrieval.candidates(self._query(opened.retrieval, question))
        return questions.read(question, self._analyser.parse(question)), candidates, opened.reader

    def _check(self, question: str) -> str:
        return check_question(question, self.settings.answering.max_question_chars)

    def _query(self, retrieval: HybridRetrieval, question: str):
        return retrieval.query(question, embedding.embed(self._encoder, [question])[0])
