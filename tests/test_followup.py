"""Follow-up questions borrow the previous turn's rare words, and its answer, only when they need them."""

from dataclasses import replace

from qa.followup import answered_before, own_words, resolve
from qa.settings import DEFAULT

MIAMI = "Where did the US and Russian envoys meet?"
RARITY = {"us": 0.3, "russian": 0.4, "envoys": 0.7, "meet": 0.75, "miami": 0.8, "kremlin": 0.65,
          "spokesman": 0.8, "ceasefire": 0.8, "kirill": 0.9, "dmitriev": 0.9, "envoy": 0.65, "russia": 0.35}


def weigh(words):
    return [RARITY.get(word.lower(), 0.0) for word in words]


def test_a_first_question_is_left_as_asked():
    assert resolve("  Who is the Kremlin spokesman? ", [], weigh) == "Who is the Kremlin spokesman?"


def test_a_question_that_stands_alone_is_not_changed():
    assert resolve("Who is the Kremlin spokesman?", [MIAMI], weigh) == "Who is the Kremlin spokesman?"


def test_a_referring_word_borrows_the_previous_answer_first_then_rare_words_of_the_question():
    resolved = resolve("Where did he go after the talks?", [("Who is Kirill Dmitriev?", "the Russian envoy")], weigh)
    assert resolved == "Where did he go after the talks? (envoy Kirill Dmitriev)"


def test_common_words_are_not_carried():
    assert resolve("Who represented the US?", [(MIAMI, "Miami")], weigh) == "Who represented the US? (envoys meet)"
    assert resolve("Who represented them there?", [(MIAMI, "Miami")], weigh) == \
        "Who represented them there? (Miami envoys meet)"


def test_an_elliptical_or_short_question_borrows_the_previous_topic():
    assert resolve("When?", [MIAMI], weigh) == "When? (envoys meet)"
    assert resolve("And the Kremlin spokesman?", [MIAMI], weigh) == "And the Kremlin spokesman? (envoys meet)"


def test_a_chain_of_follow_ups_keeps_its_topic():
    resolved = resolve("When was that?", [MIAMI, "Who represented Russia there?"], weigh)
    assert resolved == "When was that? (envoys meet)"  # "represented" is not in the sources


def test_without_weights_every_word_of_the_previous_question_counts():
    assert resolve("When?", ["Did they tell us about the ceasefire?"]) == "When? (ceasefire)"


def test_a_follow_up_knows_what_earlier_turns_answered_and_a_question_on_its_own_does_not():
    history = [("Who confirmed that about 50 civilians had been forcibly removed?", "The Ukrainian rights ombudsman")]
    resolved = resolve("Who were they mostly?", history)  # every word counts
    assert answered_before("Who were they mostly?", resolved, history) == ["Ukrainian", "rights", "ombudsman"]
    standalone = "Which official confirmed the forced removal of civilians?"  # on its own: may answer the same
    assert answered_before(standalone, resolve(standalone, history), history) == []


def test_a_follow_up_keeps_its_own_words_apart_from_those_it_borrowed():
    history = [("Who was Russia's negotiator in Miami?", "Kirill Dmitriev")]
    question = "Where was he due to go afterwards?"
    resolved = resolve(question, history, weigh)
    assert resolved != question
    assert own_words(question, resolved) == ["due", "go", "afterwards"]
    assert own_words("Between which dates?", "Between which dates? (officials)") == []  # the noun asked for
    standalone = "Where did the US and Russian envoys meet?"
    assert own_words(standalone, resolve(standalone, history, weigh)) is None


def test_a_range_answered_before_is_one_word_as_the_parse_reads_it():
    # "10–20" was two words, so "10–20 years" was not seen as said before and was answered again
    history = [("For how long could Ukraine's NATO membership be put off?", "10–20 years")]
    resolved = resolve("In exchange for what?", history)
    assert answered_before("In exchange for what?", resolved, history) == ["10–20", "years"]


def test_only_the_last_max_history_turns_count_and_none_at_zero():
    history = [(MIAMI, "Miami"), "Who is the Kremlin spokesman?"]
    settings = DEFAULT.answering
    assert resolve("When?", history, weigh, replace(settings, max_history=1)) == "When? (Kremlin spokesman)"
    assert resolve("When?", history[:1], weigh, replace(settings, max_history=0)) == "When?"
    assert answered_before("When?", "When? (Miami)", history[:1], replace(settings, max_history=0)) == []
