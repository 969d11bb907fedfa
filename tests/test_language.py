"""The real en_core_web_sm: its labels are the ones rows store, and a build stores every
sentence's entities and parse as offsets into the clean text."""

from __future__ import annotations

import numpy as np
import pytest

from qa import language, questions
from qa.settings import DEFAULT
from qa.store import FileStore
from qa.store.manifest import reader_fingerprint

pytestmark = pytest.mark.slow


def test_the_label_tables_are_the_models_own():
    nlp = language.load_analyser().nlp
    assert set(language.ENTITY_LABELS[1:]) == set(nlp.get_pipe("ner").labels)
    assert set(language.DEPENDENCIES[1:]) == set(nlp.get_pipe("parser").labels)
    assert nlp.meta["version"] == language.MODEL_VERSION
    assert "lemmatizer" not in nlp.pipe_names


def test_a_build_stores_each_sentences_entities_as_offsets_into_the_clean_text(index_dir):
    reader = FileStore(index_dir, DEFAULT).open(reader_fingerprint(DEFAULT))
    (segment,) = [live.segment for live in reader.segments]
    assert len(segment.tokens) > 1000
    found = set()
    for doc in range(segment.documents):
        text = reader.document_at(doc).text
        first, stop = np.searchsorted(segment.sentences["doc"], [doc, doc + 1])
        mine = segment.tokens_of(np.arange(first, stop))
        for start, end, label in questions.entity_spans(mine):
            found.add((text[start:end], label))
    assert {("Kirill Dmitriev", "PERSON"), ("Dmitry Peskov", "PERSON"), ("Belgium", "GPE")} <= found
    assert any(label == "MONEY" and "€90 billion" in text for text, label in found)


def test_a_question_is_read_for_its_kind_entities_and_wh_role():
    asked = questions.read("Who was the Russian envoy in Miami?",
                           language.load_analyser().parse("Who was the Russian envoy in Miami?"))
    assert asked.kind == "person" and asked.labels[0] == "PERSON"
    assert "Miami" in asked.entities
    assert {"envoy", "miami"} <= asked.stems
    assert not asked.several
