"""qa: extractive question answering over a folder of source texts."""

from qa.answering import Answer
from qa.build import BuildLocked, BuildStats, build_index
from qa.index import IndexUnavailable
from qa.retrieval import Passage
from qa.retriever import QuestionError, Retriever
from qa.sources import Document

__all__ = ["Answer", "BuildLocked", "BuildStats", "Document", "IndexUnavailable", "Passage",
           "QuestionError", "Retriever", "build_index"]
