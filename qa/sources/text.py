"""Text formats: plain text, Markdown and HTML, and the one way a table becomes text."""

from __future__ import annotations

import codecs
from functools import lru_cache
from itertools import zip_longest

from bs4 import BeautifulSoup, Tag
from charset_normalizer import from_bytes
from markdown_it import MarkdownIt
from markdown_it.token import Token

from qa.errors import SourceError
from qa.settings import SourceSettings
from qa.sources.document import Block, Converted

BOMS = (  # longest first: UTF-32-LE's BOM begins with UTF-16-LE's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
WESTERN = "cp1252"
WESTERN_MARGIN = 0.05    # how much messier than the best guess cp1252 may read and still be preferred
HTML_HIDDEN = ("script", "style", "noscript", "template", "head", "svg")
HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
HTML_BLOCKS = ("p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
               "section", "article", "header", "footer", "aside", "blockquote", "pre", "ul", "ol",
               "dl", "dt", "dd", "table", "figure", "figcaption", "hr", "main", "nav")
SENTENCE_ENDS = ".!?"


def decode_text(data: bytes, path: str) -> tuple[str, tuple[str, ...]]:
    """The text of a text file's bytes, and a note when its encoding had to be guessed.

    UTF-8 (with or without BOM) and UTF-16/32 with a BOM are read as such; other bytes
    go to charset-normalizer. It often ranks a Baltic or Central European code page
    first for Western text (cp1257 for French in Latin-1), so cp1252, the most common
    legacy encoding, wins when it reads the bytes about as cleanly.
    `SourceError` for binary data or bytes no encoding fits.
    """
    for bom, encoding in BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), ()
            except UnicodeDecodeError as error:
                raise SourceError(f"{path}: is not valid {encoding} text ({error.reason})") from error
    try:
        return data.decode("utf-8"), ()
    except UnicodeDecodeError:
        pass
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: looks binary, not text")
    matches = list(from_bytes(data))
    if not matches:
        raise SourceError(f"{path}: cannot be decoded as text (not UTF-8, and no other encoding fits)")
    best = next((match for match in matches
                 if match.encoding == WESTERN and match.chaos <= matches[0].chaos + WESTERN_MARGIN), matches[0])
    note = f"{path}: is not UTF-8; read as {best.encoding} (charset-normalizer's guess)"
    return str(best), (note,)


def table_lines(rows: list[list[str]], header: bool | None = None) -> list[str]:
    """One line of text per table row, each cell with its context, so a row reads as a sentence.

    With a header row ("Port: Eastport; Ships: 12."), each cell is named by its column;
    a two-column row without one reads "key: value.". `header` None means the format
    does not say: then a table of three or more columns is taken to have one.
    """
    rows = [[" ".join(cell.split()) for cell in cells] for cells in rows]
    rows = [cells for cells in rows if any(cells)]
    if header is None:
        header = len(rows) > 1 and max(map(len, rows)) > 2
    names = rows[0] if header and len(rows) > 1 else []
    lines = []
    for cells in rows[1:] if names else rows:
        if names:
            parts = [f"{name}: {cell}" if name else cell
                     for name, cell in zip_longest(names, cells, fillvalue="") if cell]
        elif len(cells) == 2 and all(cells):
            parts = [f"{cells[0]}: {cells[1]}"]
        else:
            parts = [cell for cell in cells if cell]
        line = "; ".join(parts)
        lines.append(line if line[-1] in SENTENCE_ENDS else line + ".")
    return lines


def convert_plain(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """A .txt file: its text as it is."""
    text, notes = decode_text(data, path)
    return Converted("", [Block(text)], notes=notes)


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable("table")


def inline_text(token: Token) -> str:
    """The visible text of an inline token: emphasis, link targets and HTML dropped, images' alt text kept."""
    pieces = []
    for child in token.children or []:
        if child.type in ("text", "code_inline", "image"):
            pieces.append(child.content)
        elif child.type == "softbreak":
            pieces.append(" ")
        elif child.type == "hardbreak":
            pieces.append("\n")
    return "".join(pieces)


def convert_markdown(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """A .md file read by markdown-it: headings are heading blocks; paragraphs, list items and
    quotes their text (markers gone); a table one line per row; code fences their lines."""
    text, notes = decode_text(data, path)
    blocks: list[Block] = []
    rows: list[list[str]] = []
    cells: list[str] | None = None  # the table row being read
    heading = False
    for token in markdown_parser().parse(text):
        if token.type == "heading_open":
            heading = True
        elif token.type == "tr_open":
            cells = []
        elif token.type == "inline" and cells is not None:
            cells.append(inline_text(token))
        elif token.type == "tr_close" and cells is not None:
            rows.append(cells)
            cells = None
        elif token.type == "inline":
            blocks.append(Block(inline_text(token), heading))
            heading = False
        elif token.type == "table_close":
            blocks.extend(Block(line) for line in table_lines(rows, header=True))
            rows = []
        elif token.type in ("fence", "code_block"):
            blocks.append(Block(token.content))
        elif token.type == "html_block":
            blocks.append(Block(BeautifulSoup(token.content, "html.parser").get_text()))
        if token.type in ("heading_close", "table_close", "fence", "code_block", "html_block") or (
                token.type == "paragraph_close" and not token.hidden):
            blocks.append(Block(""))  # a blank line after each paragraph-like block
    return Converted("", blocks, notes=notes)


def html_tables_as_lines(soup: BeautifulSoup) -> None:
    """Replace every table (innermost first) by one paragraph per row, as `table_lines` writes it."""
    for table in reversed(soup.find_all("table")):
        rows = [row.find_all(("th", "td"), recursive=False) for row in table.find_all("tr")]
        marked = bool(rows and rows[0] and all(cell.name == "th" for cell in rows[0]))
        lines = table_lines([[cell.get_text(" ") for cell in cells] for cells in rows], marked or None)
        replacement = soup.new_tag("div")
        for line in lines:
            paragraph = soup.new_tag("p")
            paragraph.string = line
            replacement.append(paragraph)
        table.replace_with(replacement)


def html_blocks(markup: str) -> Converted:
    """An HTML page's title and visible text, one block element per line; h1-h6 are headings."""
    soup = BeautifulSoup(markup, "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(HTML_HIDDEN):
        tag.decompose()
    html_tables_as_lines(soup)
    headings = {" ".join(tag.get_text(" ").split()) for tag in soup.find_all(HTML_HEADINGS)}
    for tag in soup.find_all(HTML_BLOCKS):
        if isinstance(tag, Tag):
            tag.insert_before("\n")
            tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return Converted(title, [Block(line, line in headings) for line in lines if line])


def convert_html(data: bytes, path: str, settings: SourceSettings) -> Converted:
    """An HTML page: see `html_blocks`."""
    text, notes = decode_text(data, path)
    converted = html_blocks(text)
    return Converted(converted.title, converted.blocks, notes=notes)
