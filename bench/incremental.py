"""Rebuild time after changing one document, on synthetic corpora of growing size.

    python -m bench.incremental [--sizes 100 1000 10000]

For each size: a full build of a fresh synthetic corpus, then the time of
`build_index` after editing one document, adding one and deleting one.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from qa import build_index

WORDS = ("harbour council budget river bridge school station report market museum festival "
         "railway hospital library ferry tunnel airport stadium factory garden theatre clinic "
         "mayor engineer teacher farmer pilot nurse judge minister captain director").split()
VERBS = "opened closed approved delayed funded rebuilt inspected expanded visited reported".split()


def synthetic_document(rng: random.Random, number: int) -> str:
    """A short news-like text: a title line and four sentences with names, places and figures."""
    place = f"{rng.choice(WORDS).title()}ford"
    lines = [f"Report {number}: the {rng.choice(WORDS)} of {place}"]
    for _ in range(4):
        lines.append(f"The {rng.choice(WORDS)} of {place} {rng.choice(VERBS)} the {rng.choice(WORDS)} "
                     f"on day {rng.randint(1, 28)} with {rng.randint(2, 900)} {rng.choice(WORDS)}s "
                     f"and a budget of ${rng.randint(1, 99)} million.")
    return "\n".join(lines)


def write_corpus(seeds: Path, size: int) -> None:
    rng = random.Random(size)
    seeds.mkdir(parents=True)
    for number in range(size):
        (seeds / f"doc-{number:05d}.txt").write_text(synthetic_document(rng, number))


def timed_build(seeds: Path, index_dir: Path):
    started = time.perf_counter()
    stats = build_index(seeds, index_dir, progress=False)
    return time.perf_counter() - started, stats


def measure(size: int, work: Path) -> dict:
    seeds, index_dir = work / f"seeds-{size}", work / f"index-{size}"
    write_corpus(seeds, size)
    full_s, stats = timed_build(seeds, index_dir)
    row = {"documents": size, "chunks": stats.chunks, "full_s": full_s}
    target = seeds / "doc-00000.txt"
    target.write_text(target.read_text() + "\nThe ferry of Northford was rebuilt on day 3.")
    row["edit_s"], stats = timed_build(seeds, index_dir)
    assert stats.changed == 1 and stats.unchanged == size - 1, stats.summary()
    (seeds / "new-document.txt").write_text(synthetic_document(random.Random(-1), size))
    row["add_s"], stats = timed_build(seeds, index_dir)
    assert stats.added == 1, stats.summary()
    (seeds / "doc-00001.txt").unlink()
    row["delete_s"], stats = timed_build(seeds, index_dir)
    assert stats.removed == 1, stats.summary()
    row["noop_s"], stats = timed_build(seeds, index_dir)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        warm = Path(work, "warm")
        write_corpus(warm / "seeds", 2)  # the model loads on the first build: not charged to a row
        build_index(warm / "seeds", warm / "index", progress=False)
        rows = [measure(size, Path(work)) for size in args.sizes]
    print("| documents | chunks | full build (s) | edit 1 doc (s) | add 1 doc (s) | delete 1 doc (s) "
          "| nothing changed (s) |")
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(f"| {row['documents']:,} | {row['chunks']:,} | {row['full_s']:.1f} | {row['edit_s']:.2f} | "
              f"{row['add_s']:.2f} | {row['delete_s']:.2f} | {row['noop_s']:.2f} |")


if __name__ == "__main__":
    main()
