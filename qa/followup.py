"""Follow-up questions: resolve a short or referring question against the previous one.

"Who represented Russia there?" right after "Where did the US and Russian envoys
meet?" becomes "Who represented Russia there? (US Russian)". The retriever then
sees what "there" points at. No model is involved: only words are copied.
"""

from __future__ import annotations

import re

from qa.settings import DEFAULT, AnsweringSettings

REFERRING = frozenset("""there then it its they them their theirs he him his she her hers
    that this those these""".split())
STOPWORDS = REFERRING | frozenset("""a an the and or but of in on at to for from by with about
    as into over after before during between under is are was were be been being do does did
    have has had will would can could should may might must shall what which who whom whose
    when where why how much many also so not no yes any some all other more most such
    i me my we us our you your say said tell told""".split())
WORD = re.compile(r"[\w’'-]+")


def content_words(question: str) -> list[str]:
    """The words of `question` that carry its topic, in order, without repeats."""
    words: list[str] = []
    seen: set[str] = set()
    for word in WORD.findall(question):
        acronym = len(word) > 1 and word.isupper()  # US, not "us"
        if (acronym or word.lower() not in STOPWORDS) and word.lower() not in seen:
            words.append(word)
            seen.add(word.lower())
    return words


def names(question: str) -> list[str]:
    """The topic words of `question` written with a capital (US, Kremlin), the first word aside."""
    first = WORD.search(question)
    return [w for w in content_words(question[first.end():] if first else "") if w[0].isupper()]


def resolve(question: str, history: list[str], settings: AnsweringSettings = DEFAULT.answering) -> str:
    """`question` with the topic words of the previous question added when it needs them.

    `history` holds the earlier questions of the conversation as asked, oldest
    first; each is resolved against the one before it, once, so a chain of
    follow-ups keeps its topic. A question that is short (one topic word or
    none, "And France?") gets every topic word of the previous one; a question
    with a referring word (there, then, it, they, he, she, that ...) gets only
    the previous question's names, which is what such words usually point at.
    Any other question stands alone and comes back unchanged (stripped).
    """
    previous = ""
    for earlier in [h for h in history[-settings.max_history:] if h.strip()]:
        previous = resolve_one(earlier, previous, settings.max_carried)
    return resolve_one(question, previous, settings.max_carried)


def resolve_one(question: str, previous: str, max_carried: int) -> str:
    """`question` resolved against the (already resolved) `previous` one, '' for none."""
    question = question.strip()
    if not previous:
        return question
    own = content_words(question)
    refers = any(w.lower() in REFERRING for w in WORD.findall(question))
    if len(own) > 1 and not refers:
        return question
    asked = {w.lower() for w in own}
    carried = [w for w in content_words(previous) if w.lower() not in asked]
    if len(own) > 1:
        named = set(names(previous))
        carried = [w for w in carried if w in named] or carried
    return f"{question} ({' '.join(carried[:max_carried])})" if carried else question
