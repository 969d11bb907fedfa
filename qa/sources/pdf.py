"""PDF: text in reading order with pdfminer.six; page labels, rendering and a fallback reader with pypdfium2.

pdfminer's layout analysis groups characters into lines and text boxes and orders
the boxes column by column; pypdfium2 gives the page labels a reader sees ("iv",
"12"), renders pages, and reads the text when pdfminer cannot parse a file.
What is ours, because no library decides it for us: running headers, footers and
page numbers found by repetition across pages and dropped; line-end hyphens joined;
dot leaders dropped; headings found by font size; paragraphs that run on across a
column or page joined; and every character's box kept beside the text, so that
`pdf_boxes` can map clean-text offsets back onto the page for `render_page`.
"""

from __future__ import annotations

import io
import logging
import math
import re
import shutil
import statistics
import subprocess
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from pdfminer.converter import PDFPageAggregator
from pdfminer.layout import LAParams, LTAnno, LTChar, LTFigure, LTImage, LTPage, LTTextBox, LTTextLine
from pdfminer.pdfdocument import PDFEncryptionError
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage
from PIL import Image, ImageDraw

from qa.errors import SourceError
from qa.settings import DEFAULT, SourceSettings
from qa.sources.clean import clean_blocks
from qa.sources.document import Block, Converted
from qa.sources.files import sha256_of
from qa.sources.guard import reading

log = logging.getLogger(__name__)

HIGHLIGHT = (255, 214, 0, 110)      # the answer's boxes on a rendered page: translucent yellow (RGBA)
EDGE_BOXES = 2                      # text boxes at the top and at the bottom of a page that may be furniture ...
FURNITURE_MAX_LINES = 2             # ... if they are this short
REPEATED_SHARE = 0.5                # furniture repeats on at least this share of the pages (and on two)
HEADING_RATIO = 1.15                # a line this much larger than the body text is a heading ...
HEADING_MAX_WORDS = 20              # ... if it is this short
PAGE_NUMBER = re.compile(r"(?:page\s+)?[-–—]?\s*(?:\d+|[ivxlcdm]+)\s*[-–—]?(?:\s*(?:of|/)\s*\d+)?", re.I)
DIGITS = re.compile(r"\d+")
PLACEHOLDER_TITLE = re.compile(r"\s*$|untitled$|microsoft \w+ - ", re.I)  # metadata titles that name nothing
DOT_LEADER = re.compile(r"[ \t]*(?:[.·…․][ \t]*){4,}")
RUNS_ON = re.compile(r"[^.!?:;\"'”’)\]]$")   # a paragraph ending so continues on its next box
SOFT_HYPHENS = ("\xad", "\x02")             # U+00AD; pdfium marks a line-end hyphen as 0x02
OCR_HINT = "OCR makes such pages searchable: `ocrmypdf --skip-text in.pdf out.pdf`, or `qa index --ocr`"
BOX = np.dtype([("page", np.int32), ("x0", np.float32), ("y0", np.float32), ("x1", np.float32),
                ("y1", np.float32)])


@dataclass(frozen=True)
class CharBox:
    """Where a character (or a highlighted run of them) is: page index and corners in PDF
    points, origin at the lower left of the page's media box."""

    page: int
    x0: float
    y0: float
    x1: float
    y1: float


@dataclass
class Line:
    """One line of a page as read: its characters, each with its box (None for spaces the
    reader inserted), its font size, its top and bottom, and whether it is an entry of a
    table of contents (it had a dot leader), which stands alone."""

    chars: list[str]
    boxes: list[CharBox | None]
    size: float
    top: float
    bottom: float
    entry: bool = False

    @property
    def text(self) -> str:
        return "".join(self.chars)


@dataclass
class PageText:
    """A page's text boxes (each a list of lines) in reading order; whether it shows images."""

    boxes: list[list[Line]]
    has_images: bool


@dataclass
class Paragraph:
    """A block in the making: characters and boxes, its page, whether it is a heading or an
    entry of a table of contents, and how it continues the paragraph before it (None when it
    does not)."""

    page: int
    heading: bool
    entry: bool = False
    chars: list[str] = field(default_factory=list)
    boxes: list[CharBox | None] = field(default_factory=list)
    joined: str | None = None


@dataclass
class Extraction:
    """A PDF (`path`, for messages) read into paragraphs, with its title, page labels, and the
    labels of the pages that show images but have no text (scanned)."""

    path: str
    paragraphs: list[Paragraph]
    title: str
    labels: tuple[str, ...]
    textless: tuple[str, ...]

    @property
    def converted(self) -> Converted:
        blocks = [Block("".join(p.chars), p.heading, p.page, p.joined) for p in self.paragraphs]
        return Converted(self.title, blocks, self.labels, self.notes)

    @property
    def notes(self) -> tuple[str, ...]:
        if not self.textless:
            return ()
        pages = (f"page {self.textless[0]} has" if len(self.textless) == 1
                 else f"pages {', '.join(self.textless)} have")
        return (f"{self.path}: {pages} no text layer (scanned?); {OCR_HINT}",)


@dataclass(frozen=True)
class PageMap:
    """A PDF's clean text (the same as its Document's) and one BOX row per character of it:
    page -1 where a character has no box (line breaks, joining spaces)."""

    text: str
    boxes: np.ndarray

    def span(self, start: int, end: int) -> list[CharBox]:
        """The boxes of clean text [start, end), merged into one box per line of the page."""
        merged: list[CharBox] = []
        for row in self.boxes[start:end]:
            if row["page"] < 0:
                continue
            box = CharBox(int(row["page"]), float(row["x0"]), float(row["y0"]), float(row["x1"]), float(row["y1"]))
            last = merged[-1] if merged else None
            if last and last.page == box.page and box.y0 < last.y1 and last.y0 < box.y1 and box.x0 >= last.x0:
                merged[-1] = CharBox(last.page, last.x0, min(last.y0, box.y0), max(last.x1, box.x1),
                                     max(last.y1, box.y1))
            else:
                merged.append(box)
        return merged


def convert_pdf(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """A PDF: paragraphs in reading order, headings by font size, one page per PDF page with its label."""
    return read_pdf(data, path, settings).converted


@lru_cache(maxsize=4)
def pdf_boxes(data: bytes, settings: SourceSettings = DEFAULT.sources) -> PageMap:
    """The map from a PDF's clean-text offsets to character boxes, made by reading the file
    again exactly as the build did (nothing of it is stored in the index)."""
    extraction = read_pdf(data, "PDF", settings)
    cleaned = clean_blocks(extraction.converted.blocks, extraction.title)
    boxes = np.zeros(len(cleaned.text), dtype=BOX)
    boxes["page"] = -1
    for origin in cleaned.origins:
        paragraph = extraction.paragraphs[origin.block]
        for at in range(origin.length):
            box = paragraph.boxes[origin.offset + at]
            if box is not None:
                boxes[origin.start + at] = (box.page, box.x0, box.y0, box.x1, box.y1)
    boxes.flags.writeable = False
    return PageMap(cleaned.text, boxes)


def render_page(data: bytes, page_index: int, boxes: Sequence[CharBox] = (), scale: float = 2.0) -> bytes:
    """A PNG of one page as a reader sees it (turned by its /Rotate) at `scale` pixels per
    point, with the boxes on that page drawn in HIGHLIGHT."""
    with opened(data, "PDF") as document:
        if not 0 <= page_index < len(document):
            raise SourceError(f"PDF: has no page {page_index + 1} (it has {len(document)})")
        page = document[page_index]
        image = page.render(scale=scale).to_pil().convert("RGBA")
        media_left, media_bottom, _, _ = page.get_mediabox()
        crop_left, crop_bottom, crop_right, crop_top = page.get_cropbox()
        turn = page.get_rotation()
    width, height = crop_right - crop_left, crop_top - crop_bottom
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in boxes:
        if box.page == page_index:
            corners = [on_screen(x + media_left - crop_left, y + media_bottom - crop_bottom, width, height, turn)
                       for x, y in ((box.x0, box.y0), (box.x1, box.y1))]
            xs, ys = sorted(x * scale for x, _ in corners), sorted(y * scale for _, y in corners)
            draw.rectangle((xs[0], ys[0], xs[1], ys[1]), fill=HIGHLIGHT)
    out = io.BytesIO()
    Image.alpha_composite(image, overlay).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def on_screen(x: float, y: float, width: float, height: float, turn: int) -> tuple[float, float]:
    """A point of the page (points from the crop box's lower left, y up) on the rendered page
    (from its top left, y down), the page turned `turn` degrees clockwise as PDF viewers do."""
    return {0: (x, height - y), 90: (y, x), 180: (width - x, y), 270: (height - y, width - x)}[turn % 360]


@contextmanager
def opened(data: bytes, path: str) -> Iterator[pdfium.PdfDocument]:
    """A pypdfium2 document of `data`, closed on exit; `SourceError` when pdfium cannot open it."""
    try:
        document = pdfium.PdfDocument(data)
    except pdfium.PdfiumError as error:
        raise SourceError(f"{path}: {unreadable_reason(str(error))}") from error
    try:
        yield document
    finally:
        document.close()


def unreadable_reason(message: str) -> str:
    if "password" in message.lower() or "encrypt" in message.lower():
        return "is encrypted (password protected); qa cannot read it"
    return f"is not a readable PDF (damaged or truncated: {message})"


def read_pdf(data: bytes, path: str, settings: SourceSettings) -> Extraction:
    """The PDF read into paragraphs; from its OCR'd copy when there is one in the cache, or,
    with `settings.ocr`, after making one when some pages have no text.
    `SourceError` when no page has text."""
    copy = Path(settings.ocr_cache).expanduser() / f"{sha256_of(data)}.pdf"
    extraction = extract(copy.read_bytes() if copy.is_file() else data, path)
    if extraction.textless and settings.ocr and not copy.is_file() and ocr(data, copy, path):
        extraction = extract(copy.read_bytes(), path)
    if not extraction.paragraphs:
        hint = f" (scanned?); {OCR_HINT}" if extraction.textless else ""
        raise SourceError(f"{path}: has no text layer{hint}")
    return extraction


def ocr(data: bytes, copy: Path, path: str) -> bool:
    """Write the OCR'd copy of a PDF with `ocrmypdf --skip-text`; False (and a warning) if that fails."""
    if shutil.which("ocrmypdf") is None:
        log.warning("%s: ocrmypdf is not installed; pages without text stay unsearchable", path)
        return False
    copy.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=copy.parent) as folder:
        source, target = Path(folder, "in.pdf"), Path(folder, "out.pdf")
        source.write_bytes(data)
        done = subprocess.run(["ocrmypdf", "--skip-text", "--quiet", str(source), str(target)],
                              capture_output=True, text=True)
        if done.returncode != 0 or not target.is_file():
            log.warning("%s: ocrmypdf failed: %s", path, done.stderr.strip()[-500:])
            return False
        target.replace(copy)
    log.info("%s: OCR'd into %s", path, copy)
    return True


def extract(data: bytes, path: str) -> Extraction:
    """Read a PDF's pages (pdfminer, or pypdfium2 when pdfminer fails) into paragraphs.

    `SourceError` for encrypted or unreadable files.
    """
    with opened(data, path) as document, reading(path, "PDF"):
        labels = tuple(document.get_page_label(index) or str(index + 1) for index in range(len(document)))
        title = (document.get_metadata_value("Title") or "").strip()
        try:
            pages = list(pdfminer_pages(data))
        except PDFEncryptionError as error:
            raise SourceError(f"{path}: {unreadable_reason('encrypted')}") from error
        except Exception as error:  # pdfminer fails in many ways on damaged files; pdfium reads more of them
            log.info("%s: pdfminer cannot parse it (%s); reading it with pdfium", path, error)
            pages = list(pdfium_pages(document))
    paragraphs = paragraphs_of(pages)
    if PLACEHOLDER_TITLE.match(title):
        title = next(("".join(p.chars).strip() for p in paragraphs if p.heading), "")
    textless = tuple(labels[index] for index, page in enumerate(pages) if not page.boxes and page.has_images)
    return Extraction(path, paragraphs, title, labels, textless)


def pdfminer_pages(data: bytes) -> Iterator[PageText]:
    """Pages as pdfminer lays them out: text boxes in its reading order (columns one after the
    other). As `pdfminer.high_level.extract_pages`, but pages are read unturned: pdfminer lays
    out the text of a turned (/Rotate) page as vertical letters; `render_page` turns the boxes."""
    resources = PDFResourceManager()
    device = PDFPageAggregator(resources, laparams=LAParams())
    interpreter = PDFPageInterpreter(resources, device)
    for index, page in enumerate(PDFPage.get_pages(io.BytesIO(data))):
        page.rotate = 0
        interpreter.process_page(page)
        layout = device.get_result()
        boxes = [lines for item in layout if isinstance(item, LTTextBox)
                 if (lines := [line for element in item if isinstance(element, LTTextLine)
                               if (line := pdfminer_line(element, index)).chars])]
        yield PageText(boxes, shows_images(layout))


def shows_images(layout: LTPage | LTFigure) -> bool:
    return any(isinstance(item, LTImage) or (isinstance(item, LTFigure) and shows_images(item))
               for item in layout)


def pdfminer_line(element: LTTextLine, page: int) -> Line:
    """One pdfminer line: its characters (ligatures spelled out, unmapped glyphs dropped) and boxes."""
    chars: list[str] = []
    boxes: list[CharBox | None] = []
    sizes = []
    for item in element:
        if isinstance(item, LTChar):
            text = item.get_text()
            if text.startswith("(cid:"):
                continue
            box = CharBox(page, item.x0, item.y0, item.x1, item.y1)
            sizes.append(item.size)
        elif isinstance(item, LTAnno) and item.get_text() != "\n":
            text, box = item.get_text(), None
        else:
            continue
        for char in unicodedata.normalize("NFKC", text) if "\ufb00" <= text <= "\ufb06" else text:
            chars.append(char)
            boxes.append(box)
    return tidy(Line(chars, boxes, statistics.median(sizes) if sizes else 0.0,
                                element.y1, element.y0))


def pdfium_pages(document: pdfium.PdfDocument) -> Iterator[PageText]:
    """Pages as pdfium reads them: lines in the order of the page's content (columns side by
    side are not told apart), grouped into boxes by the gaps between them."""
    for index in range(len(document)):
        page = document[index]
        textpage = page.get_textpage()
        media_left, media_bottom, _, _ = page.get_mediabox()
        lines: list[Line] = []
        line = Line([], [], 0.0, 0.0, 0.0)
        sizes: list[float] = []
        for at in range(textpage.count_chars()):
            char = chr(pdfium_c.FPDFText_GetUnicode(textpage, at))
            if char in "\r\n":
                if line.chars:
                    line.size = statistics.median(sizes) if sizes else 0.0
                    lines.append(tidy(line))
                line, sizes = Line([], [], 0.0, 0.0, 0.0), []
                continue
            box = None
            if not pdfium_c.FPDFText_IsGenerated(textpage, at):
                left, bottom, right, top = textpage.get_charbox(at)
                box = CharBox(index, left - media_left, bottom - media_bottom, right - media_left,
                              top - media_bottom)
                sizes.append(pdfium_c.FPDFText_GetFontSize(textpage, at))
                line.top, line.bottom = max(line.top, box.y1), min(line.bottom or box.y0, box.y0)
            line.chars.append(char)
            line.boxes.append(box)
        if line.chars:
            line.size = statistics.median(sizes) if sizes else 0.0
            lines.append(tidy(line))
        images = any(item.type == pdfium_c.FPDF_PAGEOBJ_IMAGE for item in page.get_objects())
        yield PageText(line_boxes([line for line in lines if line.text.strip()]), images)


def line_boxes(lines: list[Line]) -> list[list[Line]]:
    """Consecutive lines grouped into boxes as pdfminer would: a gap taller than a line, or a
    jump back up the page, starts a new box."""
    boxes: list[list[Line]] = []
    for line in lines:
        before = boxes[-1][-1] if boxes else None
        if before is None or line.top > before.top or before.bottom - line.top > before.top - before.bottom:
            boxes.append([line])
        else:
            boxes[-1].append(line)
    return boxes


def tidy(line: Line) -> Line:
    """The line with its dot leaders ("Harbour ........ 12") made one space, and soft hyphens
    dropped but at its end (where `join_text` reads them)."""
    for match in reversed(list(DOT_LEADER.finditer(line.text))):
        line.chars[match.start():match.end()] = [" "]
        line.boxes[match.start():match.end()] = [None]
        line.entry = True
    end = len(line.text.rstrip())
    for at in reversed(range(end - 1)):
        if line.chars[at] in SOFT_HYPHENS:
            del line.chars[at], line.boxes[at]
    return line


def furniture(pages: list[PageText]) -> set[int]:
    """ids of the lines that are page furniture: in the short text boxes at the top and bottom
    of a page, the lines that repeat (digits aside) on most pages, and bare page numbers."""
    edges: list[list[Line]] = []
    for page in pages:
        boxes = sorted(page.boxes, key=lambda box: -box[0].top)
        outer = boxes[:EDGE_BOXES] + boxes[EDGE_BOXES:][-EDGE_BOXES:]
        edges.append([line for box in outer if len(box) <= FURNITURE_MAX_LINES for line in box])
    counts = Counter(key for lines in edges for key in {furniture_key(line) for line in lines})
    needed = max(2, math.ceil(REPEATED_SHARE * sum(1 for page in pages if page.boxes)))
    return {id(line) for lines in edges for line in lines
            if counts[furniture_key(line)] >= needed or PAGE_NUMBER.fullmatch(line.text.strip())}


def furniture_key(line: Line) -> str:
    return DIGITS.sub("#", " ".join(line.text.lower().split()))


def paragraphs_of(pages: list[PageText]) -> list[Paragraph]:
    """The pages' text boxes as paragraphs: furniture dropped, headings split off by font size,
    lines joined (hyphens at line ends removed), and a paragraph that runs on into the next
    box (column or page) joined to it."""
    dropped = furniture(pages)
    sizes: Counter[float] = Counter()
    for page in pages:
        for box in page.boxes:
            for line in box:
                sizes[round(line.size, 1)] += len(line.chars)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    paragraphs: list[Paragraph] = []
    for index, page in enumerate(pages):
        for box in page.boxes:
            current: Paragraph | None = None
            for line in box:
                if id(line) in dropped:
                    continue
                heading = line.size >= body * HEADING_RATIO and len(line.text.split()) <= HEADING_MAX_WORDS
                if current is None or current.heading != heading or line.entry or current.entry:
                    current = Paragraph(index, heading, entry=line.entry)
                    if paragraphs and runs_on(paragraphs[-1], current, line):
                        current.joined = join_text(paragraphs[-1], line)
                    paragraphs.append(current)
                else:
                    add_text(current, join_text(current, line))
                current.chars.extend(line.chars)
                current.boxes.extend(line.boxes)
    return paragraphs


def runs_on(before: Paragraph, after: Paragraph, line: Line) -> bool:
    """Whether a paragraph continues `before`: neither is a heading, `before` does not end a
    sentence and the new line starts in lower case."""
    first = line.text.lstrip()[:1]
    return (not (before.heading or after.heading or before.entry or after.entry) and first.islower()
            and bool(RUNS_ON.search("".join(before.chars).rstrip())))


def join_text(before: Paragraph, line: Line) -> str:
    """What joins a line to the paragraph before it: nothing after a line-end hyphen (which is
    removed: "infra-" + "structure"), else a space."""
    while before.chars and before.chars[-1] == " ":
        before.chars.pop()
        before.boxes.pop()
    last = before.chars[-1] if before.chars else ""
    soft = last in SOFT_HYPHENS
    hard = last == "-" and len(before.chars) > 1 and before.chars[-2].isalpha() and line.text.lstrip()[:1].islower()
    if soft or hard:
        before.chars.pop()
        before.boxes.pop()
        return ""
    return " "


def add_text(paragraph: Paragraph, text: str) -> None:
    paragraph.chars.extend(text)
    paragraph.boxes.extend([None] * len(text))
