"""Where the abstention threshold sits: evidence scores of questions the seeds answer and don't.

    python -m bench.abstain [--seeds seeds]

Prints each question's evidence (the cosine that `answer()` compares with
`min_evidence`) and whether it was answered, then the share answered per list.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from qa import Retriever, build_index
from qa.settings import DEFAULT

ANSWERED_BY_SEEDS = [
    "Who met in Miami?", "How big is the EU loan?", "Where did the US and Russian envoys meet?",
    "How many civilians were taken from the village?", "Who is the Kremlin spokesman?",
    "When did EU leaders agree on the loan?", "How many points does the peace plan have?",
    "What does Russia want recognised?", "How long could NATO membership be delayed?",
    "How much is frozen in Russian assets?", "Who did the French welcome talks with?",
    "What did the Kremlin reject?", "Which village did Russian troops cross the border near?",
    "How much will Ukraine need in 2026 and 2027 according to the IMF?",
    "When was the last direct contact between Macron and Putin?", "Who are the US envoys?",
    "What is Kyiv insisting on?", "Is a trilateral meeting planned?",
]
NOT_IN_SEEDS = [
    "What is the capital of Australia?", "How tall is Mount Everest?", "What is the weather in Paris?",
    "Who won the 2018 World Cup?", "How do I bake sourdough bread?", "What is the boiling point of water?",
    "Who wrote Hamlet?", "What is the population of Tokyo?", "How many legs does a spider have?",
    "When was the Eiffel Tower built?", "What is photosynthesis?", "Who is the CEO of Apple?",
    "What is the price of bitcoin?", "How do vaccines work?", "Which planet is largest?",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        build_index(args.seeds, Path(work), progress=False)
        retriever = Retriever.open(Path(work))
        print(f"threshold: cosine >= {DEFAULT.answering.min_evidence}")
        for name, questions in (("answered by the seeds", ANSWERED_BY_SEEDS), ("not in the seeds", NOT_IN_SEEDS)):
            answers = [retriever.answer(q) for q in questions]
            print(f"\n| {name} | evidence | answered |\n|---|---|---|")
            for question, answer in sorted(zip(questions, answers, strict=True), key=lambda pair: pair[1].evidence):
                print(f"| {question} | {answer.evidence:.3f} | {'yes' if answer.found else 'no'} |")
            print(f"\nanswered: {sum(a.found for a in answers)}/{len(answers)}")


if __name__ == "__main__":
    main()
