"""Office formats: Word (.docx), PowerPoint (.pptx) and OpenDocument text (.odt).

Each is a zip archive, checked by `checked_zip` before its parser inflates it.
Headings become heading blocks and tables one line per row (`table_lines`).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from typing import Any

import docx
import odfdo
import pptx
from docx.table import Table as WordTable
from docx.text.paragraph import Paragraph as WordParagraph
from pptx.shapes.base import BaseShape

from qa.settings import SourceSettings
from qa.sources.document import Block, Converted
from qa.sources.guard import checked_zip, reading
from qa.sources.text import table_lines

WORD_HEADING_STYLES = ("Heading", "Title")           # "Heading 1" ... and "Title"
ODF_CONTAINERS = frozenset({"text:section", "text:list", "text:list-item", "text:list-header",
                            "text:index-body", "text:table-of-content", "text:illustration-index",
                            "table:table-header-rows", "draw:frame", "draw:text-box"})


def convert_docx(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """A Word file: its body's paragraphs and tables in order; Heading and Title styles are headings."""
    checked_zip(data, path, "Word", settings).close()
    with reading(path, "Word"):
        document = docx.Document(io.BytesIO(data))
        # style names by id, read once: `Paragraph.style` scans every style for each paragraph
        # without one (a second per thousand paragraphs)
        styles = {style.style_id: style.name or "" for style in document.styles}
        blocks = []
        for item in document.iter_inner_content():
            if isinstance(item, WordParagraph):
                style = styles.get(item._p.style or "", "")
                blocks.append(Block(item.text, style.startswith(WORD_HEADING_STYLES)))
            elif isinstance(item, WordTable):
                blocks.extend(Block(line) for line in table_lines(*word_rows(item)))
        return Converted(document.core_properties.title or "", blocks)


def word_rows(table: WordTable) -> tuple[list[list[str]], bool | None]:
    """A Word table's rows of cell texts (a merged cell once), and whether its first row is
    marked as the header that repeats on each page."""
    rows = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            if id(cell._tc) not in seen:
                seen.add(id(cell._tc))
                cells.append(cell.text)
        rows.append(cells)
    marked = bool(table.rows) and bool(table.rows[0]._tr.xpath("./w:trPr/w:tblHeader"))
    return rows, marked or None


def convert_pptx(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """A PowerPoint file: a slide is a page labelled by its number; its title is a heading,
    then its shapes' text top to bottom, then its speaker notes."""
    checked_zip(data, path, "PowerPoint", settings).close()
    with reading(path, "PowerPoint"):
        presentation = pptx.Presentation(io.BytesIO(data))
        blocks = []
        for page, slide in enumerate(presentation.slides):
            title = slide.shapes.title
            if title is not None and title.has_text_frame:
                blocks.append(Block(slide_text(title.text_frame.text), True, page))
            for shape in reading_order(shape for shape in slide.shapes if shape != title):
                blocks.extend(Block(text, False, page) for text in shape_texts(shape))
            if slide.has_notes_slide and slide.notes_slide.notes_text_frame is not None:
                blocks.append(Block(slide_text(slide.notes_slide.notes_text_frame.text), False, page))
        labels = tuple(str(number) for number in range(1, len(presentation.slides) + 1))
        return Converted(presentation.core_properties.title or "", blocks, labels)


def slide_text(text: str) -> str:
    """PowerPoint's line breaks inside a paragraph (vertical tabs) read as spaces."""
    return text.replace("\v", " ")


def reading_order(shapes: Iterable[BaseShape]) -> list[BaseShape]:
    """Shapes top to bottom, then left to right (their order in the file is their stacking)."""
    return sorted(shapes, key=lambda shape: (shape.top or 0, shape.left or 0))


def shape_texts(shape: Any) -> list[str]:
    """The text of one slide shape: a text frame's paragraphs, a table's rows, a group's shapes."""
    if shape.has_text_frame:
        return [slide_text(shape.text_frame.text)]
    if getattr(shape, "has_table", False):
        rows = [[cell.text for cell in row.cells] for row in shape.table.rows]
        return table_lines(rows, shape.table.first_row or None)
    if hasattr(shape, "shapes"):  # a group
        return [text for inner in reading_order(shape.shapes) for text in shape_texts(inner)]
    return []


def convert_odt(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """An OpenDocument text file: headings, paragraphs, lists and tables in order."""
    checked_zip(data, path, "OpenDocument", settings).close()
    with reading(path, "OpenDocument"):
        document = odfdo.Document(io.BytesIO(data))
        blocks: list[Block] = []
        odf_blocks(document.body, blocks)
        return Converted(document.meta.get_title() or "", blocks)


def odf_blocks(element: Any, blocks: list[Block]) -> None:
    """Append the blocks of an ODF element's children, in document order."""
    for child in element.children:
        if child.tag in ("text:h", "text:p"):
            blocks.append(Block(child.text_recursive, child.tag == "text:h"))
        elif child.tag == "table:table":
            rows = [[cell.text_recursive for cell in row.get_cells()] for row in child.get_rows()]
            header = bool(child.get_elements("table:table-header-rows"))
            blocks.extend(Block(line) for line in table_lines(rows, header or None))
        elif child.tag in ODF_CONTAINERS:
            odf_blocks(child, blocks)
