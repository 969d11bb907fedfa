"""Answering: `Candidates` -> one span of one sentence, or a no-answer.

Candidate answers are the named entities, noun phrases, constituents and
quoted stretches (from the parse stored at build time) of the sentences of
the top chunks, and each whole sentence. Every (sentence, span) pair gets
named features (`SPAN_FEATURES`): how well the sentence, its chunk and its
section match the question; whether the span is of the kind the question
asks for; how near it sits to the question's words in the sentence, by
tokens and along the dependency tree; whether it repeats the question.
Linear models weigh them (`qa/weights.json`, fitted by `bench/learn.py` on
the public SQuAD slice, for a pair's token F1 with the gold answer): the
span model's best pair chooses the sentence, and the inside model chooses
the span within it (`choose`). A third gives `confidence`, the chance that
the answer is right, from the best pair's score, its margin over another
sentence's, the answer's features and how much of the question the sources
cover; below `min_confidence` the sources are taken not to say.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_left, bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path

import numpy as np
import pycountry

from qa import language
from qa.candidates import Candidates, SentenceHits
from qa.questions import (
    SIDE_DEPENDENCIES,
    SIDE_LABELS,
    STAGE_STEMS,
    Asked,
    as_asked,
    base_stems,
    name_key,
    side_key,
    stems_of,
)
from qa.retrieval import Passage, minmax
from qa.settings import DEFAULT, AnsweringSettings
from qa.sources import Document

WEIGHTS_FILE = Path(__file__).with_name("weights.json")
NAMED = frozenset({"PERSON", "GPE", "LOC", "ORG", "FAC", "NORP"})
NUMERIC = frozenset({"CARDINAL", "MONEY", "QUANTITY", "PERCENT"})
TEMPORAL = frozenset({"DATE", "TIME"})
MEASURES = NUMERIC | TEMPORAL | {"ORDINAL"}
SUBJECTS = frozenset({"nsubj", "nsubjpass", "csubj", "expl"})
OBJECTS = frozenset({"dobj", "pobj", "attr", "oprd", "dative", "appos"})
FRACTION = re.compile(r"\b(?:half|halves|thirds?|quarters?|fifths?|tenths?)\b", re.I)
AMOUNT = r"[$€£¥][\d.,]+(?:\s?(?:million|billion|trillion))?"
CONVERTED = re.compile(rf"{AMOUNT}\s?\((?:about |roughly |around |some )?$")
CONVERSION = re.compile(rf"\s?\((?:about |roughly |around |some )?{AMOUNT}\)")
SPAN_FEATURES = (  # what pair_features gives each (sentence, span) pair
    "sentence", "chunk", "cosine", "coverage", "weighted", "bigrams", "context", "rank", "window",  # the sentence
    "chunk_cosine", "chunk_lexical", "chunk_weighted", "chunk_rank",                              # its passage
    "type_first", "type_other", "type_group", "typed_miss", "typed_sentence",                     # the asked kind
    "entity", "phrase", "constituent", "whole", "overlap", "affiliation_match", "affiliation_clash",  # the span
    "quoted", "distance", "path", "head_match", "role_match", "wh_noun", "length")                # where it sits
CONFIDENCE_FEATURES = ("best", "margin", "entities") + SPAN_FEATURES
PRONOUN = language.PART_OF_SPEECH["PRON"]
PUNCTUATION = language.PART_OF_SPEECH["PUNCT"]
DETERMINER = language.PART_OF_SPEECH["DET"]
PERSON = language.ENTITY["PERSON"]
NOUNS = frozenset(language.PART_OF_SPEECH[p] for p in ("NOUN", "PROPN"))
STAGE_DEPENDENCIES = frozenset(language.DEPENDENCY[d] for d in ("advmod", "amod", "npadvmod"))
CONSTITUENTS = frozenset(language.DEPENDENCY[d] for d in ("dobj", "attr", "acomp", "xcomp", "ccomp", "oprd", "appos"))
MAX_CONSTITUENT = 15  # tokens
WINDOW = 5  # tokens each side of a span whose question words count as its context
TOWN_NOUNS = frozenset(stems_of(["city", "town", "village", "capital", "port"]))
QUOTE = re.compile(r'[“"]([^“”"]+)[”"]')
LINK = re.compile(r",\s|\s(?:and|&)\s|,\s(?:and|&)\s|\s?/\s?")
FUNCTION_POS = frozenset(language.PART_OF_SPEECH[p] for p in ("ADP", "DET", "PUNCT", "CCONJ", "PART", "SCONJ",
                                                              "AUX", "PRON", "SPACE"))


@dataclass(frozen=True, kw_only=True)
class Conflict:
    """An answer from another document that says something different."""

    text: str
    doc_id: str
    title: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int
    sentence: str
    page: str | None = None


@dataclass(frozen=True, kw_only=True)
class Answer:
    """An extractive answer: `text` is `document.text[start:end]` of document `doc_id`,
    inside the sentence `[sentence_start, sentence_end)`. `found` is false when the
    sources do not hold an answer; `confidence` is the chance it is right; `conflicts`
    are different answers of other documents; `passages` are the supporting (or
    closest) chunks; `resolved` is the question as answered; `page` is the label of
    the page the span is on (None for unpaged formats)."""

    found: bool
    text: str = ""
    doc_id: str | None = None
    title: str = ""
    start: int = 0
    end: int = 0
    sentence: str = ""
    sentence_start: int = 0
    sentence_end: int = 0
    evidence: float = 0.0
    confidence: float = 0.0
    question_type: str = ""
    conflicts: tuple[Conflict, ...] = ()
    passages: tuple[Passage, ...] = ()
    resolved: str = ""
    page: str | None = None


@dataclass(frozen=True)
class Span:
    """A candidate answer: token rows [first, stop) of the sentence at `position`, its label
    (an entity label, 'NP' for a noun phrase, 'PHRASE' for a constituent or quoted stretch,
    'SENTENCE' for the whole sentence)."""

    position: int
    first: int
    stop: int
    label: str

    @property
    def entity(self) -> bool:
        """Whether it is a named entity (a name, number or date), not a phrase or the sentence."""
        return self.label not in ("NP", "PHRASE", "SENTENCE")


@dataclass(frozen=True)
class Model:
    """A linear model over named features: `bias + sum(weights[name] * features[name])`."""

    weights: dict[str, float]
    bias: float

    def logit(self, table: np.ndarray) -> np.ndarray:
        total = np.full(len(table), self.bias, dtype=np.float64)
        for name, weight in self.weights.items():
            total += weight * table[name]
        return total

    def probability(self, table: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-self.logit(table)))


@dataclass(frozen=True)
class Models:
    """The answer models of `weights.json` (written by bench/learn.py): the span model weighs every
    pair of a question, and so chooses the sentence; the inside model weighs the spans of that
    sentence alone, where the sentence's own features are the same for all, and so chooses the
    span; the confidence model judges the answer they make."""

    span: Model
    inside: Model
    confidence: Model


@lru_cache(maxsize=1)
def load_models() -> Models:
    """The answer models from `weights.json`."""
    data = json.loads(WEIGHTS_FILE.read_text())
    return Models(*(Model(data[name]["weights"], data[name]["bias"]) for name in ("span", "inside", "confidence")))


@dataclass(frozen=True)
class Choice:
    """What the models make of a question's pairs: the span model's scores, best first (`order`),
    the best pair of another sentence than the best's (`runner_up`, or None) and the pair answered
    (`pick`): the inside model's best among the spans of the best pair's sentence."""

    scores: np.ndarray
    order: np.ndarray
    runner_up: int | None
    pick: int

    @property
    def best(self) -> int:
        return int(self.order[0])


def choose(spans: list[Span], features: np.ndarray, span_model: Model, inside_model: Model) -> Choice:
    """The sentence by the span model, then the span inside it by the inside model (at least one pair)."""
    scores = span_model.logit(features)
    order = np.argsort(-scores, kind="stable")
    position = spans[int(order[0])].position
    runner_up = next((int(n) for n in order[1:] if spans[int(n)].position != position), None)
    inside = np.flatnonzero([span.position == position for span in spans])
    pick = int(inside[int(np.argmax(inside_model.logit(features[inside])))])
    return Choice(scores, order, runner_up, pick)


def table(names: tuple[str, ...], size: int) -> np.ndarray:
    return np.zeros(size, dtype=[(name, np.float32) for name in names])


@dataclass
class Sentence:
    """One candidate sentence as answering reads it."""

    position: int
    text: str
    start: int                 # offset of the sentence in its document
    tokens: np.ndarray         # rows.TOKEN
    first: int                 # its first row in Candidates.sentences.token_rows
    stems: list[str]
    matched: np.ndarray        # per token: its stem is one of the question's

    @cached_property
    def words(self) -> list[str]:
        return language.words_in(self.text, self.tokens, self.start)


def spans_in(sentence: Sentence, chains: list[list[int]] | None = None,
             quoted: list[tuple[int, int]] | None = None) -> list[Span]:
    """The named entities, noun phrases and other constituents (the parse subtrees of objects,
    complements, clauses and prepositional phrases, `CONSTITUENTS`) of a sentence, each once
    (first as an entity, then as a noun phrase) and the stretches it quotes, then the whole sentence."""
    tokens, found, seen = sentence.tokens, [], set()
    for first, stop in runs(tokens["entity_begins"], tokens["entity"]):
        label = language.ENTITY_LABELS[int(tokens["entity"][first])]
        if label == "CARDINAL" and FRACTION.search(sentence.text[int(tokens["start"][first]) - sentence.start:
                                                                 int(tokens["end"][stop - 1]) - sentence.start]):
            label = "PERCENT"  # the model calls "two-thirds" a number; it is a share
        found.append(Span(sentence.position, sentence.first + first, sentence.first + stop, label))
        seen.add((first, stop))
    for first, stop in runs(tokens["phrase"] == 1, tokens["phrase"]):
        first, stop = whole_words(sentence, first, stop)
        if (first, stop) not in seen and not says_nothing(sentence, first, stop):
            found.append(Span(sentence.position, sentence.first + first, sentence.first + stop, "NP"))
            seen.add((first, stop))
    quoted = quoted if quoted is not None else quotes(sentence)
    for first, stop in subtrees(tokens, chains if chains is not None else ancestors(tokens)) + quoted:
        first, stop = whole_words(sentence, first, stop)
        if (first, stop) not in seen and stop - first < len(tokens):
            found.append(Span(sentence.position, sentence.first + first, sentence.first + stop, "PHRASE"))
            seen.add((first, stop))
    found.append(Span(sentence.position, sentence.first, sentence.first + len(tokens), "SENTENCE"))
    return found


def says_nothing(sentence: Sentence, first: int, stop: int) -> bool:
    """A lone pronoun or punctuation mark ("it", the "-" of a split "counter-plan"): no answer."""
    return stop - first == 1 and (int(sentence.tokens["pos"][first]) == PRONOUN
                                  or not any(map(str.isalnum, word(sentence, first))))


def whole_words(sentence: Sentence, first: int, stop: int) -> tuple[int, int]:
    """Tokens [first, stop) widened over the hyphens that join them to the words around them: the
    parse may cut "counter-plan" after "counter", and a reader is shown whole words."""
    tokens = sentence.tokens

    def joins(n: int) -> bool:  # token n is a hyphen with no space on either side
        return (0 < n < len(tokens) - 1 and word(sentence, n) == "-"
                and tokens["start"][n] == tokens["end"][n - 1] and tokens["end"][n] == tokens["start"][n + 1])

    while joins(first - 1):
        first -= 2
    while joins(stop):
        stop += 2
    return first, stop


def other_person(sentence: Sentence, first: int, stop: int) -> bool:
    """Whether tokens [first, stop) name a person the question did not ask about: no answer to
    "Who is Jared Kushner?" ("Special Envoy Steve Witkoff")."""
    named = (sentence.tokens["entity"][first:stop] == PERSON) & ~sentence.matched[first:stop]
    return bool(named.any())


def titles(sentence: Sentence) -> list[Span]:
    """What a noun phrase calls a name the question asks about, the words before it: "Kremlin
    spokesman" of "Kremlin spokesman Dmitry Peskov", for "Who is Peskov?" (with a noun among
    them; determiners and punctuation at the ends left out). Also what a role question is answered
    with: "Special Envoy" for "What is Steve Witkoff's title?"."""
    tokens, found = sentence.tokens, []
    parts = tokens["pos"].tolist()
    phrases = runs(tokens["phrase"] == 1, tokens["phrase"])
    for first, stop in runs(tokens["entity_begins"], tokens["entity"]):
        if not sentence.matched[first:stop].any():
            continue
        for start, end in phrases:
            if end == stop and start < first:
                while start < first and parts[start] in (DETERMINER, PUNCTUATION):
                    start += 1
                title = trimmed(parts, start, first)
                if title and any(parts[i] in NOUNS for i in range(*title)):
                    found.append(Span(sentence.position, sentence.first + title[0], sentence.first + title[1], "NP"))
    return found


def nearest(tokens: list[int], first: int, stop: int) -> int | None:
    """The one of `tokens` outside [first, stop) nearest to it, within WINDOW tokens (None if none).
    Used for the place, people or body a span is attributed to ("Russia's Kirill Dmitriev")."""
    outside = [(first - t if t < first else t - stop + 1, t) for t in tokens if not first <= t < stop]
    best = min(outside, default=None)
    return best[1] if best is not None and best[0] <= WINDOW else None


def subtrees(tokens: np.ndarray, chains: list[list[int]]) -> list[tuple[int, int]]:
    """[first, stop) of the subtree of each token whose dependency is in CONSTITUENTS (at most
    MAX_CONSTITUENT tokens, punctuation at its ends left out)."""
    left, right, parts = list(range(len(tokens))), list(range(len(tokens))), tokens["pos"].tolist()
    for token in sorted(range(len(chains)), key=lambda t: -len(chains[t])):  # the deepest first
        if len(chains[token]) > 1:
            head = chains[token][1]
            left[head], right[head] = min(left[head], left[token]), max(right[head], right[token])
    found = [trimmed(parts, left[i], right[i] + 1) for i, dep in enumerate(tokens["dep"].tolist())
             if dep in CONSTITUENTS]
    return [span for span in found if span]


def trimmed(parts: list[int], first: int, stop: int) -> tuple[int, int] | None:
    """Tokens [first, stop) without the punctuation at their ends, if some are left and at most
    MAX_CONSTITUENT (`parts`: the sentence's part-of-speech ids)."""
    while first < stop and parts[first] == PUNCTUATION:
        first += 1
    while stop > first and parts[stop - 1] == PUNCTUATION:
        stop -= 1
    return (first, stop) if 0 < stop - first <= MAX_CONSTITUENT else None


def quotes(sentence: Sentence) -> list[tuple[int, int]]:
    """[first, stop) of each stretch of at most MAX_CONSTITUENT tokens the sentence puts in double
    quotes, punctuation at its ends left out: a report quotes how someone described something."""
    starts = (sentence.tokens["start"] - sentence.start).tolist()
    ends = (sentence.tokens["end"] - sentence.start).tolist()
    parts = sentence.tokens["pos"].tolist()
    found = [trimmed(parts, bisect_left(starts, quote.start(1)), bisect_right(ends, quote.end(1)))
             for quote in QUOTE.finditer(sentence.text)]
    return [span for span in found if span]


@lru_cache(maxsize=1)
def country_names() -> tuple[frozenset[str], tuple[str, ...]]:
    """Every ISO 3166 country's names and codes, lower-cased, and its longer names alone."""
    names = {getattr(c, field).lower() for c in pycountry.countries
             for field in ("name", "official_name", "common_name", "alpha_2", "alpha_3") if hasattr(c, field)}
    return frozenset(names), tuple(name for name in names if len(name) > 3)


@lru_cache(maxsize=4096)
def is_country(text: str) -> bool:
    """Whether a place's name names a country: a name or code of ISO 3166 ("US", "U.S.", "the
    United States", "Belgium"), or the start of one ("Russia" of "Russian Federation")."""
    name = text.lower().removeprefix("the ").replace(".", "").strip()
    exact, long = country_names()
    return name in exact or (len(name) > 3 and any(n.startswith(name) for n in long))


def misses_kind(asked: Asked, sentence: Sentence, chains: list[list[int]], span: Span, text: str) -> bool:
    """Whether a span cannot be of the kind the question asks for: where labels are asked for,
    anything but an entity of one of them (a noun phrase, a phrase, the whole sentence); a country
    where a town is asked for; a name, number or date where a way ("How did Paris react?"), a
    definition ("Who is Dmitry Peskov?") or a role ("What is Steve Witkoff's title?") is; a span
    naming another person for a definition, or one the sentence puts on another side than the
    question's ("Who was the Russian envoy?"), or at another stage than the one asked about ("at
    first"), or the source the question names ("according to the Kremlin")."""
    first, stop = span.first - sentence.first, span.stop - sentence.first
    part = span.label != "SENTENCE"
    return (bool(asked.labels) and span.label not in asked.labels
            or place_clash(asked, span.label, text)
            or asked.kind in ("manner", "definition", "role") and span.entity
            or asked.kind == "definition" and part and other_person(sentence, first, stop)
            or bool(asked.side) and part and side_of(sentence, chains, first, stop) not in asked.side | {""}
            or bool(asked.source) and part and names_source(asked, sentence, first, stop)
            or bool(asked.stage) and part and stage_of(sentence, chains, first, stop) not in (asked.stage, ""))


def names_source(asked: Asked, sentence: Sentence, first: int, stop: int) -> bool:
    """Whether tokens [first, stop), or the noun phrase they are in, name the source the question
    gives: "Dmitry Peskov" of "Kremlin spokesman Dmitry Peskov", asked "..., according to the Kremlin?"."""
    for start, end in runs(sentence.tokens["phrase"] == 1, sentence.tokens["phrase"]):
        if start < stop and first < end:
            first, stop = min(first, start), max(stop, end)
    return any(stem in asked.source for stem in sentence.stems[first:stop])


def cannot_answer(asked: Asked, span: Span) -> bool:
    """A number or date where only a name can answer: "Who were they?" is never "December 20, 2025",
    and such a pick is no answer (on the SQuAD slice, 4 of 1,516 picks were such, none right). The
    pairs stay candidates: left out, they moved the refitted models' held-out hit@1 from 0.725 to 0.720."""
    return bool(asked.labels) and set(asked.labels) <= NAMED and span.label in MEASURES


def place_clash(asked: Asked, label: str, text: str) -> bool:
    """A country where a city, town or village is asked for. (The other way round is no clash:
    Wales and England are countries that ISO 3166 does not list.)"""
    return label == "GPE" and asked.wh_noun in TOWN_NOUNS and is_country(text)


def runs(begins: np.ndarray, inside: np.ndarray) -> list[tuple[int, int]]:
    """[first, stop) of each run that starts where `begins` and goes on while `inside` is non-zero."""
    found, starts, inside = [], begins.tolist(), inside.tolist()
    for first in np.flatnonzero(begins).tolist():
        stop = first + 1
        while stop < len(inside) and inside[stop] and not starts[stop]:
            stop += 1
        found.append((first, stop))
    return found


def side_of(sentence: Sentence, chains: list[list[int]], first: int, stop: int) -> str:
    """The side (`side_key`) a span is described as of: the nearest place, people or body that
    modifies it or one of its three nearest heads ("Russia's Kirill Dmitriev"; "the US side
    featuring Special Envoy Steve Witkoff"), or ''."""
    tokens = sentence.tokens
    for head in chains[span_root(chains, first, stop)][:4]:
        for n, chain in enumerate(chains):
            if (chain[1:2] == [head] and not first <= n < stop and int(tokens["entity"][n]) in SIDE_LABELS
                    and int(tokens["dep"][n]) in SIDE_DEPENDENCIES):
                return side_key(word(sentence, n))
    return ""


def stage_of(sentence: Sentence, chains: list[list[int]], first: int, stop: int) -> str:
    """The stage (`questions.STAGE_STEMS`) the sentence places a span at: that of the nearest of
    its heads that is a stage word or is modified by one ("initially described as a 28-point plan,
    later refined to 19 points": 28 early, 19 late), or ''."""
    for head in chains[span_root(chains, first, stop)]:
        for n in [head] + [n for n, chain in enumerate(chains) if chain[1:2] == [head] and int(
                sentence.tokens["dep"][n]) in STAGE_DEPENDENCIES]:
            stage = next((stage for stage, stems in STAGE_STEMS.items() if sentence.stems[n] in stems), "")
            if stage:
                return stage
    return ""


def word(sentence: Sentence, n: int) -> str:
    """The text of the sentence's token `n`."""
    return sentence.words[n]


def ancestors(tokens: np.ndarray) -> list[list[int]]:
    """For each token, itself and its heads up to the root of its sentence (rows within the sentence)."""
    size = len(tokens)
    heads = language.heads_of(tokens)
    chains: list[list[int]] = []
    for i in range(size):
        chain, at = [i], i
        while 0 <= heads[at] < size and heads[at] != at and len(chain) < 40:
            at = heads[at]
            chain.append(at)
        chains.append(chain)
    return chains


def tree_distance(chains: list[list[int]], a: int, b: int, depth_in_b: dict[int, int] | None = None) -> int:
    """Edges between tokens a and b in the dependency tree (their sentences' roots joined);
    `depth_in_b` is b's chain as {token: depth}, when the caller already has it."""
    if depth_in_b is None:
        depth_in_b = {token: depth for depth, token in enumerate(chains[b])}
    for depth, token in enumerate(chains[a]):
        if token in depth_in_b:
            return depth + depth_in_b[token]
    return len(chains[a]) + len(chains[b])


def span_root(chains: list[list[int]], first: int, stop: int) -> int:
    """The token of [first, stop) whose head lies outside it (the last one if several)."""
    for i in range(stop - 1, first - 1, -1):
        if len(chains[i]) == 1 or not first <= chains[i][1] < stop:
            return i
    return stop - 1


def rarity(asked: Asked, term_idf: dict[str, float]) -> dict[str, float]:
    """A weight per question stem: its BM25 IDF over the corpus's sentences, and for a word the
    corpus never uses, more than any word it does (the sources cannot be about it)."""
    unseen = max(term_idf.values(), default=1.0) + 1.0
    terms = dict(asked.terms)
    return {stem: term_idf.get(terms.get(stem, stem), unseen) for stem in asked.stems}


def shared_bigrams(asked: Asked, sentence: Sentence) -> float:
    """The share of the question's adjacent content-word pairs that are adjacent in the sentence too."""
    if len(asked.bigrams) == 0:
        return 0.0
    words = [stem for stem, matched in zip(sentence.stems, sentence.matched.tolist(), strict=True) if matched]
    return len(asked.bigrams & set(zip(words, words[1:], strict=False))) / len(asked.bigrams)


def said_before(asked: Asked, sentence: Sentence, first: int, stop: int) -> bool:
    """Whether tokens [first, stop) of the sentence say only what earlier turns answered (their
    content words are all among `Asked.answered`): "Who were they mostly?" after "Who confirmed...?"
    → "The Ukrainian rights ombudsman" does not ask for the ombudsman again."""
    words = [n for n in range(first, stop) if int(sentence.tokens["pos"][n]) not in FUNCTION_POS]
    return bool(words) and all(sentence.stems[n] in asked.answered or name_key(word(sentence, n)) in asked.answered
                               for n in words)


def coarse_role(dep: str) -> str:
    return "subject" if dep in SUBJECTS else "object" if dep in OBJECTS else dep


def pair_features(asked: Asked, candidates: Candidates, sentences: list[Sentence], chunk_of: dict[int, int],
                  context_stems: dict[int, set[str]], chunk_stems: dict[int, set[str]]
                  ) -> tuple[list[Span], np.ndarray]:
    """Every (sentence, span) candidate of `sentences` and its SPAN_FEATURES. `chunk_of` is the
    rank of each sentence's best chunk, `chunk_stems` the stems of those chunks."""
    hits = candidates.sentences
    chunk_lexical = minmax(candidates.chunks.lexical)
    spans: list[Span] = []
    rows: list[dict[str, float]] = []
    wanted = len(asked.stems) or 1
    first_label = asked.labels[0] if asked.labels else ""
    group = next((g for g in (NAMED, NUMERIC, TEMPORAL) if first_label in g), frozenset())
    order = sorted(range(len(sentences)), key=lambda n: -candidates.sentence_scores[sentences[n].position])
    rank_of = {sentences[n].position: rank for rank, n in enumerate(order)}
    wh_role = coarse_role(asked.wh_role)
    if asked.wh_role == "advmod" and asked.kind in ("place", "date"):
        wh_role = "object"  # "where" and "when" are answered by a preposition's object: "to Moscow", "in July"
    weight = rarity(asked, hits.term_idf)
    all_weight = sum(weight.values()) or 1.0
    for sentence in sentences:
        position, tokens = sentence.position, sentence.tokens
        own = set(sentence.stems) & asked.stems
        coverage = len(own) / wanted
        weighted = sum(weight[stem] for stem in own) / all_weight
        bigrams = shared_bigrams(asked, sentence)
        context = len((context_stems.get(position, set()) & asked.stems) - own) / wanted
        chunk = chunk_of[position]
        chunk_weighted = sum(weight[stem] for stem in chunk_stems[chunk] & asked.stems) / all_weight
        chains = ancestors(tokens)
        quoted = quotes(sentence)
        sentence_spans = spans_in(sentence, chains, quoted)
        if asked.kind in ("definition", "role"):
            sentence_spans += [title for title in titles(sentence) if title not in sentence_spans]
        typed_sentence = float(any(s.label in asked.labels for s in sentence_spans))
        matched = sentence.matched.tolist()
        anchors = [i for i, hit in enumerate(matched) if hit]
        roles = [coarse_role(language.DEPENDENCIES[d]) for d in tokens["dep"].tolist()]
        is_content = [pos not in FUNCTION_POS for pos in tokens["pos"].tolist()]
        contents = np.concatenate([[0], np.cumsum(is_content)]).tolist()
        matched_contents = np.concatenate([[0], np.cumsum(np.logical_and(is_content, matched))]).tolist()
        affiliations = [i for i, e in enumerate(tokens["entity"].tolist()) if e in SIDE_LABELS]
        paths: dict[tuple[int, int], int] = {}
        anchor_chains = {j: {token: depth for depth, token in enumerate(chains[j])} for j in anchors}
        for span in sentence_spans:
            first, stop = span.first - sentence.first, span.stop - sentence.first
            if asked.answered and said_before(asked, sentence, first, stop):
                continue
            root = span_root(chains, first, stop)
            outside = [j for j in anchors if not first <= j < stop]
            near = {sentence.stems[j] for j in outside if first - WINDOW <= j < stop + WINDOW}
            before, after = bisect_left(anchors, first), bisect_left(anchors, stop)  # anchors are sorted
            distance = first - anchors[before - 1] if before else len(tokens)
            if after < len(anchors):
                distance = min(distance, anchors[after] - (stop - 1))
            for j in outside:
                if (root, j) not in paths:
                    paths[root, j] = tree_distance(chains, root, j, anchor_chains[j])
            path = min((paths[root, j] for j in outside), default=len(tokens))
            affiliation = nearest(affiliations, first, stop)
            content = contents[stop] - contents[first]
            overlap = (matched_contents[stop] - matched_contents[first]) / content if content else 0.0
            whole = span.label == "SENTENCE"
            at = sentence.start
            span_text = sentence.text[int(tokens["start"][first]) - at:int(tokens["end"][stop - 1]) - at]
            spans.append(span)
            rows.append(dict(
                sentence=float(candidates.sentence_scores[position]), chunk=float(candidates.chunk_scores[chunk]),
                cosine=float(hits.cosine[position]), coverage=coverage, weighted=weighted, bigrams=bigrams,
                context=context, rank=math.log1p(rank_of[position]), window=len(near) / wanted,
                chunk_cosine=float(candidates.chunks.cosine[chunk]), chunk_lexical=float(chunk_lexical[chunk]),
                chunk_weighted=chunk_weighted, chunk_rank=math.log1p(chunk),
                type_first=float(bool(asked.labels) and span.label == first_label),
                type_other=float(span.label in asked.labels[1:]),
                type_group=float(span.label in group and span.label not in asked.labels),
                typed_miss=float(misses_kind(asked, sentence, chains, span, span_text)),
                typed_sentence=typed_sentence,
                entity=float(span.entity), phrase=float(span.label == "NP"),
                constituent=float(span.label == "PHRASE"), whole=float(whole), overlap=overlap,
                quoted=float((first, stop) in quoted),
                affiliation_match=float(not whole and affiliation is not None and matched[affiliation]),
                affiliation_clash=float(not whole and affiliation is not None and not matched[affiliation]),
                distance=0.0 if whole else math.log1p(distance), path=0.0 if whole else math.log1p(path),
                head_match=float(not whole and any(matched[h] for h in chains[root][1:3])),
                role_match=float(not whole and bool(wh_role) and roles[root] == wh_role),
                wh_noun=float(not whole and bool(asked.wh_noun) and sentence.stems[root] == asked.wh_noun),
                length=math.log1p(stop - first)))
    features = table(SPAN_FEATURES, len(rows))
    for name in SPAN_FEATURES:
        features[name] = [row[name] for row in rows]
    return spans, features


def sentences_of(candidates: Candidates, n: int) -> range:
    """The positions of the sentences of the n-th candidate chunk."""
    return range(int(candidates.chunk_sentences[n]["first"]), int(candidates.chunk_sentences[n]["stop"]))


def candidate_sentences(candidates: Candidates, document_at: Callable[[int], Document], asked: Asked,
                        settings: AnsweringSettings
                        ) -> tuple[list[Sentence], dict[int, int], dict[int, set[str]], dict[int, set[str]]]:
    """The non-heading sentences of the top chunks; the rank of each one's best chunk; the stems
    of each one's context (its section heading and the sentence before it); the stems of those chunks."""
    hits = candidates.sentences
    chunk_of: dict[int, int] = {}
    top = min(settings.answer_chunks, len(candidates))
    for n in range(top):  # best chunk first
        for position in sentences_of(candidates, n):
            chunk_of.setdefault(position, n)
    scores = candidates.chunk_scores
    positions = [p for p in chunk_of if not hits.spans[p]["heading"]]
    positions.sort(key=lambda p: -(candidates.sentence_scores[p] + settings.chunk_weight * scores[chunk_of[p]]))
    positions = positions[:settings.answer_sentences]
    chunks = sorted({chunk_of[p] for p in positions})
    needed = ({q for n in chunks for q in sentences_of(candidates, n)} | {before(hits, p) for p in positions}
              | {int(hits.section[p]) for p in positions})
    needed.discard(-1)
    read: dict[int, Sentence] = {}
    for p in sorted(needed):
        row = hits.spans[p]
        text = document_at(int(row["doc"])).text[int(row["start"]):int(row["end"])]
        first, stop = int(hits.tokens[p]["first"]), int(hits.tokens[p]["stop"])
        tokens = hits.token_rows[first:stop]
        offset = int(row["start"])
        words = language.words_in(text, tokens, offset)
        stems = as_asked(stems_of(words), asked.phrases)
        matched = np.array([stem in asked.stems or name_key(word) in asked.names or base in asked.bases
                            for stem, word, base in zip(stems, words, base_stems(words, stems), strict=True)],
                           dtype=bool)
        read[p] = Sentence(p, text, offset, tokens, first, stems, matched)
    sentences = [read[p] for p in positions]
    if asked.own:  # a follow-up is answered where its own words are, when some sentence holds them
        sentences = [s for s in sentences if asked.own & set(s.stems)] or sentences
        positions = [s.position for s in sentences]
    context: dict[int, set[str]] = {}
    for p in positions:
        around = [q for q in (int(hits.section[p]), before(hits, p)) if q >= 0 and q in read]
        context[p] = {stem for q in around for stem in read[q].stems}
    chunk_stems = {n: {stem for q in sentences_of(candidates, n) for stem in read[q].stems} for n in chunks}
    return sentences, chunk_of, context, chunk_stems


def before(hits: SentenceHits, p: int) -> int:
    """The position of the sentence right before sentence `p` in its document, or -1 when it is
    not among `hits` (they hold the sentences of some chunks only)."""
    adjacent = p > 0 and hits.ids[p - 1] == hits.ids[p] - 1 and hits.spans[p - 1]["doc"] == hits.spans[p]["doc"]
    return p - 1 if adjacent else -1


@dataclass(frozen=True)
class Pairs:
    """Every (sentence, span) candidate of a question, with its features."""

    sentences: list[Sentence]
    spans: list[Span]
    features: np.ndarray


def pairs_of(asked: Asked, candidates: Candidates, document_at: Callable[[int], Document],
             settings: AnsweringSettings = DEFAULT.answering) -> Pairs:
    """The (sentence, span) pairs of the top candidate chunks and their SPAN_FEATURES.
    `document_at` gives the document a row's `doc` number names."""
    sentences, chunk_of, context, chunk_stems = candidate_sentences(candidates, document_at, asked, settings)
    spans, features = pair_features(asked, candidates, sentences, chunk_of, context, chunk_stems)
    return Pairs(sentences, spans, features)


def pick_answer(asked: Asked, candidates: Candidates, document_at: Callable[[int], Document],
                passages: list[Passage], settings: AnsweringSettings = DEFAULT.answering) -> Answer:
    """The best (sentence, span) pair of the top candidate chunks, or a no-answer."""
    if unmentioned(asked, candidates.sentences.term_idf):  # nothing to weigh: the sources cannot say
        return Answer(found=False, question_type=asked.kind, passages=tuple(passages))
    found = pairs_of(asked, candidates, document_at, settings)
    sentences, spans, features = found.sentences, found.spans, found.features
    if not spans:
        return Answer(found=False, question_type=asked.kind, passages=tuple(passages))
    models = load_models()
    choice = choose(spans, features, models.span, models.inside)
    span = spans[choice.pick]
    sentence = next(s for s in sentences if s.position == span.position)
    confidence = float(models.confidence.probability(confidence_features(asked, features, choice, sentences))[0])
    evidence = float(features["cosine"][choice.pick])
    no_answer = cannot_answer(asked, span)
    if no_answer or confidence < settings.min_confidence:
        return Answer(found=False, evidence=evidence, confidence=0.0 if no_answer else confidence,
                      question_type=asked.kind, passages=tuple(passages))
    rows_ = candidates.sentences.token_rows
    start, end = offsets_of(span, rows_)
    if span.label != "SENTENCE":
        start, end = widen(asked, sentence, span, start, end)
    hit = candidates.sentences.spans[span.position]
    document = document_at(int(hit["doc"]))
    conflicts = find_conflicts(asked, spans, choice.scores, choice.order, span, document_at, candidates, settings)
    return Answer(found=True, text=document.text[start:end], doc_id=document.id, title=document.title,
                  start=start, end=end, sentence=sentence.text, sentence_start=sentence.start,
                  sentence_end=sentence.start + len(sentence.text), evidence=evidence, confidence=confidence,
                  question_type=asked.kind, conflicts=conflicts, passages=tuple(passages),
                  page=document.page_label(start))


def cue(answer: Answer, likely_from: float = DEFAULT.answering.likely_confidence) -> str:
    """'likely' or 'uncertain': how a reader should take an answer (the chat, the API, the CLI)."""
    return "likely" if answer.confidence >= likely_from else "uncertain"


def unmentioned(asked: Asked, term_idf: dict[str, float]) -> list[str]:
    """The question's named entities (people, places, bodies, dates, numbers) of which the
    sources use no word at all: "Ukraine's needs in 2028" when no source says 2028. The sources
    cannot answer a question about what they never mention, however well the rest matches."""
    return [entity for entity, terms in zip(asked.entities, asked.entity_terms, strict=True)
            if terms and not any(term in term_idf for term in terms)]


def confidence_features(asked: Asked, features: np.ndarray, choice: Choice, sentences: list[Sentence]) -> np.ndarray:
    """CONFIDENCE_FEATURES of an answer: the best pair's score (which holds how much of the question
    its sentence covers, rare words weighing most), its margin over the best pair of another
    sentence, the share of the question's named entities the candidate sentences hold, and the
    SPAN_FEATURES of the pair answered: the models weigh them to rank one question's pairs, and
    the confidence model weighs them again to say how far the answer can be trusted (out of fold
    on SQuAD, AUC 0.736 with them, 0.698 without). (The share of question words no candidate
    holds is left out: on SQuAD, whose unanswerable questions reuse their paragraph's words, it
    rose with answerable ones, the opposite of what it means here.)"""
    texts = " ".join(s.text for s in sentences).lower()
    score = float(choice.scores[choice.best])
    found = table(CONFIDENCE_FEATURES, 1)
    found["best"] = score
    found["margin"] = score - float(choice.scores[choice.runner_up]) if choice.runner_up is not None else 1.0
    found["entities"] = (sum(e.lower() in texts for e in asked.entities) / len(asked.entities)
                         if asked.entities else 1.0)
    for name in SPAN_FEATURES:
        found[name] = features[name][choice.pick]
    return found


def widen(asked: Asked, sentence: Sentence, span: Span, start: int, end: int) -> tuple[int, int]:
    """A money amount takes its converted amount in brackets ("€90 billion ($106 billion)"); an
    answer to a question that asks for several takes the entities of its kind coordinated with it
    ("Steve Witkoff and Jared Kushner"); a nationality or place asked "who" takes the people it
    describes, the noun phrase it modifies ("US officials"; spaCy reads "Ukrainian" as a place at times)."""
    local_start, local_end = start - sentence.start, end - sentence.start
    if span.label == "MONEY":
        match = CONVERSION.match(sentence.text, local_end)
        if match:
            return start, sentence.start + match.end()
        primary = CONVERTED.search(sentence.text[:local_start])  # the span is the conversion itself
        if primary and sentence.text[local_end:local_end + 1] == ")":
            return sentence.start + primary.start(), end + 1
    if asked.kind == "person" and span.label in ("NORP", "GPE"):  # "Ukrainian" of "Ukrainian human rights monitors"
        tokens, first, stop = sentence.tokens, span.first - sentence.first, span.stop - sentence.first
        holder = next(((a, b) for a, b in runs(tokens["phrase"] == 1, tokens["phrase"]) if a <= first and stop <= b
                       and tokens["entity"][b - 1] != tokens["entity"][first]), None)
        if holder is not None:
            return int(tokens["start"][holder[0]]), int(tokens["end"][holder[1] - 1])
    if asked.several and span.label in NAMED:
        tokens = sentence.tokens
        same = [(a, b) for a, b in runs(tokens["entity_begins"], tokens["entity"])
                if language.ENTITY_LABELS[int(tokens["entity"][a])] == span.label]
        spans_ = [(int(tokens["start"][a]) - sentence.start, int(tokens["end"][b - 1]) - sentence.start)
                  for a, b in same]
        index = next((n for n, (a, _) in enumerate(spans_) if a == start - sentence.start), None)
        if index is None:
            return start, end
        first = last = index
        while first > 0 and LINK.fullmatch(sentence.text[spans_[first - 1][1]:spans_[first][0]]):
            first -= 1
        while last + 1 < len(spans_) and LINK.fullmatch(sentence.text[spans_[last][1]:spans_[last + 1][0]]):
            last += 1
        return sentence.start + spans_[first][0], sentence.start + spans_[last][1]
    return start, end


def find_conflicts(asked: Asked, spans: list[Span], scores: np.ndarray, order: np.ndarray, chosen: Span,
                   document_at: Callable[[int], Document], candidates: Candidates,
                   settings: AnsweringSettings) -> tuple[Conflict, ...]:
    """Answers of the asked kind from other documents that differ from the chosen one and score
    within `conflict_margin` of the best pair (a value and its conversion in brackets agree)."""
    if chosen.label not in NUMERIC | TEMPORAL or chosen.label not in asked.labels:
        return ()
    hits, rows_ = candidates.sentences, candidates.sentences.token_rows
    chosen_doc = int(hits.spans[chosen.position]["doc"])
    chosen_text = text_of(chosen, rows_, hits, document_at)
    found: dict[int, Conflict] = {}
    top = float(scores[order[0]])
    for n in order[1:].tolist():
        span = spans[n]
        if top - float(scores[n]) > settings.conflict_margin:
            break
        doc = int(hits.spans[span.position]["doc"])
        if doc == chosen_doc or doc in found or span.label != chosen.label:
            continue
        text = text_of(span, rows_, hits, document_at)
        if same_value(text, chosen_text):
            continue
        document, sentence = document_at(doc), hits.spans[span.position]
        start, end = offsets_of(span, rows_)
        found[doc] = Conflict(text=text, doc_id=document.id, title=document.title,
                              start=start, end=end,
                              sentence_start=int(sentence["start"]), sentence_end=int(sentence["end"]),
                              sentence=document.text[int(sentence["start"]):int(sentence["end"])],
                              page=document.page_label(start))
    return tuple(found.values())


def offsets_of(span: Span, rows_: np.ndarray) -> tuple[int, int]:
    """Where a span starts and ends in its document (its first token's start, its last one's end)."""
    return int(rows_[span.first]["start"]), int(rows_[span.stop - 1]["end"])


def text_of(span: Span, rows_: np.ndarray, hits: SentenceHits, document_at: Callable[[int], Document]) -> str:
    """A span's text, from its document."""
    start, end = offsets_of(span, rows_)
    return document_at(int(hits.spans[span.position]["doc"])).text[start:end]


def same_value(a: str, b: str) -> bool:
    """Whether two answers state the same value: the same words, or the same numbers."""
    numbers_a, numbers_b = re.findall(r"\d+(?:[.,]\d+)?", a), re.findall(r"\d+(?:[.,]\d+)?", b)
    if numbers_a and numbers_b:
        return bool(set(numbers_a) & set(numbers_b))
    return a.lower().strip() == b.lower().strip()
