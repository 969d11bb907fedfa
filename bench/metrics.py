"""Answer metrics with SQuAD's normalisation: exact match and token F1 (Rajpurkar et al. 2016)."""

from __future__ import annotations

import re
import string
from collections import Counter


def normalise(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces: the official SQuAD evaluation's rule."""
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation) | {"’", "‘", "“", "”"})
    return " ".join(re.sub(r"\b(a|an|the)\b", " ", text).split())


def f1(prediction: str, gold: str) -> float:
    predicted, wanted = normalise(prediction).split(), normalise(gold).split()
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if not common:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def best_f1(prediction: str, golds: list[str]) -> float:
    return max((f1(prediction, gold) for gold in golds), default=0.0)


def exact(prediction: str, golds: list[str]) -> bool:
    return any(normalise(prediction) == normalise(gold) for gold in golds)


NUMBER = re.compile(r"\d+(?:[.,]\d+)*")


def right(prediction: str, golds: list[str], at_least: float = 0.5) -> bool:
    """Whether an answer matches a gold answer: token F1 of at least `at_least`, and no number in
    it that the gold lacks ("$161 billion" shares "billion" with "€90 billion" but is wrong)."""
    numbers = set(NUMBER.findall(prediction))
    return any(f1(prediction, gold) >= at_least and numbers <= set(NUMBER.findall(gold)) for gold in golds)
