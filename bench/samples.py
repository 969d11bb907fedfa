"""Sample documents of every format, made on the fly for the tests and `bench.documents`.

Each writer returns the file's bytes. The PDF is the hard case on purpose: two
columns whose lines are drawn alternately left and right (so the order of the
content stream is not the reading order), a running header and footer, a word
hyphenated at a line end, roman page labels on the front matter, a heading in a
larger font, and optionally a contents page with dot leaders and a page that is
only an image. reportlab, python-docx, python-pptx and odfdo write the files.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass

TOWNS = ("Eastport", "Westby", "Northam", "Southwold", "Kingsbridge", "Ashford", "Brampton", "Carlow")
KEEPERS = ("Ada Brun", "Olav Lind", "Mira Sand", "Per Holm", "Rut Berg", "Ivo Dahl", "Ula Strand", "Tor Vik")
HEADER = "Eastport Annual Report"
PAGE_WIDTH, PAGE_HEIGHT = 595.0, 842.0   # A4 in points
LEFT_X, RIGHT_X = 72.0, 320.0
FIRST_LINE_Y, LINE_GAP = 700.0, 15.0


@dataclass(frozen=True)
class Fact:
    """A sentence the sample PDF holds, and the page (index and label) it is on."""

    text: str
    page: int
    label: str


def town(page: int) -> str:
    return TOWNS[page % len(TOWNS)] + ("" if page < len(TOWNS) else f" {page // len(TOWNS) + 1}")


def columns(page: int, filler: int = 0) -> tuple[list[str], list[str]]:
    """The left and right column lines of a body page: different facts on every page, a
    sentence run over two lines, and "infra-" / "structure" hyphenated at a line end; then
    `filler` more lines in each column (a full page of text is 40 or so)."""
    year = 1890 + page
    left = [f"In {year} the harbour of {town(page)} was",
            "rebuilt after the great storm. Its quay is",
            "made of granite, and the infra-",
            "structure around it grew quickly."]
    right = [f"The lighthouse of {town(page)} was first lit",
             f"in {1900 + page} by its keeper {KEEPERS[page % len(KEEPERS)]}.",
             "Ferries still steer by its light."]
    for row in range(filler):
        left.append(f"Crew {row} of dock {page} painted hull {row}.")
        right.append(f"Pilot {row} of {town(page)} steered boat {row} home.")
    return left, right


def report_facts(pages: int, contents: bool = False) -> list[Fact]:
    """The sentences `report_pdf` writes on its body pages, with their pages."""
    first = 1 if contents else 0
    facts = []
    for body in range(pages):
        index = first + body
        label = roman(index + 1) if index < 2 else str(index - 1)
        facts += [Fact(f"In {1890 + body} the harbour of {town(body)} was rebuilt after the great storm.",
                       index, label),
                  Fact(f"The lighthouse of {town(body)} was first lit in {1900 + body} by its keeper "
                       f"{KEEPERS[body % len(KEEPERS)]}.", index, label)]
    return facts


def roman(number: int) -> str:
    return {1: "i", 2: "ii", 3: "iii", 4: "iv"}[number]


def report_pdf(pages: int = 3, contents: bool = False, image_page: bool = False, password: str = "",
               first: int = 0, filler: int = 0) -> bytes:
    """A report of `pages` two-column body pages (plus a contents page and an image-only page
    when asked); the first two PDF pages are labelled i, ii, the rest 1, 2, ...; every page has
    the running header and a "Page n" footer. `first` numbers the facts of its first page;
    `filler` adds lines to each column."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), encrypt=password or None)
    pdf.setTitle("Eastport Annual Report")
    number = 0

    def furniture() -> None:
        pdf.setFont("Helvetica", 9)
        pdf.drawString(LEFT_X, PAGE_HEIGHT - 40, HEADER)
        pdf.drawCentredString(PAGE_WIDTH / 2, 30, f"Page {number + 1}")

    if contents:
        furniture()
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawString(LEFT_X, FIRST_LINE_Y + 40, "Contents")
        pdf.setFont("Helvetica", 11)
        for row, (title, page) in enumerate((("Harbour history", 1), ("The lighthouses", 2))):
            pdf.drawString(LEFT_X, FIRST_LINE_Y - row * LINE_GAP, f"{title} {'.' * 60} {page}")
        pdf.showPage()
        number += 1
    for body in range(pages):
        furniture()
        if body == 0:
            pdf.setFont("Helvetica-Bold", 18)
            pdf.drawString(LEFT_X, FIRST_LINE_Y + 40, "Harbour history")
        pdf.setFont("Helvetica", 11)
        left, right = columns(first + body, filler)
        for row in range(max(len(left), len(right))):  # left, right, left, right: not the reading order
            if row < len(left):
                pdf.drawString(LEFT_X, FIRST_LINE_Y - row * LINE_GAP, left[row])
            if row < len(right):
                pdf.drawString(RIGHT_X, FIRST_LINE_Y - row * LINE_GAP, right[row])
        pdf.showPage()
        number += 1
    if image_page:
        pdf.drawInlineImage(scan_image(), LEFT_X, 300, width=400, height=300)
        pdf.showPage()
    pdf.addPageLabel(0, "ROMAN_LOWER")
    pdf.addPageLabel(2, "ARABIC", start=1)
    pdf.save()
    return out.getvalue()


def scan_image():
    """A picture of a page of text, as a scanner would give it (no text layer)."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (400, 300), "white")
    ImageDraw.Draw(image).text((20, 20), "A scanned page: the ferry timetable.", fill="black")
    return image


def word_document(paragraphs: int = 3) -> bytes:
    """A Word file: a title, a heading, paragraphs, a table with a header row, a second heading."""
    import docx

    document = docx.Document()
    document.core_properties.title = "Harbour notes"
    document.add_heading("Harbour notes", level=0)
    document.add_heading("The quay", level=1)
    for number in range(paragraphs):
        document.add_paragraph(f"In {1890 + number} the harbour of {town(number)} was rebuilt after the storm.")
    table = document.add_table(rows=3, cols=3)
    for row, cells in enumerate((("Port", "Ships", "Opened"), ("Eastport", "12", "1890"), ("Westby", "7", "1921"))):
        for column, text in enumerate(cells):
            table.cell(row, column).text = text
    document.add_heading("The lighthouse", level=1)
    document.add_paragraph("The lighthouse was first lit in 1902 by its keeper Ada Brun.")
    return saved(document)


def slides(count: int = 3) -> bytes:
    """A PowerPoint file: each slide a title, a body and speaker notes."""
    import pptx

    presentation = pptx.Presentation()
    for number in range(count):
        slide = presentation.slides.add_slide(presentation.slide_layouts[1])
        slide.shapes.title.text = f"Harbour of {town(number)}"
        slide.placeholders[1].text_frame.text = f"{town(number)} has {12 + number} ships in its harbour."
        slide.notes_slide.notes_text_frame.text = f"Say that the quay of {town(number)} is granite."
    return saved(presentation)


def odt_document(paragraphs: int = 1) -> bytes:
    """An OpenDocument text: a heading, paragraphs, a list and a table with three columns."""
    from odfdo import Document, Header, List, Paragraph, Table

    document = Document("text")
    document.body.append(Header(1, "Ferry timetable"))
    document.body.append(Paragraph("The ferry to Westby runs twice a day in summer."))
    for number in range(1, paragraphs):
        document.body.append(Paragraph(f"In {1890 + number} the harbour of {town(number)} was rebuilt."))
    document.body.append(List(["Tickets are sold on board.", "Bicycles travel free."]))
    table = Table("Crossings", width=3, height=2)
    for column, (name, value) in enumerate((("Route", "Eastport to Westby"), ("Minutes", "40"),
                                            ("Ferry", "Solveig"))):
        table.set_value((column, 0), name)
        table.set_value((column, 1), value)
    document.body.append(table)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def epub_book(chapters: list[tuple[str, str]]) -> bytes:
    """An EPUB of (heading, paragraph) chapters; the manifest lists them backwards, so only the
    spine gives the reading order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as book:
        book.writestr("mimetype", "application/epub+zip", compress_type=zipfile.ZIP_STORED)
        book.writestr("META-INF/container.xml", """<?xml version="1.0"?>
<container version="1.0" xmlns="urn:oasis:names:tc:opendocument:xmlns:container">
  <rootfiles><rootfile full-path="OEBPS/content.opf" media-type="application/oebps-package+xml"/></rootfiles>
</container>""")
        items = "".join(f'<item id="c{n}" href="text/chapter{n}.xhtml" media-type="application/xhtml+xml"/>'
                        for n in reversed(range(len(chapters))))
        spine = "".join(f'<itemref idref="c{n}"/>' for n in range(len(chapters)))
        book.writestr("OEBPS/content.opf", f"""<?xml version="1.0"?>
<package xmlns="http://www.idpf.org/2007/opf" version="3.0">
  <metadata xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>Tales of the Harbour</dc:title></metadata>
  <manifest>{items}</manifest><spine>{spine}</spine>
</package>""")
        for number, (heading, paragraph) in enumerate(chapters):
            book.writestr(f"OEBPS/text/chapter{number}.xhtml", f"""<?xml version="1.0" encoding="utf-8"?>
<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Chapter {number + 1}</title></head>
<body><h1>{heading}</h1><p>{paragraph}</p></body></html>""")
    return out.getvalue()


def zip_bomb_docx(unpacked_bytes: int) -> bytes:
    """A small .docx whose one entry inflates to `unpacked_bytes` of zeros."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", bytes(unpacked_bytes))
    return out.getvalue()


def saved(document) -> bytes:
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def simple_pdf(pages: list[list[str]]) -> bytes:
    """A PDF of one column: each page's lines drawn top to bottom in the body font."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    for lines in pages:
        pdf.setFont("Helvetica", 11)
        for row, line in enumerate(lines):
            pdf.drawString(LEFT_X, FIRST_LINE_Y - row * LINE_GAP, line)
        pdf.showPage()
    pdf.save()
    return out.getvalue()


def turned_pdf(line: str, turn: int) -> bytes:
    """A one-line PDF whose page a viewer shows turned by `turn` degrees (/Rotate)."""
    from reportlab.pdfgen import canvas

    out = io.BytesIO()
    pdf = canvas.Canvas(out, pagesize=(PAGE_WIDTH, PAGE_HEIGHT))
    pdf.setPageRotation(turn)  # reportlab swaps the media box of a page turned 90 or 270 degrees
    pdf.setFont("Helvetica", 14)
    pdf.drawString(LEFT_X, 500, line)
    pdf.showPage()
    pdf.save()
    return out.getvalue()
