"""Sources: read the seeds folder into clean `Document`s.

The clean text decided here is the text every later stage works on: chunk,
sentence and answer offsets all point into `Document.text`. One converter per
format (`CONVERTERS`) reads a file's bytes into blocks; `clean_blocks` makes the
clean text of them, the same rules for every format.
"""

from __future__ import annotations

import logging
from pathlib import Path

from qa.errors import EmptySource, SourceError
from qa.settings import DEFAULT, SourceSettings
from qa.sources.clean import Cleaned, clean_blocks, clean_line
from qa.sources.document import Block, Converted, Converter, Document
from qa.sources.epub import convert_epub
from qa.sources.files import SeedFiles, document_id, file_stat, read_bytes, sha256_of, walk_seeds
from qa.sources.office import convert_docx, convert_odt, convert_pptx
from qa.sources.pdf import convert_pdf
from qa.sources.text import convert_html, convert_markdown, convert_plain

__all__ = [
    "CONVERTERS", "Block", "Cleaned", "Converted", "Converter", "Document", "EmptySource", "SeedFiles",
    "SourceError", "clean_blocks", "clean_line", "document_id", "file_stat", "load_documents", "parse_document",
    "read_bytes", "read_document", "sha256_of", "source_files",
]

log = logging.getLogger(__name__)

# Suffix -> converter of a file's bytes (and its path, for messages). Adding a format is one entry.
CONVERTERS: dict[str, Converter] = {
    ".txt": convert_plain,
    ".md": convert_markdown,
    ".html": convert_html,
    ".htm": convert_html,
    ".xhtml": convert_html,
    ".pdf": convert_pdf,
    ".docx": convert_docx,
    ".pptx": convert_pptx,
    ".odt": convert_odt,
    ".epub": convert_epub,
}


def source_files(seeds_dir: str | Path) -> SeedFiles:
    """Every file of a format in `CONVERTERS` under `seeds_dir`, and the files and folders left out, with why."""
    return walk_seeds(seeds_dir, CONVERTERS)


def parse_document(data: bytes, doc_id: str, path: str, settings: SourceSettings = DEFAULT.sources) -> Document:
    """Convert and clean one file's bytes into a Document.

    `EmptySource` when the file holds no text (it was emptied: an edit that removes it
    from the index); `SourceError` when it cannot be used. Notes are logged as warnings.
    """
    converter = CONVERTERS.get(Path(path).suffix.lower())
    if converter is None:
        raise SourceError(f"{path}: is not a supported format ({', '.join(sorted(CONVERTERS))})")
    if not data.strip():
        raise EmptySource(f"{path}: is empty")
    converted = converter(data, path, settings)
    cleaned = clean_blocks(converted.blocks, converted.title)
    if not cleaned.text:
        raise EmptySource(f"{path}: holds no text")
    for note in converted.notes:
        log.warning("%s", note)
    labels = converted.page_labels
    pages = cleaned.pages + (len(cleaned.text),) * (len(labels) - len(cleaned.pages))
    return Document(id=doc_id, title=cleaned.title, text=cleaned.text, path=path, sha256=sha256_of(data),
                    headings=cleaned.headings, pages=pages, page_labels=labels, notes=converted.notes)


def read_document(path: Path, seeds_dir: str | Path, settings: SourceSettings = DEFAULT.sources) -> Document:
    """Read and clean one seed file; raises `SourceError` with the file's name."""
    return parse_document(read_bytes(path, settings), document_id(path, seeds_dir), str(path), settings)


def load_documents(seeds_dir: str | Path,
                   settings: SourceSettings = DEFAULT.sources) -> tuple[list[Document], list[str]]:
    """All usable documents under `seeds_dir`, and why each other file was left out."""
    found = source_files(seeds_dir)
    documents, skipped = [], list(found.skipped)
    for path in found.files:
        try:
            documents.append(read_document(path, seeds_dir, settings))
        except SourceError as error:
            log.warning("skipped %s", error)
            skipped.append(str(error))
    return documents, skipped
