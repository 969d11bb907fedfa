"""The web app over a real index of the seeds, through a real HTTP client (TestClient)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from qa import BuildLocked, QuestionError, build_index
from qa.settings import DEFAULT
from web import create_app
from web.conversation import message

pytestmark = pytest.mark.slow

MIAMI = "Where did the US and Russian envoys meet?"
HOSTILE = ('The <script>window.pwned = 1</script> Zorblax file "><img src=x onerror="window.pwned=1">\n\n'
           'The Zorblax report was written by Agent Quimby Smith, who signed it "><img src=x onerror="window.pwned=1">'
           " in the margin.\n")
FOLLOW_UP = "Who represented the US?"
HOSTILE_QUESTION = 'Who wrote the Zorblax report? <script>window.pwned=1</script>"><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def client(index_dir, seeds_dir) -> TestClient:
    return TestClient(create_app(index_dir, seeds_dir))


@pytest.fixture(scope="module")
def hostile_client(tmp_path_factory) -> TestClient:
    seeds = tmp_path_factory.mktemp("hostile-seeds")
    (seeds / "hostile.txt").write_text(HOSTILE, encoding="utf-8")
    index = tmp_path_factory.mktemp("hostile-index")
    build_index(seeds, index, progress=False)
    return TestClient(create_app(index, seeds))


class Refusing:
    """A stand-in Retriever whose every question raises `error` (a qa error the engine may raise)."""

    settings = DEFAULT

    def __init__(self, error: Exception):
        self.error = error

    def answer(self, question, history=(), k=5, scope=None):
        raise self.error

    search = answer


def refusing_client(tmp_path, error: Exception) -> TestClient:
    app = create_app(tmp_path / "unused-index", tmp_path)
    app.state.retriever = Refusing(error)
    return TestClient(app)


def seed_text(client: TestClient, doc_id: str) -> str:
    return client.get(f"/api/documents/{doc_id}").json()["text"]


def conversation(page: str) -> str:
    """The conversation part of a chat page (not the turn templates chat.js copies)."""
    return page[page.index('<section id="conversation"'):page.index("</section>")]


def test_ask_returns_the_span_with_offsets_into_the_document(client):
    answer = client.get("/api/ask", params={"q": MIAMI}).json()
    assert answer["found"] and answer["text"] == "Miami"
    assert seed_text(client, answer["doc_id"])[answer["start"]:answer["end"]] == "Miami"
    assert answer["sentence"][answer["start"] - answer["sentence_start"]:][:5] == "Miami"
    assert answer["link"] == (f"/documents/{answer['doc_id']}?start={answer['start']}&end={answer['end']}"
                              f"&ss={answer['sentence_start']}&se={answer['sentence_end']}#hl")
    assert answer["passages"] and all(p["link"].startswith("/documents/") for p in answer["passages"])


def test_ask_reports_evidence_and_scores_rounded_to_four_places(client):
    answer = client.get("/api/ask", params={"q": MIAMI}).json()
    assert "score" not in answer and 0.35 <= answer["evidence"] <= 1
    for value in [answer["evidence"]] + [p["score"] for p in answer["passages"]]:
        assert isinstance(value, float) and round(value, 4) == value
    assert any(round(value, 3) != value for value in [answer["evidence"]] + [p["score"] for p in answer["passages"]])


@pytest.mark.parametrize("question, span", [("Who is the Kremlin spokesman?", "Dmitry Peskov"),
                                            ("How many civilians were taken from the village?",
                                             "approximately 50")])
def test_ask_answers_seed_questions(client, question, span):
    assert client.get("/api/ask", params={"q": question}).json()["text"] == span


def test_a_passage_holding_the_answer_marks_the_answer_span(client):
    answer = client.get("/api/ask", params={"q": "Who is the Kremlin spokesman?"}).json()
    marked = [p["text"][s:e] for p in answer["passages"] for s, e in p["marks"]]
    assert "Dmitry Peskov" in marked


def test_post_ask_resolves_a_follow_up_against_the_history(client):
    answer = client.post("/api/ask", json={"question": FOLLOW_UP,
                                           "history": [MIAMI]}).json()
    assert answer["question"] == FOLLOW_UP
    assert answer["resolved"] == "Who represented the US? (envoys meet)"
    assert answer["found"] and answer["text"] == "Steve Witkoff and Jared Kushner"


def test_out_of_corpus_question_is_not_answered_but_shows_related_passages(client):
    answer = client.get("/api/ask", params={"q": "What is the capital of Australia?"}).json()
    assert answer["found"] is False and answer["text"] == "" and answer["link"] is None
    assert answer["passages"]


@pytest.mark.parametrize("question, detail", [
    ("", "The question is empty: type a question about the sources"),
    ("   ", "The question is empty: type a question about the sources"),
    ("x" * 2001, "The question is 2001 characters long; the limit is 2000")])
def test_bad_questions_get_422_with_a_message(client, question, detail):
    for response in (client.get("/api/ask", params={"q": question}),
                     client.post("/api/ask", json={"question": question}),
                     client.get("/api/search", params={"q": question})):
        assert response.status_code == 422
        assert response.json() == {"detail": detail}


@pytest.mark.parametrize("body", [b'{"question": "Who is \\ud800?"}',
                                  b'{"question": "Who?", "history": [{"question": "a", "answer": "\\udc00"}]}'])
def test_a_lone_surrogate_in_the_json_is_refused_with_422_not_500(tmp_path, body):
    client = refusing_client(tmp_path, AssertionError("the question never reaches the Retriever"))
    response = client.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert "string_unicode" in {error["type"] for error in response.json()["detail"]}


def test_the_message_upper_cases_only_its_first_letter():
    assert message(QuestionError("the question names DOC-7 and the US")) == "The question names DOC-7 and the US"
    assert message(QuestionError("")) == ""


def test_every_qa_error_gets_its_own_status_and_message(tmp_path):
    client = refusing_client(tmp_path, BuildLocked("another build (PID 7) holds the index's lock"))
    api = client.get("/api/ask", params={"q": MIAMI})
    assert api.status_code == 409 and api.json() == {"detail": "Another build (PID 7) holds the index's lock"}
    turn = client.post("/turn", data={"q": MIAMI})
    assert turn.status_code == 409
    assert 'role="alert">Another build (PID 7) holds the index&#39;s lock</p>' in turn.text


def test_the_turn_fragment_of_a_bad_question_is_422_with_its_message(tmp_path):
    client = refusing_client(tmp_path, QuestionError("the question names DOC-7, which the US index lacks"))
    response = client.post("/turn", data={"q": "Where is DOC-7?", "h": [MIAMI]})
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/html")
    fragment = response.text.strip()
    assert fragment.startswith('<article class="turn"') and fragment.endswith("</article>")
    assert '<span class="asked">Where is DOC-7?</span>' in fragment
    assert '<p class="error" role="alert">The question names DOC-7, which the US index lacks</p>' in fragment


def test_the_turn_fragment_of_a_too_long_question_is_422(client):
    response = client.post("/turn", data={"q": "x" * 2001})
    assert response.status_code == 422
    assert 'role="alert">The question is 2001 characters long; the limit is 2000</p>' in response.text
    assert "<html" not in response.text


def test_the_turn_fragment_answers_a_follow_up(client):
    response = client.post("/turn", data={"q": FOLLOW_UP, "h": [MIAMI]})
    assert response.status_code == 200
    fragment = response.text.strip()
    assert fragment.startswith('<article class="turn"') and fragment.count("<article") == 1
    assert "Read as: <span>Who represented the US? (envoys meet)</span>" in fragment
    assert "<mark>Steve Witkoff and Jared Kushner</mark>" in fragment
    assert 'class="score"' not in fragment  # scores stay in the API, out of the page


def test_the_turn_fragment_and_the_chat_page_render_a_turn_the_same(client):
    fragment = client.post("/turn", data={"q": FOLLOW_UP, "h": [MIAMI]}).text.strip()
    page = client.get("/", params={"q": FOLLOW_UP, "h": MIAMI}).text
    assert fragment in conversation(page)


def test_search_returns_k_passages_best_first(client):
    passages = client.get("/api/search", params={"q": "Miami talks", "k": 3}).json()
    assert len(passages) == 3
    assert [p["score"] for p in passages] == sorted((p["score"] for p in passages), reverse=True)


def test_documents_list_and_one_document(client, seeds_dir):
    listed = client.get("/api/documents").json()["documents"]
    assert {d["id"] for d in listed} == {p.name for p in seeds_dir.iterdir()}
    one = client.get(f"/api/documents/{listed[0]['id']}").json()
    assert one["title"] == listed[0]["title"] and len(one["text"]) == listed[0]["chars"]
    assert "path" not in one  # the server's file paths stay private


def test_healthz_reports_the_loaded_index(client, index_dir):
    health = client.get("/healthz").json()
    version = (index_dir / "CURRENT").read_text().strip()
    assert health.pop("built_at").startswith("20")
    assert health == {"status": "ok", "documents": 2, "version": version, "indexing": "", "done": 0, "total": 0}


def test_healthz_and_the_turn_fragment_are_503_without_an_index(tmp_path):
    client = TestClient(create_app(tmp_path / "No-Index", tmp_path))
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"detail": f"No index found in {tmp_path / 'No-Index'}/: run `qa index` to build it"}
    turn = client.post("/turn", data={"q": MIAMI})
    assert turn.status_code == 503 and "No-Index/: run `qa index` to build it</p>" in turn.text


def test_the_chat_page_without_an_index_says_how_to_build_one(tmp_path):
    response = TestClient(create_app(tmp_path / "no-index", tmp_path)).get("/")
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "run `qa index` to build it" in response.text


def test_an_empty_follow_up_is_refused_not_filled_from_the_history(client):
    response = client.post("/api/ask", json={"question": "  ", "history": ["Who met in Miami?"]})
    assert response.status_code == 422 and "empty" in response.json()["detail"]


@pytest.mark.parametrize("doc_id", ["no-such.txt", "../pyproject.toml", "..%2F..%2Fpyproject.toml",
                                    "%2Fetc%2Fpasswd", "..%252Fpyproject.toml", "%2E%2E/%2E%2E/README.md"])
def test_unknown_or_escaping_document_ids_are_404_and_read_no_file(client, doc_id):
    for url in (f"/api/documents/{doc_id}", f"/documents/{doc_id}"):
        response = client.get(url)
        assert response.status_code == 404
        assert "[project]" not in response.text and "root:" not in response.text


def test_a_link_asks_a_follow_up_in_the_light_of_earlier_questions(client):
    page = client.get("/", params={"q": FOLLOW_UP, "h": MIAMI}).text
    assert "<mark>Steve Witkoff and Jared Kushner</mark>" in page
    assert "Read as: <span>Who represented the US? (envoys meet)</span>" in page
    assert "<mark>Miami</mark>" not in page and "not-replayed" in page  # a link carries no answers
    assert carried(page)[0] == [MIAMI, FOLLOW_UP]


def test_posting_the_form_adds_a_turn(client):
    questions, tokens = carried(client.post("/", data={"q": MIAMI}).text)
    page = client.post("/", data={"q": "Who is the Kremlin spokesman?", "h": questions, "t": tokens}).text
    assert page.index("<mark>Miami</mark>") < page.index("<mark>Dmitry Peskov</mark>")


def test_chat_page_says_the_sources_dont_say(client):
    page = client.get("/", params={"q": "What is the capital of Australia?"}).text
    assert "The sources don't say" in page and "Closest passages, which don't answer this" in page
    assert 'class="score"' not in page


def test_chat_page_shows_a_bad_question_inline_with_422(client):
    questions, tokens = carried(client.post("/", data={"q": MIAMI}).text)
    response = client.post("/", data={"q": "x" * 2001, "h": questions, "t": tokens})
    assert response.status_code == 422
    turns = conversation(response.text)
    assert turns.count('<article class="turn"') == 2 and "<mark>Miami</mark>" in turns
    assert 'role="alert">The question is 2001 characters long; the limit is 2000</p>' in turns
    assert carried(response.text)[0] == [MIAMI]  # the refused question is not carried on


def test_chat_page_says_what_is_indexed(client, index_dir, retriever):
    page = client.get("/").text
    assert "U.S.–Russia Talks on Ukraine Stall" in page
    assert re.search(rf"2 documents,\s+{retriever.manifest.chunks} passages, indexed <time [^>]+>[^<]+ ago</time>",
                     page)
    assert (index_dir / "CURRENT").read_text().strip() not in page  # an internal version id means nothing


def test_pages_load_nothing_from_other_hosts(client):
    for url in ("/", "/docs", "/documents/us-russia-talks-stall.txt"):
        page = client.get(url).text
        assert re.findall(r'(?:src|href)="(?:https?:)?//', page) == []


def test_document_page_highlights_the_linked_span(client):
    answer = client.get("/api/ask", params={"q": MIAMI}).json()
    page = client.get(answer["link"].split("#")[0]).text
    assert '<mark class="span" id="hl">Miami</mark>' in page
    sentence = answer["sentence"]
    assert f'<mark class="in-sentence">{sentence[:sentence.index("Miami")]}</mark>' in page


def test_document_page_ignores_a_span_outside_the_text(client):
    page = client.get("/documents/us-russia-talks-stall.txt", params={"start": 5, "end": 10**6})
    assert page.status_code == 200 and "<mark" not in page.text


def test_api_is_documented(client):
    assert "/api/ask" in client.get("/openapi.json").json()["paths"]
    docs = client.get("/docs").text
    assert "GET /api/search" in docs and "POST /api/ask" in docs
    assert "<code>evidence</code>: cosine of the answer" in docs and "<code>history</code>: earlier" in docs


def test_hostile_document_and_question_text_is_escaped(hostile_client):
    chat = hostile_client.get("/", params={"q": HOSTILE_QUESTION}).text
    fragment = hostile_client.post("/turn", data={"q": HOSTILE_QUESTION, "h": ['"><img src=x>']}).text
    answer = hostile_client.get("/api/ask", params={"q": HOSTILE_QUESTION}).json()
    document = hostile_client.get(answer["link"].split("#")[0]).text
    for page in (chat, fragment, document):
        assert "<script>window" not in page and "<img" not in page
        assert "&lt;script&gt;window.pwned" in page and "&#34;&gt;&lt;img src=x onerror=" in page
    for page in (chat, fragment):
        assert "<mark>Quimby Smith</mark>" in page
        assert "&lt;script&gt;window.pwned=1&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(1)&gt;</span>" in page


def test_the_server_never_writes_to_the_seeds_folder(client, seeds_dir):
    before = {p.name: p.stat().st_mtime_ns for p in seeds_dir.iterdir()}
    client.get("/", params={"q": MIAMI})
    client.post("/api/ask", json={"question": FOLLOW_UP, "history": [MIAMI]})
    client.post("/turn", data={"q": FOLLOW_UP, "h": [MIAMI]})
    assert {p.name: p.stat().st_mtime_ns for p in seeds_dir.iterdir()} == before


def carried(page: str) -> tuple[list[str], list[str]]:
    """The earlier questions and their signed turns a chat page's plain form carries."""
    return (re.findall(r'<input type="hidden" name="h" value="([^"]*)">', page),
            re.findall(r'<input type="hidden" name="t" value="([^"]*)">', page))


def test_a_plain_form_conversation_shows_earlier_answers_without_answering_them_again(client, monkeypatch):
    first = client.post("/", data={"q": MIAMI}).text
    questions, tokens = carried(first)
    assert questions == [MIAMI] and len(tokens) == 1
    answered = []
    retriever = client.app.state.retriever
    original = retriever.answer
    monkeypatch.setattr(retriever, "answer", lambda *a, **k: answered.append(a[0]) or original(*a, **k))
    second = client.post("/", data={"q": FOLLOW_UP, "h": questions, "t": tokens}).text
    assert answered == [FOLLOW_UP]  # one request, one answer: the earlier turn came from its token
    turns = re.findall(r'<article class="turn".*?</article>', conversation(second), re.S)
    assert len(turns) == 2 and "<mark>Miami</mark>" in turns[0]
    assert "<mark>Steve Witkoff and Jared Kushner</mark>" in turns[1]  # the follow-up read the earlier answer
    assert carried(second)[0] == [MIAMI, FOLLOW_UP]


def test_a_forged_or_mismatched_turn_token_shows_the_question_alone(client):
    questions, tokens = carried(client.post("/", data={"q": MIAMI}).text)
    forged = tokens[0][:-3] + ("abc" if not tokens[0].endswith("abc") else "xyz")
    for h, t in (([MIAMI], [forged]), (["Who is the Kremlin spokesman?"], tokens)):
        page = client.post("/", data={"q": "Who is the Kremlin spokesman?", "h": h, "t": t}).text
        turns = re.findall(r'<article class="turn".*?</article>', conversation(page), re.S)
        assert "not-replayed" in turns[0] and "<mark>Miami</mark>" not in turns[0]


def test_a_long_plain_form_conversation_keeps_its_last_ten_questions(client):
    asked = [f"Who is the Kremlin spokesman? ({n})" for n in range(12)]
    page = client.post("/", data={"q": MIAMI, "h": asked}).text
    assert carried(page)[0] == asked[3:] + [MIAMI]
    turns = conversation(page)
    assert turns.count('<article class="turn"') == 11  # ten earlier turns and the new one


def test_long_earlier_questions_are_not_answered_again(client):
    long = [(f"{n}: where did the US and Russian envoys meet, and who spoke for the Kremlin? " * 30)[:2000]
            for n in range(10)]
    page = client.post("/", data={"q": "Who is the Kremlin spokesman?", "h": long})
    assert page.status_code == 200
    turns = re.findall(r'<article class="turn".*?</article>', conversation(page.text), re.S)
    assert len(turns) == 11
    assert ["not-replayed" in turn for turn in turns] == [True] * 10 + [False]
    assert '<span class="asked">0: where did the US' in turns[0]
    assert "<mark>Dmitry Peskov</mark>" in turns[-1]
    assert carried(page.text)[0] == [question.strip() for question in long[1:]] + ["Who is the Kremlin spokesman?"]


def test_the_app_answers_with_the_settings_it_is_given(index_dir, seeds_dir):
    settings = DEFAULT.replace(answering={"max_question_chars": 30, "max_history": 1})
    client = TestClient(create_app(index_dir, seeds_dir, settings=settings))
    assert client.get("/api/ask", params={"q": MIAMI}).json() == {
        "detail": "The question is 41 characters long; the limit is 30"}
    response = client.post("/turn", data={"q": MIAMI})
    assert response.status_code == 422 and "the limit is 30</p>" in response.text
    page = client.post("/", data={"q": "Who is the Kremlin spokesman?", "h": ["Who met in Miami?"]}).text
    hidden = re.findall(r'<input type="hidden" name="h" value="([^"]*)">', page)
    assert hidden == ["Who is the Kremlin spokesman?"] and 'data-max-history="1"' in page


def test_an_answer_carries_its_confidence_and_the_sources_that_disagree(client):
    answer = client.get("/api/ask", params={"q": "How much Russian money is frozen in Europe?"}).json()
    assert answer["found"] and "€210 billion" in answer["text"]
    assert 0 < answer["confidence"] < 1 and answer["cue"] in ("likely", "uncertain")
    [conflict] = answer["conflicts"]
    assert conflict["doc_id"] == "us-russia-talks-stall.txt" and conflict["text"] == "roughly $300 billion"
    assert seed_text(client, conflict["doc_id"])[conflict["start"]:conflict["end"]] == conflict["text"]
    assert conflict["link"].startswith("/documents/us-russia-talks-stall.txt?start=")
    page = client.get("/", params={"q": "How much Russian money is frozen in Europe?"}).text
    assert "The sources differ" in page and "<mark>roughly $300 billion</mark>" in page
    assert re.search(r'<p class="confidence (likely|uncertain)"', page)


def test_a_follow_up_can_refer_to_the_previous_answer(client):
    history = [{"question": "Near which village did Russian troops try to break through?", "answer": "Grabovske"}]
    answer = client.post("/api/ask", json={"question": "How many civilians were taken from there?",
                                           "history": history}).json()
    assert "Grabovske" in answer["resolved"] and answer["text"] == "approximately 50"
    fragment = client.post("/turn", data={"q": "How many civilians were taken from there?",
                                          "h": [history[0]["question"]], "a": ["Grabovske"]}).text
    assert "Grabovske" in fragment.split('class="resolved"')[1].split("</p>")[0]


FROZEN = "How much Russian money is frozen in Europe?"


@pytest.mark.parametrize("doc_id", ["us-russia-talks-stall.txt", "diplomatic-arena.txt"])
def test_ask_and_search_take_a_scope(client, doc_id):
    got = client.get("/api/ask", params={"q": FROZEN, "scope": [doc_id]}).json()
    assert got["doc_id"] == doc_id and {p["doc_id"] for p in got["passages"]} == {doc_id}
    posted = client.post("/api/ask", json={"question": FROZEN, "scope": [doc_id]}).json()
    assert posted["text"] == got["text"]
    found = client.get("/api/search", params={"q": FROZEN, "scope": doc_id, "k": 10}).json()
    assert {p["doc_id"] for p in found} == {doc_id}


def test_a_scope_that_names_nothing_is_a_422_that_says_which(client):
    for response in (client.get("/api/ask", params={"q": FROZEN, "scope": "minutes.txt"}),
                     client.post("/api/ask", json={"question": FROZEN, "scope": ["minutes.txt"]}),
                     client.get("/api/search", params={"q": FROZEN, "scope": "minutes.txt"})):
        assert response.status_code == 422
        assert response.json()["detail"] == "The scope 'minutes.txt' names no indexed document or folder"


def test_the_chat_form_keeps_its_scope(client):
    page = client.post("/", data={"q": FROZEN, "s": "us-russia-talks-stall.txt"}).text
    assert 'value="us-russia-talks-stall.txt" form="ask" class="scope"' in page
    assert re.search(r'value="us-russia-talks-stall.txt" form="ask" class="scope"\s+aria-label="[^"]+" checked>', page)
    assert "<mark>roughly $300 billion</mark>" in page
