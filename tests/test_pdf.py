"""PDFs: reading order, page labels, furniture, hyphens, headings, boxes on the page, bad files."""

from __future__ import annotations

import io
import logging
import os
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest
from fast_encoder import WordAnalyser, WordHashEncoder
from PIL import Image

from bench import samples
from qa import build_index
from qa.chunking import chunk_document
from qa.errors import EmptySource
from qa.settings import DEFAULT, SourceSettings
from qa.sources import SourceError, load_documents, parse_document, pdf, sha256_of

PAGES = 3


@pytest.fixture(scope="module")
def report() -> bytes:
    return samples.report_pdf(PAGES)


@pytest.fixture(scope="module")
def document(report):
    return parse_document(report, "report.pdf", "seeds/report.pdf")


def test_two_columns_are_read_column_by_column_and_pages_in_order(document):
    facts = samples.report_facts(PAGES)
    places = [document.text.index(fact.text) for fact in facts]
    # the left column's sentence comes before the right column's, though their lines alternate in the file
    assert places == sorted(places)
    for fact, start in zip(facts, places, strict=True):
        assert document.text[start:start + len(fact.text)] == fact.text


def test_every_sentence_is_on_its_page_with_the_label_a_reader_sees(document):
    assert document.page_labels == ("i", "ii", "1")
    assert len(document.pages) == PAGES and document.pages[0] == 0
    for fact in samples.report_facts(PAGES):
        start = document.text.index(fact.text)
        assert document.page_label(start) == fact.label
        assert document.pages[fact.page] <= start


def test_running_header_and_page_numbers_are_dropped_and_hyphens_joined(document):
    assert samples.HEADER not in document.text and "Page 2" not in document.text
    assert document.text.count("the infrastructure around it grew quickly.") == PAGES
    assert "infra-" not in document.text and "infra " not in document.text


def test_a_larger_font_is_a_heading_and_names_the_document():
    document = parse_document(samples.simple_pdf([["Just one line."]]), "plain.pdf", "plain.pdf")
    assert document.title == "Just one line." and document.headings == ()
    report = parse_document(samples.report_pdf(2), "report.pdf", "report.pdf")
    assert [report.text[a:b] for a, b in report.headings] == ["Harbour history"]
    assert report.title == "Eastport Annual Report"  # the PDF's own title
    assert [s.text for s in chunk_document(report)[1] if s.heading] == ["Harbour history"]


def test_contents_entries_lose_their_dot_leaders():
    document = parse_document(samples.report_pdf(1, contents=True), "report.pdf", "report.pdf")
    assert "...." not in document.text
    assert document.text.startswith("Contents\nHarbour history 1\nThe lighthouses 2\n")


def test_boxes_map_clean_offsets_onto_the_page(report, document):
    page_map = pdf.pdf_boxes(report)
    assert page_map.text == document.text and len(page_map.boxes) == len(document.text)
    left, right = samples.report_facts(PAGES)[2:4]   # page 1: one fact per column
    for fact, (low, high) in ((left, (samples.LEFT_X, samples.RIGHT_X)), (right, (samples.RIGHT_X, 560))):
        start = document.text.index(fact.text)
        boxes = page_map.span(start, start + len(fact.text))
        assert len(boxes) == 2  # the sentence runs over two lines of its column
        assert all(box.page == fact.page and low <= box.x0 < box.x1 <= high for box in boxes)
        assert boxes[0].y0 > boxes[1].y1  # its first line above its second
    word = document.text.index("infrastructure")
    halves = page_map.span(word, word + len("infrastructure"))
    assert len(halves) == 2 and halves[0].x0 > halves[1].x0  # "infra-" ends a line, "structure" starts the next


def yellow(pixels: np.ndarray) -> np.ndarray:
    """Which pixels (rows of RGB) show the highlight: yellow over white paper or black ink."""
    red, green, blue = (pixels[..., channel].astype(int) for channel in range(3))
    return (red > 90) & (green > 80) & (red - blue > 60)


def test_the_rendered_page_is_highlighted_under_the_answer_and_nowhere_else(report, document):
    page_map = pdf.pdf_boxes(report)
    answer = "Olav Lind"
    start = document.text.index(answer)
    (box,) = page_map.span(start, start + len(answer))
    scale = 2.0
    png = pdf.render_page(report, box.page, [box], scale)
    image = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    assert image.shape[:2] == (round(samples.PAGE_HEIGHT * scale), round(samples.PAGE_WIDTH * scale))
    top, bottom = (round((samples.PAGE_HEIGHT - y) * scale) for y in (box.y1, box.y0))
    left, right = round(box.x0 * scale), round(box.x1 * scale)
    assert yellow(image[top + 1:bottom - 1, left + 1:right - 1]).all()
    outside = yellow(image)
    outside[top - 2:bottom + 2, left - 2:right + 2] = False
    assert not outside.any()
    plain = np.asarray(Image.open(io.BytesIO(pdf.render_page(report, box.page))).convert("RGB"))
    assert not yellow(plain).any()


def test_a_page_without_text_gets_a_note_with_the_ocr_command(caplog):
    with caplog.at_level(logging.WARNING):
        document = parse_document(samples.report_pdf(2, image_page=True), "scan.pdf", "seeds/scan.pdf")
    (note,) = document.notes
    assert "seeds/scan.pdf" in note and "page 1 has no text layer" in note and "ocrmypdf --skip-text" in note
    assert note in caplog.text
    assert "In 1891 the harbour of Westby" in document.text  # the pages with text are read


def test_a_pdf_of_images_only_is_refused_with_the_ocr_command():
    with pytest.raises(SourceError, match="has no text layer.*ocrmypdf --skip-text"):
        parse_document(samples.report_pdf(0, image_page=True), "scan.pdf", "scan.pdf")


def test_an_ocrd_copy_in_the_cache_is_read_instead_of_the_scan(tmp_path):
    scan = samples.report_pdf(0, image_page=True)
    copy = samples.simple_pdf([["A scanned page: the ferry timetable."]])
    (tmp_path / f"{sha256_of(scan)}.pdf").write_bytes(copy)
    settings = SourceSettings(ocr_cache=str(tmp_path))
    document = parse_document(scan, "scan.pdf", "scan.pdf", settings)
    assert document.text == "A scanned page: the ferry timetable."
    assert document.sha256 == sha256_of(scan)  # still the file in the seeds
    assert pdf.pdf_boxes(scan, settings).text == document.text


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ocrmypdf") is None, reason="ocrmypdf is not installed")
def test_ocr_makes_a_scanned_page_searchable(tmp_path):
    settings = SourceSettings(ocr=True, ocr_cache=str(tmp_path))
    document = parse_document(samples.report_pdf(1, image_page=True), "scan.pdf", "scan.pdf", settings)
    assert "ferry timetable" in document.text
    assert list(tmp_path.glob("*.pdf"))


FAKE_OCRMYPDF = """#!{python}
import shutil, sys
assert sys.argv[1] == "--skip-text", sys.argv
shutil.copy({output!r}, sys.argv[-1])
"""


@pytest.fixture
def fake_ocrmypdf(tmp_path, monkeypatch) -> Path:
    """An `ocrmypdf` on PATH that 'recognises' the scanned page's text: it writes a PDF with it."""
    output = tmp_path / "recognised.pdf"
    output.write_bytes(samples.simple_pdf([["A scanned page: the ferry timetable."]]))
    tool = tmp_path / "bin" / "ocrmypdf"
    tool.parent.mkdir()
    tool.write_text(FAKE_OCRMYPDF.format(python=sys.executable, output=str(output)))
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tool.parent}{os.pathsep}{os.environ['PATH']}")
    return tool


def test_with_ocr_on_a_scan_is_indexed_from_ocrmypdfs_output(fake_ocrmypdf, tmp_path):
    seeds, cache = tmp_path / "seeds", tmp_path / "cache"
    seeds.mkdir()
    (seeds / "scan.pdf").write_bytes(samples.report_pdf(0, image_page=True))
    settings = DEFAULT.replace(sources={"ocr": True, "ocr_cache": str(cache)})
    stats = build_index(seeds, tmp_path / "index", progress=False, settings=settings,
                        encoder=WordHashEncoder(), analyser=WordAnalyser())
    assert stats.documents == 1 and not stats.skipped
    assert [path.stem for path in cache.glob("*.pdf")] == [sha256_of((seeds / "scan.pdf").read_bytes())]
    without = build_index(seeds, tmp_path / "index-2", progress=False, encoder=WordHashEncoder(),
                          analyser=WordAnalyser())
    assert without.documents == 0 and "has no text layer" in without.skipped[0]


def test_pdfium_reads_what_pdfminer_cannot(monkeypatch):
    """pdfminer failing is simulated: no damaged file found fails pdfminer and not pdfium."""
    def fails(data):
        raise ValueError("simulated pdfminer failure")

    monkeypatch.setattr(pdf, "pdfminer_pages", fails)
    data = samples.simple_pdf([["The quay of Eastport is made of gra-", "nite from the north cape."],
                               ["Its lighthouse was lit in 1902."]])
    document = parse_document(data, "letter.pdf", "letter.pdf")
    assert document.text == ("The quay of Eastport is made of granite from the north cape.\n"
                             "Its lighthouse was lit in 1902.")
    assert document.page_labels == ("1", "2") and document.pages == (0, 61)
    page_map = pdf.pdf_boxes(data)
    assert page_map.text == document.text
    assert [box.page for box in page_map.span(61, 64)] == [1]


def encrypted() -> bytes:
    return samples.report_pdf(1, password="secret")


def truncated() -> bytes:
    data = samples.report_pdf(2)
    return data[:len(data) // 2]


@pytest.mark.parametrize("make, error, reason", [
    (encrypted, SourceError, "is encrypted"),
    (truncated, SourceError, "is not a readable PDF"),
    (lambda: b"%PDF-1.7\n garbage", SourceError, "is not a readable PDF"),
    (lambda: b"", EmptySource, "is empty"),
])
def test_bad_pdfs_raise_a_source_error_that_says_why(make, error, reason):
    with pytest.raises(error, match=reason):
        parse_document(make(), "bad.pdf", "seeds/bad.pdf")


def test_bad_pdfs_are_skipped_and_the_rest_of_the_folder_indexed(tmp_path, caplog):
    (tmp_path / "good.pdf").write_bytes(samples.report_pdf(1))
    (tmp_path / "encrypted.pdf").write_bytes(encrypted())
    (tmp_path / "truncated.pdf").write_bytes(truncated())
    (tmp_path / "empty.pdf").write_bytes(b"")
    with caplog.at_level(logging.WARNING):
        documents, skipped = load_documents(tmp_path)
    assert [d.id for d in documents] == ["good.pdf"]
    assert sorted(reason.split(":")[0].rsplit("/", 1)[1] for reason in skipped) == [
        "empty.pdf", "encrypted.pdf", "truncated.pdf"]
    assert "encrypted.pdf: is encrypted" in caplog.text


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
def test_on_a_turned_page_the_text_reads_across_and_the_highlight_lies_on_it(turn):
    data = samples.turned_pdf("The lighthouse keeper was Ada Brun.", turn)
    document = parse_document(data, "turned.pdf", "turned.pdf")
    assert document.text == "The lighthouse keeper was Ada Brun."
    start = document.text.index("Ada Brun")
    (box,) = pdf.pdf_boxes(data).span(start, start + len("Ada Brun"))
    image = np.asarray(Image.open(io.BytesIO(pdf.render_page(data, 0, [box], 2.0))).convert("RGB"))
    highlighted = yellow(image)
    area = (box.x1 - box.x0) * (box.y1 - box.y0) * 4
    assert 0.8 * area < highlighted.sum() < 1.2 * area
    ink_under_it = highlighted & (image[..., 0] < 160)
    assert ink_under_it.sum() > 30  # the letters of "Ada Brun" show through the highlight
