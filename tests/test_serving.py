"""`qa serve` listens at once: while the sources are indexed the pages and /healthz say how far
it is, questions get a clear 503, and a previous index answers meanwhile. Stand-in models
(the test is about the server, not the models), a real uvicorn server and HTTP client."""

from __future__ import annotations

import re
import threading

import httpx
import pytest
from fast_encoder import GatedEncoder, WordAnalyser, WordHashEncoder
from servers import running, wait_for

from qa import Retriever, build_index
from qa.settings import DEFAULT
from web import create_app

SEEDS = {
    "harbour.txt": "The harbour authority approved a new pier in March.\nThe pier will cost $12 million.\n",
    "orchard.txt": "The orchard grows apples and pears.\nIts cider won a prize at the county fair.\n",
}
LATER = {"lighthouse.txt": "The lighthouse keeper retired after forty years of service.\n"
                           "He now paints the boats in the harbour.\n"}


def write(folder, files):
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


@pytest.fixture
def gated():
    encoder = GatedEncoder()
    yield encoder
    encoder.gate.set()


def test_the_server_listens_while_the_first_build_runs_and_answers_when_it_is_done(tmp_path, gated):
    seeds = tmp_path / "seeds"
    write(seeds, SEEDS)
    app = create_app(tmp_path / "index", seeds, build=True, encoder=gated, analyser=WordAnalyser())
    with running(app) as url, httpx.Client(base_url=url) as client:
        assert gated.waiting.wait(20)               # the build is embedding, and the port is open
        page = client.get("/")
        assert page.status_code == 503
        assert "Indexing the sources" in page.text and '<meta http-equiv="refresh"' in page.text
        assert "<progress" in page.text
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "indexing" and health.json()["indexing"].startswith("embedding")
        asked = client.get("/api/ask", params={"q": "How much will the pier cost?"})
        assert asked.status_code == 503 and "being indexed" in asked.json()["detail"]
        gated.gate.set()
        wait_for(lambda: client.get("/healthz").status_code == 200)
        assert client.get("/healthz").json()["documents"] == 2
        passages = client.get("/api/search", params={"q": "How much will the pier cost?"}).json()
        assert passages[0]["doc_id"] == "harbour.txt"
        sidebar = client.get("/").text
        built = r"indexed <time [^>]+>(just now|a second ago|\d+ seconds ago)</time>"
        assert re.search(r"2 documents,\s+2 passages, " + built, sidebar)
        assert "v-20" not in sidebar  # no internal version id on the page


def test_a_previous_index_answers_while_the_sources_are_indexed_again(tmp_path, gated):
    seeds = tmp_path / "seeds"
    write(seeds, SEEDS)
    build_index(seeds, tmp_path / "index", progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    write(seeds, LATER)
    app = create_app(tmp_path / "index", seeds, build=True, encoder=gated, analyser=WordAnalyser())
    with running(app) as url, httpx.Client(base_url=url) as client:
        assert gated.waiting.wait(20)
        wait_for(lambda: client.get("/healthz").status_code == 200)  # the previous version is open
        health = client.get("/healthz").json()
        assert health["documents"] == 2 and health["indexing"].startswith("embedding")
        assert "Updating: embedding" in client.get("/").text
        found = client.get("/api/search", params={"q": "When did the lighthouse keeper retire?"}).json()
        assert all(p["doc_id"] != "lighthouse.txt" for p in found)
        gated.gate.set()
        wait_for(lambda: client.get("/healthz").json()["documents"] == 3)
        found = client.get("/api/search", params={"q": "When did the lighthouse keeper retire?"}).json()
        assert found[0]["doc_id"] == "lighthouse.txt"
        assert client.get("/healthz").json()["indexing"] == ""


def test_a_failed_first_build_is_shown_not_hidden(tmp_path):
    app = create_app(tmp_path / "index", tmp_path / "missing-seeds", build=True, encoder=WordHashEncoder(),
                     analyser=WordAnalyser(), settings=DEFAULT)
    with running(app) as url, httpx.Client(base_url=url) as client:
        wait_for(lambda: client.get("/healthz").json().get("status") != "indexing")
        health = client.get("/healthz")
        assert health.status_code == 503 and "could not be indexed: Seeds folder not found" in health.json()["detail"]


class CountingEncoder(WordHashEncoder):
    """The stand-in encoder, counting how many questions it embeds at the same moment: each
    waits (up to 0.5 s) for `together` questions to be inside at once."""

    def __init__(self, together: int):
        self.together, self.inside, self.most = together, 0, 0
        self.changed = threading.Condition()

    def encode(self, texts):
        with self.changed:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.changed.notify_all()
            self.changed.wait_for(lambda: self.inside >= self.together, timeout=0.5)
        try:
            return super().encode(texts)
        finally:
            with self.changed:
                self.inside -= 1


@pytest.mark.parametrize("at_once", [1, 2])
def test_questions_beyond_at_once_wait_their_turn(tmp_path, at_once):
    write(tmp_path / "seeds", SEEDS)
    build_index(tmp_path / "seeds", tmp_path / "index", progress=False, encoder=WordHashEncoder(),
                analyser=WordAnalyser())
    encoder = CountingEncoder(together=at_once + 1)  # waits for one more than may be let in
    retriever = Retriever.open(tmp_path / "index", DEFAULT.replace(answering={"at_once": at_once}),
                               encoder=encoder, analyser=WordAnalyser())
    answers = []
    threads = [threading.Thread(target=lambda: answers.append(retriever.answer("What will the pier cost?")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert encoder.most == at_once
    encoder.together = 1
    alone = retriever.answer("What will the pier cost?")
    assert len(answers) == 4 and all(answer == alone for answer in answers)
