"""Embedding: the ONNX path gives sentence-transformers' own vectors, in input order."""

from __future__ import annotations

import numpy as np
import pytest

from qa import embedding
from qa.settings import DEFAULT

pytestmark = pytest.mark.slow
TEXTS = ["How big is the EU loan?", "x",
         "This commitment, amounting to a €90 billion ($106 billion) interest-free loan.",
         "word " * 400,  # longer than the model reads: truncated the same way
         "x", "How big is the EU loan?"]  # repeated texts are embedded once, and come back in place


def embed(texts: list[str]) -> np.ndarray:
    return embedding.embed(embedding.load_encoder(), texts)


@pytest.fixture(scope="module")
def reference() -> np.ndarray:
    return embedding.load_sentence_transformer().encode(TEXTS, normalize_embeddings=True)


@pytest.mark.parametrize("batch_size", [1, 2, 64])
def test_float32_vectors_match_sentence_transformers_and_keep_input_order(reference, batch_size):
    encoder = embedding.load_encoder(DEFAULT.replace(embedding={"quantised": False}).embedding)
    ours = embedding.embed(encoder, TEXTS, batch_size)
    assert ours.dtype == np.float32 and ours.shape == (len(TEXTS), 384)
    assert np.abs(ours - reference).max() < 1e-5


def test_int8_vectors_agree_with_float32_ones(reference):
    ours = embed(TEXTS)
    assert embedding.onnx_file(DEFAULT.embedding).name.endswith(f"-{embedding.QUANTISED}.onnx")
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * reference).sum(axis=1).min() > 0.97  # bench/build.py: 0.994 on average over the slice


def test_a_question_is_closer_to_its_answer_than_to_an_unrelated_sentence():
    (question,) = embed(["Who is the Kremlin spokesman?"])
    answer, unrelated = embed(["Kremlin spokesman Dmitry Peskov said Putin is ready.",
                                         "The harbour reopened after the storm."])
    assert question @ answer > question @ unrelated + 0.2


def test_no_texts_give_an_empty_array():
    assert embed([]).shape == (0, 384)
