"""Pages everywhere: answers from a PDF name the page a reader sees, the chat links the
original page drawn with the answer on it, the original file is served, and the document
page shows headings, page breaks and the answer. Real model, real PDF, real HTTP client."""

from __future__ import annotations

import io
import re
from urllib.parse import quote

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from bench import samples
from qa import build_index
from qa.cli import main
from web import create_app
from web.state import open_retriever

pytestmark = pytest.mark.slow

QUESTION = "Who first lit the lighthouse of Northam?"   # the fact on the report's third page, labelled "1"


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    """(seeds, index) of a PDF report, a Markdown file with URL characters in its name, a text file."""
    seeds = tmp_path_factory.mktemp("paged-seeds")
    (seeds / "eastport report.pdf").write_bytes(samples.report_pdf(pages=3))
    (seeds / "notes #2 ?draft% .md").write_text("# Harbour notes\n\nThe harbour master is Ines Vogel.\n")
    (seeds / "two\nlines.txt").write_text("Tide tables\nThe spring tide peaks at dawn.\n")
    (seeds / "plain.txt").write_text("The ferry to the island leaves at noon.\n")
    index = tmp_path_factory.mktemp("paged-index")
    build_index(seeds, index, progress=False)
    return seeds, index


@pytest.fixture(scope="module")
def client(paged):
    seeds, index = paged
    app = create_app(index, seeds)
    open_retriever(app)
    client = TestClient(app)
    client.seeds = seeds
    return client


def fact(label: str):
    return next(f for f in samples.report_facts(3) if f.label == label and "lighthouse" in f.text)


def test_an_answer_from_a_pdf_names_its_page_in_the_api_and_the_chat(client):
    wanted = fact("1")
    answer = client.get("/api/ask", params={"q": QUESTION}).json()
    assert answer["found"] and answer["doc_id"] == "eastport report.pdf"
    assert answer["text"] in wanted.text and answer["page"] == "1"
    assert all(p["page"] in {"i", "ii", "1"} for p in answer["passages"] if p["doc_id"].endswith(".pdf"))
    assert answer["page_link"] == (f"/documents/eastport%20report.pdf/pages/1?start={answer['start']}"
                                   f"&end={answer['end']}")
    chat = client.get("/", params={"q": QUESTION}).text
    assert ', <span class="page">p. 1</span>' in chat and "see it on the page" in chat
    plain = client.get("/api/ask", params={"q": "When does the ferry to the island leave?"}).json()
    assert plain["page"] is None and plain["page_link"] is None


def test_the_original_page_is_drawn_with_the_answer_highlighted(client):
    answer = client.get("/api/ask", params={"q": QUESTION}).json()
    view = client.get(answer["page_link"])
    assert view.status_code == 200 and "Page 1 (3 of 3)" in view.text and 'rel="prev"' in view.text
    image_url = re.search(r'<img class="original-page" src="([^"]+)"', view.text).group(1).replace("&amp;", "&")
    png = client.get(image_url)
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    pixels = np.asarray(Image.open(io.BytesIO(png.content)).convert("RGB")).astype(int)
    yellow = (pixels[..., 0] > 90) & (pixels[..., 1] > 80) & (pixels[..., 0] - pixels[..., 2] > 60)
    assert 50 < yellow.sum() < pixels.shape[0] * pixels.shape[1] / 50  # the span, not the page
    plain = client.get(image_url.split("?")[0])
    pixels = np.asarray(Image.open(io.BytesIO(plain.content)).convert("RGB")).astype(int)
    assert not ((pixels[..., 0] > 90) & (pixels[..., 1] > 80) & (pixels[..., 0] - pixels[..., 2] > 60)).any()
    assert client.get("/documents/eastport%20report.pdf/pages/99").status_code == 404
    assert client.get("/documents/plain.txt/pages/1").status_code == 404


def test_the_original_file_is_served_as_it_was_indexed_and_nothing_else(client):
    original = client.get("/documents/eastport%20report.pdf/original")
    assert original.status_code == 200 and original.headers["content-type"] == "application/pdf"
    assert original.headers["content-disposition"].startswith("inline;")
    assert original.content == (client.seeds / "eastport report.pdf").read_bytes()
    for escaping in ("../../etc/passwd", "..%2F..%2Fpyproject.toml", "%2Fetc%2Fpasswd"):
        assert client.get(f"/documents/{escaping}/original").status_code == 404
    (client.seeds / "plain.txt").write_text("Changed since.\n")
    try:
        assert client.get("/documents/plain.txt/original").status_code == 409
    finally:
        (client.seeds / "plain.txt").write_text("The ferry to the island leaves at noon.\n")


def test_the_document_page_shows_headings_page_breaks_and_the_answer(client):
    answer = client.get("/api/ask", params={"q": QUESTION}).json()
    page = client.get(answer["link"]).text
    assert '<p class="page-break" id="page-ii">— p. ii —</p>' in page and "— p. 1 —" in page
    assert "<h2>Harbour history</h2>" in page
    assert re.search(r'<mark class="in-sentence">[^<]+</mark><mark class="span" id="hl">' + re.escape(answer["text"]),
                     page)
    assert "3 pages" in page and "see it on the page" in page and "original file" in page


@pytest.mark.parametrize(("doc_id", "words"), [("notes #2 ?draft% .md", "Ines Vogel"),
                                               ("two\nlines.txt", "spring tide")])
def test_file_names_with_url_characters_have_working_links(client, doc_id, words):
    listed = {d["id"]: d["link"] for d in client.get("/api/documents").json()["documents"]}
    assert listed[doc_id] == "/documents/" + quote(doc_id)
    page = client.get(listed[doc_id])
    assert page.status_code == 200 and words in page.text


def test_the_document_page_shows_its_title_once(client):
    page = client.get("/documents/" + quote("two\nlines.txt")).text
    article = page[page.index('<article class="document">'):page.index("</article>")]
    assert article.count("Tide tables") == 1 and "<h1>Tide tables</h1>" in article  # not again in the text


def test_a_link_to_the_answer_in_a_file_with_url_characters_works(client):
    doc_id = "notes #2 ?draft% .md"
    answer = client.get("/api/ask", params={"q": "Who is the harbour master?"}).json()
    assert answer["doc_id"] == doc_id and client.get(answer["link"].split("#")[0]).status_code == 200


def test_the_cli_names_the_page(paged, capsys):
    assert main(["ask", QUESTION, "--index", str(paged[1])]) == 0
    assert "(eastport report.pdf, p. 1, characters" in capsys.readouterr().out
    assert main(["search", QUESTION, "-k", "1", "--index", str(paged[1])]) == 0
    assert "(eastport report.pdf, p. 1) score" in capsys.readouterr().out


def test_qa_index_lists_the_files_it_skipped_with_why(tmp_path, capsys):
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "note.txt").write_text("The pier opened in May.\n")
    (seeds / "sheet.xyz").write_text("a,b\n")
    (seeds / "broken.pdf").write_bytes(b"%PDF-1.7 truncated")
    assert main(["index", "--seeds", str(seeds), "--index", str(tmp_path / "index")]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^  skipped .*sheet\.xyz.*not a supported format", out, re.M)
    assert re.search(r"^  skipped .*broken\.pdf", out, re.M)
