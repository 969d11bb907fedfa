"""One Settings object: every knob has a help line, and the index fingerprint follows it."""

from __future__ import annotations

import dataclasses

import pytest

from qa.settings import DEFAULT, Settings


def test_every_knob_has_a_default_and_a_help_line():
    rows = DEFAULT.describe()
    assert len(rows) >= 30
    assert all(help_text and not help_text.endswith(".") for _, _, help_text, _ in rows)
    assert len({name for name, _, _, _ in rows}) == len(rows)


@pytest.mark.parametrize("stage, field, value, changes_index", [
    ("chunking", "chunk_max_words", 60, True),
    ("sources", "cleaning_version", 99, True),
    ("lexical", "stemmer", "porter", True),
    ("embedding", "model", "other/model", True),
    ("index", "format_version", 99, True),
    ("lexical", "k1", 1.5, False),            # BM25 weights apply at query time
    ("ranking", "candidates", 50, False),
    ("answering", "min_confidence", 0.5, False),
    ("index", "ivf_min_chunks", 10, False),   # each segment records the kind it was given
    ("index", "batch_sentences", 10, False),  # batches change the memory a build needs, not what it writes
])
def test_the_fingerprint_holds_exactly_the_fields_the_index_depends_on(stage, field, value, changes_index):
    changed = DEFAULT.replace(**{stage: {field: value}})
    assert getattr(getattr(changed, stage), field) == value
    assert (changed.fingerprint() != DEFAULT.fingerprint()) is changes_index


def test_the_fingerprint_names_the_tokenizer_and_splitter_versions():
    fingerprint = DEFAULT.fingerprint()
    assert fingerprint["lexical.tokenizer"].startswith("bm25s-")
    assert fingerprint["chunking.splitter"].startswith("pysbd-")
    assert {"lexical.stopwords", "lexical.stemmer", "embedding.model"} <= set(fingerprint)


def test_a_reader_must_match_the_model_tokenizer_and_layout_but_not_chunking():
    reader = DEFAULT.reader_fingerprint()
    assert "embedding.model" in reader and "lexical.stemmer" in reader and "index.format_version" in reader
    assert not any(name.startswith(("chunking.", "sources.")) for name in reader)


def test_settings_are_frozen_and_replace_makes_a_copy():
    with pytest.raises(dataclasses.FrozenInstanceError):
        DEFAULT.chunking.chunk_max_words = 1  # type: ignore[misc]
    assert Settings().replace(ranking={"candidates": 7}).ranking.candidates == 7
    assert DEFAULT.ranking.candidates == 100
