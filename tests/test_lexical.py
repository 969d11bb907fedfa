"""BM25 as the store scores it, from stored term counts through postings, equals bm25s's Lucene
scoring: of chunks and of sentences, in one segment and across segments with dead rows."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import bm25s
import numpy as np
import pytest
from fast_encoder import WordAnalyser, WordHashEncoder

from qa import build_index, lexical
from qa.candidates import Query
from qa.settings import DEFAULT
from qa.store import FileStore
from qa.store.manifest import reader_fingerprint

DOCUMENTS = {  # one chunk each; a chunk's counts are the sum of its sentences'
    "a.txt": "The harbour of Eastport reopened in May after the storm.",
    "b.txt": "Mayor Ingrid Solberg said the harbour repairs cost twelve million dollars. The harbour is open.",
    "c.txt": "The ferry to Westport runs twice a day in summer and once in winter.",
    "d.txt": "Storm damage closed the railway bridge for a week.",
    "e.txt": "The museum of Eastport opened a new harbour wing, with a harbour model. Ferry fans came.",
    "f.txt": "Nothing about boats here.",
}
QUERIES = ["harbour repairs", "Eastport storm damage", "ferry winter Westport", "harbour harbour museum",
           "unknown words only"]


def build(seeds: Path, index_dir: Path, documents: dict[str, str]):
    for path in seeds.iterdir():
        path.unlink()
    for name, text in documents.items():
        (seeds / name).write_text(text)
    build_index(seeds, index_dir, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    return FileStore(index_dir, DEFAULT).open(reader_fingerprint(DEFAULT, WordHashEncoder()))


@pytest.fixture(scope="module")
def readers(tmp_path_factory) -> dict[str, tuple]:
    """The index of DOCUMENTS, and a later version of two segments where a.txt changed and b.txt
    is gone (their old rows dead in the first segment), each with what it holds."""
    seeds, index_dir = tmp_path_factory.mktemp("seeds"), tmp_path_factory.mktemp("index")
    first = build(seeds, index_dir, DOCUMENTS)
    changed = {**DOCUMENTS, "a.txt": "The harbour of Northport froze."}
    del changed["b.txt"]
    second = build(seeds, index_dir, changed)
    assert len(second.manifest.segments) == 2
    return {"one segment": (first, DOCUMENTS), "dead rows": (second, changed)}


def reference(texts: list[str], query: str) -> np.ndarray:
    """bm25s's scores of the distinct tokens: a word repeated in a question counts once for us."""
    model = bm25s.BM25(method="lucene", k1=1.2, b=0.75)
    model.index(lexical.tokenize(texts), show_progress=False)
    distinct = list(dict.fromkeys(lexical.tokenize([query])[0]))
    return model.get_scores(distinct) if distinct else np.zeros(len(texts))


@pytest.mark.parametrize("version", ["one segment", "dead rows"])
@pytest.mark.parametrize("question", QUERIES)
def test_chunk_and_sentence_scores_equal_bm25s_lucene(readers, version, question):
    reader, documents = readers[version]
    query = Query(question, np.zeros(WordHashEncoder.dimension, dtype=np.float32), lexical.tokenize([question])[0])
    chunks = reader.candidates(query, 100)
    assert len(chunks) == len(documents)
    chunk_texts = [reader.document_at(int(s["doc"])).text[s["start"]:s["end"]] for s in chunks.spans]
    assert np.allclose(chunks.lexical, reference(chunk_texts, question), atol=1e-5)
    sentences = reader.sentences(chunks.ids, query)
    sentence_texts = [reader.document_at(int(s["doc"])).text[s["start"]:s["end"]] for s in sentences.spans]
    assert len(sentence_texts) == sum(text.count(". ") + 1 for text in documents.values())
    assert np.allclose(sentences.lexical, reference(sentence_texts, question), atol=1e-5)
    held = [set(tokens) for tokens in lexical.tokenize(sentence_texts)]  # the live sentences only
    expected = {t: float(lexical.idf(sum(t in h for h in held), len(held)))
                for t in query.tokens if any(t in h for h in held)}
    assert reader.term_idf(query.tokens) == pytest.approx(expected)
    assert reader.max_idf == pytest.approx(float(lexical.idf(1, len(sentence_texts))))


@pytest.mark.parametrize("texts", [
    list(DOCUMENTS.values()) + QUERIES,
    ["", "The", "Running runners ran; C'est l'été — naïve café, 1984's U.S.A. x2 b_c", "ÉCOLE Straße"],
])
def test_tokens_are_bm25s_own(texts):
    expected = bm25s.tokenize(texts, stopwords="en", stemmer=lexical.stemmer(), return_ids=False, show_progress=False)
    assert lexical.tokenize(texts) == expected


def test_new_terms_extend_the_vocabulary_and_counts_repeat():
    vocabulary = {"harbour": 0}
    counts = lexical.count_terms(["harbour harbour museum"], vocabulary)
    assert set(vocabulary) == {"harbour", "museum"}
    assert counts[0, vocabulary["harbour"]] == 2 and counts[0, vocabulary["museum"]] == 1


@pytest.fixture(scope="module")
def articles(tmp_path_factory, seeds_dir):
    """A reader of four SQuAD-like articles (about 200 chunks, common words from the seed reports)
    and questions about them."""
    from bench.scale import make_questions, write_corpus

    seeds, index_dir = tmp_path_factory.mktemp("articles") / "seeds", tmp_path_factory.mktemp("index")
    write_corpus(seeds, 200, texts=[path.read_text() for path in sorted(seeds_dir.iterdir()) if path.is_file()])
    build_index(seeds, index_dir, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    return FileStore(index_dir, DEFAULT).open(reader_fingerprint(DEFAULT, WordHashEncoder())), make_questions(seeds, 30)


@pytest.mark.parametrize("n", [5, 20])
def test_the_lexical_top_skips_common_postings_and_finds_what_scoring_them_all_finds(articles, monkeypatch, n):
    from qa.store import files

    reader, questions = articles
    everything = reader.score_every_posting
    read_all = []  # the shares at which a question's every posting was scored
    monkeypatch.setattr(reader, "score_every_posting", lambda *args: read_all.append(files.MAX_SHARE)
                        or everything(*args))
    for question in questions:
        postings, idf = reader.postings(tuple(dict.fromkeys(lexical.tokenize([question])[0])))
        ids, scores = everything(postings, idf, None)
        best = np.sort(scores)[::-1][:n]
        for share in (0.0, 0.5, 1.0):  # every posting scored; terms of up to half the chunks taken; all
            monkeypatch.setattr(files, "MAX_SHARE", share)
            found = reader.lexical_top(postings, idf, n, None)
            assert np.allclose(np.sort(reader.lexical_scores(postings, idf, found))[::-1], best, atol=1e-6)
            assert np.allclose(reader.lexical_scores(postings, idf, ids), scores, atol=1e-6)
    assert read_all.count(0.5) < len(questions) / 2 and 1.0 not in read_all


def test_each_thread_stems_with_a_stemmer_of_its_own():
    """PyStemmer's stemmers keep state between calls and must not be shared between threads."""
    mine = lexical.stemmer("english")
    with ThreadPoolExecutor(2) as pool:
        theirs = list(pool.map(lambda _: lexical.stemmer("english"), range(2)))
    assert lexical.stemmer("english") is mine and all(stemmer is not mine for stemmer in theirs)
    assert lexical.tokenize(["The envoys met in Miami"]) == [["envoy", "met", "miami"]]
