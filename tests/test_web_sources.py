"""Sources in the page and the API: list, add, delete; and what the server lets in (same-site
changes, the access token, the rate limit). Stand-in models: these tests are about the
server, not the models; a real HTTP client (TestClient) and real files."""

from __future__ import annotations

import pytest
from fast_encoder import WordAnalyser, WordHashEncoder
from fastapi.testclient import TestClient
from servers import wait_for

from qa import build_index
from qa.settings import DEFAULT
from web import create_app
from web.app import ServeRefused, serve

SEEDS = {
    "harbour.txt": "Harbour report\nThe harbour authority approved a new pier in March.\n",
    "reports/orchard.md": "# Orchard report\n\nThe orchard grows apples and pears.\n",
}
TOKEN = "correct horse battery staple"


def make_app(tmp_path, **options):
    seeds = tmp_path / "seeds"
    for name, text in SEEDS.items():
        (seeds / name).parent.mkdir(parents=True, exist_ok=True)
        (seeds / name).write_text(text)
    build_index(seeds, tmp_path / "index", progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    return create_app(tmp_path / "index", seeds, encoder=WordHashEncoder(), analyser=WordAnalyser(), **options), seeds


@pytest.fixture
def client(tmp_path):
    app, seeds = make_app(tmp_path)
    client = TestClient(app)
    client.seeds = seeds
    return client


def test_the_sources_page_lists_every_document_and_finds_by_title(client):
    page = client.get("/sources").text
    assert "Harbour report" in page and "Orchard report" in page and "2 documents" in page
    assert "<td>md</td>" in page and "<td>txt</td>" in page
    found = client.get("/sources", params={"q": "orch"}).text
    table = found[found.index("<table"):found.index("</table>")]
    assert "Orchard report" in table and "Harbour report" not in table and "1 document match" in found
    listed = client.get("/api/documents").json()
    assert [d["id"] for d in listed["documents"]] == ["harbour.txt", "reports/orchard.md"]
    assert listed["documents"][0]["format"] == "txt" and listed["documents"][0]["size"] > 0
    assert listed["documents"][0]["indexed_at"].startswith("20") and listed["skipped"] == []


def test_a_long_list_is_paged(tmp_path):
    app, seeds = make_app(tmp_path)
    for n in range(60):
        (seeds / f"note-{n:02d}.txt").write_text(f"Note number {n} about the harbour.\n")
    build_index(seeds, tmp_path / "index", progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    client = TestClient(app)
    first, second = client.get("/sources").text, client.get("/sources", params={"page": 2}).text
    first, second = (page[page.index("<table"):] for page in (first, second))
    assert "page 1 of 2" not in first  # the count is above the table
    assert 'rel="next"' in first and "<code>note-48.txt</code>" in first and "<code>note-49.txt</code>" not in first
    assert 'rel="prev"' in second and "<code>note-49.txt</code>" in second


def test_skipped_files_are_listed_with_the_reason(tmp_path):
    app, seeds = make_app(tmp_path)
    (seeds / "broken.txt").write_bytes(b"\xff\xfe\x00\x00binary\x00")
    build_index(seeds, tmp_path / "index", progress=False, encoder=WordHashEncoder(), analyser=WordAnalyser())
    client = TestClient(app)
    skipped = client.get("/api/documents").json()["skipped"]
    assert len(skipped) == 1 and "broken.txt" in skipped[0]
    assert "broken.txt" in client.get("/sources").text and "1 file skipped" in client.get("/").text


def test_uploaded_files_are_saved_safely_and_become_answerable(client):
    files = [("files", ("../../etc/lighthouse notes.TXT", b"The lighthouse keeper retired after forty years.\n")),
             ("files", ("harbour.txt", b"A second harbour file.\n")),
             ("files", ("virus.exe", b"MZ")), ("files", ("...", b"nothing"))]
    response = client.post("/api/documents", files=files)
    assert response.status_code == 202
    body = response.json()
    assert [s["id"] for s in body["saved"]] == ["lighthouse notes.txt", "harbour (2).txt"]
    assert [(r["name"], r["status"]) for r in body["refused"]] == [("virus.exe", 415), ("...", 400)]
    assert (client.seeds / "lighthouse notes.txt").read_bytes().startswith(b"The lighthouse")
    assert not list(client.seeds.glob(".upload-*"))  # no half-written files are left behind
    wait_for(lambda: client.get("/api/documents/lighthouse%20notes.txt").status_code == 200)
    found = client.get("/api/search", params={"q": "When did the lighthouse keeper retire?"}).json()
    assert found[0]["doc_id"] == "lighthouse notes.txt"


def test_an_upload_over_the_limit_or_of_an_unknown_format_is_refused_and_writes_nothing(tmp_path):
    app, seeds = make_app(tmp_path, settings=DEFAULT.replace(sources={"max_file_bytes": 100}))
    client = TestClient(app)
    big = client.post("/api/documents", files=[("files", ("big.txt", b"x" * 101))])
    assert big.status_code == 413 and "100 byte limit" in big.json()["detail"]
    odd = client.post("/api/documents", files=[("files", ("sheet.xyz", b"data"))])
    assert odd.status_code == 415 and "does not read .xyz files" in odd.json()["detail"]
    assert sorted(p.name for p in seeds.rglob("*") if p.is_file()) == ["harbour.txt", "orchard.md"]


def test_the_upload_form_works_without_javascript(client):
    response = client.post("/sources", files=[("files", ("pier.txt", b"The pier opened in May.\n"))],
                           follow_redirects=True)
    assert response.status_code == 200 and "Added pier.txt: it is being indexed" in response.text
    assert (client.seeds / "pier.txt").exists()


def test_a_document_is_deleted_after_a_confirmation(client):
    confirm = client.get("/sources/delete", params={"id": "reports/orchard.md"})
    assert confirm.status_code == 200 and "Delete this document?" in confirm.text
    assert (client.seeds / "reports" / "orchard.md").exists()  # asking deletes nothing
    done = client.post("/sources/delete", data={"id": "reports/orchard.md"}, follow_redirects=True)
    assert "Deleted reports/orchard.md." in done.text and not (client.seeds / "reports" / "orchard.md").exists()
    wait_for(lambda: client.get("/api/documents/reports/orchard.md").status_code == 404)
    assert client.delete("/api/documents/harbour.txt").json() == {"deleted": "harbour.txt"}
    assert not (client.seeds / "harbour.txt").exists()


@pytest.mark.parametrize("doc_id", ["../index/CURRENT", "missing.txt", "reports", "%2e%2e/secret.txt"])
def test_delete_never_reaches_outside_the_seeds(client, tmp_path, doc_id):
    (tmp_path / "secret.txt").write_text("keep me")
    assert client.delete(f"/api/documents/{doc_id}").status_code == 404
    assert (tmp_path / "secret.txt").exists() and (tmp_path / "index" / "CURRENT").exists()


def test_changes_from_another_site_are_refused(client):
    upload = client.post("/api/documents", files=[("files", ("x.txt", b"text"))],
                         headers={"Origin": "https://evil.example"})
    assert upload.status_code == 403
    gone = client.delete("/api/documents/harbour.txt", headers={"Sec-Fetch-Site": "cross-site"})
    assert gone.status_code == 403 and (client.seeds / "harbour.txt").exists()
    own = client.delete("/api/documents/harbour.txt", headers={"Origin": "http://testserver"})
    assert own.status_code == 202


def test_with_a_token_nothing_but_the_login_page_answers_without_it(tmp_path):
    app, seeds = make_app(tmp_path, token=TOKEN)
    client = TestClient(app)
    assert client.get("/api/ask", params={"q": "pier"}).status_code == 401
    assert client.post("/api/documents", files=[("files", ("x.txt", b"text"))]).status_code == 401
    assert client.delete("/api/documents/harbour.txt").status_code == 401 and (seeds / "harbour.txt").exists()
    page = client.get("/sources", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/sources"
    assert client.get("/healthz").status_code == 200
    wrong = client.post("/login", data={"token": "guess", "next": "/sources"}, follow_redirects=True)
    assert "That is not the token" in wrong.text
    signed = client.post("/login", data={"token": TOKEN, "next": "//evil.example/"}, follow_redirects=False)
    assert signed.headers["location"] == "/"
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert client.get("/sources").status_code == 200  # the cookie now carries the token
    bearer = TestClient(app).get("/api/documents", headers={"Authorization": f"Bearer {TOKEN}"})
    assert bearer.status_code == 200


def test_a_client_over_the_rate_limit_gets_429_with_when_to_retry(tmp_path):
    app, _ = make_app(tmp_path, settings=DEFAULT.replace(serve={"rate_per_minute": 3}))
    client = TestClient(app)  # its address is "testclient", not loopback
    codes = [client.get("/api/search", params={"q": "pier"}).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    limited = client.get("/api/ask", params={"q": "pier"})
    assert limited.status_code == 429 and int(limited.headers["retry-after"]) >= 1
    assert client.get("/sources").status_code == 200  # pages that cost no answer are not limited


def test_serving_beyond_loopback_needs_a_token(tmp_path):
    with pytest.raises(ServeRefused, match="--token or QA_TOKEN"):
        serve(tmp_path / "index", tmp_path / "seeds", host="0.0.0.0", port=0)
