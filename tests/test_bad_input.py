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
    ("=" * 2000, "a run of 2000 punctuation marks; the limit is 100"),
    ("What is " + "(?" * 60 + "?", "a run of 121 punctuation marks; the limit is 100"),
])
def test_a_question_that_cannot_be_read_is_refused_with_the_reason(retriever, question, message):
    for ask in (retriever.answer, retriever.search):
        with pytest.raises(QuestionError, match=message):
            ask(question)


def test_punctuation_as_questions_write_it_is_accepted():
    assert check_question("Who said “mutual political will”?!...") == "Who said “mutual political will”?!..."
    assert check_question("What is " + "-" * 99 + "?") == "What is " + "-" * 99 + "?"  # a run of 100


@pytest.mark.parametrize("history", [None, [], [QUESTION], [(QUESTION, None)], [[QUESTION, "Ann Lee"]],
                                     ((QUESTION, "Ann Lee"),)])
def test_a_history_of_questions_or_pairs_is_read(retriever, history):
    assert retriever.answer("When did she sign it?", history=history).resolved.startswith("When did she sign it?")


@pytest.mark.parametrize("history, message", [
    (QUESTION, "the history must be a list of earlier turns"),
    (7, "the history must be a list of earlier turns, .* not int"),
    ([None], "turn 1 of the history is None"),
    ([QUESTION, (None, "x")], r"turn 2 of the history is \(None, 'x'\)"),
    ([(QUESTION,)], "turn 1 of the history is"),
    ([(QUESTION, "Ann Lee", "extra")], "turn 1 of the history is"),
    ([(QUESTION, "Ann \udc00 Lee")], r"turn 1 of the history holds a code point that is no character \(U\+DC00"),
])
def test_a_history_of_another_shape_is_refused_with_the_turn(retriever, history, message):
    with pytest.raises(QuestionError, match=message):
        retriever.answer("When did she sign it?", history=history)


@pytest.mark.parametrize("scope", [[1], 5, [None], ["harbour.txt", None]])
def test_a_scope_that_is_not_text_is_refused(retriever, scope):
    with pytest.raises(QuestionError, match="it must be a list of document ids or folders"):
        retriever.search(QUESTION, scope=scope)


@pytest.mark.parametrize("k", [True, False, 0, -1, 2.5, "5", None])
def test_k_must_be_a_whole_number_of_passages(retriever, k):
    with pytest.raises(QuestionError, match="k must be a whole number of passages"):
        retriever.search(QUESTION, k=k)
