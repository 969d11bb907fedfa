"""The shared store beside the embedded one on synthetic corpora of growing size.

    python -m bench.pgscale [--sizes 1000 10000] [--hnsw]

For each size: bench.incremental's synthetic corpus (one chunk and five
sentences a document, a small vocabulary, so every query term has long
postings: a hard case for BM25 over postings) built into a folder and into a
throwaway PostgreSQL (bench/pgserver.py, default durability); the build and open
times; the warm latency of the store's two calls per question, `candidates`
(dense + BM25 top lists) and `sentences`, and of `search()`; the postings a
question's terms have; and the shared store's size per chunk. With --hnsw both
stores search an HNSW graph at every size (else exact search below
`index.hnsw_min_chunks`, as by default). Stand-in models (bench.scale's
HashingEncoder, no parse): the table measures the stores, not the models.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import psycopg

from bench.incremental import write_corpus
from bench.pgserver import TemporaryPostgres
from bench.scale import make_questions
from bench.standins import HashingEncoder
from qa import Retriever, build_index, rows
from qa.settings import DEFAULT, Settings

QUESTIONS = 200


class NoParse:
    """A stand-in analyser: one untagged token row per sentence."""

    name = "bench/no-parse"

    def analyse(self, texts, starts) -> list[np.ndarray]:
        return [self.parse(text, start) for text, start in zip(texts, starts, strict=True)]

    def parse(self, text: str, start: int = 0) -> np.ndarray:
        token = np.zeros(1, dtype=rows.TOKEN)
        token["start"], token["end"] = start, start + len(text)
        return token


def p50_ms(call, questions: list[str]) -> float:
    for question in questions[:10]:
        call(question)
    latencies = []
    for question in questions:
        started = time.perf_counter()
        call(question)
        latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies)


def measure(seeds: Path, where: str, settings: Settings, questions: list[str]) -> dict:
    stats = build_index(seeds, where, progress=False, settings=settings, encoder=HashingEncoder(),
                        analyser=NoParse())
    started = time.perf_counter()
    retriever = Retriever.open(where, settings, HashingEncoder(), NoParse())
    open_s = time.perf_counter() - started
    opened = retriever._opened
    queries = {q: opened.retrieval.query(q, HashingEncoder().encode([q])[0]) for q in questions}
    hits = {q: opened.reader.candidates(queries[q], settings.ranking.candidates) for q in questions}
    return {"chunks": stats.chunks, "build_s": stats.seconds, "open_s": open_s,
            "candidates": p50_ms(lambda q: opened.reader.candidates(queries[q], settings.ranking.candidates),
                                 questions),
            "sentences": p50_ms(lambda q: opened.reader.sentences(hits[q].ids, queries[q]), questions),
            "search": p50_ms(lambda q: retriever.search(q, k=5), questions)}


def postings_per_question(url: str, questions: list[str]) -> float:
    """The mean number of chunk postings of a question's distinct BM25 terms."""
    from qa import lexical

    with psycopg.connect(url) as connection:
        counts = []
        for tokens in lexical.tokenize(questions):
            counts.append(connection.execute(
                "SELECT count(*) FROM qa_main.terms t JOIN qa_main.chunk_postings p ON p.term = t.id "
                "WHERE t.term = ANY(%s)", (sorted(set(tokens)),)).fetchall()[0][0])
    return float(np.mean(counts))


def bytes_per_chunk(url: str, chunks: int) -> dict[str, float]:
    with psycopg.connect(url) as connection:
        sizes: dict[str, int] = dict(connection.execute(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n "
            "ON n.oid = c.relnamespace WHERE n.nspname = 'qa_main' AND c.relkind = 'r'").fetchall())
    return {name: size / chunks for name, size in sizes.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--hnsw", action="store_true", help="search an HNSW graph at every size")
    args = parser.parse_args()
    settings = DEFAULT.replace(store={"hnsw_min_chunks": 1}) if args.hnsw else DEFAULT
    print("| documents (= chunks) | store | build (s) | open (s) | candidates p50 (ms) | sentences p50 (ms) "
          "| search() p50 (ms) |")
    print("|---|---|---|---|---|---|---|")
    details = []
    with tempfile.TemporaryDirectory() as work, TemporaryPostgres(durable=True) as server:
        for size in args.sizes:
            seeds = Path(work, f"seeds-{size}")
            write_corpus(seeds, size)
            questions = make_questions(seeds, QUESTIONS)
            url = server.new_database(f"scale_{size}")
            for name, where in (("embedded", str(Path(work, f"index-{size}"))), ("shared", url)):
                r = measure(seeds, where, settings, questions)
                print(f"| {size:,} | {name} | {r['build_s']:.1f} | {r['open_s']:.2f} | {r['candidates']:.2f} | "
                      f"{r['sentences']:.2f} | {r['search']:.2f} |", flush=True)
            details.append((size, postings_per_question(url, questions), bytes_per_chunk(url, r["chunks"])))
    for size, postings, sizes in details:
        tables = ", ".join(f"{name} {value / 1024:.1f}" for name, value in sorted(sizes.items(), key=lambda x: -x[1])
                           if value >= 16)
        print(f"\n{size:,} chunks: {postings:,.0f} chunk postings per question's terms; shared store KiB per chunk: "
              f"{sum(sizes.values()) / 1024:.1f} ({tables})")


if __name__ == "__main__":
    main()
