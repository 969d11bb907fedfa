"""Answering rules without the model: question types and the spans each type picks."""

from __future__ import annotations

import pytest

from qa.answering import candidate_spans, question_type, ranked_spans


@pytest.mark.parametrize("question, kind", [
    ("What percentage of voters agreed?", "percent"),
    ("How much did the repairs cost?", "money"),
    ("How big is the EU loan?", "money"),
    ("How many civilians were taken?", "count"),
    ("When did EU leaders agree on the loan?", "date"),
    ("In what year was the bridge built?", "date"),
    ("Who is the Kremlin spokesman?", "person"),
    ("Which official announced it?", "person"),
    ("Where did the envoys meet?", "place"),
    ("Which village was occupied?", "place"),
    ("What does Kyiv insist on?", ""),
])
def test_the_question_type_names_what_the_answer_must_be(question, kind):
    assert question_type(question) == kind


@pytest.mark.parametrize("kind, sentence, question, expected", [
    ("money", "The loan of €90 billion ($106 billion) is interest-free.", "How big is the loan?",
     "€90 billion ($106 billion)"),
    ("money", "The repairs cost 12 million dollars in all.", "How much did the repairs cost?", "12 million dollars"),
    ("count", "About 50 civilians were taken on 3 May.", "How many civilians were taken?", "About 50"),
    ("percent", "Turnout rose to 61.5% this year.", "What percentage turned out?", "61.5%"),
    ("date", "Leaders agreed on December 19, 2025, to lend.", "When did leaders agree?", "December 19, 2025"),
    ("person", "Kremlin spokesman Dmitry Peskov said so.", "Who is the Kremlin spokesman?", "Dmitry Peskov"),
    ("place", "The envoys met in Miami on Saturday.", "Where did the envoys meet?", "Miami"),
])
def test_the_first_ranked_span_is_the_minimal_answer(kind, sentence, question, expected):
    start, end, _ = ranked_spans(kind, sentence, question)[0]
    assert sentence[start:end] == expected


def test_a_count_never_picks_a_number_inside_a_date():
    spans = candidate_spans("count", "On 3 May 2024, 40 ships arrived.", "How many ships arrived?")
    assert [("On 3 May 2024, 40 ships arrived."[a:b]) for a, b in spans] == ["40"]


def test_a_person_is_two_capitalised_words_not_a_nationality_or_acronym():
    sentence = "Russian and US officials met Kirill Dmitriev."
    spans = candidate_spans("person", sentence, "Who did the officials meet?")
    assert [sentence[a:b] for a, b in spans] == ["Kirill Dmitriev"]


def test_the_span_nearest_the_question_words_comes_first():
    sentence = "Paris hosted the summit, while the treaty was signed in Vienna."
    start, end, _ = ranked_spans("place", sentence, "Where was the treaty signed?")[0]
    assert sentence[start:end] == "Vienna"


def test_no_candidate_means_no_span():
    assert ranked_spans("money", "Nothing here costs anything.", "How much?") == []
