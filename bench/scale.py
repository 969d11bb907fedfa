"""answer() latency, open time and index size on synthetic corpora of growing size.

    python -m bench.scale [--sizes 1000 10000] [--skip-model]

For each size: bench.incremental's synthetic corpus, one full build, the time of
`Retriever.open`, then the warm latency of `answer()` over generated questions
(20 warm-up questions first, untimed) and the index's size on disk.

The index is built and queried with `HashingEncoder`, a feature-hashing stand-in
for the model, so that 10,000 documents build in seconds rather than minutes:
the table measures the index path (FAISS, BM25, ranking, answer picking), not
the model. The real model's cost of embedding one question is printed apart;
add it to answer() for a real question's latency.
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from bench.incremental import VERBS, WORDS, write_corpus
from bench.squad import percentile
from qa import Retriever, build_index

WARM_UP = 20
QUESTIONS = 200
TEMPLATES = (
    "How many {w1}s were {verb} by the {w2} of {place}?",
    "When was the {w1} of {place} {verb}?",
    "Who {verb} the {w1} of {place}?",
    "What budget did the {w1} of {place} get for the {w2}?",
)
TOKEN = re.compile(r"\w+")


class HashingEncoder:
    """A fast stand-in for the model: lower-cased words hashed (crc32) into 384 signed buckets."""

    name = "hashing-384"
    dimension = 384

    def encode(self, texts: list[str]) -> np.ndarray:
        """L2-normalised float32 rows, one per text (a text without words gives a zero row)."""
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            for token in TOKEN.findall(text.lower()):
                code = zlib.crc32(token.encode())
                vectors[row, code % self.dimension] += 1.0 if code >> 31 else -1.0
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def make_questions(count: int, seed: int = 0) -> list[str]:
    """`count` questions in the synthetic corpus's vocabulary, the same for a given seed."""
    rng = random.Random(seed)
    return [rng.choice(TEMPLATES).format(w1=rng.choice(WORDS), w2=rng.choice(WORDS), verb=rng.choice(VERBS),
                                         place=f"{rng.choice(WORDS).title()}ford")
            for _ in range(count)]


def answer_latencies(retriever, questions: list[str]) -> list[float]:
    """Milliseconds of `retriever.answer(q)` per question, after WARM_UP untimed questions."""
    for question in make_questions(WARM_UP, seed=-1):
        retriever.answer(question)
    latencies = []
    for question in questions:
        started = time.perf_counter()
        retriever.answer(question)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def disk_mb(folder: Path) -> float:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file()) / 1e6


def row(size: int, stats, open_s: float, latencies: list[float], index_dir: Path) -> dict:
    return {"documents": size, "chunks": stats.chunks, "sentences": stats.sentences, "open_s": open_s,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99), "mb": disk_mb(index_dir)}


def measure(size: int, work: Path, questions: list[str]) -> dict:
    seeds, index_dir = work / f"seeds-{size}", work / f"index-{size}"
    write_corpus(seeds, size)
    stats = build_index(seeds, index_dir, progress=False, encoder=HashingEncoder())
    started = time.perf_counter()
    retriever = Retriever.open(index_dir, encoder=HashingEncoder())
    open_s = time.perf_counter() - started
    return row(size, stats, open_s, answer_latencies(retriever, questions), index_dir)


def model_query_ms(questions: list[str]) -> tuple[float, float]:
    """p50 and p99 milliseconds of the real model embedding one question, warm."""
    from qa import embedding

    encoder = embedding.load_encoder()
    latencies = []
    for question in questions:
        started = time.perf_counter()
        encoder.encode([question])
        latencies.append((time.perf_counter() - started) * 1000)
    return statistics.median(latencies), percentile(latencies, 0.99)


def print_table(rows: list[dict]) -> None:
    print("| documents | chunks | sentences | open (s) | answer() p50 (ms) | answer() p99 (ms) | on disk (MB) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['documents']:,} | {r['chunks']:,} | {r['sentences']:,} | {r['open_s']:.2f} | "
              f"{r['p50']:.1f} | {r['p99']:.1f} | {r['mb']:.1f} |")


def print_model(p50: float, p99: float) -> None:
    print(f"\nreal model, embedding one question: p50 {p50:.1f} ms, p99 {p99:.1f} ms (not in the table)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--skip-model", action="store_true", help="do not load the real model")
    args = parser.parse_args()
    questions = make_questions(QUESTIONS)
    with tempfile.TemporaryDirectory() as work:
        rows = [measure(size, Path(work), questions) for size in args.sizes]
    print_table(rows)
    if not args.skip_model:
        print_model(*model_query_ms(questions))


if __name__ == "__main__":
    main()
