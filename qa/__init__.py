"""qa: extractive question answering over a folder of source texts."""

from qa.answering import Answer
from qa.build import BuildStats, build_index
from qa.errors import BuildLocked, IndexUnavailable, QAError, QuestionError, SeedsNotFound, SourceError
from qa.retrieval import Passage
from qa.retriever import Retriever
from qa.settings import Settings
from qa.sources import Document

__all__ = ["Answer", "BuildLocked", "BuildStats", "Document", "IndexUnavailable", "Passage", "QAError",
           "QuestionError", "Retriever", "SeedsNotFound", "Settings", "SourceError", "build_index"]
