"""Follow-up questions are resolved against the previous question, and only when they need it."""

from qa.followup import resolve

MIAMI = "Where did the US and Russian envoys meet?"


def test_a_first_question_is_left_as_asked():
    assert resolve("  Who is the Kremlin spokesman? ", []) == "Who is the Kremlin spokesman?"


def test_a_question_that_stands_alone_is_not_changed():
    assert resolve("Who is the Kremlin spokesman?", [MIAMI]) == "Who is the Kremlin spokesman?"


def test_there_brings_in_the_names_of_the_previous_question():
    assert resolve("Who represented Russia there?", [MIAMI]) == "Who represented Russia there? (US Russian)"


def test_a_short_question_brings_in_every_topic_word_of_the_previous_one():
    assert resolve("When?", [MIAMI]) == "When? (US Russian envoys meet)"
    assert resolve("What did he say?", ["Who is the Kremlin spokesman?"]) == "What did he say? (Kremlin spokesman)"


def test_a_chain_of_follow_ups_keeps_its_topic():
    resolved = resolve("When was that?", [MIAMI, "Who represented Russia there?"])
    assert resolved == "When was that? (represented Russia US Russian)"


def test_words_already_in_the_question_are_not_repeated():
    assert resolve("When did the envoys meet there?", [MIAMI]) == "When did the envoys meet there? (US Russian)"


def test_the_word_us_counts_only_as_an_acronym():
    assert resolve("When?", ["Did they tell us about the ceasefire?"]) == "When? (ceasefire)"
