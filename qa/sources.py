"""Sources: read the seeds folder into clean `Document`s.

The clean text decided here is the text every later stage works on: chunk,
sentence and answer offsets all point into `Document.text`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bs4 import BeautifulSoup

from qa.errors import SourceError
from qa.settings import DEFAULT, SourceSettings

log = logging.getLogger(__name__)

# Page furniture: whole lines a reader should not see.
FURNITURE_LINES = frozenset({
    "advertisement", "advertisement banner", "advertisements", "cover image",
    "image", "skip to content", "share", "share this article",
})
CITE_MARKER = re.compile(r"[ \t]*\[cite:[^\]\n]*\]")
LATEX_TEXT = re.compile(r"\$\\text\{(.*?)\}\$")          # $\text{\euro}90$ , $\text{\$161}$
LATEX_SYMBOLS = {r"\euro": "€", r"\texteuro": "€", r"\pounds": "£", r"\$": "$", r"\%": "%"}
LATEX_SYMBOL = re.compile("|".join(re.escape(s) for s in sorted(LATEX_SYMBOLS, key=len, reverse=True)))
LATEX_MONEY = re.compile(r"\$\\text\{(\\[a-z]+|\\\$)\}\s*([\d.,]+)\$")  # $\text{\euro}90$ -> €90
MARKDOWN_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+")
MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
MARKDOWN_EMPHASIS = re.compile(r"(\*\*|__|`)")
HTML_HIDDEN = ("script", "style", "noscript", "template", "head", "svg")
HTML_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
HTML_BLOCKS = ("p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
               "section", "article", "header", "footer", "aside", "blockquote", "pre", "ul", "ol",
               "dl", "dt", "dd", "table", "figure", "figcaption", "hr", "main", "nav")


@dataclass(frozen=True)
class Document:
    """One source file: `id` is its path relative to the seeds folder, `text` its clean text.

    `headings` are (start, end) offsets of the lines its format marks as headings;
    `pages` the offset where each page starts, for paged formats (empty otherwise).
    """

    id: str
    title: str
    text: str
    path: str
    sha256: str
    headings: tuple[tuple[int, int], ...] = ()
    pages: tuple[int, ...] = ()

    @classmethod
    def from_json(cls, fields: dict) -> Document:
        return cls(**{**fields, "headings": tuple(tuple(span) for span in fields.get("headings", ())),
                      "pages": tuple(fields.get("pages", ()))})


@dataclass(frozen=True)
class Block:
    """One line of a converted file: its raw text, whether it is a heading, its page (0-based)."""

    text: str
    heading: bool = False
    page: int | None = None


@dataclass(frozen=True)
class Converted:
    """What a converter makes of a file: a title (may be empty) and its lines in reading order."""

    title: str
    blocks: list[Block] = field(default_factory=list)


def source_files(seeds_dir: str | Path) -> list[Path]:
    """Every file of a known format under `seeds_dir`, recursively, sorted, hidden files left out."""
    root = Path(seeds_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"seeds folder not found: {root}")
    files: list[Path] = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        files.extend(Path(folder, name) for name in names
                     if not name.startswith(".") and os.path.splitext(name)[1].lower() in CONVERTERS)
    return sorted(path for path in files if path.is_file())


def document_id(path: Path, seeds_dir: str | Path) -> str:
    """The id of a seed file: its POSIX path relative to the seeds folder."""
    return Path(os.path.relpath(path, seeds_dir)).as_posix()


def file_stat(path: Path) -> tuple[int, int]:
    """Size and modification time (ns) of a seed file; `SourceError` when it cannot be read."""
    try:
        stat = path.stat()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error
    return stat.st_size, stat.st_mtime_ns


def read_bytes(path: Path, settings: SourceSettings = DEFAULT.sources) -> bytes:
    """The raw bytes of a seed file; `SourceError` when it cannot be read or is too big."""
    try:
        size = path.stat().st_size
        if size > settings.max_file_bytes:
            raise SourceError(f"{path}: {size} bytes is over the {settings.max_file_bytes} byte limit")
        return path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_text(data: bytes, path: str) -> str:
    """The text of a plain-text file's bytes; `SourceError` for binary or non-UTF-8 data."""
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: looks binary, not text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(f"{path}: is not UTF-8 text ({error.reason} at byte {error.start})") from error


def convert_plain(data: bytes, path: str) -> Converted:
    """A .txt file: its text as it is."""
    return Converted("", [Block(decode_text(data, path))])


def convert_markdown(data: bytes, path: str) -> Converted:
    """A .md file: heading markers, emphasis and link targets removed; `#` lines are headings."""
    blocks = []
    for line in decode_text(data, path).replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        heading = bool(MARKDOWN_HEADING.match(line))
        line = MARKDOWN_LINK.sub(r"\1", MARKDOWN_HEADING.sub("", line))
        blocks.append(Block(MARKDOWN_EMPHASIS.sub("", line), heading))
    return Converted("", blocks)


def convert_html(data: bytes, path: str) -> Converted:
    """An HTML page: its title and visible text, one block element per line; h1-h6 are headings."""
    soup = BeautifulSoup(decode_text(data, path), "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(HTML_HIDDEN):
        tag.decompose()
    headings = {" ".join(tag.get_text(" ").split()) for tag in soup.find_all(HTML_HEADINGS)}
    for tag in soup.find_all(HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return Converted(title, [Block(line, line in headings) for line in lines if line])


Converter = Callable[[bytes, str], Converted]
# Suffix -> converter of a file's bytes (and its path, for messages). Adding a format is one entry.
CONVERTERS: dict[str, Converter] = {
    ".txt": convert_plain,
    ".md": convert_markdown,
    ".html": convert_html,
    ".htm": convert_html,
}


def parse_document(data: bytes, doc_id: str, path: str) -> Document:
    """Convert and clean one file's bytes into a Document; `SourceError` if it holds no usable text."""
    converter = CONVERTERS.get(Path(path).suffix.lower())
    if converter is None:
        raise SourceError(f"{path}: is not a supported format ({', '.join(sorted(CONVERTERS))})")
    converted = converter(data, path)
    title, text, headings, pages = clean_blocks(converted.blocks, converted.title)
    if not text:
        raise SourceError(f"{path}: holds no text")
    return Document(id=doc_id, title=title, text=text, path=path, sha256=sha256_of(data),
                    headings=headings, pages=pages)


def read_document(path: Path, seeds_dir: str | Path, settings: SourceSettings = DEFAULT.sources) -> Document:
    """Read and clean one seed file; raises `SourceError` with the file's name."""
    return parse_document(read_bytes(path, settings), document_id(path, seeds_dir), str(path))


def load_documents(seeds_dir: str | Path) -> tuple[list[Document], list[str]]:
    """All usable documents under `seeds_dir`, and a warning for each file skipped."""
    documents, skipped = [], []
    for path in source_files(seeds_dir):
        try:
            documents.append(read_document(path, seeds_dir))
        except SourceError as error:
            log.warning("skipped %s", error)
            skipped.append(str(error))
    return documents, skipped


def clean_line(line: str) -> str:
    """One line without citation markers and LaTeX money, spaces folded."""
    line = CITE_MARKER.sub("", line)
    line = LATEX_MONEY.sub(lambda m: LATEX_SYMBOLS.get(m.group(1), "") + m.group(2), line)
    line = LATEX_TEXT.sub(r"\1", line)
    line = LATEX_SYMBOL.sub(lambda m: LATEX_SYMBOLS[m.group(0)], line)
    line = re.sub(r"[ \t\u00a0]+", " ", line).strip()
    return re.sub(r" +([.,;:!?])", r"\1", line)


def clean_blocks(blocks: list[Block], title: str = "") -> tuple[str, str, tuple, tuple]:
    """The title, clean text, heading spans and page starts of a converted file's blocks.

    Drops furniture lines and later repeats of the title line, and keeps at
    most one blank line between paragraphs. Offsets are into the clean text.
    """
    kept: list[str] = []
    headings: list[tuple[int, int]] = []
    pages: list[int] = []
    title_seen = False
    at = 0  # offset of the next kept line in the clean text
    for block in blocks:
        for raw_line in block.text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
            line = clean_line(raw_line)
            if line.lower().rstrip(".:") in FURNITURE_LINES:
                continue
            title = title or line
            if line and line == title:
                if title_seen:
                    continue
                title_seen = True
            if not (line or (kept and kept[-1])):
                continue
            if line and block.page is not None and len(pages) <= block.page:
                pages.extend([at] * (block.page + 1 - len(pages)))
            if line and block.heading:
                headings.append((at, at + len(line)))
            kept.append(line)
            at += len(line) + 1
    while kept and not kept[-1]:
        kept.pop()
    return title, "\n".join(kept), tuple(headings), tuple(pages)

