"""Sources: read the seeds folder into clean `Document`s.

The clean text decided here is the text every later stage works on: chunk,
sentence and answer offsets all point into `Document.text`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass
from pathlib import Path

from bs4 import BeautifulSoup

log = logging.getLogger(__name__)

CLEANING_VERSION = 1  # bump when clean_text changes: it forces a full rebuild
SUFFIXES = frozenset({".txt", ".md", ".html", ".htm"})
MAX_FILE_BYTES = 20 * 1024 * 1024

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
HTML_BLOCKS = ("p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
               "section", "article", "header", "footer", "aside", "blockquote", "pre", "ul", "ol",
               "dl", "dt", "dd", "table", "figure", "figcaption", "hr", "main", "nav")


@dataclass(frozen=True)
class Document:
    """One source file: `id` is its path relative to the seeds folder."""

    id: str
    title: str
    text: str
    path: str
    sha256: str


class SourceError(Exception):
    """A seed file that cannot be used (unreadable, binary, undecodable or empty)."""


def source_files(seeds_dir: str | Path) -> list[Path]:
    """Every .txt/.md/.html file under `seeds_dir`, recursively, sorted, hidden files left out."""
    root = Path(seeds_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"seeds folder not found: {root}")
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if not name.startswith(".")]
        files.extend(Path(folder, name) for name in names
                     if not name.startswith(".") and os.path.splitext(name)[1].lower() in SUFFIXES)
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


def read_bytes(path: Path) -> bytes:
    """The raw bytes of a seed file; `SourceError` when it cannot be read or is too big."""
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SourceError(f"{path}: {size} bytes is over the {MAX_FILE_BYTES} byte limit")
        return path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: cannot be read ({error.strerror or error})") from error


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_document(data: bytes, doc_id: str, path: str) -> Document:
    """Decode and clean one file's bytes into a Document; `SourceError` if it holds no usable text."""
    if b"\x00" in data[:8192]:
        raise SourceError(f"{path}: looks binary, not text")
    try:
        raw = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise SourceError(f"{path}: is not UTF-8 text ({error.reason} at byte {error.start})") from error
    suffix = Path(path).suffix.lower()
    if suffix in (".html", ".htm"):
        html_title, raw = html_to_text(raw)
    else:
        html_title = ""
        if suffix == ".md":
            raw = markdown_to_text(raw)
    title, text = clean_text(raw, html_title)
    if not text:
        raise SourceError(f"{path}: holds no text")
    return Document(id=doc_id, title=title, text=text, path=path, sha256=sha256_of(data))


def read_document(path: Path, seeds_dir: str | Path) -> Document:
    """Read and clean one seed file; raises `SourceError` with the file's name."""
    return parse_document(read_bytes(path), document_id(path, seeds_dir), str(path))


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


def html_to_text(html: str) -> tuple[str, str]:
    """The title and visible text of an HTML page, one block element per line."""
    soup = BeautifulSoup(html, "html.parser")
    title_tag = soup.find("title") or soup.find("h1")
    title = title_tag.get_text(" ", strip=True) if title_tag else ""
    for tag in soup.find_all(HTML_HIDDEN):
        tag.decompose()
    for tag in soup.find_all(HTML_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(line.split()) for line in soup.get_text().splitlines())
    return title, "\n".join(line for line in lines if line)


def markdown_to_text(markdown: str) -> str:
    """Markdown with heading markers, emphasis and link targets removed."""
    lines = []
    for line in markdown.splitlines():
        line = MARKDOWN_HEADING.sub("", line)
        line = MARKDOWN_LINK.sub(r"\1", line)
        lines.append(MARKDOWN_EMPHASIS.sub("", line))
    return "\n".join(lines)


def clean_line(line: str) -> str:
    """One line without citation markers and LaTeX money, spaces folded."""
    line = CITE_MARKER.sub("", line)
    line = LATEX_MONEY.sub(lambda m: LATEX_SYMBOLS.get(m.group(1), "") + m.group(2), line)
    line = LATEX_TEXT.sub(r"\1", line)
    line = LATEX_SYMBOL.sub(lambda m: LATEX_SYMBOLS[m.group(0)], line)
    line = re.sub(r"[ \t\u00a0]+", " ", line).strip()
    return re.sub(r" +([.,;:!?])", r"\1", line)


def clean_text(raw: str, title: str = "") -> tuple[str, str]:
    """The title and clean text of a document's raw text.

    Drops furniture lines and later repeats of the title line, and keeps at
    most one blank line between paragraphs.
    """
    kept: list[str] = []
    title_seen = False
    for raw_line in raw.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        line = clean_line(raw_line)
        if line.lower().rstrip(".:") in FURNITURE_LINES:
            continue
        title = title or line
        if line and line == title:
            if title_seen:
                continue
            title_seen = True
        if line or (kept and kept[-1]):
            kept.append(line)
    return title, "\n".join(kept).strip()
