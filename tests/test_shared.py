"""Servers sharing one store: each follows the versions the others (or `qa index`) write, and a
shared database that goes away while serving gives 503s until it is back. Real uvicorn servers
and HTTP clients; stand-in models (these tests are about the store and the servers)."""

from __future__ import annotations

import httpx
import pytest
from fast_encoder import WordAnalyser, WordHashEncoder
from servers import running, wait_for
from stores import STORES, location

from bench.pgserver import TemporaryPostgres
from qa import build_index
from qa.settings import DEFAULT
from web import create_app

MODELS = {"encoder": WordHashEncoder(), "analyser": WordAnalyser()}
SEEDS = {"harbour.txt": "The harbour authority approved a new pier in March.\nThe pier will cost $12 million.\n",
         "orchard.txt": "The orchard grows apples and pears.\nIts cider won a prize at the county fair.\n"}
LIGHTHOUSE = "The lighthouse keeper retired after forty years of service.\n"
QUESTION = "When did the lighthouse keeper retire?"


def write_seeds(folder, files):
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def top_document(client: httpx.Client, question: str) -> str | None:
    found = client.get("/api/search", params={"q": question})
    return found.json()[0]["doc_id"] if found.status_code == 200 else None


@pytest.fixture(params=STORES)
def index(request, tmp_path_factory) -> str:
    return location(request, tmp_path_factory)


def test_two_servers_sharing_a_store_both_follow_a_build(tmp_path, index):
    seeds = tmp_path / "seeds"
    write_seeds(seeds, SEEDS)
    build_index(seeds, index, progress=False, **MODELS)
    apps = [create_app(index, None, **MODELS) for _ in range(2)]
    with running(apps[0]) as first, running(apps[1]) as second, \
            httpx.Client(base_url=first) as one, httpx.Client(base_url=second) as other:
        assert [top_document(c, QUESTION) for c in (one, other)] != ["lighthouse.txt"] * 2
        assert one.get("/healthz").json()["documents"] == other.get("/healthz").json()["documents"] == 2
        write_seeds(seeds, {"lighthouse.txt": LIGHTHOUSE})
        build_index(seeds, index, progress=False, **MODELS)   # another process: `qa index`
        wait_for(lambda: top_document(one, QUESTION) == top_document(other, QUESTION) == "lighthouse.txt", 30)
        assert one.get("/healthz").json()["documents"] == other.get("/healthz").json()["documents"] == 3


@pytest.mark.postgres
@pytest.mark.slow
def test_a_database_restart_while_serving_gives_503s_then_answers_again(tmp_path):
    seeds = tmp_path / "seeds"
    write_seeds(seeds, SEEDS)
    with TemporaryPostgres() as database:
        build_index(seeds, database.url, progress=False, **MODELS)
        settings = DEFAULT.replace(store={"connect_seconds": 1.0})
        app = create_app(database.url, None, settings=settings, **MODELS)
        with running(app) as url, httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/api/ask", params={"q": "How much will the pier cost?"}).status_code == 200
            database.stop()
            asked = client.get("/api/ask", params={"q": "How much will the pier cost?"})
            assert asked.status_code == 503
            assert "shared store postgresql://postgres@127.0.0.1" in asked.json()["detail"]
            assert "cannot be reached" in asked.json()["detail"] or "failed" in asked.json()["detail"]
            page = client.get("/", params={"q": "How much will the pier cost?"})
            assert page.status_code == 503 and "shared store" in page.text
            database.start()
            wait_for(lambda: client.get("/api/ask", params={"q": "How much will the pier cost?"}).status_code == 200,
                     30)
            write_seeds(seeds, {"lighthouse.txt": LIGHTHOUSE})   # and it follows new versions again
            build_index(seeds, database.url, progress=False, **MODELS)
            wait_for(lambda: top_document(client, QUESTION) == "lighthouse.txt", 30)
