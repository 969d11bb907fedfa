"""The types the sources stage hands on: what a converter makes of a file, and the Document."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.settings import SourceSettings


@dataclass(frozen=True)
class Document:
    """One source file: `id` is its path relative to the seeds folder, `text` its clean text.

    `headings` are (start, end) offsets of the lines its format marks as headings;
    `pages` the offset where each page starts, for paged formats (empty otherwise), and
    `page_labels` the label a reader sees on each of those pages ("iv", "12");
    `notes` what a person should know about how the file was read (pages without text).
    """

    id: str
    title: str
    text: str
    path: str
    sha256: str
    headings: tuple[tuple[int, int], ...] = ()
    pages: tuple[int, ...] = ()
    page_labels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, fields: dict) -> Document:
        """A Document from its stored JSON; records written before a field existed get its default."""
        return cls(**{**fields, "headings": tuple(tuple(span) for span in fields.get("headings", ())),
                      "pages": tuple(fields.get("pages", ())),
                      "page_labels": tuple(fields.get("page_labels", ())),
                      "notes": tuple(fields.get("notes", ()))})

    def page_label(self, offset: int) -> str | None:
        """The label of the page that holds clean-text `offset`; None for unpaged formats."""
        page = bisect.bisect_right(self.pages, offset) - 1
        return self.page_labels[page] if page >= 0 and self.page_labels else None


@dataclass(frozen=True)
class Block:
    """A piece of a converted file in reading order: its raw text (lines), whether it is a
    heading, its page (0-based), and `joined`: None when it starts a new line, else the text
    that continues the previous block's last line with it (a paragraph that runs on across a
    column or page)."""

    text: str
    heading: bool = False
    page: int | None = None
    joined: str | None = None


@dataclass(frozen=True)
class Converted:
    """What a converter makes of a file: a title (may be empty), its blocks in reading order,
    the label of every page for paged formats, and notes for the person indexing it."""

    title: str
    blocks: list[Block] = field(default_factory=list)
    page_labels: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


# A converter reads a file's bytes (its path is for messages) into blocks; `SourceError` when it cannot.
Converter = Callable[[bytes, str, SourceSettings], Converted]
