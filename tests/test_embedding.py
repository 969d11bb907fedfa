"""Embedding: the ONNX path gives sentence-transformers' own vectors, in input order."""

from __future__ import annotations

import numpy as np
import pytest

from qa import embedding

pytestmark = pytest.mark.slow


def embed(texts: list[str]) -> np.ndarray:
    return embedding.embed(embedding.load_encoder(), texts)


def test_vectors_match_sentence_transformers_and_keep_input_order():
    texts = ["How big is the EU loan?", "x",
             "This commitment, amounting to a €90 billion ($106 billion) interest-free loan.",
             "word " * 400]  # longer than the model reads: truncated the same way
    ours = embed(texts)
    reference = embedding.load_sentence_transformer().encode(texts, normalize_embeddings=True)
    assert ours.dtype == np.float32 and ours.shape == (4, 384)
    assert np.abs(ours - reference).max() < 1e-5
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)


def test_a_question_is_closer_to_its_answer_than_to_an_unrelated_sentence():
    (question,) = embed(["Who is the Kremlin spokesman?"])
    answer, unrelated = embed(["Kremlin spokesman Dmitry Peskov said Putin is ready.",
                                         "The harbour reopened after the storm."])
    assert question @ answer > question @ unrelated + 0.2


def test_no_texts_give_an_empty_array():
    assert embed([]).shape == (0, 384)
