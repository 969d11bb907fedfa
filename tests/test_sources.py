"""Sources and chunking: what text the reader sees and the model embeds, with offsets that hold."""

from __future__ import annotations

import dataclasses
import itertools
import json
import logging

import pytest

from qa.chunking import chunk_document
from qa.sources import Block, Document, SourceError, clean_blocks, load_documents, parse_document


def test_citation_markers_latex_money_and_furniture_are_cleaned(seeds_dir):
    documents, skipped = load_documents(seeds_dir)
    assert skipped == []
    texts = {d.id: d.text for d in documents}
    arena = texts["diplomatic-arena.txt"]
    assert "[cite" not in arena and "\\" not in arena and "$\\text" not in arena
    assert "€90 billion ($106 billion) interest-free loan" in arena
    assert "$161 billion in 2026" in arena
    assert "approximately €210 billion" in arena
    stall = texts["us-russia-talks-stall.txt"]
    assert "Advertisement banner" not in stall and "Cover Image" not in stall
    assert stall.count("U.S.–Russia Talks on Ukraine Stall") == 1  # the repeated title is dropped
    assert "December 22, 2025 Clash Report" in stall                # a dateline run into its byline


def test_title_is_the_first_heading_or_line(seeds_dir):
    titles = {d.id: d.title for d in load_documents(seeds_dir)[0]}
    assert titles["us-russia-talks-stall.txt"] == "U.S.–Russia Talks on Ukraine Stall"
    assert titles["diplomatic-arena.txt"].startswith("The Diplomatic Arena: High-Stakes Negotiations")


def test_html_becomes_its_visible_text():
    page = b"""<html><head><title>Budget news</title><style>p{color:red}</style></head>
    <body><h1>Budget news</h1><script>alert('x')</script><p>The budget is <b>$5 million</b>.</p></body></html>"""
    document = parse_document(page, "news.html", "seeds/news.html")
    assert document.title == "Budget news"
    assert "The budget is $5 million." in document.text
    assert "alert" not in document.text and "color:red" not in document.text


def test_markdown_heading_gives_the_title_and_loses_its_marker():
    document = parse_document(b"# Harbour report\n\nShips arrived on **Monday**.\n", "a.md", "a.md")
    assert document.title == "Harbour report"
    assert document.text == "Harbour report\n\nShips arrived on Monday."


@pytest.mark.parametrize("data, reason", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
    (b"\xff\xfeB\x00a\x00\x00\xd8", "not valid utf-16"),        # a UTF-16 BOM, then a broken surrogate
    (b"\x81X\xdc\xada\x91\xfb\xed\x950\xa2\xbcaa6\x8a<\xf2'*", "cannot be decoded"),
    (b"  \n\n ", "empty"),
])
def test_unusable_bytes_raise_a_source_error_that_says_why(data, reason):
    with pytest.raises(SourceError, match=reason):
        parse_document(data, "bad.txt", "seeds/bad.txt")


def test_unusable_files_are_skipped_with_a_warning_naming_them(tmp_path, caplog):
    (tmp_path / "good.txt").write_text("Good news\n\nThe harbour reopened in May.")
    (tmp_path / "binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (tmp_path / "empty.md").write_bytes(b"")
    (tmp_path / "truncated.pdf").write_bytes(b"%PDF-1.4")
    with caplog.at_level(logging.WARNING):
        documents, skipped = load_documents(tmp_path)
    assert [d.id for d in documents] == ["good.txt"]
    assert len(skipped) == 3
    assert all(name in caplog.text for name in ("binary.txt", "empty.md", "truncated.pdf"))


def test_clean_text_keeps_one_blank_line_between_paragraphs():
    cleaned = clean_blocks([Block("Title\n\n\n\nFirst [cite: 1].\n\n\nSecond \\$3.\nTitle\n")])
    assert cleaned.title == "Title"
    assert cleaned.text == "Title\n\nFirst.\n\nSecond $3."


@pytest.mark.parametrize("line, clean", [
    ("December 22, 2025Clash Report", "December 22, 2025 Clash Report"),  # a year run into a byline
    ("In 2025 Clash Report said", "In 2025 Clash Report said"),
    ("Model 3Com and 2025Q1 stay", "Model 3Com and 2025Q1 stay"),           # no year, or no word after it
])
def test_a_year_run_into_the_next_word_is_parted_from_it(line, clean):
    cleaned = clean_blocks([Block(line)])
    assert cleaned.text == clean
    last = cleaned.origins[-1]  # the text after the year still maps back to its raw characters
    assert line[last.offset:last.offset + last.length] == clean[last.start:last.start + last.length]


def test_every_sentence_and_chunk_slices_to_its_own_text(seeds_dir):
    for document in load_documents(seeds_dir)[0]:
        chunks, sentences = chunk_document(document)
        assert sentences and chunks
        for piece in [*chunks, *sentences]:
            assert document.text[piece.start:piece.end] == piece.text
            assert piece.text == piece.text.strip()
        starts = [s.start for s in sentences]
        assert starts == sorted(starts)
        # consecutive chunks overlap by a sentence, and together they cover every sentence
        for before, after in itertools.pairwise(chunks):
            assert after.start < before.end
        assert all(any(c.start <= s.start and s.end <= c.end for c in chunks) for s in sentences)


def test_headings_are_marked_so_they_are_never_picked_as_answers(seeds_dir):
    arena = next(d for d in load_documents(seeds_dir)[0] if d.id == "diplomatic-arena.txt")
    headings = [s.text for s in chunk_document(arena)[1] if s.heading]
    assert "Miami Talks: The US-Russia Envoy Dialogue" in headings
    assert not any(h.endswith(".") for h in headings)


@pytest.mark.parametrize("line, heading", [
    ("December 22, 2025 Clash Report", False),   # a dateline says when the piece was published
    ("22 December 2025", False),
    ("2025-12-22 Reuters", False),
    ("Fighting in 2025 and Beyond", True),       # a year inside a title does not make a dateline
    ("December Talks in Miami", True),
])
def test_a_line_that_starts_with_a_full_date_is_a_dateline_not_a_heading(line, heading):
    document = parse_document(f"Title\n\n{line}\n\nThe talks went on.".encode(), "piece.txt", "piece.txt")
    sentence = next(s for s in chunk_document(document)[1] if s.text == line)
    assert sentence.heading is heading


def test_format_headings_become_spans_of_the_clean_text():
    markdown = parse_document(b"# Ferry timetable\n\nThe ferry runs daily.\n\n"
                              b"## In winter, a longer heading than usual.\n\nOnce a day.", "f.md", "f.md")
    assert [markdown.text[a:b] for a, b in markdown.headings] == [
        "Ferry timetable", "In winter, a longer heading than usual."]
    page = parse_document(b"<h1>News</h1><p>Body text here.</p><h2>Sport</h2><p>Scores.</p>", "n.html", "n.html")
    assert [page.text[a:b] for a, b in page.headings] == ["News", "Sport"]
    sentences = [s for s in chunk_document(markdown)[1] if s.heading]
    assert [s.text for s in sentences] == ["Ferry timetable", "In winter, a longer heading than usual."]


def test_a_format_is_one_entry_in_the_converter_table(tmp_path, monkeypatch):
    from qa import sources

    def convert_csv(data: bytes, path: str, settings) -> sources.Converted:
        return sources.Converted("", [sources.Block(line.replace(",", " ")) for line in data.decode().splitlines()])

    (tmp_path / "table.csv").write_text("Port,Ships\nEastport,12\n")
    with pytest.raises(SourceError, match="not a supported format"):
        parse_document(b"Port,Ships", "table.csv", "table.csv")
    assert load_documents(tmp_path)[0] == []
    monkeypatch.setitem(sources.CONVERTERS, ".csv", convert_csv)
    (document,), _ = load_documents(tmp_path)
    assert document.id == "table.csv" and document.text == "Port Ships\nEastport 12"


def test_documents_stored_before_page_labels_existed_still_load():
    old = {"id": "a.txt", "title": "A", "text": "A\nBody.", "path": "seeds/a.txt", "sha256": "0" * 64,
           "headings": [[0, 1]], "pages": []}
    document = Document.from_json(old)
    assert (document.page_labels, document.notes, document.headings) == ((), (), ((0, 1),))
    paged = parse_document(b"# Title\n\nBody.", "b.md", "b.md")
    paged = dataclasses.replace(paged, pages=(0, 6), page_labels=("iv", "v"), notes=("a note",))
    assert Document.from_json(json.loads(json.dumps(dataclasses.asdict(paged)))) == paged
    assert [paged.page_label(offset) for offset in (0, 5, 6, 12)] == ["iv", "iv", "v", "v"]
