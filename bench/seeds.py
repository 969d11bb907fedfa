"""Answers on the seed reports, judged at span level, from question sets we wrote.

    python -m bench.seeds [--seeds seeds] [--verbose]

bench/seed_questions.json holds natural questions (paraphrased, not copied
from the reports) with every acceptable short answer, follow-ups with their
history, and questions the reports do not answer; bench/dialogues.json holds
multi-turn conversations. An answer is right when its span's token F1 with an
acceptable answer (SQuAD normalisation) is at least 0.5 and it names no number
the acceptable answer lacks: a whole sentence around the right name is not,
nor is "$161 billion" for "€90 billion". Prints right / wrong / abstained per set,
how well confidence orders answers: the chance that a right answer has a
higher confidence than a wrong one (the AUC, a rank statistic), and how many
of the answers the chat shows as "likely" are right.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from bench.metrics import right
from qa import Answer, Retriever, build_index
from qa.settings import DEFAULT

HERE = Path(__file__).resolve().parent
RIGHT_F1 = 0.5


def judge(answer, golds: list[str]) -> str:
    if not answer.found:
        return "abstained"
    return "right" if right(answer.text, golds, RIGHT_F1) else "wrong"


def rank_statistic(scored: list[tuple[float, bool]]) -> float | None:
    """P(confidence of a right answer > that of a wrong one), ties counting half."""
    right = [c for c, ok in scored if ok]
    wrong = [c for c, ok in scored if not ok]
    if not right or not wrong:
        return None
    wins = sum((r > w) + 0.5 * (r == w) for r in right for w in wrong)
    return wins / (len(right) * len(wrong))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=Path, default=Path("seeds"))
    parser.add_argument("--verbose", action="store_true", help="print every question and its answer")
    parser.add_argument("--min-confidence", type=float, default=DEFAULT.answering.min_confidence,
                        help="answer only at this confidence or above")
    args = parser.parse_args()
    settings = DEFAULT.replace(answering={"min_confidence": args.min_confidence})
    sets = json.loads((HERE / "seed_questions.json").read_text())
    dialogues = json.loads((HERE / "dialogues.json").read_text())["dialogues"]
    with tempfile.TemporaryDirectory() as work:
        build_index(args.seeds, Path(work), progress=False)
        retriever = Retriever.open(Path(work), settings)
        runs: dict[str, list[tuple[str, str, Answer, list[str]]]] = {"answerable": [], "follow-ups": [],
                                                                      "not in the sources": [], "dialogue turns": [],
                                                                      "dialogue turns, alone": []}
        for item in sets["answerable"]:
            runs["answerable"].append((item["question"], "", retriever.answer(item["question"]), item["answers"]))
        for item in sets["followups"]:
            earlier = [(turn["question"], turn["answer"]) for turn in item["history"]]
            runs["follow-ups"].append((item["question"], " / ".join(q for q, _ in earlier),
                                       retriever.answer(item["question"], earlier), item["answers"]))
        for item in sets["unanswerable"]:
            runs["not in the sources"].append((item["question"], "", retriever.answer(item["question"]), []))
        for dialogue in dialogues:
            history: list[tuple[str, str]] = []
            for n, turn in enumerate(dialogue["turns"]):
                answer = retriever.answer(turn["question"], history)
                if n:
                    runs["dialogue turns"].append((turn["question"], " / ".join(q for q, _ in history), answer,
                                                   turn["answers"]))
                    runs["dialogue turns, alone"].append((turn["question"], "", retriever.answer(turn["question"]),
                                                          turn["answers"]))
                history.append((turn["question"], answer.text if answer.found else ""))
    print("| set | questions | right | wrong | abstained |\n|---|---|---|---|---|")
    scored: list[tuple[float, bool]] = []
    for name, results in runs.items():
        verdicts = [judge(answer, golds) if golds else ("abstained" if not answer.found else "wrong")
                    for _, _, answer, golds in results]
        counts = {v: verdicts.count(v) for v in ("right", "wrong", "abstained")}
        print(f"| {name} | {len(results)} | {counts['right']} | {counts['wrong']} | {counts['abstained']} |")
        scored += [(answer.confidence, verdict == "right") for (_, _, answer, _), verdict
                   in zip(results, verdicts, strict=True) if answer.found]
    statistic = rank_statistic(scored)
    print(f"\nconfidence orders answers: P(right answer above a wrong one) = "
          f"{'n/a' if statistic is None else f'{statistic:.3f}'} over {len(scored)} answers")
    likely = [ok for confidence, ok in scored if confidence >= settings.answering.likely_confidence]
    print(f"shown as likely (confidence >= {settings.answering.likely_confidence}): "
          f"{sum(likely)} right, {len(likely) - sum(likely)} wrong")
    if args.verbose:
        for name, results in runs.items():
            print(f"\n## {name}")
            for question, asked_before, answer, golds in results:
                verdict = judge(answer, golds) if golds else ("abstained" if not answer.found else "wrong")
                shown = f"{answer.text!r} ({answer.confidence:.2f})" if answer.found else \
                    f"- ({answer.confidence:.2f})"
                context = f" [after: {asked_before}]" if asked_before else ""
                print(f"{verdict:9} {question}{context} -> {shown}; want {golds[:2]}")


if __name__ == "__main__":
    main()
