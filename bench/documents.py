"""Extraction speed per format, and the build time of a folder of PDFs.

    python -m bench.documents [--pdfs 50] [--pages 3]

Documents are made by `bench.samples` (the tests' writers). For each format, one
document is converted and cleaned (`parse_document`) three times and the best run
counts; a page is a PDF page or a slide, and for formats without pages 3,000
characters of clean text (about a printed page). For PDFs it also times the page
map the web view asks for (`pdf_boxes`, the file read again) and rendering one page
with a highlight. Sample PDF pages are full: two columns of 40 lines. Then
`--pdfs` generated PDFs of `--pages` body pages each are indexed into a fresh
folder with `qa.build_index` and the packaged models.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from bench import samples
from qa import build_index
from qa.sources import load_documents, parse_document, pdf

PAGE_CHARS = 3000
FULL_PAGE = 36     # filler lines that fill each column of a sample PDF page
RUNS = 3


def best_seconds(call: Callable[[], object]) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return min(times)


def plain_text(paragraphs: int) -> str:
    return "\n\n".join(fact.text for fact in samples.report_facts(paragraphs // 2))


def formats(size: int) -> dict[str, bytes]:
    """One sample of every format, of about `size` pages."""
    text = plain_text(size * 40)
    return {
        "report.pdf": samples.report_pdf(size, filler=FULL_PAGE),
        "talk.pptx": samples.slides(size),
        "notes.docx": samples.word_document(size * 30),
        "ferry.odt": samples.odt_document(size * 30),
        "tales.epub": samples.epub_book([(f"Chapter {n}", plain_text(30)) for n in range(size)]),
        "report.md": ("# Report\n\n" + text).encode(),
        "report.html": ("<h1>Report</h1>" + "".join(f"<p>{p}</p>" for p in text.split("\n\n"))).encode(),
        "report.txt": text.encode(),
    }


def extraction_rows(size: int) -> list[tuple[str, int, int, float]]:
    """(format, pages, characters of clean text, seconds) of converting and cleaning one sample of each format."""
    rows = []
    for name, data in formats(size).items():
        document = parse_document(data, name, name)
        pages = len(document.pages) or max(1, round(len(document.text) / PAGE_CHARS))
        seconds = best_seconds(partial(parse_document, data, name, name))
        rows.append((name.rsplit(".", 1)[1], pages, len(document.text), seconds))
    return rows


def pdf_view_rows(size: int) -> list[tuple[str, int, int, float]]:
    """The same for what the web view does with a PDF: the page map, and one page rendered."""
    data = samples.report_pdf(size, filler=FULL_PAGE)
    page_map = pdf.pdf_boxes(data)
    boxes = page_map.span(0, 200)
    return [("pdf page map (pdf_boxes)", size, len(page_map.text),
             best_seconds(lambda: pdf.pdf_boxes.__wrapped__(data))),
            ("pdf page rendered with highlight", 1, 0, best_seconds(lambda: pdf.render_page(data, 0, boxes)))]


def build_folder(files: int, pages: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        seeds, index_dir = Path(folder, "seeds"), Path(folder, "index")
        seeds.mkdir()
        for number in range(files):
            (seeds / f"report-{number:03d}.pdf").write_bytes(
                samples.report_pdf(pages, first=number * pages, filler=FULL_PAGE))
        started = time.perf_counter()
        documents, skipped = load_documents(seeds)
        extract = time.perf_counter() - started
        stats = build_index(seeds, index_dir, progress=False)
    return {"files": files, "pages": files * pages, "documents": stats.documents, "sentences": stats.sentences,
            "extract": extract, "build": stats.seconds, "embed": stats.embed_seconds, "parse": stats.parse_seconds,
            "skipped": len(skipped)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pdfs", type=int, default=50, help="PDFs in the build (default: 50)")
    parser.add_argument("--pages", type=int, default=3, help="body pages per PDF in the build (default: 3)")
    parser.add_argument("--size", type=int, default=20, help="pages of each extraction sample (default: 20)")
    args = parser.parse_args()
    print("| format | pages | characters per page | seconds | pages per second |")
    print("|---|---|---|---|---|")
    for name, pages, characters, seconds in extraction_rows(args.size) + pdf_view_rows(args.size):
        print(f"| {name} | {pages} | {characters // pages:,} | {seconds:.3f} | {pages / seconds:,.0f} |")
    build = build_folder(args.pdfs, args.pages)
    print()
    print("| PDFs | pages | sentences | extraction s | build s (all) | embedding s | parsing s |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {build['files']} | {build['pages']} | {build['sentences']} | {build['extract']:.1f} | "
          f"{build['build']:.1f} | {build['embed']:.1f} | {build['parse']:.1f} |")


if __name__ == "__main__":
    main()
