"""Stand-in models for fast tests about the store and fusion, not about the models: an encoder
each word of a text hashes to one of 64 dimensions, so texts that share words are close, and
bench.standins' analyser (one token per word)."""

from __future__ import annotations

import re
import threading
import zlib

import numpy as np

from bench.standins import WordAnalyser

__all__ = ["GatedEncoder", "WordAnalyser", "WordHashEncoder"]


class WordHashEncoder:
    name = "test/word-hash"
    dimension = 64

    def encode(self, texts: list[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"\w+", text.lower()):
                vectors[row, zlib.crc32(word.encode()) % self.dimension] += 1.0
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)


class GatedEncoder(WordHashEncoder):
    """The stand-in encoder, holding the build's batches (several texts; a question is one) until
    the test opens the gate. Identical texts are embedded once: a gated build needs a document of
    two sentences or more."""

    def __init__(self):
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def encode(self, texts):
        if len(texts) > 1:
            self.waiting.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return super().encode(texts)
