"""Questions: what a question asks for, read from its words and its parse.

`kind_of` maps the question's form to a kind and the entity labels that
answer it, first preferred: "who" -> PERSON, then ORG and NORP; "which
minister" -> PERSON alone; "which village" -> GPE, LOC; "how much" -> MONEY,
QUANTITY; "how did" -> no entity at all; and so on (the table is `KINDS`).
`read` adds what answering needs from the parse: the question's content words
as BM25 stems, its named entities, the dependency role of its wh-word, and
whether it asks for one thing or several.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from qa import language
from qa.lexical import stemmer, tokenize
from qa.settings import DEFAULT, LexicalSettings

ORGANISATION_NOUNS = (r"organi[sz]ation|unit|group|company|body|agency|institution|bank|party|team|"
                      r"newspaper|alliance|bloc|firm|outlet|ministry|department|union|court|council|"
                      r"university|school|club|corporation|network|channel|committee|government")
PLACE_NOUNS = (r"city|country|countries|place|region|state|town|village|location|county|river|area|"
               r"continent|nation|capital|province|district|island|territory|border|port|site|settlement")
PERSON_NOUNS = (r"person|people|man|woman|men|women|leader|official|envoy|spokes\w*|president|minister|"
                r"politician|diplomat|negotiator|representative|general|commander|author|king|queen|"
                r"americans|russians|ukrainians|europeans")
PERSON_NOUN = re.compile(PERSON_NOUNS)
# a side is a place, people or body (entity ids) describing a person: "the Russian envoy", "Russia's Kirill Dmitriev"
SIDE_LABELS = frozenset(language.ENTITY[label] for label in ("GPE", "NORP", "ORG"))
SIDE_DEPENDENCIES = frozenset(language.DEPENDENCY[d] for d in ("poss", "compound", "amod", "nmod"))
# the stage of something a question or a sentence names: "the plan initially had 28 points, later 19"
STAGE_WORDS = {"early": "first initially initial originally original earlier previously previous begin began begun "
                        "start started",
               "late": "later subsequently subsequent refined revised revision amended updated finally final "
                       "eventually now currently"}
TIME_NOUNS = r"year|date|day|month|decade|century|time|week|season|era|period"
# (kind, pattern over the lower-cased question, entity labels first preferred); first match wins
KINDS: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = [
    ("percent", re.compile(r"\b(?:what|which) (?:percent|percentage|share|proportion|fraction|portion)\b"
                           r"|\bhow much of\b"), ("PERCENT", "CARDINAL")),
    ("duration", re.compile(r"\bhow long\b(?! ago)|\bfor how many (?:years|months|weeks|days)\b"),
     ("DATE", "TIME")),
    ("money", re.compile(r"\bhow (?:much|big|large)\b|\bwhat (?:amount|sum)\b|\bhow much money\b"
                         r"|\bwhat (?:is|was|were|are) the (?:cost|price|value|size|amount|worth)\b"
                         r"|\bworth\b"), ("MONEY", "QUANTITY", "CARDINAL")),
    ("count", re.compile(r"\bhow (?:many|often)\b|\bwhat number\b|\bnumber of\b"),
     ("CARDINAL", "QUANTITY")),
    ("date", re.compile(rf"\bwhen\b|\b(?:what|which|in what) (?:{TIME_NOUNS})s?\b|\bhow long ago\b"
                        r"|\bsince when\b"), ("DATE", "TIME")),
    ("nationality", re.compile(r"\b(?:what|which) (?:nationality|nationalities|ethnicity)\b"), ("NORP",)),
    # "What is Steve Witkoff's title?", "What position does Miller play?": what someone is, not a name
    ("role", re.compile(r"\b(?:what|which) (?:\w+ )?(?:position|role|job|post|rank)s?\b"
                        r"|\b(?:what|which) title\b(?! of)|'s (?:title|role|job|position)\b"
                        r"|\bwhat (?:is|was) (?:the|his|her|their) (?:position|role|job|title)\b(?! of)"), ()),
    ("organisation", re.compile(rf"\b(?:what|which) (?:\w+ )?(?:{ORGANISATION_NOUNS})s?\b"), ("ORG",)),
    ("place", re.compile(rf"\bwhere\b|\b(?:what|which|in what) (?:\w+ )?(?:{PLACE_NOUNS})\b"),
     ("GPE", "LOC", "FAC")),
    # "Which minister...?" asks for a person; "Who...?" may be answered by a body or a people too
    ("person", re.compile(rf"^(?!.*\bwho).*\b(?:which|what) (?:\w+ )?(?:{PERSON_NOUNS})\b"), ("PERSON",)),
    ("person", re.compile(r"\bwho(?:m|se)?\b"), ("PERSON", "ORG", "NORP")),
    ("language", re.compile(r"\b(?:what|which) languages?\b"), ("LANGUAGE",)),
    ("event", re.compile(r"\b(?:what|which) (?:event|war|battle|conference|summit)s?\b"), ("EVENT",)),
    ("law", re.compile(r"\b(?:what|which) (?:law|treaty|act|agreement|accord)s?\b"), ("LAW",)),
    # "How did Paris react?" asks for a way or a manner: no label answers it, and a name, number or
    # date is a miss of the asked kind (answering.typed_miss)
    ("manner", re.compile(r"^\W*(?:and |so |but )?how (?:did|does|do|was|were|is|are|has|have|had|will|would|"
                          r"can|could|should|might|may)\b"), ()),
]
# "Who is Kirill Dmitriev?" asks what a named one is: a description answers it, another name does not
# (its capitalised words each once: "(?:[A-Z]\w*\s?)+" could split "AAAA…" every way, in time exponential in its length)
DEFINITION = re.compile(r"^(?!.*['’]s\b)\W*(?:[Ww]ho|[Ww]hat) (?:is|was|are|were) (?:the )?"
                        r"[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*\W*$")
CONTENT_POS = frozenset(language.PART_OF_SPEECH[p] for p in ("", "NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV", "X"))
LIGHT_VERBS = frozenset("be is are was were been being do does did done have has had 's".split())
WH_WORDS = frozenset("who whom whose what which when where why how".split())
KIND_WORDS = frozenset("kind kinds type types sort sorts form forms".split())
SEVERAL = re.compile(r"\b(?:who|what|which) (?:are|were|have|had)\b|\bwhich \w+s\b|\bwho (?!is\b|was\b|'s\b)"
                     r"|\bname (?:the|all)\b|\bwhat \w+s (?:did|do|have|were|are)\b")
# "..., according to the Kremlin?", "..., per the Clash Report?": who says it, not what is said
SOURCE = re.compile(r"\b[Aa]ccording to\s+(?:the\s+)?([^,?.;]+)|\bper\s+(?:the\s+)?([A-Z][^,?.;]*)")
ONE = re.compile(r"\b(?:who|what|which)(?: \w+)? (?:is|was|'s)\b|\bwhich (?:\w+ )?(?!\w+s\b)\w+\b(?= (?:did|was|is))")


@dataclass(frozen=True)
class Asked:
    """What a question asks for: its kind and entity labels ('' and () for any other question),
    its content stems, its named entities, its wh-word's role, whether it wants several and the
    noun its "what/which" asks for."""

    text: str
    kind: str
    labels: tuple[str, ...]
    stems: frozenset[str]
    names: frozenset[str]         # name_key of its capitalised words: Russian meets Russia
    bigrams: frozenset[tuple[str, str]]
    entities: tuple[str, ...]
    entity_terms: tuple[tuple[str, ...], ...]   # each entity's BM25 terms; () where `checkable` says no
    wh_role: str
    several: bool
    wh_noun: str = ""             # stem of the noun a "what/which" determines: "borders" of "What borders"
    phrases: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (acronym stem, stems of its phrase): eu, (european, union)
    answered: frozenset[str] = frozenset()  # a follow-up's: stems and name keys of earlier turns' answers
    side: frozenset[str] = frozenset()  # "Who was the Russian envoy?": side_key of the place or people asked for
    own: frozenset[str] = frozenset()  # a follow-up's: stems of its own words (`followup.own_words`)
    bases: frozenset[str] = frozenset()  # `base_stems` of its content words: "began" as begin
    source: frozenset[str] = frozenset()  # stems of who it says the answer comes from: "according to the Kremlin"
    stage: str = ""  # "early" or "late": the stage of something it asks about ("at first", "the revised plan")
    terms: tuple[tuple[str, str], ...] = ()  # (stem, its BM25 term) of each content word: the index may stem otherwise


def normalised(question: str) -> str:
    """The question in lower case, with straight apostrophes and single spaces, as `KINDS` reads it."""
    return " ".join(question.lower().replace("’", "'").split())


def kind_of(question: str) -> tuple[str, tuple[str, ...]]:
    """The kind of thing `question` asks for and the entity labels that answer it, best first."""
    if DEFINITION.match(question):
        return "definition", ()
    lowered = normalised(question)
    for kind, pattern, labels in KINDS:
        if pattern.search(lowered):
            return kind, labels
    return "", ()


def wants_several(question: str) -> bool:
    """Whether the question asks for several things ("Which Americans...", "Who represented...")."""
    lowered = normalised(question)
    return bool(SEVERAL.search(lowered)) and not ONE.search(lowered)


def stems_of(words: list[str]) -> list[str]:
    """Lower-cased English Snowball stems of `words`: answering's rules and word lists are English.
    (BM25's terms follow `LexicalSettings`; `Asked.terms` maps a question's stems to them.)"""
    return stemmer(DEFAULT.lexical.stemmer).stemWords([w.lower() for w in words])


STAGE_STEMS = {stage: frozenset(stems_of(words.split())) for stage, words in STAGE_WORDS.items()}


def read(question: str, tokens: np.ndarray, spelled_out: dict[str, str] | None = None,
         answered: Sequence[str] = (), own: Sequence[str] | None = None,
         lexical: LexicalSettings = DEFAULT.lexical) -> Asked:
    """The `Asked` of a question from its text, its TOKEN rows (offsets into `question`), the
    phrases its acronyms stand for in the sources (`Query.spelled_out`) and, for a follow-up,
    the words of earlier turns' answers (`followup.answered_before`) and its own words
    (`followup.own_words`: None for a question that stands on its own); `lexical` tokenizes as the
    index's BM25 does.
    Its content words are those the parse tags as nouns, verbs, adjectives, numbers or adverbs
    (or leaves untagged), but not wh-words or forms of be, do and have."""
    kind, labels = kind_of(question)
    words = language.words_in(question, tokens, 0)
    content = [w for w, pos in zip(words, tokens["pos"].tolist(), strict=True)
               if w[:1].isalnum() and pos in CONTENT_POS and w.lower() not in WH_WORDS | LIGHT_VERBS]
    found = entity_spans(tokens)
    entities = tuple(question[int(a):int(b)] for a, b, _ in found)
    wh_role = next((language.DEPENDENCIES[int(t["dep"])] for t, w in zip(tokens, words, strict=True)
                    if w.lower() in WH_WORDS), "")
    wh_noun = noun_asked(tokens, words)
    stems = stems_of(content)
    names = frozenset(key for key in map(name_key, content[1:] if content[:1] == words[:1] else content) if key)
    entity_terms = tuple(() if not checkable(text, label) else tuple(terms)
                         for text, (_, _, label), terms in zip(entities, found, tokenize(list(entities), lexical),
                                                               strict=True))
    terms = tuple((stem, found_terms[0] if len(found_terms) == 1 else stem)
                  for stem, found_terms in zip(stems, tokenize(content, lexical), strict=True))
    return Asked(question, kind, labels, frozenset(stems), names, frozenset(zip(stems, stems[1:], strict=False)),
                 entities, entity_terms, wh_role, wants_several(question), wh_noun,
                 tuple((stems_of([acronym])[0], tuple(stems_of(phrase.split())))
                       for acronym, phrase in (spelled_out or {}).items()),
                 frozenset(stems_of(list(answered))) | {key for key in map(name_key, answered) if key},
                 side_asked(kind, tokens, words), frozenset(stems_of(list(own or ()))),
                 frozenset(base_stems(content, stems)), source_asked(question),
                 stage_asked(stems if own is None else stems_of(list(own))), terms)


def stage_asked(stems: Sequence[str]) -> str:
    """The stage a question asks about, from its own words ("How many points did the plan have at
    first?": early; "And the revised version?": late), or '' for none or both."""
    stages = {stage for stem in stems for stage, words in STAGE_STEMS.items() if stem in words}
    return stages.pop() if len(stages) == 1 else ""


def source_asked(question: str) -> frozenset[str]:
    """The stems of the source a question names ("according to the Kremlin" -> kremlin): the
    answer is what the source says, and a span that names the source is no answer to it."""
    return frozenset(stem for match in SOURCE.finditer(question) for stem in stems_of((match[1] or match[2]).split()))


def side_asked(kind: str, tokens: np.ndarray, words: list[str]) -> frozenset[str]:
    """For a question that asks for a person, the side (`side_key`) of a place, people or body
    that describes the person asked for: Russia of "Who was the Russian envoy?" or "Which Russian
    official...?" (not of "Whom did the Russian envoy brief?"). No answer is of another side."""
    wh = next((n for n, w in enumerate(words) if w.lower() in WH_WORDS), None)
    if kind != "person" or wh is None:
        return frozenset()
    heads = language.heads_of(tokens)

    def asked_for(noun: int) -> bool:  # the wh-word's noun, or what "who is/was" equates it with
        return heads[wh] == noun or heads[wh] == heads[noun] and words[heads[noun]].lower() in LIGHT_VERBS

    return frozenset(side_key(words[n]) for n, t in enumerate(tokens)
                     if int(t["entity"]) in SIDE_LABELS and int(t["dep"]) in SIDE_DEPENDENCIES
                     and PERSON_NOUN.fullmatch(words[heads[n]].lower()) and asked_for(heads[n]))


def side_key(word: str) -> str:
    """`name_key` of a word, or the word itself in lower case when it is shorter (US, EU, UK)."""
    return name_key(word) or re.sub(r"['’]s$", "", word).replace(".", "").lower()


def base_stems(words: list[str], stems: list[str]) -> list[str]:
    """The `stems` of `words`, but for an irregular verb form the stem of its base form ("began" ->
    begin, "went" -> go; `language.irregular_forms`). Answering places a question's words in a
    sentence by these, while what a sentence covers of the question still counts the stems."""
    forms = language.irregular_forms()
    return [stems_of([forms[word.lower()]])[0] if word.lower() in forms else stem
            for word, stem in zip(words, stems, strict=True)]


def as_asked(stems: list[str], phrases: tuple[tuple[str, tuple[str, ...]], ...]) -> list[str]:
    """`stems` with each run that spells out one of the question's acronyms read as the acronym:
    "European Union" in a sentence then matches the question's "EU"."""
    found = list(stems)
    for acronym, phrase in phrases:
        for n in range(len(stems) - len(phrase) + 1):
            if tuple(stems[n:n + len(phrase)]) == phrase:
                found[n:n + len(phrase)] = [acronym] * len(phrase)
    return found


def noun_asked(tokens: np.ndarray, words: list[str]) -> str:
    """The stem of the noun a "what/which" determines ("borders" of "What borders", "talks" of
    "What kind of talks"), or ''. Where the parse misses the determiner ("In which city" read as
    "in which" + "city"), the nouns right after the wh-word stand in: the last of them, their head."""
    heads = language.heads_of(tokens)
    deps = [language.DEPENDENCIES[int(t["dep"])] for t in tokens]
    parts = [language.PARTS_OF_SPEECH[int(t["pos"])] for t in tokens]
    wh = next((n for n, w in enumerate(words) if w.lower() in ("what", "which")), None)
    if wh is None:
        return ""
    noun: int | None = heads[wh] if deps[wh] == "det" else None
    if noun is None:
        run = wh + 1
        while run < len(words) and parts[run] in ("ADJ", "PROPN", "NOUN"):
            run += 1
        noun = next((n for n in range(run - 1, wh, -1) if parts[n] == "NOUN"), None)
    if noun is None:
        return ""
    if words[noun].lower() in KIND_WORDS:  # "kind of talks": the talks
        of = next((n for n in range(len(words)) if heads[n] == noun and deps[n] == "prep"), None)
        noun = next((n for n in range(len(words)) if of is not None and heads[n] == of and deps[n] == "pobj"), noun)
    return stems_of([words[noun]])[0]


CHECKED_LABELS = frozenset({"PERSON", "GPE", "LOC", "ORG", "NORP", "FAC", "EVENT", "WORK_OF_ART", "LAW", "PRODUCT",
                            "LANGUAGE", "DATE"})


def checkable(text: str, label: str) -> bool:
    """Whether the sources' silence about an entity of the question says they cannot answer it:
    for names and dates, not for bare numbers ("first", "3"), which the sources may write
    otherwise, nor for an acronym (IMF), which they may spell out."""
    return label in CHECKED_LABELS and not (text.isupper() and len(text) <= 6)


def name_key(word: str) -> str:
    """For a capitalised word of five letters or more, its first five in lower case ('' for any
    other word): a country and its people's name share it (Russia, Russian; Europe, European)."""
    return word[:5].lower() if len(word) >= 5 and word[0].isupper() else ""


def entity_spans(tokens: np.ndarray) -> list[tuple[int, int, str]]:
    """(start, end, label) of each named entity in TOKEN rows, as offsets."""
    found = []
    begins = np.flatnonzero(tokens["entity_begins"])
    for n, first in enumerate(begins.tolist()):
        stop = first + 1
        limit = int(begins[n + 1]) if n + 1 < len(begins) else len(tokens)
        while stop < limit and tokens["entity"][stop] == tokens["entity"][first]:
            stop += 1
        found.append((int(tokens["start"][first]), int(tokens["end"][stop - 1]),
                      language.ENTITY_LABELS[int(tokens["entity"][first])]))
    return found
