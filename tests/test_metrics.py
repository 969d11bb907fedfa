"""The benchmarks' judges: SQuAD's token F1 and the seed set's span-level verdict."""

import pytest

from bench.metrics import exact, f1, right


@pytest.mark.parametrize(("prediction", "gold", "expected"), [
    ("the Denver Broncos", "Denver Broncos", 1.0),
    ("Broncos", "Denver Broncos", 2 / 3),
    ("Carolina", "Denver Broncos", 0.0),
])
def test_f1_follows_squad_normalisation(prediction, gold, expected):
    assert f1(prediction, gold) == pytest.approx(expected)
    assert exact(prediction, [gold]) == (expected == 1.0)


@pytest.mark.parametrize(("prediction", "golds", "verdict"), [
    ("€90 billion", ["€90 billion ($106 billion)"], True),
    ("$161 billion", ["€90 billion", "€90 billion ($106 billion)"], False),   # shares only "billion"
    ("Steve Witkoff", ["Steve Witkoff and Jared Kushner"], True),
    ("Ukrainian and European officials remain sceptical of the process while fighting goes on along the front",
     ["Ukrainian and European officials"], False),                             # a sentence around it
    ("19", ["28", "28-point plan"], False),
])
def test_a_right_answer_names_no_number_the_gold_lacks(prediction, golds, verdict):
    assert right(prediction, golds) is verdict
