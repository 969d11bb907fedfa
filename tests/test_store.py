"""Both stores and retrieval's fusion, fast: a stand-in encoder, real FAISS and BM25 files, and a
real PostgreSQL with pgvector."""

from __future__ import annotations

import numpy as np
import pytest
from fast_encoder import WordAnalyser, WordHashEncoder
from stores import STORES, location

from qa import Retriever, build_index, rows
from qa.candidates import ChunkHits, SentenceHits
from qa.retrieval import HybridRetrieval, best_in_ranges, fuse, minmax
from qa.settings import DEFAULT
from qa.store import FileStore, open_store
from qa.store.manifest import reader_fingerprint

DOCUMENTS = {
    "harbour.txt": "Harbour report\n\nThe harbour of Eastport reopened on 3 May after the storm. "
                   "Mayor Ingrid Solberg said the repairs cost $12 million.",
    "ferry.md": "# Ferry timetable\n\nThe ferry to Westport runs twice a day in summer.\n\n"
                "## Winter\n\nIn winter the ferry runs once a day.",
    "notes/bridge.txt": "Bridge notes\n\nStorm damage closed the railway bridge for a week.",
}


@pytest.fixture(scope="module", params=STORES)
def built(request, tmp_path_factory) -> str:
    """The documents indexed in a folder or in a PostgreSQL database: where they are."""
    seeds = tmp_path_factory.mktemp("seeds")
    for name, text in DOCUMENTS.items():
        (seeds / name).parent.mkdir(parents=True, exist_ok=True)
        (seeds / name).write_text(text)
    index = location(request, tmp_path_factory)
    build_index(seeds, index, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    return index


@pytest.fixture(scope="module")
def reader(built):
    return open_store(built).open(reader_fingerprint(DEFAULT, WordHashEncoder()))


def query(retrieval: HybridRetrieval, text: str):
    return retrieval.query(text, WordHashEncoder().encode([text])[0])


def test_candidates_carry_both_signals_for_every_chunk(reader):
    retrieval = HybridRetrieval(reader, DEFAULT.ranking, DEFAULT.lexical)
    hits = reader.candidates(query(retrieval, "harbour repairs cost"), 10)
    assert len(hits) == reader.manifest.chunks  # a small corpus: every chunk is a candidate
    best = int(np.argmax(hits.lexical))
    assert reader.document_at(int(hits.spans[best]["doc"])).id == "harbour.txt"
    vector = query(retrieval, "harbour repairs cost").vector
    sentences = reader.sentences(hits.ids, query(retrieval, "harbour repairs cost"))
    chunk_vectors = []  # a chunk's vector is the normalised mean of its sentences' (embedding.chunk_vectors)
    for span, within in zip(hits.spans, sentences.of_chunk, strict=True):
        text = reader.document_at(int(span["doc"])).text
        mean = WordHashEncoder().encode([text[int(s["start"]):int(s["end"])] for s in
                                         sentences.spans[within["first"]:within["stop"]]]).sum(axis=0)
        chunk_vectors.append(mean / np.linalg.norm(mean))
    assert np.allclose(hits.cosine, np.stack(chunk_vectors) @ vector, atol=1e-6)


def test_a_scope_limits_both_top_lists_to_its_documents(reader):
    retrieval = HybridRetrieval(reader, DEFAULT.ranking, DEFAULT.lexical)
    scopes = [(["notes/"], {"notes/bridge.txt"}), (["ferry.md", "notes/"], {"ferry.md", "notes/bridge.txt"})]
    for scope, allowed in scopes:
        hits = reader.candidates(query(retrieval, "storm harbour ferry"), 10, scope=scope)
        assert {reader.document_at(int(d)).id for d in hits.spans["doc"]} == allowed


def test_sentences_come_with_their_chunk_ranges_and_section_headings(reader):
    retrieval = HybridRetrieval(reader, DEFAULT.ranking, DEFAULT.lexical)
    q = query(retrieval, "When does the ferry run in winter?")
    hits = reader.candidates(q, 10)
    sentences = reader.sentences(hits.ids, q)
    ferry = reader.document("ferry.md")
    texts = [ferry.text[s["start"]:s["end"]] if reader.document_at(int(s["doc"])).id == "ferry.md" else None
             for s in sentences.spans]
    winter = texts.index("In winter the ferry runs once a day.")
    assert texts[sentences.section[winter]] == "Winter" and sentences.spans[sentences.section[winter]]["heading"]
    for chunk, span in zip(hits.spans, sentences.of_chunk, strict=True):
        inside = sentences.spans[span["first"]:span["stop"]]
        assert (inside["doc"] == chunk["doc"]).all()
        assert (inside["start"] >= chunk["start"]).all() and (inside["end"] <= chunk["end"]).all()


def test_fusion_ranks_chunks_best_first_with_scores_in_range(reader):
    retrieval = HybridRetrieval(reader, DEFAULT.ranking, DEFAULT.lexical)
    candidates = retrieval.candidates(query(retrieval, "railway bridge storm damage"))
    assert list(candidates.chunk_scores) == sorted(candidates.chunk_scores, reverse=True)
    ranking = DEFAULT.ranking  # a section heading can lift a sentence above 1, and its chunk with it
    assert 0.0 <= candidates.chunk_scores.min()
    assert candidates.chunk_scores.max() <= 1.0 + ranking.best_sentence * ranking.section_weight
    top = reader.document_at(int(candidates.chunks.spans[0]["doc"]))
    assert top.id == "notes/bridge.txt"
    passage = retrieval.passages(candidates, 1)[0]
    assert top.text[passage.start:passage.end] == passage.text


def test_chunks_rank_by_their_own_mix_of_their_sentences_signals():
    """Two one-sentence chunks, one matching the question's meaning, one its words: the chunks'
    order follows `ranking_dense`, the sentences' own scores follow `sentence_dense` alone."""
    chunks = ChunkHits(np.arange(2), rows.chunk_rows(0, [(0, 10), (10, 20)]), np.array([0.5, 0.5], np.float32),
                       np.array([1.0, 1.0], np.float32))
    sentences = SentenceHits(np.arange(2), rows.sentence_rows(0, [(0, 10, False), (10, 20, False)]),
                             np.zeros(2, rows.RANGE), np.zeros(0, rows.TOKEN), {},
                             np.array([0.9, 0.2], np.float32), np.array([1.0, 6.0], np.float32),
                             np.array([-1, -1]), np.array([(0, 1), (1, 2)], rows.RANGE))
    dense, lexical = (fuse(chunks, sentences, DEFAULT.replace(ranking={"ranking_dense": share}).ranking)
                      for share in (0.9, 0.1))
    assert dense.chunks.ids.tolist() == [0, 1] and lexical.chunks.ids.tolist() == [1, 0]
    assert dense.sentence_scores.tolist() == lexical.sentence_scores.tolist()


@pytest.mark.parametrize("values, expected", [
    ([2.0, 4.0, 3.0], [0.0, 1.0, 0.5]),
    ([5.0, 5.0], [1.0, 1.0]),
    ([0.0, 0.0], [0.0, 0.0]),
    ([], []),
])
def test_minmax_scales_over_the_candidates(values, expected):
    assert minmax(np.array(values, dtype=np.float32)).tolist() == expected


@pytest.mark.parametrize("ranges, expected", [
    ([(0, 3), (2, 5), (5, 5), (4, 5)], [0.9, 0.7, 0.0, 0.2]),  # chunks share sentences; an empty one gets 0
    ([], []),
])
def test_a_chunk_takes_its_best_sentence(ranges, expected):
    table = np.array(ranges, dtype=[("first", np.int64), ("stop", np.int64)])
    scores = np.array([0.1, 0.9, 0.7, 0.3, 0.2], dtype=np.float32)
    assert best_in_ranges(scores, table).tolist() == pytest.approx(expected)


def test_the_retriever_answers_with_any_models_the_index_was_built_with(built):
    retriever = Retriever.open(built, encoder=WordHashEncoder(), analyser=WordAnalyser())
    answer = retriever.answer("How much did the Eastport repairs cost?")
    assert answer.passages[0].doc_id == "harbour.txt"
    assert not answer.found or (answer.doc_id == "harbour.txt" and "$12 million" in answer.sentence)
    assert retriever.search("railway bridge", k=1)[0].doc_id == "notes/bridge.txt"


def test_an_index_built_with_another_encoder_is_refused_with_both_names(built):
    from qa import IndexUnavailable

    with pytest.raises(IndexUnavailable, match="test/word-hash.*all-MiniLM-L6-v2.*run `qa index"):
        open_store(built).open(DEFAULT.reader_fingerprint())


def test_batches_of_any_size_write_the_same_index(built, tmp_path):
    if str(built).startswith(("postgres://", "postgresql://")):
        pytest.skip("about the embedded store's batches")
    settings = DEFAULT.replace(index={"batch_sentences": 2})
    seeds = tmp_path / "seeds"
    for name, text in DOCUMENTS.items():
        (seeds / name).parent.mkdir(parents=True, exist_ok=True)
        (seeds / name).write_text(text)
    build_index(seeds, tmp_path / "index", progress=False, settings=settings, encoder=WordHashEncoder(),
                analyser=WordAnalyser())
    fingerprint = reader_fingerprint(DEFAULT, WordHashEncoder())
    one, many = open_store(built).open(fingerprint), FileStore(tmp_path / "index", settings).open(fingerprint)
    retrieval = HybridRetrieval(one, DEFAULT.ranking, DEFAULT.lexical)
    q = query(retrieval, "When does the ferry run in winter after the storm?")
    for reader in (one, many):
        hits = reader.candidates(q, 10)
        sentences = reader.sentences(hits.ids, q)
        assert [reader.document_at(int(d)).id for d in hits.spans["doc"]] == [
            one.document_at(int(d)).id for d in one.candidates(q, 10).spans["doc"]]
        assert np.allclose(hits.lexical, one.candidates(q, 10).lexical)
        assert np.allclose(sentences.lexical, one.sentences(one.candidates(q, 10).ids, q).lexical)
        assert np.allclose(sentences.cosine, one.sentences(one.candidates(q, 10).ids, q).cosine)


def test_opening_reads_no_document_and_a_query_reads_only_its_own(built, monkeypatch):
    from qa.store import catalog

    if str(built).startswith(("postgres://", "postgresql://")):
        pytest.skip("about the embedded store's catalog")
    read = []
    original = catalog.Catalog.document
    monkeypatch.setattr(catalog.Catalog, "document", lambda self, number: read.append(number) or original(self, number))
    retriever = Retriever.open(built, encoder=WordHashEncoder(), analyser=WordAnalyser())
    assert read == []
    assert retriever.search("railway bridge", k=1)[0].doc_id == "notes/bridge.txt"
    assert 0 < len(read) <= len(DOCUMENTS)


def test_acronyms_are_spelled_out_by_the_first_live_document_that_spells_them(tmp_path):
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    seeds.mkdir()
    (seeds / "a.txt").write_text("A loan from the European Union was approved.")
    (seeds / "b.txt").write_text("Prices at Eastern Utilities rose.")
    fingerprint = reader_fingerprint(DEFAULT, WordHashEncoder())
    build_index(seeds, index_dir, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    assert FileStore(index_dir, DEFAULT).open(fingerprint).spelled_out(["EU", "UN"]) == {"EU": "European Union"}
    (seeds / "a.txt").write_text("The loan was approved.")  # its old copy, with the phrase, is dead now
    build_index(seeds, index_dir, progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    reader = FileStore(index_dir, DEFAULT).open(fingerprint)
    assert len(reader.manifest.segments) == 2 and reader.spelled_out(["EU"]) == {"EU": "Eastern Utilities"}


def test_running_out_of_memory_is_reported_as_such_not_as_a_corrupt_index(built, monkeypatch):
    from qa import IndexUnavailable
    from qa.errors import OutOfMemory
    from qa.store import files

    def too_big(*args, **kwargs):
        raise MemoryError("Unable to allocate 14.0 GiB")

    if str(built).startswith(("postgres://", "postgresql://")):
        pytest.skip("about the embedded store's segments")
    monkeypatch.setattr(files, "Segment", too_big)
    with pytest.raises(OutOfMemory, match="does not fit in this machine's free memory") as raised:
        FileStore(built, DEFAULT).open(reader_fingerprint(DEFAULT, WordHashEncoder()))
    assert "corrupt" not in str(raised.value) and isinstance(raised.value, IndexUnavailable)


def test_quantised_vectors_keep_their_cosines():
    from qa.store.vectors import Quantised

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 385)).astype(np.float32)  # an odd dimension pads one code
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    stored = Quantised.of(vectors)
    assert stored.codes.shape == (50, 193) and stored.codes.dtype == np.uint8
    rows = np.array([3, 0, 49])
    assert np.abs(stored.vectors(rows, 385) - vectors[rows]).max() <= stored.scales.max() / 2 + 1e-6
    query = vectors[7]
    assert np.abs(stored.cosines(rows, query) - vectors[rows] @ query).max() < 0.05
    assert Quantised.of(np.zeros((1, 4), dtype=np.float32)).vectors(np.array([0]), 4).tolist() == [[0.0] * 4]


def test_tokens_are_stored_from_their_sentence_and_read_back_as_they_were():
    from qa import rows
    from qa.store.segment import read_tokens, stored_tokens

    tokens = np.zeros(3, dtype=rows.TOKEN)
    tokens["start"], tokens["end"], tokens["head"] = [1000, 1006, 70_000], [1005, 1007, 70_004], [1, 0, -1]
    tokens["entity"], tokens["entity_begins"], tokens["phrase"] = [5, 0, 0], [True, False, False], [1, 2, 0]
    starts = np.array([1000, 1000, 69_990])
    assert read_tokens(stored_tokens(tokens, starts), starts).tolist() == tokens.tolist()
