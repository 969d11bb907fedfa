"""Retrieval and answer benchmark on a SQuAD 2.0 slice.

    python -m bench.squad --data ../shared/bench/squad-dev-subset.json [--txtai]

Each paragraph becomes one source file in a temporary seeds folder; the index
is built through the public API; every question is searched and answered.
Prints paragraph R@1/R@5/R@20; for answerable questions, what the answerer
picks (sentence hit@1, span exact match and token F1 with SQuAD's
normalisation); then the abstention at `min_confidence` (answerable questions
answered and how many of those are right, no-answer questions abstained, and
SQuAD 2.0's F1 over all questions); build time and warm answer() latency. With
--txtai (needs `pip install -e .[bench]`) the same run measures txtai's hybrid
index on the same files and model. The picks and the abstention are read from
one run with the threshold at 0: an answer's `confidence` says whether the
default threshold would have kept it.

Data: SQuAD 2.0 dev (CC BY-SA 4.0), Rajpurkar et al. 2016 and 2018.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.metrics import best_f1, exact
from qa import Retriever, build_index, embedding, language
from qa.settings import DEFAULT, Settings

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "bench" / "squad-dev-subset.json"
RECALL_AT = (1, 5, 20)


@dataclass
class Question:
    text: str
    doc_id: str
    answers: list[str]


def write_seeds(data_path: Path, seeds: Path) -> list[Question]:
    """One file per paragraph; the questions with the id of their paragraph's file."""
    questions = []
    for article in json.loads(data_path.read_text())["data"]:
        for number, paragraph in enumerate(article["paragraphs"]):
            doc_id = f"{article['title']}-{number:03d}.txt"
            (seeds / doc_id).write_text(paragraph["context"], encoding="utf-8")
            for qa in paragraph["qas"]:
                answers = [a["text"] for a in qa["answers"]]
                questions.append(Question(qa["question"], doc_id, answers))
    return questions


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def unique_docs(doc_ids: list[str]) -> list[str]:
    return list(dict.fromkeys(doc_ids))


def recall(rankings: list[list[str]], questions: list[Question]) -> dict[int, float]:
    return {k: sum(q.doc_id in ranked[:k] for ranked, q in zip(rankings, questions, strict=True)) / len(questions)
            for k in RECALL_AT}


def run_qa(seeds: Path, index_dir: Path, questions: list[Question], settings: Settings = DEFAULT) -> dict:
    """Build our index and measure retrieval, answers and latency."""
    embedding.load_encoder(settings.embedding, threads=0)  # the models load before the clock starts, as txtai's
    language.load_analyser()
    stats = build_index(seeds, index_dir, progress=False, settings=settings)
    threshold = settings.answering.min_confidence
    every_pick = settings.replace(answering={"min_confidence": 0.0})
    picker = Retriever.open(index_dir, every_pick)
    retriever = Retriever.open(index_dir, settings)
    answerable = [q for q in questions if q.answers]
    impossible = [q for q in questions if not q.answers]
    rankings = [unique_docs([p.doc_id for p in retriever.search(q.text, k=60)]) for q in answerable]

    hits = exacts = f1 = whole = answered = answered_right = 0.0
    squad2 = 0.0
    for q in answerable:
        answer = picker.answer(q.text)
        hits += answer.doc_id == q.doc_id and any(gold in answer.sentence for gold in q.answers)
        exacts += exact(answer.text, q.answers)
        f1 += best_f1(answer.text, q.answers)
        whole += answer.found and answer.text == answer.sentence
        if answer.confidence >= threshold:
            answered += 1
            answered_right += best_f1(answer.text, q.answers) >= 0.5
            squad2 += best_f1(answer.text, q.answers)
    abstained = sum(picker.answer(q.text).confidence < threshold for q in impossible)
    squad2 += abstained

    search_ms = timed(lambda q: retriever.search(q, k=20), questions)
    answer_ms = timed(retriever.answer, questions)
    return {
        "recall": recall(rankings, answerable),
        "sentence_hit": hits / len(answerable),
        "exact": exacts / len(answerable),
        "f1": f1 / len(answerable),
        "whole": whole / len(answerable),
        "answered": answered / len(answerable),
        "answered_right": answered_right / max(1, answered),
        "abstained": abstained / max(1, len(impossible)),
        "squad2": squad2 / len(questions),
        "build_s": stats.seconds,
        "texts_per_s": stats.embedded_texts / stats.embed_seconds,
        "embed_s": stats.embed_seconds,
        "parse_s": stats.parse_seconds,
        "search_p50": statistics.median(search_ms), "search_p99": percentile(search_ms, 0.99),
        "answer_p50": statistics.median(answer_ms), "answer_p99": percentile(answer_ms, 0.99),
    }


def timed(call, questions: list[Question]) -> list[float]:
    """Milliseconds of `call(question)` for every question, warm."""
    latencies = []
    for q in questions:
        started = time.perf_counter()
        call(q.text)
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def run_txtai(seeds: Path, questions: list[Question]) -> dict:
    """txtai 9 with hybrid=True (FAISS + BM25) over the same files and model."""
    from txtai import Embeddings

    from qa.embedding import model_path

    files = sorted(seeds.iterdir())
    embeddings = Embeddings(path=str(model_path()), hybrid=True, backend="faiss", content=False)
    embeddings.index([("warm-up", "the model loads before the clock starts", None)])
    started = time.perf_counter()
    embeddings.index((f.name, f.read_text(encoding="utf-8"), None) for f in files)
    build_s = time.perf_counter() - started
    answerable = [q for q in questions if q.answers]
    rankings, latencies = [], []
    for q in answerable:
        started = time.perf_counter()
        results = embeddings.search(q.text, 20)
        latencies.append((time.perf_counter() - started) * 1000)
        rankings.append([doc_id for doc_id, _ in results])
    return {"recall": recall(rankings, answerable), "build_s": build_s,
            "p50": statistics.median(latencies), "p99": percentile(latencies, 0.99)}


def print_table(ours: dict, txtai: dict | None) -> None:
    rows = [(f"paragraph R@{k}", ours["recall"][k], txtai and txtai["recall"][k], "{:.3f}")
            for k in RECALL_AT]
    threshold = DEFAULT.answering.min_confidence
    rows += [
        ("sentence hit@1 (answerable)", ours["sentence_hit"], None, "{:.3f}"),
        ("span exact match (answerable)", ours["exact"], None, "{:.3f}"),
        ("span token F1 (answerable)", ours["f1"], None, "{:.3f}"),
        ("answers that are whole sentences", ours["whole"], None, "{:.3f}"),
        (f"answerable questions answered (confidence >= {threshold})", ours["answered"], None, "{:.3f}"),
        ("answered ones right (F1 >= 0.5)", ours["answered_right"], None, "{:.3f}"),
        ("no-answer questions abstained", ours["abstained"], None, "{:.3f}"),
        ("SQuAD 2.0 F1, all questions, with abstention", ours["squad2"], None, "{:.3f}"),
        ("build time, models loaded (s)", ours["build_s"], txtai and txtai["build_s"], "{:.1f}"),
        ("of the build: embedding chunks and sentences (s)", ours["embed_s"], None, "{:.1f}"),
        ("of the build: parsing every sentence with spaCy (s)", ours["parse_s"], None, "{:.1f}"),
        ("texts embedded per second (build)", ours["texts_per_s"], None, "{:.0f}"),
        ("search() p50 latency (ms)", ours["search_p50"], txtai and txtai["p50"], "{:.1f}"),
        ("search() p99 latency (ms)", ours["search_p99"], txtai and txtai["p99"], "{:.1f}"),
        ("answer() p50 latency (ms)", ours["answer_p50"], None, "{:.1f}"),
        ("answer() p99 latency (ms)", ours["answer_p99"], None, "{:.1f}"),
    ]
    header = "| metric | qa |" + (" txtai hybrid search() | qa / txtai |" if txtai else "")
    print(header)
    print("|---|---|" + ("---|---|" if txtai else ""))
    for name, mine, theirs, fmt in rows:
        line = f"| {name} | {fmt.format(mine)} |"
        if txtai:
            if theirs is None:
                line += " - | - |"
            else:
                line += f" {fmt.format(theirs)} | {mine / theirs:.2f} |" if theirs else " 0 | - |"
        print(line)


def changes(assignments: list[str]) -> dict[str, dict]:
    """{"stage": {"field": value}} of 'stage.field=value' strings (values in JSON, or else strings)."""
    found: dict[str, dict] = {}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        stage, _, field = name.partition(".")
        try:
            found.setdefault(stage, {})[field] = json.loads(value)
        except json.JSONDecodeError:
            found.setdefault(stage, {})[field] = value
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="SQuAD 2.0 JSON file")
    parser.add_argument("--txtai", action="store_true", help="also measure txtai hybrid (bench extra)")
    parser.add_argument("--set", action="append", default=[], metavar="STAGE.FIELD=VALUE",
                        help="change a setting for this run (a JSON value, e.g. embedding.quantised=false)")
    args = parser.parse_args()
    settings = DEFAULT.replace(**changes(args.set))
    with tempfile.TemporaryDirectory() as work:
        seeds, index_dir = Path(work, "seeds"), Path(work, "index")
        seeds.mkdir()
        questions = write_seeds(args.data, seeds)
        answerable = sum(bool(q.answers) for q in questions)
        print(f"{len(list(seeds.iterdir()))} paragraphs, {len(questions)} questions "
              f"({answerable} answerable, {len(questions) - answerable} with no answer)")
        ours = run_qa(seeds, index_dir, questions, settings)
        theirs = run_txtai(seeds, questions) if args.txtai else None
    print_table(ours, theirs)


if __name__ == "__main__":
    main()
