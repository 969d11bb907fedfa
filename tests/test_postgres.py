"""The shared store on a real PostgreSQL + pgvector server (bench/pgserver.py, from the test extra):
the same candidates and scores as the embedded store, versions that requests in flight keep,
the build lock, schema versions, collections, notifications, a database that goes away.
Stand-in models: these tests are about the store."""

from __future__ import annotations

import os
import shutil
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psycopg
import pytest
from fast_encoder import WordAnalyser, WordHashEncoder

from bench.pgserver import TemporaryPostgres
from qa import BuildLocked, IndexUnavailable, Retriever, build_index
from qa.cli import main
from qa.retrieval import HybridRetrieval
from qa.settings import DEFAULT
from qa.store import open_store
from qa.store.manifest import reader_fingerprint
from qa.store.postgres import SCHEMA_VERSION, PostgresReader, masked
from qa.store.vectors import Quantised

pytestmark = pytest.mark.postgres

MODELS = {"encoder": WordHashEncoder(), "analyser": WordAnalyser()}
FINGERPRINT = reader_fingerprint(DEFAULT, WordHashEncoder())
EXTRA = {
    "harbour.txt": "Harbour report\n\nThe harbour of Eastport reopened on 3 May after the storm. "
                   "Mayor Ingrid Solberg said the repairs cost $12 million.\n",
    "ferry.md": "# Ferry timetable\n\nThe ferry to Westport runs twice a day in summer.\n\n"
                "## Winter\n\nIn winter the ferry runs once a day. The talks in Miami did not change it.\n",
    "notes/bridge.txt": "Bridge notes\n\nStorm damage closed the railway bridge for a week.\n",
}
QUESTIONS = ["Where did the US and Russian envoys meet?", "Who is the Kremlin spokesman?",
             "How big is the interest-free loan?", "frozen Russian assets Belgium", "harbour repairs cost",
             "When does the ferry run in winter?", "storm damage bridge", "peace plan points", "the the",
             "zzzz unknown"]


def build(seeds: Path, where: str, **settings) -> None:
    build_index(seeds, where, progress=False, settings=DEFAULT.replace(**settings) if settings else DEFAULT,
                **MODELS)


def reader_of(where: str):
    return open_store(where).open(FINGERPRINT)


def chunk_table(reader, question: str, n: int, scope=None) -> dict:
    """(doc id, start, end) -> (cosine, BM25) of the candidates, and the chunks' ids."""
    retrieval = HybridRetrieval(reader, DEFAULT.ranking, DEFAULT.lexical)
    query = retrieval.query(question, WordHashEncoder().encode([question])[0])
    hits = reader.candidates(query, n, scope)
    keys = [(reader.document_at(int(s["doc"])).id, int(s["start"]), int(s["end"])) for s in hits.spans]
    return {"query": query, "ids": hits.ids,
            "chunks": dict(zip(keys, zip(hits.cosine.tolist(), hits.lexical.tolist(), strict=True), strict=True))}


def sentence_table(reader, found: dict) -> dict:
    """Every sentence the candidates bring, by (doc id, start, end): its signals, section heading
    and tokens; and each chunk's sentences, in the order the chunks were asked for."""
    hits = reader.sentences(found["ids"], found["query"])
    keys = [(reader.document_at(int(s["doc"])).id, int(s["start"]), int(s["end"])) for s in hits.spans]
    table = {}
    for j, key in enumerate(keys):
        tokens = hits.token_rows[hits.tokens[j]["first"]:hits.tokens[j]["stop"]]
        table[key] = (float(hits.cosine[j]), float(hits.lexical[j]), bool(hits.spans[j]["heading"]),
                      keys[hits.section[j]] if hits.section[j] >= 0 else None,
                      [tuple(t)[1:] for t in tokens.tolist()])
    per_chunk = [tuple(keys[r["first"]:r["stop"]]) for r in hits.of_chunk]
    return {"sentences": table, "per_chunk": per_chunk, "term_idf": hits.term_idf}


def sentence_cosines(reader, sentences: dict, query) -> dict:
    """Each sentence's cosine with the question from its own vector: as the embedded store keeps
    it (4 bits a dimension, `Quantised`) or exact (the shared store keeps float32)."""
    exact = {}
    for doc_id, start, end in sentences:
        text = reader.document(doc_id).text[start:end]
        exact[doc_id, start, end] = WordHashEncoder().encode([text])
    if isinstance(reader, PostgresReader):
        return {key: float(vector[0] @ query.vector) for key, vector in exact.items()}
    return {key: float(Quantised.of(vector).cosines(np.zeros(1, dtype=np.int64), query.vector)[0])
            for key, vector in exact.items()}


def assert_same(embedded: dict, shared: dict, cosines: bool = True) -> None:
    """The same keys and values, floats to 1e-5; without `cosines`, the first (the cosine) is not
    compared."""
    assert embedded.keys() == shared.keys()
    for key, values in embedded.items():
        for n, (mine, theirs) in enumerate(zip(values, shared[key], strict=True)):
            if n == 0 and not cosines:
                continue
            if isinstance(mine, float):
                assert theirs == pytest.approx(mine, rel=1e-5, abs=1e-5), key
            else:
                assert theirs == mine, key


def assert_same_idf(embedded: dict, shared: dict, max_idf: float) -> None:
    """The same IDF for every term the sources use. The embedded store also gives one for a term
    only a deleted document used while its old segment is kept (no sentence holds it: an IDF
    above the highest possible); the shared store leaves such a term out, as for any unknown one."""
    assert shared == pytest.approx({term: embedded[term] for term in shared}, rel=1e-12)
    assert all(embedded[term] > max_idf for term in embedded.keys() - shared.keys())


@pytest.fixture
def seeds(seeds_dir, tmp_path) -> Path:
    folder = tmp_path / "seeds"
    shutil.copytree(seeds_dir, folder)
    for name, text in EXTRA.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)
    return folder


def test_candidates_sentences_and_scores_equal_the_embedded_stores_through_changes(seeds, tmp_path, pg_url):
    folder = str(tmp_path / "index")
    changes = [lambda: None,
               lambda: (seeds / "harbour.txt").write_text(EXTRA["harbour.txt"].replace("$12", "$15")),
               lambda: (seeds / "notes" / "bridge.txt").unlink(),
               lambda: (seeds / "orchard.txt").write_text("Orchard\n\nThe orchard grows apples near the harbour.\n")]
    for change in changes:
        change()
        for where in (folder, pg_url):
            build(seeds, where)
        embedded, shared = reader_of(folder), reader_of(pg_url)
        assert shared.manifest.documents.keys() == embedded.manifest.documents.keys()
        assert shared.max_idf == pytest.approx(embedded.max_idf, rel=1e-12)
        for question in QUESTIONS:
            for n, scope in ((5, None), (100, None), (3, ["ferry.md", "notes/"])):
                ours, theirs = chunk_table(embedded, question, n, scope), chunk_table(shared, question, n, scope)
                assert_same(ours["chunks"], theirs["chunks"])
                ours_sentences, theirs_sentences = sentence_table(embedded, ours), sentence_table(shared, theirs)
                assert_same(ours_sentences["sentences"], theirs_sentences["sentences"], cosines=False)
                for reader, table in ((embedded, ours_sentences), (shared, theirs_sentences)):
                    assert_same({key: (cosine,) for key, (cosine, *_) in table["sentences"].items()},
                                {key: (cosine,) for key, cosine in
                                 sentence_cosines(reader, table["sentences"], ours["query"]).items()})
                assert sorted(ours_sentences["per_chunk"]) == sorted(theirs_sentences["per_chunk"])
                assert_same_idf(ours_sentences["term_idf"], theirs_sentences["term_idf"], embedded.max_idf)


def test_acronyms_are_spelled_out_as_the_embedded_store_does_through_changes(seeds, tmp_path, pg_url):
    folder = str(tmp_path / "index")
    (seeds / "b.txt").write_text("Talks on the Energy Union resumed on Monday.\n")
    (seeds / "notes" / "imf.txt").write_text("A loan from the International Monetary Fund was approved.\n")
    asked = ["EU", "IMF", "US", "UN"]
    kept = {"IMF": "International Monetary Fund", "US": "United States"}   # the seeds: two documents spell US
    steps = [(lambda: None, {"EU": "Energy Union", **kept}),   # "b.txt" before "diplomatic-arena.txt"
             # the first document by id spells it, though "Z.txt" was added after "b.txt"
             (lambda: (seeds / "Z.txt").write_text("Prices at Eastern Utilities rose.\n"),
              {"EU": "Eastern Utilities", **kept}),
             (lambda: (seeds / "Z.txt").write_text("Prices rose.\n"), {"EU": "Energy Union", **kept}),
             (lambda: (seeds / "b.txt").unlink(), {"EU": "European Union", **kept})]
    before: list = []
    for change, expected in steps:
        change()
        for where in (folder, pg_url):
            build(seeds, where)
        readers = [reader_of(folder), reader_of(pg_url)]
        assert [reader.spelled_out(asked) for reader in readers] == [expected, expected]
        for reader, answer in before:   # opened on the version before: it keeps its own answer
            assert reader.spelled_out(asked) == answer
        before = [(reader, expected) for reader in readers]


def test_acronyms_are_spelled_out_without_reading_any_document_text(tmp_path, pg_url):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "eu.txt").write_text("A loan from the European Union was approved.\n")
    build(seeds, pg_url)
    role = f"r_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_url, autocommit=True) as connection:   # a role that may read all but the texts
        connection.execute(f"CREATE ROLE {role} LOGIN")
        connection.execute(f"GRANT USAGE ON SCHEMA qa_main TO {role}")
        connection.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA qa_main TO {role}")
        connection.execute(f"REVOKE SELECT ON qa_main.documents FROM {role}")
        columns = connection.execute(
            "SELECT string_agg(quote_ident(column_name), ', ') FROM information_schema.columns "
            "WHERE table_schema = 'qa_main' AND table_name = 'documents' AND column_name <> 'text'").fetchone()[0]
        connection.execute(f"GRANT SELECT ({columns}) ON qa_main.documents TO {role}")
    reader = reader_of(pg_url.replace("postgres@", f"{role}@"))
    assert reader.spelled_out(["EU", "UN"]) == {"EU": "European Union"}
    with pytest.raises(IndexUnavailable, match="permission denied"):
        reader.documents()


def search(reader, question: str) -> list[str]:
    """The text of the candidates of `question`, best BM25 first."""
    found = chunk_table(reader, question, 5)
    ranked = sorted(found["chunks"].items(), key=lambda item: -item[1][1])
    return [reader.document(doc_id).text[start:end] for (doc_id, start, end), _ in ranked]


def test_a_reader_keeps_its_version_until_it_is_removed(seeds, pg_url):
    build(seeds, pg_url)
    before = reader_of(pg_url)
    (seeds / "harbour.txt").write_text(EXTRA["harbour.txt"].replace("$12 million", "$15 million"))
    build(seeds, pg_url)
    after = reader_of(pg_url)
    assert after.version != before.version
    assert "$12 million" in search(before, "harbour repairs cost")[0]   # a request in flight: its version
    assert "$15 million" in search(after, "harbour repairs cost")[0]
    assert "$12 million" in before.document("harbour.txt").text
    store = open_store(pg_url, DEFAULT.replace(store={"keep_seconds": 0}))
    with store.lock():
        store.cleanup()
    with pytest.raises(IndexUnavailable, match="replaced and removed; reopen"):
        search(before, "harbour repairs cost")
    assert "$15 million" in search(after, "harbour repairs cost")[0]
    with psycopg.connect(pg_url) as connection:   # the old rows are gone, the live ones stay
        connection.execute("SET search_path = qa_main")
        assert connection.execute("SELECT count(*) FROM versions").fetchone() == (1,)
        assert connection.execute("SELECT count(*) FROM documents WHERE died IS NOT NULL").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM acronyms WHERE died IS NOT NULL").fetchone() == (0,)
        assert connection.execute("SELECT count(*) FROM chunk_postings p LEFT JOIN chunks c ON c.id = p.row_id "
                                  "WHERE c.id IS NULL").fetchone() == (0,)


def test_a_builder_that_will_not_wait_names_the_holder(seeds, pg_url):
    store = open_store(pg_url)
    with store.lock():
        with pytest.raises(BuildLocked, match=f"another build \\(pid {os.getpid()} on .*, since .*\\) is running"):
            build_index(seeds, pg_url, progress=False, wait=False, **MODELS)
    assert build_index(seeds, pg_url, progress=False, wait=False, **MODELS).added == len(EXTRA) + 2


def test_collections_in_one_database_are_separate(seeds, tmp_path, pg_url):
    other = tmp_path / "other"
    other.mkdir()
    (other / "orchard.txt").write_text("Orchard\n\nThe orchard grows apples and pears.\n")
    build(seeds, pg_url)
    build(other, pg_url, store={"collection": "orchard"})
    main = Retriever.open(pg_url, **MODELS)
    orchard = Retriever.open(pg_url, DEFAULT.replace(store={"collection": "orchard"}), **MODELS)
    assert "orchard.txt" not in main.manifest.documents
    assert list(orchard.manifest.documents) == ["orchard.txt"]
    assert "collection orchard" in str(orchard.store) and "orchard" not in str(main.store)


@pytest.mark.parametrize("stored, reader_says, builder_does", [
    (1, "holds schema version 1 .*: run `qa index --store .*` to upgrade it", "upgrades"),
    (99, f"written by a newer qa \\(schema version 99, this qa reads {SCHEMA_VERSION}\\): upgrade qa", "refuses"),
])
def test_an_older_schema_is_upgraded_by_a_build_and_a_newer_one_refused(seeds, pg_url, stored, reader_says,
                                                                         builder_does):
    (seeds / "eu.txt").write_text("A loan from the European Union was approved.\n")
    build(seeds, pg_url)
    with psycopg.connect(pg_url, autocommit=True) as connection:
        connection.execute("UPDATE qa_main.meta SET value = %s WHERE key = 'schema_version'", (str(stored),))
        if stored == 1:
            connection.execute("DROP TABLE qa_main.acronyms")   # as version 1 wrote it
    with pytest.raises(IndexUnavailable, match=reader_says):
        Retriever.open(pg_url, **MODELS)
    if builder_does == "refuses":
        with pytest.raises(IndexUnavailable, match=reader_says):
            build(seeds, pg_url)
    else:
        stats = build_index(seeds, pg_url, progress=False, **MODELS)
        assert stats.full_rebuild == f"the collection's schema is upgraded to version {SCHEMA_VERSION}"
        assert Retriever.open(pg_url, **MODELS).search("harbour repairs cost", k=1)[0].doc_id == "harbour.txt"
        assert reader_of(pg_url).spelled_out(["EU"]) == {"EU": "European Union"}


def test_a_server_waiting_for_changes_is_notified_of_a_build(seeds, pg_url):
    build(seeds, pg_url)
    store = open_store(pg_url)
    store.wait_for_change(0.01)  # listening from now on
    woke = threading.Event()
    waiter = threading.Thread(target=lambda: (store.wait_for_change(60), woke.set()))
    waiter.start()
    (seeds / "orchard.txt").write_text("Orchard\n\nThe orchard grows apples.\n")
    build(seeds, pg_url)
    assert woke.wait(30), "no notification"  # a failure bound, not a speed bar: the poll would take 60 s
    waiter.join()
    assert store.live_version() == reader_of(pg_url).version


def test_passwords_never_show(seeds):
    url = "postgresql://qa:s3cret-pw@127.0.0.1:1/qa?sslmode=disable&password=s3cret-pw"
    assert masked(url) == "postgresql://qa:***@127.0.0.1:1/qa?sslmode=disable&password=***"
    settings = DEFAULT.replace(store={"connect_seconds": 1.0})
    for attempt in (lambda: Retriever.open(url, settings, **MODELS),
                    lambda: build_index(seeds, url, progress=False, settings=settings, **MODELS)):
        with pytest.raises(IndexUnavailable) as raised:
            attempt()
        assert "s3cret" not in str(raised.value) and "qa:***@127.0.0.1:1/qa" in str(raised.value)


@pytest.mark.slow
def test_a_database_that_goes_away_is_unavailable_and_recovers_when_it_returns(seeds):
    with TemporaryPostgres() as server:
        build(seeds, server.url)
        with Retriever.open(server.url, DEFAULT.replace(store={"connect_seconds": 1.0}), **MODELS) as retriever:
            assert retriever.search("harbour repairs cost", k=1)[0].doc_id == "harbour.txt"
            server.stop()
            with pytest.raises(IndexUnavailable, match="the shared store postgresql://postgres@127.0.0.1:.*"):
                retriever.search("harbour repairs cost", k=1)
            with pytest.raises(IndexUnavailable):
                retriever.refresh()
            server.start()
            deadline = time.monotonic() + 30
            while True:
                try:
                    assert retriever.search("harbour repairs cost", k=1)[0].doc_id == "harbour.txt"
                    break
                except IndexUnavailable:
                    assert time.monotonic() < deadline, "never recovered"
                    time.sleep(0.2)


def test_a_closed_retriever_lets_go_of_its_connections(seeds, pg_url):
    build(seeds, pg_url)

    def readers() -> int:
        with psycopg.connect(pg_url, autocommit=True) as connection:
            return connection.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                      "AND application_name LIKE 'qa reader%'").fetchone()[0]

    with Retriever.open(pg_url, **MODELS) as retriever:
        assert retriever.search("harbour repairs cost", k=1)[0].doc_id == "harbour.txt"
        assert readers() >= 1
    deadline = time.monotonic() + 10  # a server process ends just after its client hangs up
    while readers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert readers() == 0


def test_the_command_line_names_the_holder_and_never_the_password(seeds, pg_url, capsys, monkeypatch):
    with open_store(pg_url).lock():
        assert main(["index", "--no-wait", "--seeds", str(seeds), "--store", pg_url]) == 1
    assert f"another build (pid {os.getpid()} on " in capsys.readouterr().err
    monkeypatch.setenv("QA_STORE", "postgresql://qa:s3cret@127.0.0.1:1/qa")
    assert main(["index", "--seeds", str(seeds), "--collection", "other"]) == 1
    err = capsys.readouterr().err
    assert "postgresql://qa:***@127.0.0.1:1/qa (collection other)" in err and "s3cret" not in err
