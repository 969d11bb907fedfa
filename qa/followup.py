"""Follow-up questions: resolve a short or referring question against the previous turn.

"Where did he go after the talks?" right after "Who is Kirill Dmitriev?" (answered
"the Russian envoy") becomes "Where did he go after the talks? (Russian envoy
Kirill Dmitriev)". The method follows HQE (historical query expansion, Lin et al.
2020, as in castorini's Chatty Goose), reimplemented: a question that needs
context borrows the previous turn's words that tell documents apart, weighed by
their IDF in our BM25 statistics; a word the sources use everywhere (or never)
is not carried. A referring word (he, there, then...) borrows the previous
answer first, since that is usually what it points at; a short or elliptical
question ("And Belgium?") borrows the previous question's topic. Only words are
copied; no model is involved, and earlier questions are never answered again.
The answer is then looked for where the question's own words are (`own_words`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from qa.settings import DEFAULT, AnsweringSettings

REFERRING = frozenset("""there then it its they them their theirs he him his she her hers
    that this those these""".split())
STOPWORDS = REFERRING | frozenset("""a an the and or but of in on at to for from by with about
    as into over after before during between under is are was were be been being do does did
    have has had will would can could should may might must shall what which who whom whose
    when where why how much many also so not no yes any some all other more most such
    i me my we us our you your say said tell told""".split())
ELLIPSIS = re.compile(r"^\s*(?:and|what about|how about|and what about|what of)\b", re.I)
WORD = re.compile(r"[\w’'–-]+")  # "10–20" is one word, as the parse reads it
LONGEST_WORD = 40  # characters
NOUN_ASKED = re.compile(r"\b(?:which|what)\s+[\w’'-]+", re.I)

Turn = str | tuple[str, str]  # a question as asked, or (question, the answer it was given)
Weigh = Callable[[list[str]], list[float]]  # words -> their rarity: IDF / the highest IDF (0: never used)


def content_words(text: str) -> list[str]:
    """The words of `text` that carry its topic, in order, without repeats. A word over
    `LONGEST_WORD` characters is none: no one refers back to it, and spaCy's tokenizer takes time
    quadratic in a long word it splits at many marks ("’" 1,000 times)."""
    words: list[str] = []
    seen: set[str] = set()
    for word in WORD.findall(text):
        acronym = len(word) > 1 and word.isupper()  # US, not "us"
        if len(word) > LONGEST_WORD:
            continue
        if (acronym or word.lower() not in STOPWORDS) and word.lower() not in seen:
            words.append(word)
            seen.add(word.lower())
    return words


def resolve(question: str, history: Sequence[Turn], weigh: Weigh | None = None,
            settings: AnsweringSettings = DEFAULT.answering) -> str:
    """`question` with words of the previous turn added when it needs them.

    `history` holds the earlier turns, oldest first: questions as asked, or
    (question, answer) pairs. Each question is resolved against the turn before
    it, once, so a chain of follow-ups keeps its topic. `weigh` gives words'
    rarity; without it every word counts.
    """
    previous, previous_answer = "", ""
    for asked, answered in recent(history, settings):
        if asked.strip():
            previous = resolve_one(asked, previous, previous_answer, weigh, settings)
            previous_answer = answered
    return resolve_one(question, previous, previous_answer, weigh, settings)


def answered_before(question: str, resolved: str, history: Sequence[Turn],
                    settings: AnsweringSettings = DEFAULT.answering) -> list[str]:
    """For a question `resolve` read in the light of earlier turns, the words of those turns'
    answers: a follow-up asks for something new, so answering takes no span made of them alone
    ("Who were they mostly?" after "Who confirmed...?" → the ombudsman is not asked for again).
    Nothing for a question that stood on its own, which may ask again."""
    if resolved == question.strip():
        return []
    return content_words(" ".join(answered for _, answered in recent(history, settings)))


def recent(history: Sequence[Turn], settings: AnsweringSettings) -> list[tuple[str, str]]:
    """The last `max_history` turns (none at 0), each as (question, answer; '' when not given)."""
    turns = list(history)[-settings.max_history:] if settings.max_history > 0 else []
    return [(turn, "") if isinstance(turn, str) else turn for turn in turns]


def own_words(question: str, resolved: str) -> list[str] | None:
    """For a question `resolve` read in the light of earlier turns, the topic words it was asked
    with, not those it borrowed, nor the noun a "which/what" asks for (the answer need not repeat
    "dates" of "Between which dates?"): its answer is looked for where they are ("Where was he due
    to go afterwards?" → a sentence saying "due"). None for a question that stood on its own."""
    return None if resolved == question.strip() else content_words(NOUN_ASKED.sub(" ", question))


def refers(question: str) -> bool:
    """Whether the question holds a referring word (there, then, it, he, they, that ...)."""
    return any(w.lower() in REFERRING for w in WORD.findall(question))


def needs_context(question: str, weigh: Weigh | None, min_rarity: float) -> bool:
    """A referring word, an elliptical start ("And Belgium?"), or fewer than two topic words that
    tell the sources' passages apart ("Who represented the US?", where US is everywhere)."""
    own = content_words(question)
    telling = [w for w, weight in zip(own, weigh(own) if weigh else [min_rarity] * len(own), strict=True)
               if weight >= min_rarity]
    return refers(question) or bool(ELLIPSIS.match(question)) or len(telling) <= 1


def resolve_one(question: str, previous: str, previous_answer: str, weigh: Weigh | None,
                settings: AnsweringSettings) -> str:
    """`question` resolved against the (already resolved) previous question and its answer."""
    question = question.strip()
    if not previous or not needs_context(question, weigh, settings.carry_min_rarity):
        return question
    asked = {w.lower() for w in content_words(question)}
    answer_words = content_words(previous_answer) if refers(question) else []
    candidates = [w for w in dict.fromkeys(answer_words + content_words(previous)) if w.lower() not in asked]
    if not candidates:
        return question
    weights = weigh(candidates) if weigh else [1.0] * len(candidates)
    kept = [w for w, weight in zip(candidates, weights, strict=True) if weight >= settings.carry_min_rarity]
    return f"{question} ({' '.join(kept[:settings.max_carried])})" if kept else question
