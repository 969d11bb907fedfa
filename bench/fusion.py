"""How retrieval's fusion weights rank paragraphs on the SQuAD slice, held out by paragraph.

    python -m bench.fusion [--data ../shared/bench/squad-dev-subset.json] [--work DIR]

Every answerable question's candidate chunks and sentences are read once
from the index (`Retriever.considered`); `qa.retrieval.fuse` then ranks them
under each weight setting of a grid (`RankingSettings.sentence_dense`,
`chunk_dense`, `best_sentence`). Prints paragraph R@1/R@5 for the settings
in use and the best ones in-sample, and the cross-validated R@1 of choosing
the weights on four folds of paragraphs and scoring them on the fifth.
`section_weight` is left as it is: SQuAD's paragraphs have no headings.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import tempfile
from pathlib import Path

import numpy as np
from sklearn.model_selection import GroupKFold

from bench.squad import DEFAULT_DATA, unique_docs, write_seeds
from qa import Retriever, build_index
from qa.candidates import ChunkHits, SentenceHits
from qa.retrieval import fuse
from qa.settings import DEFAULT, RankingSettings

GRID = {"ranking_dense": (0.5, 0.6, 0.7, 0.8, 0.9, 1.0), "chunk_dense": (0.3, 0.4, 0.5, 0.6, 0.7),
        "best_sentence": (0.35, 0.5, 0.65, 0.8)}
FOLDS = 5


@dataclasses.dataclass
class Signals:
    """One question's unfused candidates and the paragraph that answers it."""

    question: str
    gold: str
    chunks: ChunkHits
    sentences: SentenceHits
    doc_of: dict[int, str]  # chunk id -> its document's id


def gold_ranks(signals: list[Signals], weights: RankingSettings) -> np.ndarray:
    """Per question, the rank (0 = first) of its paragraph among the fused candidates' documents."""
    ranks = np.full(len(signals), 10**6)
    for n, s in enumerate(signals):
        fused = fuse(s.chunks, s.sentences, weights)
        ranked = unique_docs([s.doc_of[i] for i in fused.chunks.ids.tolist()])  # best first
        if s.gold in ranked:
            ranks[n] = ranked.index(s.gold)
    return ranks


def read_signals(data: Path, work: Path) -> list[Signals]:
    seeds, index = work / "seeds", work / "index"
    seeds.mkdir(parents=True, exist_ok=True)
    questions = [q for q in write_seeds(data, seeds) if q.answers]
    if not index.exists():
        build_index(seeds, index, progress=False)
    retriever = Retriever.open(index)
    signals = []
    for q in questions:
        _, candidates, reader = retriever.considered(q.text)
        sentences = dataclasses.replace(candidates.sentences, of_chunk=candidates.chunk_sentences)
        doc_of = {int(i): reader.document_at(int(span["doc"])).id
                  for i, span in zip(candidates.chunks.ids, candidates.chunks.spans, strict=True)}
        signals.append(Signals(q.text, q.doc_id, candidates.chunks, sentences, doc_of))
    return signals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--work", type=Path, help="keep the seeds and index here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temporary:
        signals = read_signals(args.data, args.work or Path(temporary))
    settings = [DEFAULT.replace(ranking=dict(zip(GRID, values, strict=True))).ranking
                for values in itertools.product(*GRID.values())]
    ranks = np.stack([gold_ranks(signals, weights) for weights in settings])  # settings x questions
    current = gold_ranks(signals, DEFAULT.ranking)

    def shown(weights: RankingSettings) -> str:
        return ", ".join(f"{name} {getattr(weights, name)}" for name in GRID)

    print(f"{len(signals)} answerable questions, {len(settings)} weight settings\n")
    print("| weights | R@1 | R@5 |\n|---|---|---|")
    print(f"| in use: {shown(DEFAULT.ranking)} | {np.mean(current < 1):.4f} | {np.mean(current < 5):.4f} |")
    for n in np.argsort(-np.mean(ranks < 1, axis=1), kind="stable")[:5]:
        print(f"| {shown(settings[n])} | {np.mean(ranks[n] < 1):.4f} | {np.mean(ranks[n] < 5):.4f} |")
    groups = [s.gold for s in signals]
    held_out = np.zeros(len(signals), dtype=bool)
    print("\n| fold | chosen on the other folds | R@1 held out | R@1 of the weights in use |\n|---|---|---|---|")
    for fold, (train, test) in enumerate(GroupKFold(FOLDS).split(signals, groups=groups)):
        chosen = int(np.argmax(np.mean(ranks[:, train] < 1, axis=1)))
        held_out[test] = ranks[chosen, test] < 1
        print(f"| {fold} | {shown(settings[chosen])} | {np.mean(ranks[chosen, test] < 1):.4f} | "
              f"{np.mean(current[test] < 1):.4f} |")
    print(f"\nR@1 held out: {held_out.mean():.4f} (weights in use: {np.mean(current < 1):.4f})")


if __name__ == "__main__":
    main()
