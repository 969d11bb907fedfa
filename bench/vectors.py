"""Recall and latency of the chunk vector index against exact search, at 10k, 100k and 1M rows.

    python -m bench.vectors [--rows 10000 100000 1000000] [--probes 16 32 48 64 128] [--keep DIR]

Vectors: chunks of bench.scale's SQuAD-like articles (four sentences each),
embedded with its hashing stand-in; queries: 200 of its five-word questions.
For each size: exact search (FAISS IndexFlatIP over float32, what a small
segment gets) and the IVF index a large segment gets (`qa.store.vectors`:
float16 rows in 4·sqrt(n) cells), at several numbers of cells searched, both
with one FAISS thread as a server searches. Recall@10 is the share of the
index's top 10 whose exact cosine reaches the exact 10th best (ties count, as
in ann-benchmarks); latency is one query at a time, asking for 100 rows as
retrieval does. The chosen setting is `index.ivf_probes`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import faiss
import numpy as np

from bench.scale import CHUNKS_PER_ARTICLE, WORD, Writer
from bench.squad import percentile
from bench.standins import HashingEncoder
from qa.settings import DEFAULT
from qa.store import vectors

QUESTIONS = 200
SENTENCES_PER_CHUNK = 4
ASKED = 100  # rows a query asks the index for (ranking.candidates)


def corpus(rows: int, keep: Path) -> tuple[np.ndarray, np.ndarray]:
    """(chunk vectors, question vectors) of `rows` chunks, cached in `keep`."""
    path = keep / f"vectors-{rows}.npz"
    if path.exists():
        saved = np.load(path)
        return saved["chunks"], saved["questions"]
    writer, encoder, rng = Writer(0), HashingEncoder(), random.Random(0)
    chunks: list[str] = []
    number = 0
    while len(chunks) < rows:
        sentences = [s for line in writer.article(number).splitlines()[1:] for s in line.split(". ")]
        chunks += [". ".join(sentences[i:i + SENTENCES_PER_CHUNK]) for i in range(0, len(sentences), 3)]
        number += 1
    chunks = chunks[:rows]
    questions = []
    for _ in range(QUESTIONS):
        words = [w for w in WORD.findall(rng.choice(chunks)) if len(w) > 3]
        questions.append("What " + " ".join(rng.sample(words, min(5, len(words)))).lower() + "?")
    found = np.concatenate([encoder.encode(chunks[i:i + 50_000]) for i in range(0, rows, 50_000)])
    asked = encoder.encode(questions)
    np.savez(path, chunks=found, questions=asked)
    return found, asked


def timed_search(search, queries: np.ndarray) -> tuple[list[np.ndarray], list[float]]:
    results, latencies = [], []
    for query in queries:
        started = time.perf_counter()
        results.append(search(query))
        latencies.append((time.perf_counter() - started) * 1000)
    return results, latencies


def recall_at_10(chunks: np.ndarray, questions: np.ndarray, found: list[np.ndarray], tenth: np.ndarray) -> float:
    """The share of each query's top 10 whose exact cosine reaches the exact 10th best, on average."""
    return float(np.mean([np.mean(chunks[rows[:10]] @ question >= bar - 1e-6)
                          for question, rows, bar in zip(questions, found, tenth, strict=True)]))


def measure(rows: int, probes: list[int], keep: Path) -> list[dict]:
    chunks, questions = corpus(rows, keep)
    exact = faiss.IndexFlatIP(chunks.shape[1])
    exact.add(chunks)
    faiss.omp_set_num_threads(1)
    truth, flat_ms = timed_search(lambda q: exact.search(q[None, :], ASKED)[1][0], questions)
    tenth = np.array([chunks[t[9]] @ q for t, q in zip(truth, questions, strict=True)])
    found = [{"index": "flat (exact)", "rows": rows, "recall": 1.0, "p50": statistics.median(flat_ms),
              "p99": percentile(flat_ms, 0.99), "build_s": 0.0, "bytes": chunks.shape[1] * 4}]
    settings = DEFAULT.replace(index={"ivf_min_chunks": 0}).index
    started = time.perf_counter()
    index = vectors.build(chunks, settings)
    build_s = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    size = faiss.serialize_index(index.index).nbytes / rows
    for probe in probes:
        faiss.extract_index_ivf(index.index).nprobe = probe
        results, latencies = timed_search(lambda q: index.search(q, ASKED)[0], questions)
        recall = recall_at_10(chunks, questions, results, tenth)
        cells = faiss.extract_index_ivf(index.index).nlist
        found.append({"index": f"ivf {cells} cells, float16, {probe} probed", "rows": rows, "recall": recall,
                      "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99), "build_s": build_s,
                      "bytes": size})
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--probes", type=int, nargs="+", default=[32, 64, 128, 256])
    parser.add_argument("--keep", type=Path, help="cache the vectors here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        keep = args.keep or Path(scratch)
        keep.mkdir(parents=True, exist_ok=True)
        table = [row for rows in args.rows for row in measure(rows, args.probes, keep)]
    print(f"hashing stand-in vectors of bench.scale's chunks ({CHUNKS_PER_ARTICLE} an article), "
          f"{QUESTIONS} questions, {ASKED} rows asked, one query at a time\n")
    print("| rows | index | recall@10 vs exact | p50 (ms) | p99 (ms) | build (s) | bytes a row |")
    print("|---|---|---|---|---|---|---|")
    for r in table:
        print(f"| {r['rows']:,} | {r['index']} | {r['recall']:.3f} | {r['p50']:.2f} | {r['p99']:.2f} | "
              f"{r['build_s']:.1f} | {r['bytes']:.0f} |")


if __name__ == "__main__":
    main()
