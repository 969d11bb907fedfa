"""Asking within a scope: only the chosen documents or folders are searched, and the scope
applies when candidates are gathered, so a scoped question finds its answer even when other
documents dominate. Stand-in models: the test is about retrieval's scope, not the models."""

from __future__ import annotations

import pytest
from fast_encoder import WordAnalyser, WordHashEncoder

from qa import QuestionError, Retriever, build_index

QUESTION = "How much will the new pier cost?"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory) -> Retriever:
    seeds = tmp_path_factory.mktemp("scoped-seeds")
    (seeds / "news").mkdir()
    for n in range(40):  # forty near-copies that outrank anything else for the question
        (seeds / "news" / f"pier-{n:02d}.txt").write_text(
            f"The new pier will cost ${n + 10} million, the harbour board said on day {n}.\n")
    (seeds / "archive").mkdir()
    (seeds / "archive" / "minutes.txt").write_text(
        "Minutes of the harbour board.\nThe board discussed the budget of the marina and its moorings.\n"
        "An engineer priced the pier at $3 million in 1990.\n")
    (seeds / "notes.txt").write_text("A note about the weather at the harbour.\n")
    index = tmp_path_factory.mktemp("scoped-index")
    build_index(seeds, index, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    return Retriever.open(index, encoder=WordHashEncoder(), analyser=WordAnalyser())


def test_without_a_scope_the_dominant_documents_fill_the_top(retriever):
    assert all(p.doc_id.startswith("news/") for p in retriever.search(QUESTION, k=10))


@pytest.mark.parametrize("scope", [["archive/"], ["archive"], ["archive/minutes.txt"], "archive/minutes.txt"])
def test_a_scoped_question_is_answered_from_the_scope_alone(retriever, scope):
    passages = retriever.search(QUESTION, k=10, scope=scope)
    assert passages and {p.doc_id for p in passages} == {"archive/minutes.txt"}
    assert "$3 million" in passages[0].text
    answer = retriever.answer(QUESTION, scope=scope)
    assert {p.doc_id for p in answer.passages} == {"archive/minutes.txt"}
    assert not answer.found or answer.doc_id == "archive/minutes.txt"


def test_several_entries_widen_the_scope(retriever):
    found = {p.doc_id for p in retriever.search("harbour", k=10, scope=["archive/", "notes.txt"])}
    assert found == {"archive/minutes.txt", "notes.txt"}


@pytest.mark.parametrize("scope", [None, [], ["", "  "]])
def test_an_empty_scope_is_no_scope(retriever, scope):
    assert all(p.doc_id.startswith("news/") for p in retriever.search(QUESTION, k=10, scope=scope))


@pytest.mark.parametrize("scope", [["archiv"], ["news/pier-99.txt"], ["/"], ["../"]])
def test_a_scope_that_names_nothing_is_refused_with_the_entry(retriever, scope):
    with pytest.raises(QuestionError, match="names no indexed document or folder"):
        retriever.answer(QUESTION, scope=scope)
