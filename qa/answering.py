"""Answering: `Candidates` -> the best sentence and, inside it, the minimal span.

Sentences of the top chunks are scored by their own cosine + BM25 match with
the question (from retrieval), their chunk's fused score, and whether they
hold the kind of thing the question asks for (a number for "how many", a
date for "when", a name for "who"). The answer is a slice of the document:
it carries offsets, never rewritten text. Its `evidence` is the cosine of the
picked sentence (or of its section heading) with the question; below
`min_evidence` the sources are taken not to say (on the seeds, questions
they answer score 0.38 to 0.79, general-knowledge ones -0.02 to 0.30:
bench/abstain.py prints both lists).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

from qa.candidates import Candidates
from qa.lexical import stemmer, tokenize
from qa.retrieval import Passage
from qa.settings import DEFAULT, AnsweringSettings
from qa.sources import Document

MONTH = (r"(?:January|February|March|April|May|June|July|August|September|October|November|"
         r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\.?")
NUMBER_WORDS = (r"(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
                r"twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand|"
                r"dozens?|hundreds|thousands|millions)")
NUMBER = rf"(?:\d[\d,]*(?:\.\d+)?|{NUMBER_WORDS}(?:[- ]{NUMBER_WORDS})*)"
SCALE = r"(?:\s?(?:million|billion|trillion|bn|m|k)\b)?"
APPROX = (r"(?:(?:approximately|about|around|roughly|nearly|almost|some|over|more than|fewer than|less than"
          r"|at least|up to|an estimated)\s)?")
MONEY = re.compile(
    rf"(?:[$€£¥]\s?\d[\d,]*(?:\.\d+)?{SCALE}"
    rf"|\d[\d,]*(?:\.\d+)?{SCALE}\s(?:dollars|euros|pounds|yen|USD|EUR|GBP))"
    rf"(?:\s\((?:[$€£¥]\s?\d[\d,]*(?:\.\d+)?{SCALE}|about [^)]*)\))?", re.I)
PERCENT = re.compile(rf"{APPROX}{NUMBER}\s?(?:%|percent|per cent)", re.I)
COUNT = re.compile(rf"\b{APPROX}{NUMBER}\b(?:[–-]\d+)?", re.I)
DATE = re.compile(
    rf"\b(?:(?:early|mid|late)[- ])?{MONTH}(?:\s\d{{1,2}}(?:[–-]\d{{1,2}})?\b)?(?:,?\s\d{{4}})?"
    rf"|\b\d{{1,2}}\s{MONTH}(?:\s\d{{4}})?|\b(?:1[0-9]|20)\d{{2}}s?\b")
CAPITALISED = re.compile(r"\b[A-Z][\w’'.-]*(?:\s+(?:of|de|da|von|van|al|the|and)?\s*[A-Z][\w’'.-]*)*")
PLACE_CUE = re.compile(r"\b(?:in|at|to|from|near|into|across|outside|inside)\s+$")
NOT_A_PERSON = re.compile(r"^(?:[A-Z.]{2,6}|\w+(?:ian|ean|ese|ish|ench|ic))$")
NOT_NAMES = frozenset("""the a an this that these those it its he she they we i in on at to of for
    and but or as by with from after before during while when where who what which some many
    however although though despite following according monday tuesday wednesday thursday friday
    saturday sunday january february march april may june july august september october november
    december""".split())

QUESTION_TYPES = [  # (type, pattern over the lower-cased question), first match wins
    ("percent", re.compile(r"\bwhat (?:percent|percentage|share)\b")),
    ("money", re.compile(r"\bhow (?:much|big|large)\b|\bwhat (?:amount|sum)\b"
                         r"|\bwhat (?:is|was|were|are) the (?:cost|price|value|size|amount)\b")),
    ("count", re.compile(r"\bhow (?:many|often)\b|\bwhat number\b|\bnumber of\b")),
    ("date", re.compile(r"\bwhen\b|\b(?:what|which) (?:year|date|day|month|decade|century|time)\b"
                        r"|\bhow long ago\b")),
    ("person", re.compile(r"\bwho(?:m|se)?\b"
                          r"|\b(?:which|what) (?:person|people|man|woman|leader|official|envoy|spokes\w*)\b")),
    ("place", re.compile(r"\bwhere\b|\b(?:what|which|in what) (?:city|country|place|region|state|town|village"
                         r"|location|county|river|area|continent)\b")),
]


@dataclass(frozen=True, kw_only=True)
class Answer:
    """An extractive answer: `text` is `document.text[start:end]` of document `doc_id`,
    inside the sentence `[sentence_start, sentence_end)`. `found` is false when the
    sources do not hold an answer; `passages` are the supporting (or closest) chunks.
    `resolved` is the question as answered (a follow-up reads in its history)."""

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
    question_type: str = ""
    passages: tuple[Passage, ...] = ()
    resolved: str = ""


def question_type(question: str) -> str:
    """'money', 'count', 'percent', 'date', 'person', 'place', or '' for any other question."""
    lowered = question.lower().strip()
    for name, pattern in QUESTION_TYPES:
        if pattern.search(lowered):
            return name
    return ""


def candidate_spans(kind: str, sentence: str, question: str) -> list[tuple[int, int]]:
    """(start, end) of every piece of `sentence` that could answer a question of type `kind`."""
    if kind == "money":
        spans = [m.span() for m in MONEY.finditer(sentence)]
        return spans or candidate_spans("count", sentence, question)
    if kind == "percent":
        return [m.span() for m in PERCENT.finditer(sentence)]
    if kind == "date":
        return [m.span() for m in DATE.finditer(sentence)]
    if kind == "count":
        dates = [m.span() for m in DATE.finditer(sentence)]
        return [m.span() for m in COUNT.finditer(sentence)
                if not any(a <= m.start() < b for a, b in dates)]
    if kind in ("person", "place"):
        not_names = NOT_NAMES | {possessive_stripped(w.lower()) for w in re.findall(r"[\w’'-]+", question)}
        spans = []
        for match in CAPITALISED.finditer(sentence):
            start, end = trim_name(sentence, *match.span(), not_names, kind)
            if end <= start or (kind == "person" and " " not in sentence[start:end]):
                continue  # a person is named by two words or more; one capitalised word is as likely a place
            if kind == "place" and spans_cue_first(sentence, start):
                spans.insert(0, (start, end))
            else:
                spans.append((start, end))
        return spans
    return []


def spans_cue_first(sentence: str, start: int) -> bool:
    return bool(PLACE_CUE.search(sentence[max(0, start - 12):start]))


def trim_name(sentence: str, start: int, end: int, not_names: AbstractSet[str], kind: str) -> tuple[int, int]:
    """Shrink a run of capitalised words to the part that is not in `not_names` (common words and
    the question's own); for a person, also not an acronym (US, NATO) or a nationality (Russian)."""
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", sentence[start:end])]
    keep = [(a, b) for a, b in words
            if possessive_stripped(sentence[a:b].lower()) not in not_names
            and sentence[a].isupper()
            and not (kind == "person" and NOT_A_PERSON.match(possessive_stripped(sentence[a:b])))]
    if not keep:
        return start, start
    a, b = keep[0][0], keep[-1][1]
    while b > a and sentence[b - 1] in ".,’'":
        b -= 1
    return a, b


def possessive_stripped(word: str) -> str:
    return re.sub(r"(?:[’']s?)$", "", word.strip(".,;:"))


def ranked_spans(kind: str, sentence: str, question: str) -> list[tuple[int, int, int]]:
    """Candidate spans as (start, end, words between the span and the nearest question word),
    nearest first; a place after "in"/"at"/"near" comes first whatever its distance."""
    spans = candidate_spans(kind, sentence, question)
    if not spans:
        return []
    asked = set(tokenize([question])[0])
    words = [(m.start(), m.end(), possessive_stripped(m.group(0).lower()))
             for m in re.finditer(r"\w+(?:[’']\w+)*", sentence)]
    stems = stemmer().stemWords([w for _, _, w in words])
    anchors = [i for i, stem in enumerate(stems) if stem in asked]

    def gap(span: tuple[int, int]) -> int:
        inside = [i for i, (a, b, _) in enumerate(words) if a < span[1] and b > span[0]] or [0]
        if not anchors:
            return len(words)
        return min(max(0, min(abs(i - j) for j in inside) - 1) for i in anchors)

    ranked = sorted((gap(span), n, span) for n, span in enumerate(spans))
    if kind == "place" and spans_cue_first(sentence, spans[0][0]):
        ranked.sort(key=lambda item: item[2] != spans[0])
    return [(span[0], span[1], distance) for distance, _, span in ranked]


def pick_answer(question: str, candidates: Candidates, document_at: Callable[[int], Document],
                passages: list[Passage], settings: AnsweringSettings = DEFAULT.answering) -> Answer:
    """The best sentence of the top candidate chunks and the span inside it, or a no-answer.
    `document_at` gives the document a row's `doc` number names."""
    kind = question_type(question)
    sentences = candidates.sentences
    chunk_score: dict[int, float] = {}  # position in `sentences` -> best score of a top chunk holding it
    top = min(settings.answer_chunks, len(candidates))
    for span, score in zip(candidates.chunk_sentences[:top], candidates.chunk_scores[:top].tolist(), strict=True):
        for position in range(int(span["first"]), int(span["stop"])):
            chunk_score[position] = max(chunk_score.get(position, 0.0), score)
    positions = np.array([p for p in sorted(chunk_score) if not sentences.spans[p]["heading"]], dtype=np.int64)
    if not len(positions):
        return Answer(found=False, passages=tuple(passages))
    spans = sentences.spans[positions]
    texts = [document_at(int(s["doc"])).text[int(s["start"]):int(s["end"])] for s in spans]
    score = (candidates.sentence_scores[positions]
             + settings.chunk_weight * np.array([chunk_score[p] for p in positions.tolist()]))
    if kind:
        score += settings.type_bonus * np.array([bool(candidate_spans(kind, t, question)) for t in texts])
    best = int(np.argmax(score))
    position, text, span = int(positions[best]), texts[best], spans[best]
    heading = int(sentences.section[position])
    evidence = max(float(sentences.cosine[position]), float(sentences.cosine[heading]) if heading >= 0 else -1.0)
    if evidence < settings.min_evidence:
        return Answer(found=False, evidence=evidence, passages=tuple(passages))
    document = document_at(int(span["doc"]))
    sentence_start, sentence_end = int(span["start"]), int(span["end"])
    found = ranked_spans(kind, text, question) if kind else []
    start, end = ((sentence_start + found[0][0], sentence_start + found[0][1]) if found
                  else (sentence_start, sentence_end))
    return Answer(found=True, text=document.text[start:end], doc_id=document.id, title=document.title,
                  start=start, end=end, sentence=text, sentence_start=sentence_start,
                  sentence_end=sentence_end, evidence=evidence, question_type=kind, passages=tuple(passages))
