"""A running server follows the seeds folder: add, edit, delete, with no failed request meanwhile."""

from __future__ import annotations

import re
import shutil
import threading
import time

import httpx
import pytest
from servers import running

from qa import build_index
from web import create_app
from web.state import open_retriever

pytestmark = pytest.mark.slow

HARBOUR = ("Harbour report\n\nThe harbour of Eastport reopened on 3 May after the storm. "
           "Mayor Ingrid Solberg said the repairs cost $12 million.\n")
QUESTION = "How much did the Eastport harbour repairs cost?"
STEADY = "Who is the Kremlin spokesman?"
WAIT = 90  # seconds a rebuild may take to show (a failure bound, not a speed bar)


def wait_for(check, what: str, change=lambda: None):
    """Poll `check` until it holds; `change` (the edit being waited for) is made again every
    2 s, so an edit made before the watcher started is not lost."""
    deadline = time.monotonic() + WAIT
    change()
    while time.monotonic() < deadline:
        for _ in range(10):
            result = check()
            if result:
                return result
            time.sleep(0.2)
        change()
    pytest.fail(f"the server never showed {what}")


@pytest.fixture
def live(seeds_dir, tmp_path):
    """A watching server over a copy of the seeds; yields (base URL, seeds folder)."""
    seeds, index_dir = tmp_path / "seeds", tmp_path / "index"
    shutil.copytree(seeds_dir, seeds)
    build_index(seeds, index_dir, progress=False)
    app = create_app(index_dir, seeds, watch=True)
    open_retriever(app)
    with running(app) as url:
        yield url, seeds


def ask(url: str, question: str) -> dict:
    response = httpx.get(f"{url}/api/ask", params={"q": question}, timeout=30)
    response.raise_for_status()
    return response.json()


def test_answers_and_index_state_follow_the_seeds_without_a_restart(live):
    url, seeds = live
    before = httpx.get(f"{url}/healthz").json()
    assert before["documents"] == 2 and not ask(url, QUESTION)["found"]

    failures, answers, stop = [], [], threading.Event()

    def keep_asking():  # a steady user during every swap
        while not stop.is_set():
            try:
                answers.append(ask(url, STEADY)["text"])
            except Exception as error:  # noqa: BLE001 - any failure is what this test looks for
                failures.append(repr(error))

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        added = wait_for(lambda: (a := ask(url, QUESTION))["found"] and a, "the new document's answer",
                         lambda: (seeds / "harbour.txt").write_text(HARBOUR))
        assert added["doc_id"] == "harbour.txt" and added["text"] == "$12 million"
        health = httpx.get(f"{url}/healthz").json()
        assert health["documents"] == 3 and health["version"] != before["version"]
        page = httpx.get(f"{url}/").text
        assert "Harbour report" in page and re.search(r"3 documents,\s+\d+ passages, indexed", page)

        wait_for(lambda: ask(url, QUESTION)["text"] == "$15 million", "the edited answer",
                 lambda: (seeds / "harbour.txt").write_text(HARBOUR.replace("$12 million", "$15 million")))

        wait_for(lambda: not ask(url, QUESTION)["found"], "the answer gone after the delete",
                 lambda: (seeds / "harbour.txt").unlink(missing_ok=True))
        assert httpx.get(f"{url}/healthz").json()["documents"] == 2
        assert httpx.get(f"{url}/documents/harbour.txt").status_code == 404
    finally:
        stop.set()
        asker.join()
    assert failures == []
    assert answers and set(answers) == {"Dmitry Peskov"}
