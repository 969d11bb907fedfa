"""Bad input to the Python API gets a `QuestionError` that says what is wrong, never an error from
deep inside: questions that are not text, hold no character or punctuation the tokenizer would
choke on; histories, scopes and k of the wrong shape. Stand-in models: the checks come first."""

from __future__ import annotations

import pytest
from fast_encoder import WordAnalyser, WordHashEncoder

from qa import QuestionError, Retriever, build_index
from qa.retriever import check_question

QUESTION = "Who signed the harbour report?"


@pytest.fixture(scope="module")
def retriever(tmp_path_factory) -> Retriever:
    seeds = tmp_path_factory.mktemp("seeds")
    (seeds / "harbour.txt").write_text("The harbour report.\nThe harbour report was signed by Ann Lee in May.\n")
    index = tmp_path_factory.mktemp("index")
    build_index(seeds, index, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    return Retriever.open(index, encoder=WordHashEncoder(), analyser=WordAnalyser())


@pytest.mark.parametrize("question, message", [
    (None, "the question must be text, not NoneType"),
    (42, "the question must be text, not int"),
    (b"Who signed it?", "the question must be text, not bytes"),
    ("Who is \ud800?", r"no character \(U\+D800, a lone surrogate\) at position 7"),
    ("=" * 2000, "a word of 2000 characters without a space; the limit is 200"),
    ("What is " + "=_" * 101 + "?", "a word of 203 characters without a space; the limit is 200"),
])
def test_a_question_that_cannot_be_read_is_refused_with_the_reason(retriever, question, message):
    for ask in (retriever.answer, retriever.search):
        with pytest.raises(QuestionError, match=message):
            ask(question)


def test_punctuation_emoji_and_links_as_questions_hold_them_are_accepted():
    for question in ("Who said “mutual political will”?!...", "What is " + "-" * 120 + "?",
                     "Why? " + "😀" * 101, "What does https://example.org/reports/2025/q4?page=2&lang=en say?"):
        assert check_question(question) == question


@pytest.mark.parametrize("history, resolved", [
    (None, "When did she sign it?"), ([], "When did she sign it?"),
    ([QUESTION], "When did she sign it? (signed)"), ([(QUESTION, None)], "When did she sign it? (signed)"),
    ([[QUESTION, "Ann Lee"]], "When did she sign it? (Ann Lee signed)"),
    (((QUESTION, "Ann Lee"),), "When did she sign it? (Ann Lee signed)"),
    ((turn for turn in [(QUESTION, "Ann Lee")]), "When did she sign it? (Ann Lee signed)"),
])
def test_a_history_of_questions_or_pairs_is_read(retriever, history, resolved):
    assert retriever.answer("When did she sign it?", history=history).resolved == resolved


def test_a_follow_up_borrows_no_word_too_long_to_parse_in_time(retriever):
    """spaCy's tokenizer is quadratic in a long word it splits at many marks ("’" 1,000 times):
    an earlier answer's such word is not carried into the follow-up."""
    history = [(QUESTION, "Ann" + "’" * 1990 + " Lee")]
    assert retriever.answer("When did she sign it?", history=history).resolved == "When did she sign it? (Lee signed)"


@pytest.mark.parametrize("history, message", [
    (QUESTION, "the history must be a list of earlier turns"),
    (7, "the history must be a list of earlier turns, .* not int"),
    ([None], "turn 1 of the history is None"),
    ([QUESTION, (None, "x")], r"turn 2 of the history is \(None, 'x'\)"),
    ([(QUESTION,)], "turn 1 of the history is"),
    ([(QUESTION, "Ann Lee", "extra")], "turn 1 of the history is"),
    ([(QUESTION, "Ann \udc00 Lee")], r"turn 1 of the history holds a code point that is no character \(U\+DC00"),
    ({"question": QUESTION, "answer": "Ann Lee"}, "the history must be a list of earlier turns, .* not dict"),
])
def test_a_history_of_another_shape_is_refused_with_the_turn(retriever, history, message):
    with pytest.raises(QuestionError, match=message):
        retriever.answer("When did she sign it?", history=history)


@pytest.mark.parametrize("scope, entry", [([1], "1"), (5, "5"), ([None], "None"), (["harbour.txt", None], "None")])
def test_a_scope_that_is_not_text_is_refused_with_the_entry(retriever, scope, entry):
    with pytest.raises(QuestionError, match=f"the scope entry {entry} is not text"):
        retriever.search(QUESTION, scope=scope)


@pytest.mark.parametrize("k", [True, False, 0, -1, 2.5, "5", None])
def test_k_must_be_a_whole_number_of_passages(retriever, k):
    with pytest.raises(QuestionError, match="k must be a whole number of passages"):
        retriever.search(QUESTION, k=k)
