"""The Retriever: the one object that Python users, the CLI and the web app query."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

from qa import answering, embedding, index
from qa.answering import Answer
from qa.retrieval import HybridSearch, Passage, Ranking
from qa.sources import Document

MAX_QUESTION_CHARS = 2000
log = logging.getLogger(__name__)


class QuestionError(ValueError):
    """A question that cannot be asked: empty, too long, or asking for no passages."""


def check_question(question: str) -> str:
    """The question stripped; `QuestionError` when it is empty or longer than MAX_QUESTION_CHARS."""
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty: type a question about the sources")
    question = question.strip()
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is {len(question)} characters long; "
                            f"the limit is {MAX_QUESTION_CHARS}")
    return question


def check_k(k: int) -> int:
    if not isinstance(k, int) or k < 1:
        raise QuestionError(f"k must be a whole number of passages, 1 or more (got {k!r})")
    return k


class Retriever:
    """Searches and answers over one index folder.

    Opened once, it is safe to query from several threads. `refresh()` swaps in
    a newer index version; queries already running finish on the old one.
    """

    def __init__(self, index_dir: Path, search: HybridSearch):
        self.index_dir = index_dir
        self._search = search
        self._refresh_lock = threading.Lock()

    @classmethod
    def open(cls, index_dir: str | Path = "index") -> "Retriever":
        """Load the index in `index_dir` and the model; `IndexUnavailable` if it cannot be used."""
        index_dir = Path(index_dir)
        expected = {"format_version": index.FORMAT_VERSION, "model": embedding.MODEL_NAME,
                    "dimension": embedding.DIMENSION}
        search = HybridSearch(index.load_index(index_dir, expected))
        embedding.load_encoder()
        return cls(index_dir, search)

    def refresh(self) -> bool:
        """Load the live version if it is newer than the one in use; True when it swapped."""
        with self._refresh_lock:
            live = index.current_version(self.index_dir)
            if live is None or live.name == self.version:
                return False
            try:
                fresh = Retriever.open(self.index_dir)
            except index.IndexUnavailable as error:  # keep answering from the version in use
                log.warning("kept index version %s: %s", self.version, error)
                return False
            self._search = fresh._search
            return True

    @property
    def version(self) -> str:
        return self._search.data.version

    @property
    def manifest(self) -> dict:
        """The manifest of the version in use: built_at, counts, documents' sha256."""
        return self._search.data.manifest

    def documents(self) -> list[Document]:
        """Every indexed document, sorted by id."""
        return list(self._search.data.documents)

    def document(self, doc_id: str) -> Document:
        """The indexed document `doc_id` (title, clean text); `KeyError` if there is none."""
        search = self._search
        number = search.document_numbers.get(doc_id)
        if number is None:
            raise KeyError(f"no document {doc_id!r} in the index")
        return search.data.documents[number]

    def search(self, question: str, k: int = 5) -> list[Passage]:
        """The `k` best passages for `question`, best first."""
        return self._ranked(question, k)[2]

    def answer(self, question: str, k: int = 5) -> Answer:
        """The extractive answer to `question`, with the `k` best passages behind it."""
        question = check_question(question)
        search, ranking, passages = self._ranked(question, k)
        return answering.pick_answer(question, search, ranking, passages)

    def _ranked(self, question: str, k: int) -> tuple[HybridSearch, Ranking, list[Passage]]:
        """One index version (held for the whole query), its ranking and top `k` passages."""
        question, k = check_question(question), check_k(k)
        search = self._search
        ranking = search.rank(question, embedding.embed_query(question))
        return search, ranking, [search.passage(c, s) for c, s in zip(ranking.chunks[:k], ranking.scores[:k])]
