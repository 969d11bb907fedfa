"""Stand-ins for the models, so that large indexes build in minutes: the index path is measured,
not the models (whose own costs the benchmarks print apart).

- `HashingEncoder`: each lower-cased word is hashed (crc32) into one of 384 signed buckets,
  so texts that share words are close; deterministic, about 100,000 texts a second.
- `WordAnalyser`: one token per word or punctuation mark, with no parse or entities, where
  spaCy would parse; the stored rows have spaCy's row count and layout.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from qa import rows

WORD = re.compile(r"\w+")
TOKEN = re.compile(r"\w+|[^\w\s]")


class HashingEncoder:
    """Lower-cased words hashed (crc32) into 384 signed buckets; L2-normalised rows."""

    name = "hashing-384"
    dimension = 384

    def __init__(self) -> None:
        self.buckets: dict[str, tuple[int, float]] = {}

    def bucket(self, word: str) -> tuple[int, float]:
        found = self.buckets.get(word)
        if found is None:
            code = zlib.crc32(word.encode())
            found = self.buckets[word] = (code % self.dimension, 1.0 if code >> 31 else -1.0)
        return found

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit row per text (a text without words gives a zero row)."""
        places = [(row, *self.bucket(word)) for row, text in enumerate(texts)
                  for word in WORD.findall(text.lower())]
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if places:
            row, column, sign = (np.array(part) for part in zip(*places, strict=True))
            np.add.at(vectors, (row, column), sign.astype(np.float32))
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


class WordAnalyser:
    """One untagged token per word or punctuation mark: no entities or parse."""

    name = "test/words"

    def analyse(self, texts, starts) -> list[np.ndarray]:
        return [self.parse(text, start) for text, start in zip(texts, starts, strict=True)]

    def parse(self, text: str, start: int = 0) -> np.ndarray:
        spans = [match.span() for match in TOKEN.finditer(text)]
        table = np.zeros(len(spans), dtype=rows.TOKEN)
        if spans:
            offsets = np.array(spans) + start
            table["start"], table["end"] = offsets[:, 0], offsets[:, 1]
        return table
