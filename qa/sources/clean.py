"""Clean text: the rules that decide what a reader sees, with a map back to the raw text.

Every rule is a regex substitution. `substitute` also carries, for each character it
keeps or writes, the raw offset it came from, so that a PDF's character boxes follow the
clean text exactly (written by hand: `re.sub` keeps no such map).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from qa.sources.document import Block

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
SPACES = re.compile(r"[ \t\u00a0]+")
ENDS = re.compile(r"^\s+|\s+$")
SPACE_BEFORE_PUNCTUATION = re.compile(r" +([.,;:!?])")
LINE_BREAK = re.compile(r"\r\n|\r|\n")
# A web page's dateline and byline run together when their elements lose the space between
# them ("December 22, 2025Clash Report"): a year never runs into a word in prose.
GLUED_YEAR = re.compile(r"(?<=\b(?:1[5-9]|20)\d\d)(?=[A-Z][a-z])")
# A line none of the rules below would change is copied as it is.
NEEDS_CLEANING = re.compile(r"\[cite:|\$|\\|[\t\u00a0]|  | [.,;:!?]|^\s|\s$|\d[A-Z][a-z]")

Replacement = str | Callable[[re.Match[str]], str]
RULES: tuple[tuple[re.Pattern[str], Replacement], ...] = (
    (CITE_MARKER, ""),
    (LATEX_MONEY, lambda m: LATEX_SYMBOLS.get(m.group(1), "") + m.group(2)),
    (LATEX_TEXT, r"\1"),
    (LATEX_SYMBOL, lambda m: LATEX_SYMBOLS[m.group(0)]),
    (SPACES, " "),
    (ENDS, ""),
    (SPACE_BEFORE_PUNCTUATION, r"\1"),
    (GLUED_YEAR, " "),
)


@dataclass(frozen=True)
class Origin:
    """A run of `length` clean characters from clean offset `start` that come from
    `blocks[block].text[offset:offset + length]` (copied, or written in place of it)."""

    start: int
    block: int
    offset: int
    length: int


@dataclass(frozen=True)
class Cleaned:
    """The clean text of a file's blocks, its heading spans and page starts, and the map
    from its characters back to the blocks (characters the rules wrote have none)."""

    title: str
    text: str
    headings: tuple[tuple[int, int], ...]
    pages: tuple[int, ...]
    origins: tuple[Origin, ...]


@dataclass
class RawLine:
    """One line of the blocks before cleaning, and which block each stretch of it is from."""

    text: str
    heading: bool
    pieces: list[Origin] = field(default_factory=list)   # `start` is the offset in this line


def substitute(pattern: re.Pattern[str], replacement: Replacement, text: str,
               origin: list[int]) -> tuple[str, list[int]]:
    """`pattern.sub(replacement, text)`, and the raw offset of every character of the result.

    Written characters that appear in the text they replace map to their place there;
    others map to the start of what they replace.
    """
    out: list[str] = []
    where: list[int] = []
    last = 0
    for match in pattern.finditer(text):
        new = replacement(match) if callable(replacement) else match.expand(replacement)
        out.append(text[last:match.start()])
        where.extend(origin[last:match.start()])
        found = match.group(0).find(new) if new else -1
        base = match.start() + found if found >= 0 else match.start()
        out.append(new)
        where.extend(origin[base + i] if found >= 0 else origin[base] for i in range(len(new)))
        last = match.end()
    out.append(text[last:])
    where.extend(origin[last:])
    return "".join(out), where


def clean_line(line: str) -> tuple[str, list[tuple[int, int, int]]]:
    """One line without citation markers and LaTeX money, spaces folded; and where each of its
    characters comes from in `line`, as runs (clean offset, raw offset, length)."""
    if not NEEDS_CLEANING.search(line):
        return line, [(0, 0, len(line))] if line else []
    text, origin = line, list(range(len(line)))
    for pattern, replacement in RULES:
        text, origin = substitute(pattern, replacement, text, origin)
    runs: list[tuple[int, int, int]] = []
    for at, raw in enumerate(origin):
        if runs and runs[-1][1] + runs[-1][2] == raw and runs[-1][0] + runs[-1][2] == at:
            runs[-1] = (runs[-1][0], runs[-1][1], runs[-1][2] + 1)
        else:
            runs.append((at, raw, 1))
    return text, runs


def raw_lines(blocks: list[Block]) -> list[RawLine]:
    """The blocks' text as lines: a block that is `joined` continues the line before it."""
    lines: list[RawLine] = []
    for number, block in enumerate(blocks):
        starts = [0, *(m.end() for m in LINE_BREAK.finditer(block.text))]
        ends = [*(m.start() for m in LINE_BREAK.finditer(block.text)), len(block.text)]
        for first, (start, end) in enumerate(zip(starts, ends, strict=True)):
            if first == 0 and block.joined is not None and lines:
                line = lines[-1]
                line.text += block.joined
            else:
                line = RawLine("", block.heading)
                lines.append(line)
            line.pieces.append(Origin(len(line.text), number, start, end - start))
            line.text += block.text[start:end]
    return lines


def origins_of(runs: list[tuple[int, int, int]], pieces: list[Origin], at: int) -> list[Origin]:
    """Clean-text origins of one line's runs, `at` being the line's clean offset."""
    origins = []
    for clean, raw, length in runs:
        for piece in pieces:
            low, high = max(raw, piece.start), min(raw + length, piece.start + piece.length)
            if low < high:
                origins.append(Origin(at + clean + low - raw, piece.block, piece.offset + low - piece.start,
                                      high - low))
    return origins


def clean_blocks(blocks: list[Block], title: str = "") -> Cleaned:
    """The title, clean text, heading spans, page starts and origins of a converted file.

    Drops furniture lines and later repeats of the title line, and keeps at
    most one blank line between paragraphs. Offsets are into the clean text.
    """
    kept: list[str] = []
    headings: list[tuple[int, int]] = []
    pages: list[int] = []
    origins: list[Origin] = []
    title_seen = False
    at = 0  # offset of the next kept line in the clean text
    for raw in raw_lines(blocks):
        line, runs = clean_line(raw.text)
        if line.lower().rstrip(".:") in FURNITURE_LINES:
            continue
        title = title or line
        if line and line == title:
            if title_seen:
                continue
            title_seen = True
        if not (line or (kept and kept[-1])):
            continue
        for origin in origins_of(runs, raw.pieces, at):
            page = blocks[origin.block].page
            if page is not None and len(pages) <= page:
                pages.extend([origin.start] * (page + 1 - len(pages)))
            origins.append(origin)
        if line and raw.heading:
            headings.append((at, at + len(line)))
        kept.append(line)
        at += len(line) + 1
    while kept and not kept[-1]:
        kept.pop()
    return Cleaned(title, "\n".join(kept), tuple(headings), tuple(pages), tuple(origins))
