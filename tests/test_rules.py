"""Model-free tables: what a question asks for, and how candidate spans are found and widened."""

import dataclasses

import numpy as np
import pytest

from qa import language, rows
from qa.answering import (
    SPAN_FEATURES,
    Model,
    Sentence,
    Span,
    ancestors,
    cannot_answer,
    choose,
    is_country,
    place_clash,
    quotes,
    rarity,
    said_before,
    same_value,
    side_of,
    spans_in,
    stage_of,
    table,
    titles,
    tree_distance,
    unmentioned,
    widen,
)
from qa.questions import (
    Asked,
    as_asked,
    base_stems,
    checkable,
    kind_of,
    read,
    side_asked,
    side_key,
    source_asked,
    stage_asked,
    stems_of,
    wants_several,
)
from qa.settings import DEFAULT


@pytest.mark.parametrize("question, kind, first_label", [
    ("How big is the EU loan?", "money", "MONEY"),
    ("How much money did the EU agree to lend Ukraine?", "money", "MONEY"),
    ("Which country did the EU fail to agree with?", "place", "GPE"),
    ("Which nearby village did the military deny had been occupied?", "place", "GPE"),
    ("Who was the Russian envoy?", "person", "PERSON"),
    ("Which Americans took part in the talks?", "person", "PERSON"),
    ("When did Macron and Putin last speak directly?", "date", "DATE"),
    ("In what year did the war start?", "date", "DATE"),
    ("How many civilians were taken?", "count", "CARDINAL"),
    ("How long could NATO membership be delayed?", "duration", "DATE"),
    ("What share of the gap does the loan cover?", "percent", "PERCENT"),
    ("Which organisation estimated the need?", "organisation", "ORG"),
    ("Which military unit denied it?", "organisation", "ORG"),
    ("What nationality was the envoy?", "nationality", "NORP"),
    ("Where did the envoys meet?", "place", "GPE"),
    ("What did the Kremlin reject?", "", None),
    ("Why is the process fragile?", "", None),
    ("How did Paris react to the remark?", "manner", None),   # a way: no entity answers it
    ("So how did the EU fund the loan instead?", "manner", None),
    ("How old was the envoy?", "", None),                     # "how" with an adjective is no manner
    ("Who is Kirill Dmitriev?", "definition", None),          # what a named one is: a description
    ("What is NATO?", "definition", None),
    ("What is the Clash Report?", "definition", None),
    ("Who is Kirill  Dmitriev ?", "definition", None),
    # a run of capitals is read once: the pattern used to try every split of it (2^40 here, for ever)
    ("Who is " + "A" * 40 + "?x", "person", "PERSON"),
    ("Who is the Kremlin spokesman?", "person", "PERSON"),    # a person described: the name answers
    ("Who was Guy's Rival?", "person", "PERSON"),             # another person, named through Guy
    ("What is Steve Witkoff's title?", "role", None),         # what someone is: no name answers it
    ("What position does Von Miller play?", "role", None),
    ("What is the position Derek Wolfe plays?", "role", None),
    ("What was the title of the film?", "", None),            # a title of a work is a name
])
def test_the_question_form_names_the_kind_and_entity_labels(question, kind, first_label):
    found, labels = kind_of(question)
    assert found == kind
    assert (labels[0] if labels else None) == first_label


@pytest.mark.parametrize("question, several", [
    ("Which Americans took part in the talks?", True),
    ("Who represented the US?", True),
    ("Who were the envoys?", True),
    ("Who was the Russian envoy?", False),
    ("Who is the Kremlin spokesman?", False),
    ("Which country did the EU fail to agree with?", False),
])
def test_a_question_asks_for_one_thing_or_several(question, several):
    assert wants_several(question) == several


def tokens(text: str, tags: list[tuple[str, str, str, int]], start: int = 0) -> np.ndarray:
    """TOKEN rows for `text` split on spaces: per word (entity label or '', 'B'/'I'/'' noun chunk,
    part of speech, head offset)."""
    words = text.split(" ")
    table = np.zeros(len(words), dtype=rows.TOKEN)
    at = start
    for n, (word, (entity, phrase, pos, head)) in enumerate(zip(words, tags, strict=True)):
        table[n]["start"], table[n]["end"] = at, at + len(word)
        at += len(word) + 1
        table[n]["entity"] = language.ENTITY[entity]
        table[n]["entity_begins"] = bool(entity) and (n == 0 or tags[n - 1][0] != entity or phrase == "B")
        table[n]["phrase"] = {"B": 1, "I": 2, "": 0}[phrase]
        table[n]["pos"] = language.PART_OF_SPEECH[pos]
        table[n]["head"] = head
    return table


WITKOFF = "Steve Witkoff and Jared Kushner met Kirill Dmitriev"
WITKOFF_TAGS = [("PERSON", "B", "PROPN", 1), ("PERSON", "I", "PROPN", 4), ("", "", "CCONJ", -1),
                ("PERSON", "B", "PROPN", 1), ("PERSON", "I", "PROPN", -3), ("", "", "VERB", 0),
                ("PERSON", "B", "PROPN", 1), ("PERSON", "I", "PROPN", -2)]


def test_an_irregular_verb_form_is_placed_by_its_base_form_and_a_base_form_is_left_alone():
    words = ["began", "Meetings", "went", "left", "won"]
    assert base_stems(words, stems_of(words)) == ["begin", "meet", "go", "left", "won"]  # "left" may be a place


def test_which_person_noun_asks_for_a_person_while_who_may_be_a_body_or_a_people():
    assert kind_of("Which Ukrainian minister said a solution is needed?")[1] == ("PERSON",)
    assert kind_of("Which official confirmed it?")[1] == ("PERSON",)
    assert kind_of("Who first raised the allegations?")[1] == ("PERSON", "ORG", "NORP")
    assert kind_of("Who was the Russian envoy?")[1] == ("PERSON", "ORG", "NORP")


def sentence_of(text, tags, start=100):
    table = tokens(text, tags, start)
    return Sentence(0, text, start, table, 0, text.lower().split(" "), np.zeros(len(table), dtype=bool))


def asked(question: str, several: bool) -> Asked:
    kind, labels = kind_of(question)
    return Asked(question, kind, labels, frozenset(), frozenset(), frozenset(), (), (), "", several)


@pytest.mark.parametrize("question, source", [
    ("What does Putin require before he will talk, according to the Kremlin?", {"kremlin"}),
    ("What was Moscow's verdict, per the Clash Report?", {"clash", "report"}),
    ("According to the ombudsman, how many were taken?", {"ombudsman"}),
    ("How many yards per carry did he average?", set()),   # a rate, not a source
    ("What does the Kremlin require?", set()),
])
def test_a_question_names_its_source_after_according_to_or_per(question, source):
    assert source_asked(question) == frozenset(stems_of(sorted(source)))


@pytest.mark.parametrize("question, label, excluded", [
    ("Who were they mostly?", "DATE", True),        # a date never answers "who"
    ("Who designed the trophy?", "CARDINAL", True),
    ("Where were they taken?", "QUANTITY", True),
    ("Who were they mostly?", "NP", False),         # "elderly residents" may
    ("Who were they mostly?", "GPE", False),        # a name of another kind is only a miss
    ("When did it start?", "DATE", False),
    ("What did they discuss?", "CARDINAL", False),  # no kind asked: anything may answer
])
def test_a_number_or_date_is_no_answer_where_only_a_name_can_answer(question, label, excluded):
    assert cannot_answer(asked(question, False), Span(0, 0, 1, label)) == excluded


def test_entities_and_noun_phrases_are_candidates_and_so_is_the_whole_sentence():
    sentence = sentence_of(WITKOFF, WITKOFF_TAGS)
    found = [(WITKOFF[s.first and int(sentence.tokens[s.first]["start"]) - 100:
                      int(sentence.tokens[s.stop - 1]["end"]) - 100], s.label) for s in spans_in(sentence)]
    assert found == [("Steve Witkoff", "PERSON"), ("Jared Kushner", "PERSON"), ("Kirill Dmitriev", "PERSON"),
                     (WITKOFF, "SENTENCE")]


def test_a_noun_phrase_cut_inside_a_hyphenated_word_is_widened_to_the_whole_word():
    text = "The revised counter-plan called for halting"
    tags = [("", "B", "DET", 2), ("", "I", "ADJ", 1), ("", "I", "NOUN", 3), ("", "B", "PUNCT", -1),
            ("", "B", "NOUN", -2), ("", "", "VERB", 0), ("", "", "ADP", -1), ("", "B", "NOUN", -1)]
    sentence = sentence_of("The revised counter - plan called for halting", tags)  # the parse splits the word
    for row, (start, end) in zip(sentence.tokens, [(0, 3), (4, 11), (12, 19), (19, 20), (20, 24), (25, 31),
                                                   (32, 35), (36, 43)], strict=True):
        row["start"], row["end"] = 100 + start, 100 + end  # as written: no spaces around the hyphen
    sentence = Sentence(0, text, 100, sentence.tokens, 0, sentence.stems, sentence.matched)
    phrases = [text[int(sentence.tokens[s.first]["start"]) - 100:int(sentence.tokens[s.stop - 1]["end"]) - 100]
               for s in spans_in(sentence) if s.label == "NP"]
    assert phrases == ["The revised counter-plan", "counter-plan", "halting"]  # not "counter", nor "-" alone


def test_a_question_for_several_takes_the_coordinated_names_and_one_for_one_does_not():
    sentence = sentence_of(WITKOFF, WITKOFF_TAGS)
    span = Span(0, 0, 2, "PERSON")
    start, end = widen(asked("Which Americans took part?", True), sentence, span, 100, 113)
    assert WITKOFF[start - 100:end - 100] == "Steve Witkoff and Jared Kushner"
    assert widen(asked("Who was the US envoy?", False), sentence, span, 100, 113) == (100, 113)
    dmitriev = Span(0, 6, 8, "PERSON")  # "met" is not a link: Dmitriev stays alone
    start, end = widen(asked("Which Russians took part?", True), sentence, dmitriev, 136, 151)
    assert WITKOFF[start - 100:end - 100] == "Kirill Dmitriev"


def test_a_nationality_asked_who_takes_the_people_it_describes():
    text = "Ukrainian human rights monitors raised the allegations"
    sentence = sentence_of(text, [("NORP", "B", "ADJ", 3), ("", "I", "ADJ", 1), ("", "I", "NOUN", 1),
                                  ("", "I", "NOUN", 1), ("", "", "VERB", 0), ("", "B", "DET", 1),
                                  ("", "I", "NOUN", -2)])
    norp = Span(0, 0, 1, "NORP")
    start, end = widen(asked("Who first raised the allegations?", False), sentence, norp, 100, 109)
    assert text[start - 100:end - 100] == "Ukrainian human rights monitors"
    assert widen(asked("What nationality were the monitors?", False), sentence, norp, 100, 109) == (100, 109)
    alone = sentence_of("Ukrainian officials and Russians met", [
        ("NORP", "B", "ADJ", 1), ("", "I", "NOUN", 3), ("", "", "CCONJ", -1), ("NORP", "B", "PROPN", -2),
        ("", "", "VERB", 0)])
    russians = Span(0, 3, 4, "NORP")  # a noun phrase of its own: nothing to take
    assert widen(asked("Who met?", False), alone, russians, 124, 132) == (124, 132)


def test_a_follow_up_takes_no_span_made_only_of_what_earlier_turns_answered():
    text = "The Ukrainian rights ombudsman said primarily elderly residents were taken"
    sentence = sentence_of(text, [("", "B", "DET", 3), ("NORP", "I", "ADJ", 2), ("", "I", "NOUN", 1),
                                  ("", "I", "NOUN", 1), ("", "", "VERB", 0), ("", "", "ADV", 2),
                                  ("", "B", "ADJ", 1), ("", "I", "NOUN", 2), ("", "", "AUX", 1), ("", "", "VERB", -5)])
    follow_up = dataclasses.replace(asked("Who were they mostly?", False),
                                    answered=frozenset({"ukrainian", "rights", "ombudsman", "ukrai"}))
    assert said_before(follow_up, sentence, 0, 4)        # "The Ukrainian rights ombudsman": answered already
    assert not said_before(follow_up, sentence, 5, 8)    # "primarily elderly residents"
    assert not said_before(follow_up, sentence, 0, 10)   # the whole sentence says more


def test_a_place_asked_who_takes_the_people_it_describes_too():
    text = "US officials met them"  # spaCy reads some nationalities as places
    sentence = sentence_of(text, [("GPE", "B", "PROPN", 1), ("", "I", "NOUN", 1), ("", "", "VERB", 0),
                                  ("", "B", "PRON", -1)])
    place = Span(0, 0, 1, "GPE")
    start, end = widen(asked("Who met them?", False), sentence, place, 100, 102)
    assert text[start - 100:end - 100] == "US officials"
    assert widen(asked("Where were the officials from?", False), sentence, place, 100, 102) == (100, 102)


@pytest.mark.parametrize("name, country", [
    ("Belgium", True), ("the United States", True), ("U.S.", True), ("Russia", True),  # "Russian Federation"
    ("Miami", False), ("Moscow", False), ("Florida", False), ("Europe", False),
])
def test_a_place_name_is_a_country_by_iso_3166(name, country):
    assert is_country(name) == country


def test_a_country_is_no_answer_where_a_city_is_asked_for():
    city = dataclasses.replace(asked("In which city were the talks held?", False), wh_noun="citi")
    assert place_clash(city, "GPE", "the US") and not place_clash(city, "GPE", "Miami")
    land = dataclasses.replace(asked("Which country was the go-between?", False), wh_noun="countri")
    assert not place_clash(land, "GPE", "the US") and not place_clash(land, "GPE", "Miami")


def test_a_money_answer_takes_its_conversion_in_brackets():
    text = "The loan of €90 billion ($106 billion) was agreed"
    sentence = sentence_of(text, [("", "B", "DET", 1), ("", "I", "NOUN", 6), ("", "", "ADP", -1),
                                  ("MONEY", "B", "NUM", 1), ("MONEY", "I", "NUM", -3), ("", "", "PUNCT", -1),
                                  ("", "", "PUNCT", -2), ("", "", "AUX", 1), ("", "", "VERB", 0)])
    money = next(s for s in spans_in(sentence) if s.label == "MONEY")
    start, end = int(sentence.tokens[money.first]["start"]), int(sentence.tokens[money.stop - 1]["end"])
    assert text[start - 100:end - 100] == "€90 billion"
    start, end = widen(asked("How big is the loan?", False), sentence, money, start, end)
    assert text[start - 100:end - 100] == "€90 billion ($106 billion)"


def test_a_quoted_description_is_a_candidate_without_its_quotes_and_comma():
    text = "Peskov cited “ mutual political will , ” as the condition"
    sentence = sentence_of(text, [("PERSON", "B", "PROPN", 1), ("", "", "VERB", 0), ("", "", "PUNCT", 1),
                                  ("", "B", "ADJ", 2), ("", "I", "ADJ", 1), ("", "I", "NOUN", -4),
                                  ("", "", "PUNCT", -1), ("", "", "PUNCT", -2), ("", "", "ADP", -6),
                                  ("", "B", "DET", 1), ("", "I", "NOUN", -2)])
    assert quotes(sentence) == [(3, 6)]
    assert Span(0, 3, 6, "NP") in spans_in(sentence)  # the noun phrase is that stretch: listed once
    tags = [("", "", "PRON", 1), ("", "", "VERB", 0), ("", "", "PRON", -1), ("", "", "PUNCT", 1),
            ("", "", "ADJ", -3), ("", "", "PUNCT", -1), ("", "", "CCONJ", -5), ("", "", "VERB", -6)]
    straight = sentence_of('They called it " productive " and left', tags)
    assert quotes(straight) == [(4, 5)]
    assert Span(0, 4, 5, "PHRASE") in spans_in(straight)  # no entity, phrase or subtree: added for the quote
    assert quotes(sentence_of("They called it productive and left", [t for n, t in enumerate(tags)
                                                                      if n not in (3, 5)])) == []


def test_tree_distance_counts_the_edges_between_two_tokens():
    chains = ancestors(tokens(WITKOFF, WITKOFF_TAGS))
    assert tree_distance(chains, 1, 5) == 1      # Witkoff -> met
    assert tree_distance(chains, 0, 6) == 4      # Steve -> Witkoff -> met <- Dmitriev <- Kirill
    assert tree_distance(chains, 3, 3) == 0


@pytest.mark.parametrize("a, b, same", [
    ("€90 billion", "$106 billion", False),
    ("€90 billion ($106 billion)", "$106 billion", True),
    ("approximately €210 billion", "roughly $300 billion", False),
    ("July 2025", "july 2025", True),
    ("Belgium", "France", False),
])
def test_two_answers_agree_when_they_state_the_same_value(a, b, same):
    assert same_value(a, b) == same


def test_a_money_answer_that_is_the_conversion_takes_the_amount_before_it():
    text = "The loan of €90 billion ($106 billion) was agreed"
    sentence = sentence_of(text, [("", "B", "DET", 1), ("", "I", "NOUN", 6), ("", "", "ADP", -1),
                                  ("MONEY", "B", "NUM", 1), ("MONEY", "I", "NUM", -3),
                                  ("MONEY", "B", "NUM", -1), ("MONEY", "I", "NUM", -2), ("", "", "AUX", 1),
                                  ("", "", "VERB", 0)])
    start, end = text.index("$106") + 100, text.index(")") + 100
    conversion = Span(0, 5, 7, "MONEY")
    start, end = widen(asked("How big is the loan?", False), sentence, conversion, start, end)
    assert text[start - 100:end - 100] == "€90 billion ($106 billion)"


def test_a_question_about_something_the_sources_never_mention_is_not_theirs_to_answer():
    question = Asked("How much will Ukraine need in 2028?", "money", ("MONEY",), frozenset(), frozenset(),
                     frozenset(), ("Ukraine", "2028"), (("ukrain",), ("2028",)), "", False)
    assert unmentioned(question, {"ukrain": 1.2, "2027": 3.0}) == ["2028"]
    assert unmentioned(question, {"ukrain": 1.2, "2028": 3.0}) == []


@pytest.mark.parametrize("text, label, checked", [
    ("2028", "DATE", True), ("Marco Rubio", "PERSON", True), ("China", "GPE", True),
    ("first", "ORDINAL", False), ("11", "CARDINAL", False),
    ("IMF", "ORG", False),  # the sources may write "International Monetary Fund"
])
def test_only_names_dates_and_numbers_the_sources_would_have_to_spell_are_checked(text, label, checked):
    assert checkable(text, label) == checked


def test_a_sentence_that_spells_out_an_acronym_of_the_question_matches_it():
    phrases = (("eu", ("european", "union")),)
    assert as_asked(["the", "european", "union", "lend"], phrases) == ["the", "eu", "eu", "lend"]
    assert as_asked(["european", "partner"], phrases) == ["european", "partner"]  # the whole phrase or nothing
    assert as_asked(["union", "european"], phrases) == ["union", "european"]



def test_the_span_model_chooses_the_sentence_and_the_inside_model_the_span_in_it():
    spans = [Span(0, 0, 2, "PERSON"), Span(0, 3, 4, "NP"), Span(1, 9, 10, "NP")]
    features = table(SPAN_FEATURES, 3)
    features["sentence"] = [1.0, 1.0, 0.5]   # sentence 0 matches the question better
    features["entity"] = [1.0, 0.0, 0.0]
    features["wh_noun"] = [0.0, 1.0, 1.0]    # the spans headed by the noun asked for
    span_model = Model({"sentence": 2.0, "entity": 1.0, "wh_noun": 0.5}, 0.0)
    inside_model = Model({"sentence": 2.0, "entity": 0.1, "wh_noun": 3.0}, 0.0)
    choice = choose(spans, features, span_model, inside_model)
    assert choice.best == 0 and choice.runner_up == 2  # the span model's best pair, and another sentence's
    assert choice.pick == 1                            # inside sentence 0: the noun asked for, not span 2


def test_a_definition_takes_what_the_noun_phrase_calls_the_name_asked_about():
    text = "Kremlin spokesman Dmitry Peskov said Putin is ready"
    tags = [("ORG", "B", "PROPN", 1), ("", "I", "NOUN", 2), ("PERSON", "I", "PROPN", 1),
            ("PERSON", "I", "PROPN", 1), ("", "", "VERB", 0), ("PERSON", "B", "PROPN", 1),
            ("", "", "AUX", -2), ("", "", "ADJ", -1)]
    sentence = sentence_of(text, tags)
    sentence.matched[3] = True                        # "Who is Peskov?"
    found = [text[int(sentence.tokens[s.first]["start"]) - 100:int(sentence.tokens[s.stop - 1]["end"]) - 100]
             for s in titles(sentence)]
    assert found == ["Kremlin spokesman"]
    sentence.matched[:] = False
    sentence.matched[5] = True                        # "Who is Putin?": his noun phrase has no title
    assert titles(sentence) == []


def with_dependencies(table: np.ndarray, dependencies: list[str]) -> np.ndarray:
    table["dep"] = [language.DEPENDENCY[d] for d in dependencies]
    return table


@pytest.mark.parametrize("question, tags, dependencies, side", [
    ("Who was the Russian envoy ?", [("", "", "PRON", 1), ("", "", "AUX", 0), ("", "B", "DET", 2),
                                     ("NORP", "I", "ADJ", 1), ("", "I", "NOUN", -3), ("", "", "PUNCT", -4)],
     ["nsubj", "ROOT", "det", "amod", "attr", "punct"], {"russi"}),
    ("Which US official spoke ?", [("", "B", "DET", 2), ("GPE", "I", "PROPN", 1), ("", "I", "NOUN", 1),
                                   ("", "", "VERB", 0), ("", "", "PUNCT", -1)],
     ["det", "compound", "nsubj", "ROOT", "punct"], {"us"}),
    # the envoy is the one who briefs, not the one asked for
    ("Whom did the Russian envoy brief ?", [("", "", "PRON", 5), ("", "", "AUX", 4), ("", "B", "DET", 2),
                                            ("NORP", "I", "ADJ", 1), ("", "I", "NOUN", 1), ("", "", "VERB", 0),
                                            ("", "", "PUNCT", -1)],
     ["dobj", "aux", "det", "amod", "nsubj", "ROOT", "punct"], set()),
])
def test_a_person_asked_for_may_be_described_as_of_a_side(question, tags, dependencies, side):
    table = with_dependencies(tokens(question, tags), dependencies)
    assert side_asked(kind_of(question)[0], table, question.split(" ")) == side


def test_a_span_is_of_the_side_that_describes_it_or_one_of_its_heads():
    text = "Russia 's Kirill Dmitriev met the US side featuring Steve Witkoff"
    tags = [("GPE", "B", "PROPN", 3), ("", "I", "PART", -1), ("PERSON", "I", "PROPN", 1),
            ("PERSON", "I", "PROPN", 1), ("", "", "VERB", 0), ("", "B", "DET", 2), ("GPE", "I", "PROPN", 1),
            ("", "I", "NOUN", -3), ("", "", "VERB", -1), ("PERSON", "B", "PROPN", 1), ("PERSON", "I", "PROPN", -2)]
    dependencies = ["poss", "case", "compound", "nsubj", "ROOT", "det", "compound", "dobj", "acl", "compound",
                    "dobj"]
    sentence = sentence_of(text, tags)
    sentence.tokens["dep"] = [language.DEPENDENCY[d] for d in dependencies]
    chains = ancestors(sentence.tokens)
    assert side_of(sentence, chains, 2, 4) == side_key("Russia") == side_key("Russian")  # Kirill Dmitriev
    assert side_of(sentence, chains, 9, 11) == "us"                                      # Steve Witkoff
    assert side_of(sentence, chains, 4, 5) == ""                                         # "met": of no side


@pytest.mark.parametrize("words, stage", [
    (["points", "plan", "have", "first"], "early"),          # "How many points did the plan have at first?"
    (["points", "plan", "initially"], "early"),
    (["original", "framework"], "early"),
    (["refined", "version"], "late"),                        # "And the refined version?"
    (["points", "revised", "framework", "contain"], "late"),
    (["points", "originally", "revised"], ""),               # both: none
    (["points", "framework", "contain"], ""),
    (["city", "meetings", "begin"], "early"),                 # "Which city did the meetings begin in?"
    (["talks", "held", "now"], "late"),
])
def test_a_question_asks_about_a_stage_by_its_words(words, stage):
    assert stage_asked(stems_of(words)) == stage


def test_a_span_is_at_the_stage_of_the_nearest_head_a_stage_word_is_or_modifies():
    text = "a framework initially described as a 28 point plan , later refined to 19 points"
    tags = [("", "B", "DET", 1), ("", "I", "NOUN", 0), ("", "", "ADV", 1), ("", "", "VERB", -2), ("", "", "ADP", -1),
            ("", "B", "DET", 3), ("CARDINAL", "I", "NUM", 1), ("", "I", "NOUN", 1), ("", "I", "NOUN", -4),
            ("", "", "PUNCT", -8), ("", "", "ADV", 1), ("", "", "VERB", -10), ("", "", "ADP", -1),
            ("CARDINAL", "B", "NUM", 1), ("", "I", "NOUN", -2)]
    dependencies = ["det", "ROOT", "advmod", "acl", "prep", "det", "nummod", "compound", "pobj", "punct", "advmod",
                    "acl", "prep", "nummod", "pobj"]
    table = with_dependencies(tokens(text, tags), dependencies)
    sentence = Sentence(0, text, 0, table, 0, stems_of(text.split(" ")), np.zeros(len(table), dtype=bool))
    chains = ancestors(table)
    assert stage_of(sentence, chains, 6, 7) == "early"   # 28: "initially described as a 28 point plan"
    assert stage_of(sentence, chains, 13, 15) == "late"  # 19 points: "later refined to 19 points"
    assert stage_of(sentence, chains, 0, 2) == ""        # the framework itself


def test_a_question_weighs_its_words_by_the_terms_the_index_stems_them_to():
    """Answering stems English; an index built with another stemmer (Porter: generous -> gener)
    still gives each question word its IDF, and its named entities their terms."""
    porter = dataclasses.replace(DEFAULT.lexical, stemmer="porter")
    question = "Was Generous Holdings generous ?"
    table = tokens(question, [("", "", "AUX", 0), ("ORG", "B", "PROPN", 1), ("ORG", "I", "PROPN", -2),
                              ("", "", "ADJ", -3), ("", "", "PUNCT", -4)])
    asked = read(question, table, lexical=porter)
    assert dict(asked.terms)["generous"] == "gener"
    assert asked.entity_terms == (("gener", "hold"),)
    assert rarity(asked, {"gener": 2.5, "hold": 1.0})["generous"] == 2.5


@pytest.mark.parametrize("own, stage", [(None, "late"), ([], ""), (["refined"], "late")])
def test_a_follow_up_asks_about_the_stage_its_own_words_name_not_a_borrowed_one(own, stage):
    question = "And then ? ( revised framework )"  # "And then?", borrowing the words of a question before it
    table = tokens(question, [("", "", "CCONJ", 1), ("", "", "ADV", 0), ("", "", "PUNCT", -1), ("", "", "PUNCT", -2),
                              ("", "", "VERB", 1), ("", "I", "NOUN", -4), ("", "", "PUNCT", -5)])
    assert read(question, table, own=own).stage == stage
