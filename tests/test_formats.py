"""Office files, EPUB, text encodings and Markdown: what a reader sees of each, and bad files refused."""

from __future__ import annotations

import io
import logging
import zipfile

import pytest

from bench import samples
from qa.chunking import chunk_document
from qa.sources import SourceError, load_documents, parse_document


def headings(document) -> list[str]:
    return [document.text[start:end] for start, end in document.headings]


def test_word_headings_paragraphs_and_table_rows_with_their_column_names():
    document = parse_document(samples.word_document(), "notes.docx", "notes.docx")
    assert document.title == "Harbour notes"
    assert headings(document) == ["Harbour notes", "The quay", "The lighthouse"]
    assert "In 1891 the harbour of Westby was rebuilt after the storm." in document.text
    assert "Port: Westby; Ships: 7; Opened: 1921." in document.text.split("\n")
    sentences = [s.text for s in chunk_document(document)[1] if not s.heading]
    assert "Port: Eastport; Ships: 12; Opened: 1890." in sentences  # a row is an answerable sentence
    assert document.pages == () and document.page_label(0) is None


def test_a_slide_is_a_page_with_its_title_as_heading_and_its_notes():
    document = parse_document(samples.slides(3), "talk.pptx", "talk.pptx")
    assert document.page_labels == ("1", "2", "3")
    assert headings(document) == ["Harbour of Eastport", "Harbour of Westby", "Harbour of Northam"]
    notes = document.text.index("Say that the quay of Westby is granite.")
    assert document.page_label(notes) == "2"
    assert document.page_label(document.text.index("Northam has 14 ships")) == "3"


def test_opendocument_headings_lists_and_tables():
    document = parse_document(samples.odt_document(), "ferry.odt", "ferry.odt")
    assert headings(document) == ["Ferry timetable"]
    assert document.text.split("\n") == [
        "Ferry timetable", "The ferry to Westby runs twice a day in summer.", "Tickets are sold on board.",
        "Bicycles travel free.", "Route: Eastport to Westby; Minutes: 40; Ferry: Solveig."]


def test_an_epub_is_read_in_spine_order_with_chapter_headings():
    book = samples.epub_book([("The storm", "The storm closed the harbour in May."),
                              ("The repair", "Builders rebuilt the quay in granite."),
                              ("The return", "Ferries came back in June.")])
    document = parse_document(book, "tales.epub", "tales.epub")
    assert document.title == "Tales of the Harbour"
    assert headings(document) == ["The storm", "The repair", "The return"]
    assert document.text.index("closed the harbour") < document.text.index("rebuilt the quay") \
        < document.text.index("came back in June")
    assert "Chapter 1" not in document.text


def broken_epub() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("mimetype", "application/epub+zip")
    return out.getvalue()


@pytest.mark.parametrize("name, make, reason", [
    ("bomb.docx", lambda: samples.zip_bomb_docx(21 * 1024 * 1024), "unpacks to 22020104 bytes, over the"),
    ("bomb.epub", lambda: samples.zip_bomb_docx(21 * 1024 * 1024), "over the 20971520 byte limit"),
    ("cut.docx", lambda: samples.word_document()[:2000], "not a readable Word file"),
    ("cut.pptx", lambda: samples.slides()[:-100], "not a readable PowerPoint file"),
    ("text.odt", lambda: b"just some text", "not a readable OpenDocument file"),
    ("nocontainer.epub", broken_epub, "not a readable EPUB file"),
    ("notword.docx", lambda: samples.epub_book([("A", "B.")]), "not a readable Word file"),
])
def test_damaged_office_and_epub_files_raise_a_source_error_that_says_why(name, make, reason):
    with pytest.raises(SourceError, match=reason):
        parse_document(make(), name, name)


def test_a_zip_bomb_is_skipped_and_the_rest_of_the_folder_indexed(tmp_path, caplog):
    (tmp_path / "bomb.docx").write_bytes(samples.zip_bomb_docx(21 * 1024 * 1024))
    (tmp_path / "notes.docx").write_bytes(samples.word_document())
    (tmp_path / "talk.pptx").write_bytes(samples.slides())
    with caplog.at_level(logging.WARNING):
        documents, skipped = load_documents(tmp_path)
    assert [d.id for d in documents] == ["notes.docx", "talk.pptx"]
    assert len(skipped) == 1 and "bomb.docx" in caplog.text and "zip bomb" in caplog.text


@pytest.mark.parametrize("data, text, encoding", [
    ("Café prices rose in Zürich.".encode("utf-8-sig"), "Café prices rose in Zürich.", None),
    ("Café prices rose in Zürich.".encode("utf-16"), "Café prices rose in Zürich.", None),
    ("Café prices rose in Zürich.".encode("utf-16-be").join([b"\xfe\xff", b""]), "Café prices rose in Zürich.", None),
    ("Le café de la gare a rouvert le 3 mai. Les habitués ont retrouvé leur crème brûlée préférée, et "
     "Jérôme Lefèvre a annoncé que la terrasse serait agrandie cet été.".encode("latin-1"),
     "leur crème brûlée préférée, et Jérôme Lefèvre", "cp1252"),
    ("Привет! Паром в Истпорт отправляется дважды в день, летом чаще.".encode("cp1251"),
     "Паром в Истпорт отправляется дважды", "cp1251"),
])
def test_text_files_in_other_encodings_are_read_and_the_guess_is_named(data, text, encoding, caplog):
    with caplog.at_level(logging.WARNING):
        document = parse_document(data, "note.txt", "seeds/note.txt")
    assert text in document.text and "\ufeff" not in document.text
    if encoding:
        assert document.notes == (f"seeds/note.txt: is not UTF-8; read as {encoding} (charset-normalizer's guess)",)
        assert document.notes[0] in caplog.text
    else:
        assert document.notes == ()


MARKDOWN = b"""# Harbour report

The harbour of **Eastport** reopened on [3 May](https://example.org/may).

> The repairs cost $12 million,
> said Mayor Ingrid Solberg.

| Port | Ships | Opened |
|------|------:|--------|
| Eastport | 12 | 1890 |
| Westby | 7 | |

- Ferries run *twice* a day.
- Bicycles travel free.

```
timetable: 08:00 14:00
```

## Winter
"""


def test_markdown_tables_quotes_lists_and_code_become_clean_lines():
    document = parse_document(MARKDOWN, "report.md", "report.md")
    lines = [line for line in document.text.split("\n") if line]
    assert lines == [
        "Harbour report",
        "The harbour of Eastport reopened on 3 May.",
        "The repairs cost $12 million, said Mayor Ingrid Solberg.",
        "Port: Eastport; Ships: 12; Opened: 1890.",
        "Port: Westby; Ships: 7.",
        "Ferries run twice a day.",
        "Bicycles travel free.",
        "timetable: 08:00 14:00",
        "Winter",
    ]
    assert headings(document) == ["Harbour report", "Winter"]
    assert "|" not in document.text and ">" not in document.text


def test_html_tables_become_one_line_per_row():
    page = (b"<h1>Ports</h1><table><tr><th>Port</th><th>Ships</th></tr>"
            b"<tr><td>Eastport</td><td>12</td></tr></table><table><tr><td>Mayor</td><td>Ingrid Solberg</td></tr>"
            b"</table>")
    document = parse_document(page, "ports.html", "ports.html")
    assert document.text.split("\n") == ["Ports", "Port: Eastport; Ships: 12.", "Mayor: Ingrid Solberg."]
