"""Build time, disk, open time, memory and query latency of indexes of 10k, 100k and 1M chunks.

    python -m bench.scale [--chunks 10000 100000] [--keep DIR] [--skip-model]

Corpus: SQuAD-like synthetic articles (a title line, then paragraphs of 3 to 8
sentences of about 24 words: the slice's common words mixed with a Zipf-
distributed lexicon of 5M made-up words and each article's own topic words,
so the vocabulary grows with the corpus as real text's does), about 50 chunks an
article. Questions take five words of a random sentence.

Models: `bench.standins.HashingEncoder` (words hashed into 384 signed
buckets) and `WordAnalyser` (one token per word, no parse) stand in for the
model and spaCy, so that 1M chunks build here (93 minutes, beside other work): the table measures
the index path (vector search, BM25, ranking, answer picking), not the
models. The question's vector is computed before the clock starts; the real
model's cost of embedding a question, and spaCy's of parsing it, are printed
apart (add them for a real question's latency).

Each build runs in its own process (peak RSS is reported), and each index is
opened in a fresh process, so "RSS after open" is what a server holding that
index starts from. With --keep, indexes are kept in DIR and reused by later
runs (the build figures are then the recorded ones).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.squad import DEFAULT_DATA, percentile
from bench.standins import HashingEncoder, WordAnalyser

WARM_UP = 20
QUESTIONS = 200
CHUNKS_PER_ARTICLE = 50
PARAGRAPHS_PER_ARTICLE = 30
LEXICON, LEXICON_HEAD = 5_000_000, 1_000
SYLLABLES = ("ba be bi bo bu da de di do du ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu "
             "ra re ri ro ru sa se si so su ta te ti to tu va ve vi vo vu").split()
WORD = re.compile(r"[A-Za-z]+")


def made_up(rank: int) -> str:
    """The made-up word of a lexicon rank: its base-50 digits as syllables ('bebi', 'kadolu')."""
    syllables = []
    while True:
        rank, digit = divmod(rank, len(SYLLABLES))
        syllables.append(SYLLABLES[digit])
        if rank == 0:
            break
    return "".join(syllables) if len(syllables) > 1 else syllables[0] + "n"


class Writer:
    """SQuAD-like articles, the same for a given seed."""

    def __init__(self, seed: int, texts: list[str] | None = None):
        """`texts` give the common words and their frequencies (default: the SQuAD slice's paragraphs)."""
        self.rng = np.random.default_rng(seed)
        if texts is None:
            texts = [paragraph["context"] for article in json.loads(DEFAULT_DATA.read_text())["data"]
                     for paragraph in article["paragraphs"]]
        counts: dict[str, int] = {}
        for text in texts:
            for word in WORD.findall(text):
                counts[word.lower()] = counts.get(word.lower(), 0) + 1
        common = {word: n for word, n in counts.items() if n >= 3}
        self.common = list(common)
        self.weights = np.array(list(common.values()), dtype=np.float64) / sum(common.values())

    def lexicon_ranks(self, count: int) -> np.ndarray:
        """Ranks in a lexicon of LEXICON made-up words, P(rank) falling as 1 / (rank + LEXICON_HEAD):
        the long tail below the common words."""
        return (LEXICON_HEAD * ((LEXICON / LEXICON_HEAD + 1) ** self.rng.random(count) - 1)).astype(np.int64)

    def article(self, number: int) -> str:
        rng = self.rng
        topic = [made_up(int(r)) for r in self.lexicon_ranks(25)]
        topic_weights = 1 / np.arange(1, len(topic) + 1)
        lines = [f"{topic[0].title()} and {topic[1].title()}: article {number}"]
        for _ in range(PARAGRAPHS_PER_ARTICLE):
            lengths = np.clip(rng.normal(24, 9, rng.integers(3, 9)).round().astype(int), 6, 60)
            total = int(lengths.sum())
            source = rng.random(total)
            words = np.array(self.common, dtype=object)[rng.choice(len(self.common), total, p=self.weights)]
            lexicon = self.lexicon_ranks(total)
            picks = rng.choice(len(topic), total, p=topic_weights / topic_weights.sum())
            for i in np.flatnonzero(source >= 0.55):
                words[i] = topic[picks[i]] if source[i] >= 0.8 else made_up(int(lexicon[i]))
            for i in np.flatnonzero(rng.random(total) < 0.04):
                words[i] = str(int(rng.integers(2, 2030)))
            sentences, at = [], 0
            for length in lengths.tolist():
                sentence = " ".join(words[at:at + length])
                sentences.append(sentence[0].upper() + sentence[1:] + ".")
                at += length
            lines.append(" ".join(sentences))
        return "\n".join(lines)


def write_corpus(seeds: Path, chunks: int, seed: int = 0, texts: list[str] | None = None) -> None:
    """About `chunks` chunks of SQuAD-like articles, one file each (common words from `texts`,
    see `Writer`)."""
    writer = Writer(seed, texts)
    seeds.mkdir(parents=True)
    for number in range(max(1, round(chunks / CHUNKS_PER_ARTICLE))):
        (seeds / f"article-{number:06d}.txt").write_text(writer.article(number), encoding="utf-8")


def make_questions(seeds: Path, count: int, seed: int = 0) -> list[str]:
    """Five words of a random sentence of a random article, as a question."""
    rng = random.Random(seed)
    files = sorted(seeds.iterdir())
    questions = []
    for _ in range(count):
        lines = rng.choice(files).read_text(encoding="utf-8").splitlines()[1:]
        sentence = rng.choice(rng.choice(lines).split(". "))
        words = [w for w in WORD.findall(sentence) if len(w) > 3] or WORD.findall(sentence)
        questions.append("What " + " ".join(rng.sample(words, min(5, len(words)))).lower() + "?")
    return questions


class Precomputed:
    """The stand-in encoder with the questions' vectors computed beforehand: a lookup at query time."""

    def __init__(self, questions: list[str]):
        encoder = HashingEncoder()
        self.name, self.dimension = encoder.name, encoder.dimension
        self.vectors = dict(zip(questions, encoder.encode(questions), strict=True))

    def encode(self, texts: list[str]) -> np.ndarray:
        return np.stack([self.vectors[text] for text in texts])


def rss_mb() -> float:
    """This process's resident memory now (file-backed pages it touched included)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def disk_mb(folder: Path) -> float:
    """Bytes of the files under `folder`, each hard-linked file once."""
    seen, total = set(), 0
    for path in folder.rglob("*"):
        if path.is_file() and path.stat().st_ino not in seen:
            seen.add(path.stat().st_ino)
            total += path.stat().st_size
    return total / 1e6


def build(work: Path, chunks: int) -> None:
    """Write the corpus and build its index (run in its own process); records bench.json."""
    from qa import build_index

    seeds, index_dir = work / "seeds", work / "index"
    if not seeds.exists():
        write_corpus(seeds, chunks)
    started = time.perf_counter()
    stats = build_index(seeds, index_dir, progress=False, encoder=HashingEncoder(), analyser=WordAnalyser())
    figures = {"build_s": time.perf_counter() - started, "chunks": stats.chunks, "sentences": stats.sentences,
               "documents": stats.documents,
               "build_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    (work / "bench.json").write_text(json.dumps(figures))


def measure(work: Path) -> None:
    """Open the index in a fresh process and time answer() and search(); prints one JSON line."""
    from qa import Retriever

    seeds, index_dir = work / "seeds", work / "index"
    questions = make_questions(seeds, QUESTIONS)
    warm_up = make_questions(seeds, WARM_UP, seed=-1)
    encoder = Precomputed(questions + warm_up)
    before = rss_mb()
    started = time.perf_counter()
    retriever = Retriever.open(index_dir, encoder=encoder, analyser=WordAnalyser())
    figures = {"open_s": time.perf_counter() - started, "rss_open_mb": rss_mb(), "rss_start_mb": before}
    for question in warm_up:
        retriever.answer(question)
    for name, call in (("answer", retriever.answer), ("search", lambda q: retriever.search(q, k=5))):
        latencies = []
        for question in questions:
            started = time.perf_counter()
            call(question)
            latencies.append((time.perf_counter() - started) * 1000)
        figures[f"{name}_p50"] = statistics.median(latencies)
        figures[f"{name}_p99"] = percentile(latencies, 0.99)
    figures["rss_queried_mb"] = rss_mb()
    print(json.dumps(figures))


def run(work: Path, chunks: int) -> dict:
    if not (work / "bench.json").exists():
        subprocess.run([sys.executable, "-m", "bench.scale", "--build", str(work), str(chunks)], check=True)
    figures = json.loads((work / "bench.json").read_text())
    figures["disk_mb"] = disk_mb(work / "index")
    measured = subprocess.run([sys.executable, "-m", "bench.scale", "--measure", str(work)], check=True,
                              capture_output=True, text=True)
    figures.update(json.loads(measured.stdout.strip().splitlines()[-1]))
    return figures


def model_costs() -> dict:
    """p50 milliseconds of the real model embedding one question and of spaCy parsing it (warm)."""
    from qa import embedding, language

    questions = [q["question"] for article in json.loads(DEFAULT_DATA.read_text())["data"]
                 for paragraph in article["paragraphs"] for q in paragraph["qas"]][:QUESTIONS]
    encoder, analyser = embedding.load_encoder(), language.load_analyser()
    calls = {"embed": lambda question: encoder.encode([question]), "parse": analyser.parse}
    costs = {}
    for name, call in calls.items():
        latencies = []
        for question in questions:
            started = time.perf_counter()
            call(question)
            latencies.append((time.perf_counter() - started) * 1000)
        costs[name] = statistics.median(latencies)
    return costs


def print_table(rows: list[dict]) -> None:
    print("| chunks | sentences | documents | build (s) | build peak RSS (MB) | on disk (MB) | open (s) "
          "| RSS after open (MB) | answer() p50 / p99 (ms) | search() p50 / p99 (ms) | RSS after queries (MB) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['chunks']:,} | {r['sentences']:,} | {r['documents']:,} | {r['build_s']:.0f} | "
              f"{r['build_peak_mb']:,.0f} | {r['disk_mb']:,.0f} | {r['open_s']:.2f} | {r['rss_open_mb']:,.0f} | "
              f"{r['answer_p50']:.1f} / {r['answer_p99']:.1f} | {r['search_p50']:.1f} / {r['search_p99']:.1f} | "
              f"{r['rss_queried_mb']:,.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunks", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--keep", type=Path, help="keep the corpora and indexes here and reuse them")
    parser.add_argument("--skip-model", action="store_true", help="do not load the real models")
    parser.add_argument("--build", nargs=2, metavar=("DIR", "CHUNKS"), help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.build:
        folder, chunks = args.build
        return build(Path(folder), int(chunks))
    if args.measure:
        return measure(args.measure)
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        rows = [run(folder / f"chunks-{chunks}", chunks) for chunks in args.chunks]
    print(f"{os.cpu_count()} CPUs; stand-in models (see bench/scale.py); the question's embedding excluded\n")
    print_table(rows)
    if not args.skip_model:
        costs = model_costs()
        print(f"\nreal models, per question (not in the table): embedding p50 {costs['embed']:.1f} ms, "
              f"spaCy parse p50 {costs['parse']:.1f} ms")


if __name__ == "__main__":
    main()
